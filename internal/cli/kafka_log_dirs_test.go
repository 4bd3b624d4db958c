package cli

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKafkaLogDirsJavaOrder checks the orders LogDirsCommand's collections
// give against what OpenJDK 17 printed for the same Java code.
func TestKafkaLogDirsJavaOrder(t *testing.T) {
	t.Run("broker sets", func(t *testing.T) {
		for _, tc := range []struct {
			cluster, input                      []int32
			wantCluster, wantMissing, wantAsked string
			wantDescribed                       string
		}{
			{[]int32{1, 2, 3}, nil, "1,2,3", "", "1,2,3", "1,2,3"},
			// A map sized for three brokers has four buckets: 5 goes
			// with 1.
			{[]int32{1, 2, 5}, nil, "1,2,5", "", "1,2,5", "1,5,2"},
			{[]int32{5, 2, 1}, nil, "1,2,5", "", "1,2,5", "1,5,2"},
			{[]int32{1001, 1002, 1003}, nil, "1001,1002,1003", "", "1001,1002,1003", "1001,1002,1003"},
			{[]int32{100, 200, 300, 17, 33}, nil, "17,33,100,200,300", "", "17,33,100,200,300", "200,17,33,100,300"},
			{[]int32{1, 2, 3}, []int32{3, 9, 1, 9, 25, -1}, "1,2,3", "-1,9,25", "1,3", "1,3"},
			{[]int32{3, 19, 35}, []int32{35, 3}, "3,19,35", "", "35,3", "35,3"},
			{[]int32{0, 1, 2}, []int32{2, 1, 2}, "0,1,2", "", "1,2", "1,2"},
			{[]int32{0, 1, 2}, []int32{0, 9, 5}, "0,1,2", "5,9", "0", "0"},
		} {
			s := logDirsBrokers(tc.cluster, tc.input)
			got := []string{int32List(s.cluster), int32List(s.missing), int32List(s.existing), int32List(s.described)}
			want := []string{tc.wantCluster, tc.wantMissing, tc.wantAsked, tc.wantDescribed}
			if !slices.Equal(got, want) {
				t.Errorf("cluster %v, --broker-list %v: got %q, want %q", tc.cluster, tc.input, got, want)
			}
		}
		// Twenty brokers grow every map past its first size.
		var many []int32
		for i := range int32(20) {
			many = append(many, i*7)
		}
		want := "0,98,35,133,70,7,105,42,77,14,112,49,84,21,119,56,91,28,126,63"
		if s := logDirsBrokers(many, nil); int32List(s.cluster) != want || int32List(s.described) != want {
			t.Errorf("twenty brokers: %v, described %v", s.cluster, s.described)
		}
	})

	t.Run("directories", func(t *testing.T) {
		for _, tc := range []struct{ in, want []string }{
			{[]string{"/data/a", "/data/b", "/mem/kfake"}, []string{"/data/a", "/data/b", "/mem/kfake"}},
			{[]string{"/var/lib/kafka/data", "/tmp/kafka-logs", "/disk1", "/disk2", "/disk3"},
				[]string{"/disk2", "/tmp/kafka-logs", "/disk3", "/disk1", "/var/lib/kafka/data"}},
		} {
			var dirs []kmsg.DescribeLogDirsResponseDir
			for _, d := range tc.in {
				dirs = append(dirs, kmsg.DescribeLogDirsResponseDir{Dir: d})
			}
			var got []string
			for _, d := range logDirsOf(dirs, nil) {
				got = append(got, d.LogDir)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		}
	})

	t.Run("partitions", func(t *testing.T) {
		var big []topicPartition
		for p := range int32(15) {
			big = append(big, topicPartition{"logs", p}, topicPartition{"metrics", p})
		}
		for _, tc := range []struct {
			in     []topicPartition
			topics []string
			want   string
		}{
			{[]topicPartition{{"events", 0}, {"events", 1}, {"orders", 0}, {"orders", 1}}, nil,
				"orders-0,orders-1,events-0,events-1"},
			{[]topicPartition{{"orders", 1}, {"orders", 0}, {"events", 1}, {"events", 0}}, []string{"events"},
				"events-0,events-1"},
			{big, nil, "metrics-12,logs-0,metrics-10,metrics-8,metrics-6,metrics-14,logs-14,logs-10,logs-12,logs-6,metrics-3," +
				"logs-8,metrics-1,logs-2,logs-4,metrics-11,metrics-9,metrics-7,metrics-5,metrics-13,logs-13,logs-9,logs-11," +
				"metrics-4,logs-5,metrics-2,logs-7,metrics-0,logs-1,logs-3"},
			{big, []string{"metrics"}, "metrics-12,metrics-11,metrics-10,metrics-9,metrics-8,metrics-7,metrics-6,metrics-5," +
				"metrics-14,metrics-13,metrics-4,metrics-3,metrics-2,metrics-1,metrics-0"},
		} {
			var d kmsg.DescribeLogDirsResponseDir
			for _, tp := range tc.in {
				rt := kmsg.DescribeLogDirsResponseDirTopic{Topic: tp.topic}
				rt.Partitions = append(rt.Partitions, kmsg.DescribeLogDirsResponseDirTopicPartition{Partition: tp.partition})
				d.Topics = append(d.Topics, rt)
			}
			var got []string
			for _, r := range replicasOf(d, tc.topics) {
				got = append(got, r.Partition)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("topics %v:\ngot  %s\nwant %s", tc.topics, strings.Join(got, ","), tc.want)
			}
		}
	})
}

// logDirsOutput is the JSON line as Kafka's tool writes it.
type logDirsOutput struct {
	Version *int `json:"version"`
	Brokers []struct {
		Broker  int32 `json:"broker"`
		LogDirs []struct {
			LogDir     string  `json:"logDir"`
			Error      *string `json:"error"`
			Partitions []struct {
				Partition string `json:"partition"`
				Size      int64  `json:"size"`
				OffsetLag int64  `json:"offsetLag"`
				IsFuture  bool   `json:"isFuture"`
			} `json:"partitions"`
		} `json:"logDirs"`
	} `json:"brokers"`
}

// logDirsLines checks the two header lines and parses the JSON line.
func logDirsLines(t *testing.T, out, brokers string) (string, logDirsOutput) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != 4 || lines[0] != "Querying brokers for log directories information" ||
		lines[1] != "Received log directory information from brokers "+brokers || lines[3] != "" {
		t.Fatalf("printed:\n%s", out)
	}
	var doc logDirsOutput
	d := json.NewDecoder(strings.NewReader(lines[2]))
	d.DisallowUnknownFields()
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", lines[2], err)
	}
	if doc.Version == nil || *doc.Version != 1 {
		t.Errorf("version: %s", lines[2])
	}
	return lines[2], doc
}

