package cli

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// apiVersionsBlocks splits the output into each broker's header line and
// the lines after it, checking the block structure of
// NodeApiVersions.toString(true): "(", tab-indented lines all but the last
// ending in ",", ")".
func apiVersionsBlocks(t *testing.T, out string) map[string][]string {
	t.Helper()
	blocks := map[string][]string{}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		header := lines[i]
		if strings.Contains(header, " -> ERROR: ") {
			blocks[header] = nil
			continue
		}
		if !strings.HasSuffix(header, " -> (") {
			t.Fatalf("line %d is no broker header: %q in:\n%s", i, header, out)
		}
		end := slices.Index(lines[i:], ")")
		if end < 2 {
			t.Fatalf("no API lines after %q in:\n%s", header, out)
		}
		apis := lines[i+1 : i+end]
		for j, l := range apis {
			last := j == len(apis)-1
			if !strings.HasPrefix(l, "\t") || strings.HasSuffix(l, ",") == last {
				t.Errorf("%s: API line %q", header, l)
			}
		}
		blocks[header] = apis
		i += end
	}
	return blocks
}

// brokerHeader is the line Kafka prints for a kfake broker.
func brokerHeader(addr string, id int) string {
	return fmt.Sprintf("%s (id: %d rack: krack isFenced: false) -> (", addr, id)
}

func TestKafkaBrokerAPIVersions(t *testing.T) {
	c := newCluster(t, kfake.NumBrokers(3))
	out := c.run("", "kafka-broker-api-versions.sh", "--bootstrap-server", c.addr).ok(t)
	blocks := apiVersionsBlocks(t, out)
	if len(blocks) != 3 {
		t.Fatalf("%d brokers in:\n%s", len(blocks), out)
	}
	for id, addr := range c.c.ListenAddrs() {
		apis, ok := blocks[brokerHeader(addr, id)]
		if !ok {
			t.Fatalf("no block for broker %d at %s in:\n%s", id, addr, out)
		}
		// kfake's ranges and kmsg's highest versions, each line as
		// Kafka 4.x prints it.
		for _, want := range []string{
			"\tProduce(0): 3 to 13 [usable: 13],",
			"\tSaslHandshake(17): 1 [usable: 1],",
			"\tApiVersions(18): 0 to 5 [usable: 5],",
			"\tDescribeLogDirs(35): 0 to 5 [usable: 5],",
			"\tCreateDelegationToken(38): UNSUPPORTED,",
			"\tAlterPartitionReassignments(45): 0 to 1 [usable: 1],",
			"\tListPartitionReassignments(46): 0 [usable: 0],",
			"\tDescribeQuorum(55): UNSUPPORTED,",
		} {
			if !slices.Contains(apis, want) {
				t.Errorf("broker %d: no line %q in:\n%s", id, want, strings.Join(apis, "\n"))
			}
		}
		if apis[0] != "\tProduce(0): 3 to 13 [usable: 13]," || apis[len(apis)-1] != "\tDeleteShareGroupOffsets(92): 0 [usable: 0]" {
			t.Errorf("broker %d: first and last lines %q, %q", id, apis[0], apis[len(apis)-1])
		}
		for _, l := range apis {
			if strings.HasPrefix(l, "\tVote(52)") || strings.HasPrefix(l, "\tLeaderAndIsr(4)") {
				t.Errorf("broker %d: a controller API kfake does not offer is listed: %q", id, l)
			}
		}
	}
}

// A broker capped at an older version lacks the newer APIs, which print as
// UNSUPPORTED, and its lower maxima are the usable versions.
func TestKafkaBrokerAPIVersionsOldBroker(t *testing.T) {
	c := newCluster(t, kfake.MaxVersions(kversion.V2_8_0()))
	blocks := apiVersionsBlocks(t, c.run("", "kafka-broker-api-versions.sh").ok(t))
	apis := blocks[brokerHeader(c.addr, 0)]
	for _, want := range []string{
		"\tApiVersions(18): 0 to 3 [usable: 3],",
		"\tDescribeTopicPartitions(75): UNSUPPORTED,",
		"\tDeleteShareGroupOffsets(92): UNSUPPORTED",
	} {
		if !slices.Contains(apis, want) {
			t.Errorf("no line %q in:\n%s", want, strings.Join(apis, "\n"))
		}
	}
}

