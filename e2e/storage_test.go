package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// Kafka 4.x's quickstart as its documentation types it, on the
// server.properties Kafka 4.x ships (a KIP-853 quorum, named by
// controller.quorum.bootstrap.servers instead of controller.quorum.voters):
// random-uuid, format --standalone, kafka-server-start.sh, a topic, two
// events written and read back. The cluster keeps the formatted id across
// a restart, and a second format is refused.
func TestKafka4QuickstartFormatsAndStarts(t *testing.T) {
	dir := t.TempDir()
	b := newBroker(t, dir, "broker", "127.0.0.1:"+strconv.Itoa(clustertest.FreePort(t)))
	ctrl := "127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t))
	b.props = map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.quorum.bootstrap.servers":              ctrl,
		"listeners":                                        "PLAINTEXT://" + b.Addr + ",CONTROLLER://" + ctrl,
		"inter.broker.listener.name":                       "PLAINTEXT",
		"advertised.listeners":                             "PLAINTEXT://" + b.Addr + ",CONTROLLER://" + ctrl,
		"controller.listener.names":                        "CONTROLLER",
		"listener.security.protocol.map":                   "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
		"num.network.threads":                              "3",
		"num.io.threads":                                   "8",
		"socket.send.buffer.bytes":                         "102400",
		"socket.receive.buffer.bytes":                      "102400",
		"socket.request.max.bytes":                         "104857600",
		"log.dirs":                                         b.DataDir,
		"num.partitions":                                   "1",
		"num.recovery.threads.per.data.dir":                "1",
		"offsets.topic.replication.factor":                 "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"log.retention.hours":                              "168",
		"log.segment.bytes":                                "1073741824",
		"log.retention.check.interval.ms":                  "300000",
	}
	b.writeProps()
	tools := kafkaTools(t)
	tool := func(name string, args ...string) toolResult {
		t.Helper()
		return runTool(t, 60*time.Second, "", filepath.Join(tools, name), args...)
	}

	r := tool("kafka-storage.sh", "random-uuid")
	id := strings.TrimSuffix(r.Stdout, "\n")
	if raw, err := base64.RawURLEncoding.DecodeString(id); r.Err != nil || err != nil || len(raw) != 16 {
		t.Fatalf("random-uuid: %s", r)
	}
	// samsa refuses to start such a node unformatted, as Kafka does.
	b.launch = func(props, _ string) (string, []string) {
		return filepath.Join(tools, "kafka-server-start.sh"), []string{props}
	}
	b.spawn()
	if p := b.wait(30 * time.Second); p.err == nil || !strings.Contains(b.StartLog(), "kafka-storage.sh format") {
		t.Fatalf("an unformatted node started, or said nothing of formatting: %v\n%s", p.err, b.StartLog())
	}
	r = tool("kafka-storage.sh", "format", "--standalone", "-t", id, "-c", b.propsPath)
	if r.Err != nil || r.Stdout != "Formatting dynamic metadata voter directory "+b.DataDir+".\n" {
		t.Fatalf("format --standalone: %s", r)
	}
	b.Start()

	if r := tool("kafka-topics.sh", "--create", "--topic", "quickstart-events", "--bootstrap-server", b.Addr); r.Err != nil {
		t.Fatalf("create: %s", r)
	}
	events := "This is my first event\nThis is my second event\n"
	if r := runTool(t, 60*time.Second, events, filepath.Join(tools, "kafka-console-producer.sh"), "--topic", "quickstart-events", "--bootstrap-server", b.Addr); r.Err != nil {
		t.Fatalf("produce: %s", r)
	}
	if r := tool("kafka-console-consumer.sh", "--topic", "quickstart-events", "--from-beginning", "--bootstrap-server", b.Addr, "--max-messages", "2"); r.Err != nil || r.Stdout != events {
		t.Fatalf("consume: %s", r)
	}
	clusterID := func() string {
		t.Helper()
		m, err := b.Admin(t).BrokerMetadata(testContext(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return m.Cluster
	}
	if got := clusterID(); got != id {
		t.Fatalf("cluster id %q, want the formatted %q", got, id)
	}

	r = tool("kafka-storage.sh", "format", "--standalone", "-t", id, "-c", b.propsPath)
	if r.Err == nil || !strings.Contains(r.Stderr, "Log directory "+b.DataDir+" is already formatted. Use --ignore-formatted") {
		t.Errorf("a second format: %s", r)
	}
	r = tool("kafka-storage.sh", "format", "--standalone", "--ignore-formatted", "-t", id, "-c", b.propsPath)
	if r.Err != nil || r.Stdout != "All of the log directories are already formatted.\n" {
		t.Errorf("format --ignore-formatted: %s", r)
	}
	b.Term()
	b.Start()
	if got := clusterID(); got != id {
		t.Errorf("cluster id %q after a restart, want %q", got, id)
	}
}

// A Kafka 4.x-style cluster: three combined nodes formatted with
// --initial-controllers, each with its directory id, and a broker-only node
// that is not formatted and finds the controllers through
// controller.quorum.bootstrap.servers. All four serve, and a topic with
// three replicas takes writes through the fourth.
func TestInitialControllersAndABootstrappingBroker(t *testing.T) {
	tools := kafkaTools(t)
	storage := func(args ...string) string {
		t.Helper()
		return mustRun(t, 60*time.Second, "", filepath.Join(tools, "kafka-storage.sh"), args...).Stdout
	}
	id := strings.TrimSpace(storage("random-uuid"))
	ctrl := make([]string, 3)
	dirIDs := make([]string, 3)
	var initial []string
	for i := range ctrl {
		ctrl[i] = "127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t))
		dirIDs[i] = strings.TrimSpace(storage("random-uuid"))
		initial = append(initial, strconv.Itoa(i+1)+"@"+ctrl[i]+":"+dirIDs[i])
	}
	bootstrap := strings.Join(ctrl, ",")
	var nodes []*Broker
	for i := range 4 {
		n := newBroker(t, t.TempDir(), "node "+strconv.Itoa(i+1), "127.0.0.1:"+strconv.Itoa(clustertest.FreePort(t)))
		n.props = map[string]string{
			"node.id":                             strconv.Itoa(i + 1),
			"controller.quorum.bootstrap.servers": bootstrap,
			"controller.listener.names":           "CONTROLLER",
			"log.dirs":                            n.DataDir,
			"process.roles":                       "broker",
			"listeners":                           "PLAINTEXT://" + n.Addr,
		}
		if i < 3 {
			n.props["process.roles"] = "broker,controller"
			n.props["listeners"] += ",CONTROLLER://" + ctrl[i]
		}
		n.writeProps()
		nodes = append(nodes, n)
	}
	for i, n := range nodes[:3] {
		out := storage("format", "-t", id, "-c", n.propsPath, "--initial-controllers", strings.Join(initial, ","))
		if out != "Formatting dynamic metadata voter directory "+n.DataDir+".\n" {
			t.Fatalf("format node %d: %q", i+1, out)
		}
		meta, err := os.ReadFile(filepath.Join(n.DataDir, "meta.properties"))
		if err != nil || !strings.Contains(string(meta), "directory.id="+dirIDs[i]+"\n") || !strings.Contains(string(meta), "cluster.id="+id+"\n") {
			t.Fatalf("node %d meta.properties: %v\n%s", i+1, err, meta)
		}
	}
	nodes[3].spawn() // first: it waits for the controllers
	for _, n := range nodes[:3] {
		n.spawn()
	}
	for _, n := range nodes {
		n.waitReady()
	}
	adm := nodes[3].Admin(t)
	waitUntil(t, 60*time.Second, "four brokers in the metadata", func() error {
		m, err := adm.BrokerMetadata(testContext(t, 5*time.Second))
		if err != nil {
			return err
		}
		if len(m.Brokers) != 4 || m.Cluster != id {
			return fmt.Errorf("cluster %s, brokers %v", m.Cluster, m.Brokers.NodeIDs())
		}
		return nil
	})
	createReplicatedTopic(t, adm, "spread", 3, 3, "min.insync.replicas", "2")
	produceValues(t, nodes[3], "spread", 3, numbered("v", 30)...)
	if !strings.Contains(nodes[3].StartLog(), "from=\"the bootstrap servers\"") {
		t.Errorf("node 4 does not say it found the voters from the bootstrap servers:\n%s", nodes[3].StartLog())
	}
}

// kafka-dump-log.sh reads the segment files a broker wrote, as an operator
// points it at them after a clean stop: every record produced shows with
// its payload, and the index needs no repair.
func TestDumpLogReadsTheBrokersSegments(t *testing.T) {
	b := startBroker(t)
	createReplicatedTopic(t, b.Admin(t), "dumped", 1, 1)
	produceValues(t, b, "dumped", 1, "first", "second", "third")
	b.Term()
	seg := filepath.Join(b.DataDir, "dumped-0", "00000000000000000000")
	out := mustRun(t, 60*time.Second, "", samsaBin, "kafka-dump-log.sh", "--files", seg+".log", "--print-data-log").Stdout
	for _, want := range []string{"Dumping " + seg + ".log\n", "Log starting offset: 0\n", "baseOffset: 0 lastOffset: 2 count: 3 ",
		" payload: first\n", " payload: second\n", " payload: third\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dump lacks %q:\n%s", want, out)
		}
	}
	// Three small batches are below index.interval.bytes: a cleanly closed
	// segment's index is cut to its (no) entries, which Kafka reports so.
	r := runTool(t, 60*time.Second, "", samsaBin, "kafka-dump-log.sh", "--files", seg+".index", "--verify-index-only")
	if r.Err != nil || r.Stdout != "Dumping "+seg+".index\n"+seg+".index is empty.\n" || r.Stderr != "" {
		t.Errorf("--verify-index-only: %s", r)
	}
}