func TestKafkaLogDirs(t *testing.T) {
	c := newCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(2, "events", "orders"))
	c.run("a\nb\n", "samsa", "produce", "events", "-p", "1").ok(t)
	size := c.c.PartitionInfo("events", 1).NumBytes
	if size == 0 {
		t.Fatal("events-1 holds no bytes after the produce")
	}
	ld := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-log-dirs.sh", "--bootstrap-server", c.addr}, args...)...)
	}
	// kfake answers every broker with every partition, in one directory.
	partitions := func(doc logDirsOutput) map[int32][]string {
		out := map[int32][]string{}
		for _, b := range doc.Brokers {
			if len(b.LogDirs) != 1 || b.LogDirs[0].LogDir != "/mem/kfake" {
				t.Fatalf("broker %d: log dirs %+v", b.Broker, b.LogDirs)
			}
			out[b.Broker] = []string{}
			for _, p := range b.LogDirs[0].Partitions {
				out[b.Broker] = append(out[b.Broker], p.Partition)
			}
		}
		return out
	}

	t.Run("every broker and topic", func(t *testing.T) {
		raw, doc := logDirsLines(t, ld("--describe").ok(t), "0,1,2")
		// Kafka's HashMaps put the keys in this order.
		if !strings.HasPrefix(raw, `{"brokers":[{"broker":0,"logDirs":[{"partitions":[{"partition":"orders-0","size":0,"offsetLag":0,"isFuture":false},`) ||
			!strings.Contains(raw, `],"error":null,"logDir":"/mem/kfake"}]},{"broker":1,`) ||
			!strings.HasSuffix(raw, `}]}],"version":1}`) {
			t.Errorf("not Kafka's key order: %s", raw)
		}
		if n := len(regexp.MustCompile(`\{"partition":"[^"]+","size":\d+,"offsetLag":\d+,"isFuture":false\}`).FindAllString(raw, -1)); n != 12 {
			t.Errorf("%d partition objects in Kafka's key order, want 12: %s", n, raw)
		}
		want := []string{"orders-0", "orders-1", "events-0", "events-1"}
		for id, got := range partitions(doc) {
			if !slices.Equal(got, want) {
				t.Errorf("broker %d: partitions %v, want %v", id, got, want)
			}
		}
		for _, b := range doc.Brokers {
			p := b.LogDirs[0].Partitions[3]
			if b.LogDirs[0].Error != nil || p.Partition != "events-1" || p.Size != size || p.OffsetLag != 0 || p.IsFuture {
				t.Errorf("broker %d: %+v, want events-1 of %d bytes and no error", b.Broker, b.LogDirs[0], size)
			}
		}
		if len(doc.Brokers) != 3 {
			t.Errorf("brokers %+v", doc.Brokers)
		}
	})

	t.Run("a broker list and a topic list", func(t *testing.T) {
		_, doc := logDirsLines(t, ld("--describe", "--broker-list", "2,1,2", "--topic-list", "events,,nope").ok(t), "1,2")
		got := partitions(doc)
		if len(doc.Brokers) != 2 || doc.Brokers[0].Broker != 1 || doc.Brokers[1].Broker != 2 {
			t.Errorf("brokers %+v, want 1 and 2", doc.Brokers)
		}
		for id, parts := range got {
			if !slices.Equal(parts, []string{"events-0", "events-1"}) {
				t.Errorf("broker %d: partitions %v", id, parts)
			}
		}
		raw, doc := logDirsLines(t, ld("--describe", "--broker-list", "0", "--topic-list", "nope").ok(t), "0")
		if len(doc.Brokers) != 1 || !strings.Contains(raw, `"partitions":[]`) {
			t.Errorf("an unknown topic: %s", raw)
		}
	})

	t.Run("a broker that does not exist", func(t *testing.T) {
		r := ld("--describe", "--broker-list", "0,9,5").wantCode(t, 1)
		if r.stdout != "" || r.stderr != "ERROR: The given brokers do not exist from --broker-list: 5,9. Current existent brokers: 0,1,2\n" {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})

	t.Run("a directory with an error", func(t *testing.T) {
		h := c.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.DescribeLogDirs}, Nodes: []int32{2}, Resource: "/mem/kfake",
			Err: kerr.KafkaStorageError, Count: -1})
		defer h.Remove()
		raw, doc := logDirsLines(t, ld("--describe").ok(t), "0,1,2")
		d := doc.Brokers[2].LogDirs[0]
		if doc.Brokers[2].Broker != 2 || d.Error == nil || *d.Error != "org.apache.kafka.common.errors.KafkaStorageException" || len(d.Partitions) != 0 {
			t.Errorf("broker 2's directory: %s", raw)
		}
		if doc.Brokers[0].LogDirs[0].Error != nil {
			t.Errorf("broker 0's directory: %s", raw)
		}
	})

	t.Run("a broker that refuses", func(t *testing.T) {
		h := c.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.DescribeLogDirs}, Nodes: []int32{1}, TopLevel: true,
			Err: kerr.KafkaStorageError, Count: -1})
		defer h.Remove()
		r := ld("--describe").wantCode(t, 1)
		if r.stdout != "Querying brokers for log directories information\n" ||
			r.stderr != "org.apache.kafka.common.errors.KafkaStorageException: "+kerr.KafkaStorageError.Description+"\n" {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{nil, `Missing required argument "[describe]"`},
			{[]string{"--broker-list", "1"}, `Missing required argument "[describe]"`},
			{[]string{"--describe", "--broker-list", "1,x"}, `For input string: "x"`},
			{[]string{"--describe", "--broker-list", " 1"}, `For input string: " 1"`},
			{[]string{"--describe", "--broker-list", "99999999999"}, `For input string: "99999999999"`},
			{[]string{"--describe", "--nope"}, "unknown flag: --nope"},
			{[]string{"--describe", "--topic-list"}, "flag --topic-list needs a value"},
		} {
			r := ld(tc.args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "Usage: kafka-log-dirs.sh") || r.stdout != "" {
				t.Errorf("%v: stdout %q, stderr %q, want %q", tc.args, r.stdout, r.stderr, tc.msg)
			}
		}
		if out := ld("--help").ok(t); !strings.Contains(out, "--broker-list ID,...") {
			t.Errorf("--help printed %q", out)
		}
		if out := ld("--version").ok(t); !strings.HasPrefix(out, "kafka-log-dirs.sh") {
			t.Errorf("--version printed %q", out)
		}
	})
}