// hangUp is a listener whose broker hangs up on every connection.
type hangUp struct{ net.Listener }

func (l hangUp) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		conn.Close()
	}
}

// A broker that cannot be asked gets an ERROR line; the others are still
// printed and the exit code is 0, as in Kafka.
func TestKafkaBrokerAPIVersionsErrors(t *testing.T) {
	listened := 0
	c := newCluster(t, kfake.NumBrokers(3), kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		listened++
		if err != nil || listened != 3 {
			return ln, err
		}
		return hangUp{ln}, nil
	}))
	addrs := c.c.ListenAddrs()
	// The client that asks broker 1 is this tool's: its software name.
	h := c.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ApiVersions}, Nodes: []int32{1}, TopLevel: true, Count: -1,
		Err: kerr.ClusterAuthorizationFailed,
		When: func(r kmsg.Request) bool {
			return r.(*kmsg.ApiVersionsRequest).ClientSoftwareName == "samsa"
		}})
	defer h.Remove()
	out := c.run("", "kafka-broker-api-versions.sh", "--bootstrap-server", addrs[0]).ok(t)
	blocks := apiVersionsBlocks(t, out)
	if len(blocks) != 3 {
		t.Fatalf("%d brokers in:\n%s", len(blocks), out)
	}
	if _, ok := blocks[brokerHeader(addrs[0], 0)]; !ok {
		t.Errorf("no block for broker 0 in:\n%s", out)
	}
	refused := strings.TrimSuffix(brokerHeader(addrs[1], 1), "(") +
		"ERROR: org.apache.kafka.common.errors.ClusterAuthorizationException: Cluster authorization failed."
	if _, ok := blocks[refused]; !ok {
		t.Errorf("no line %q in:\n%s", refused, out)
	}
	gone := strings.TrimSuffix(brokerHeader(addrs[2], 2), "(") + "ERROR: "
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, gone) && len(l) > len(gone) }) {
		t.Errorf("no line starting %q in:\n%s", gone, out)
	}
}

func TestKafkaBrokerAPIVersionsUsage(t *testing.T) {
	c := newCluster(t)
	for _, args := range [][]string{{"--describe"}, {"--bootstrap-server"}} {
		r := c.run("", append([]string{"kafka-broker-api-versions.sh"}, args...)...).wantCode(t, 2)
		if !strings.Contains(r.stderr, "Usage: kafka-broker-api-versions.sh") || r.stdout != "" {
			t.Errorf("%v: stdout %q, stderr %q", args, r.stdout, r.stderr)
		}
	}
	if out := c.run("", "kafka-broker-api-versions.sh", "--help").ok(t); !strings.Contains(out, "--command-config FILE") {
		t.Errorf("--help printed %q", out)
	}
	if out := c.run("", "kafka-broker-api-versions.sh", "--version").ok(t); !strings.HasPrefix(out, "kafka-broker-api-versions.sh") {
		t.Errorf("--version printed %q", out)
	}
}