// A broker that lists no directory is a refusal to Kafka's admin client,
// reported as a cluster authorization failure when it carries no error:
// kfake lists none when it holds no partition.
func TestKafkaLogDirsNoDirectory(t *testing.T) {
	c := newCluster(t)
	r := c.run("", "kafka-log-dirs.sh", "--describe").wantCode(t, 1)
	if r.stdout != "Querying brokers for log directories information\n" ||
		r.stderr != "org.apache.kafka.common.errors.ClusterAuthorizationException: Cluster authorization failed.\n" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

func TestKafkaLogDirsExceptionNames(t *testing.T) {
	for code, want := range map[int16]string{
		kerr.KafkaStorageError.Code:       "org.apache.kafka.common.errors.KafkaStorageException",
		kerr.LogDirNotFound.Code:          "org.apache.kafka.common.errors.LogDirNotFoundException",
		kerr.UnknownTopicOrPartition.Code: "org.apache.kafka.common.errors.UnknownTopicOrPartitionException",
		kerr.NotController.Code:           "NOT_CONTROLLER",
		-1:                                "org.apache.kafka.common.errors.UnknownServerException",
		9999:                              "org.apache.kafka.common.errors.UnknownServerException",
	} {
		if got := javaExceptionName(code); got != want {
			t.Errorf("%s: got %s, want %s", strconv.Itoa(int(code)), got, want)
		}
	}
}