// TestKafkaBrokerAPIVersionsText checks NodeApiVersions.toString(true)'s
// lines for what kfake does not send: unknown keys, one-version ranges, a
// broker too new, controller APIs, names kmsg spells otherwise.
func TestKafkaBrokerAPIVersionsText(t *testing.T) {
	keys := []kmsg.ApiVersionsResponseApiKey{
		{ApiKey: 999, MinVersion: 0, MaxVersion: 2},
		{ApiKey: 18, MinVersion: 90, MaxVersion: 99},
		{ApiKey: 52, MinVersion: 0, MaxVersion: 1},
		{ApiKey: 17, MinVersion: 1, MaxVersion: 1},
		{ApiKey: 22, MinVersion: 0, MaxVersion: 5},
		{ApiKey: 0, MinVersion: 3, MaxVersion: 500},
		{ApiKey: -5, MinVersion: 0, MaxVersion: 0},
	}
	text := apiVersionsText(keys)
	if !strings.HasPrefix(text, "(\n\t") || !strings.HasSuffix(text, "\n)") {
		t.Fatalf("not in parentheses:\n%s", text)
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(text, "(\n"), "\n)"), ",\n")
	produce := fmt.Sprintf("\tProduce(0): 3 to 500 [usable: %d]", kmsg.NewPtrProduceRequest().MaxVersion())
	want := []string{
		"\tUNKNOWN(-5): 0",
		produce,
		"\tFetch(1): UNSUPPORTED",
		"\tListOffsets(2): UNSUPPORTED",
		"\tMetadata(3): UNSUPPORTED",
		"\tOffsetCommit(8): UNSUPPORTED",
	}
	if !slices.Equal(lines[:len(want)], want) {
		t.Errorf("first lines\n%q\nwant\n%q", lines[:len(want)], want)
	}
	for _, l := range []string{
		"\tSaslHandshake(17): 1 [usable: 1]",
		"\tApiVersions(18): 90 to 99 [unusable: node too new]",
		"\tInitProducerId(22): 0 to 5 [usable: 5]",
		"\tAlterPartitionReassignments(45): UNSUPPORTED",
		"\tDescribeUserScramCredentials(50): UNSUPPORTED",
		"\tVote(52): 0 to 1 [usable: 1]",
		"\tListConfigResources(74): UNSUPPORTED",
		"\tDeleteShareGroupOffsets(92): UNSUPPORTED",
	} {
		if !slices.Contains(lines, l) {
			t.Errorf("no line %q in:\n%s", l, text)
		}
	}
	if last := lines[len(lines)-1]; last != "\tUNKNOWN(999): 0 to 2" {
		t.Errorf("last line %q", last)
	}
	// Every broker API of Kafka 4.x is listed, controller-only ones
	// only when the broker offers them.
	for _, l := range lines {
		for _, absent := range []string{"(4):", "(53):", "(62):", "(82):", "(93):"} {
			if strings.Contains(l, absent) {
				t.Errorf("line %q for an API that is neither offered nor a broker API", l)
			}
		}
	}
	if n := len(lines); n != 77+3 {
		t.Errorf("%d lines, want Kafka 4.x's 77 broker APIs and 3 others:\n%s", n, text)
	}
}

// TestKafkaBrokerAPIVersionsNodeOrder checks the order of the brokers
// against what OpenJDK 17 printed for Kafka's HashMap of nodes.
func TestKafkaBrokerAPIVersionsNodeOrder(t *testing.T) {
	rack := func(s string) *string { return &s }
	for _, tc := range []struct {
		nodes []kadm.BrokerDetail
		want  []int32
	}{
		{[]kadm.BrokerDetail{
			{NodeID: 0, Host: "127.0.0.1", Port: 40001, Rack: rack("krack")},
			{NodeID: 1, Host: "127.0.0.1", Port: 40002, Rack: rack("krack")},
			{NodeID: 2, Host: "127.0.0.1", Port: 40003, Rack: rack("krack")},
		}, []int32{0, 1, 2}},
		{[]kadm.BrokerDetail{
			{NodeID: 1, Host: "broker1.example.com", Port: 9092},
			{NodeID: 2, Host: "broker2.example.com", Port: 9092},
			{NodeID: 3, Host: "broker3.example.com", Port: 9092, Rack: rack("r1")},
		}, []int32{3, 1, 2}},
	} {
		var got []int32
		for _, b := range javaMapOrder(tc.nodes, javaNodeHash, javaDefaultCapacity) {
			got = append(got, b.NodeID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("got %v, want %v", got, tc.want)
		}
	}
	if got := kafkaNode(kadm.BrokerDetail{NodeID: 3, Host: "b3", Port: 9092, Rack: rack("r1")}); got != "b3:9092 (id: 3 rack: r1 isFenced: false)" {
		t.Errorf("node printed as %q", got)
	}
}
