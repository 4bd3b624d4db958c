package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetsTestClient is a client for setting up a test's records, writing
// each record to the partition it names.
func offsetsTestClient(t *testing.T, c *cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceStamped writes one record per timestamp (ms) to a partition.
func produceStamped(t *testing.T, cl *kgo.Client, topic string, partition int32, stamps ...int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ms := range stamps {
		r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte("v"), Timestamp: time.UnixMilli(ms)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// deleteBefore moves a partition's log start offset up to offset.
func deleteBefore(t *testing.T, cl *kgo.Client, topic string, partition int32, offset int64) {
	t.Helper()
	var os kadm.Offsets
	os.AddOffset(topic, partition, offset, -1)
	resps, err := kadm.NewClient(cl).DeleteRecords(context.Background(), os)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestKafkaGetOffsets(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(3, "orders"), kfake.SeedTopics(11, "wide"), kfake.SeedTopics(1, "audit", "trimmed"))
	cl := offsetsTestClient(t, c)
	// kfake marks a topic internal through this config, as Kafka's
	// __consumer_offsets is.
	internal := map[string]*string{"kfake.is_internal": kmsg.StringPtr("true")}
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 2, 1, internal, "__consumer_offsets"); err != nil {
		t.Fatal(err)
	}
	produceStamped(t, cl, "orders", 0, 1000, 2000, 3000)
	produceStamped(t, cl, "orders", 1, 4000, 9000, 6000) // the largest timestamp at offset 1
	produceStamped(t, cl, "audit", 0, 1000)
	produceStamped(t, cl, "wide", 2, 1000)
	produceStamped(t, cl, "wide", 10, 1000, 2000)
	produceStamped(t, cl, "trimmed", 0, 1000, 2000, 3000, 4000, 5000)
	deleteBefore(t, cl, "trimmed", 0, 2)

	get := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-get-offsets.sh", "--bootstrap-server", c.addr}, args...)...)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"latest is the default", []string{"--topic", "orders"}, "orders:0:3\norders:1:3\norders:2:0\n"},
		{"latest by number", []string{"--topic", "orders", "--time", "-1"}, "orders:0:3\norders:1:3\norders:2:0\n"},
		{"latest by name", []string{"--topic", "trimmed", "--time", "latest"}, "trimmed:0:5\n"},
		{"earliest by number is the log start offset", []string{"--topic", "trimmed", "--time", "-2"}, "trimmed:0:2\n"},
		{"earliest by name", []string{"--topic", "trimmed", "--time", "earliest"}, "trimmed:0:2\n"},
		{"earliest-local is earliest with nothing tiered", []string{"--topic", "trimmed", "--time", "-4"}, "trimmed:0:2\n"},
		{"earliest-local by name", []string{"--topic", "trimmed", "--time", "earliest-local"}, "trimmed:0:2\n"},
		{"latest-tiered has no offset with nothing tiered", []string{"--topic", "trimmed", "--time", "-5"}, ""},
		{"latest-tiered by name", []string{"--topic", "trimmed", "--time", "latest-tiered"}, ""},
		{"max-timestamp is the offset of the largest timestamp, none for an empty partition",
			[]string{"--topic", "orders", "--time", "-3"}, "orders:0:2\norders:1:1\n"},
		{"max-timestamp by name", []string{"--topic", "orders", "--time", "max-timestamp"}, "orders:0:2\norders:1:1\n"},
		{"a time gives the first offset at or after it", []string{"--topic", "orders", "--time", "1500"}, "orders:0:1\norders:1:0\n"},
		{"a partition with nothing at or after the time gets no line", []string{"--topic", "orders", "--time", "5000"}, "orders:1:1\n"},
		{"nothing after the time prints nothing", []string{"--topic", "orders", "--time", "10000"}, ""},
		{"a time skips records deleted from below", []string{"--topic", "trimmed", "--time", "0"}, "trimmed:0:2\n"},

		{"lines sort as the strings topic-partition", []string{"--topic", "wide"},
			"wide:0:0\nwide:1:0\nwide:10:2\nwide:2:1\nwide:3:0\nwide:4:0\nwide:5:0\nwide:6:0\nwide:7:0\nwide:8:0\nwide:9:0\n"},
		{"a comma in --topic means or, spaces dropped", []string{"--topic", "audit, trimmed"}, "audit:0:1\ntrimmed:0:5\n"},
		{"--partitions over every topic, internal ones included", []string{"--partitions", "1"},
			"__consumer_offsets:1:0\norders:1:3\nwide:1:0\n"},
		{"--partitions with --exclude-internal-topics", []string{"--partitions", "0,1", "--exclude-internal-topics"},
			"audit:0:1\norders:0:3\norders:1:3\ntrimmed:0:5\nwide:0:0\nwide:1:0\n"},

		{"a rule of a regex alone", []string{"--topic-partitions", "ord.*"}, "orders:0:3\norders:1:3\norders:2:0\n"},
		{"a rule of one partition", []string{"--topic-partitions", "orders:1"}, "orders:1:3\n"},
		{"a range excludes its upper bound", []string{"--topic-partitions", "wide:2-4"}, "wide:2:1\nwide:3:0\n"},
		{"a range without a lower bound", []string{"--topic-partitions", "wide:-2"}, "wide:0:0\nwide:1:0\n"},
		{"a range without an upper bound", []string{"--topic-partitions", "wide:9-"}, "wide:10:2\nwide:9:0\n"},
		{"several rules, a trailing comma dropped", []string{"--topic-partitions", "orders:1,wide:9-,audit,"},
			"audit:0:1\norders:1:3\nwide:10:2\nwide:9:0\n"},
		{"an empty regex is every topic", []string{"--topic-partitions", ":0"},
			"__consumer_offsets:0:0\naudit:0:1\norders:0:3\ntrimmed:0:5\nwide:0:0\n"},
		{"internal topics by regex", []string{"--topic-partitions", "__.*"}, "__consumer_offsets:0:0\n__consumer_offsets:1:0\n"},
		{"--exclude-internal-topics", []string{"--topic-partitions", ":0", "--exclude-internal-topics"},
			"audit:0:1\norders:0:3\ntrimmed:0:5\nwide:0:0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(tc.args...)
			if out := r.ok(t); out != tc.want || r.stderr != "" {
				t.Errorf("%v printed:\n%s\nwant:\n%s\nstderr: %q", tc.args, out, tc.want, r.stderr)
			}
		})
	}

	t.Run("--broker-list still names the brokers", func(t *testing.T) {
		if out := c.run("", "kafka-get-offsets.sh", "--broker-list", c.addr, "--topic", "audit").ok(t); out != "audit:0:1\n" {
			t.Errorf("printed %q", out)
		}
	})

	t.Run("no partition matched exits 1", func(t *testing.T) {
		for _, args := range [][]string{
			{"--topic", "nope"},
			{"--topic", "ord"}, // a regex matches whole names
			{"--topic-partitions", "__consumer_offsets", "--exclude-internal-topics"},
			{"--topic", "orders", "--partitions", "7"},
		} {
			r := get(args...).wantCode(t, 1)
			if r.stdout != "" || !strings.Contains(r.stderr, "Could not match any topic-partitions with the specified filters") {
				t.Errorf("%v: stdout %q, stderr %q", args, r.stdout, r.stderr)
			}
		}
	})

	t.Run("a partition the broker fails is skipped on stderr", func(t *testing.T) {
		// kfake speaks ListOffsets up to v10 and refuses -6, which needs v11.
		r := get("--topic", "trimmed", "--time", "earliest-pending-upload")
		if out := r.ok(t); out != "" || r.stderr != "Skip getting offsets for topic-partition trimmed-0 due to error: "+
			"org.apache.kafka.common.errors.UnsupportedVersionException: The version of API is not supported.\n" {
			t.Errorf("stdout %q, stderr %q", out, r.stderr)
		}
	})

	t.Run("a missing --command-config exits 1", func(t *testing.T) {
		get("--topic", "audit", "--command-config", filepath.Join(t.TempDir(), "none.properties")).wantCode(t, 1)
	})
}

func TestKafkaGetOffsetsUsageErrors(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "orders"))
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "An interactive shell for getting topic-partition offsets."},
		{[]string{"--bootstrap-server", c.addr, "--topic-partitions", "orders", "--topic", "orders"},
			"--topic-partitions cannot be used with --topic or --partitions"},
		{[]string{"--bootstrap-server", c.addr, "--topic-partitions", "orders", "--partitions", "0"},
			"--topic-partitions cannot be used with --topic or --partitions"},
		{[]string{"--bootstrap-server", c.addr, "--time", "soon"},
			"Malformed time argument soon. Please use -1 or latest / -2 or earliest / -3 or max-timestamp / -4 or earliest-local / " +
				"-5 or latest-tiered / -6 or earliest-pending-upload, or a specified long format timestamp"},
		{[]string{"--bootstrap-server", c.addr, "--time", "LATEST"}, "Malformed time argument LATEST."},
		{[]string{"--bootstrap-server", c.addr, "--partitions", "0,a"},
			"--partitions expects a comma separated list of numeric partition ids, but received: 0,a"},
		{[]string{"--bootstrap-server", c.addr, "--topic-partitions", "orders:1:2"}, "Invalid rule specification: orders:1:2"},
		{[]string{"--bootstrap-server", c.addr, "--topic-partitions", "orders,wide:x"}, "Invalid rule specification: wide:x"},
		{[]string{"--bootstrap-server", c.addr, "--topic-partitions", "orders:99999999999"}, `For input string: "99999999999"`},
		{[]string{"--bootstrap-server", c.addr, "--topic-partitions", "ord[ers:0"}, "ord[ers is an invalid regex."},
		{[]string{"--bootstrap-server", c.addr, "--topic", "ord(ers"}, "ord(ers is an invalid regex."},
		{[]string{"--bootstrap-server", "localhost"}, "Please provide valid host:port like host1:9091,host2:9092"},
		{[]string{"--bootstrap-server", c.addr + ",localhost"}, "Please provide valid host:port like host1:9091,host2:9092"},
		{[]string{"--bootstrap-server", " "}, "Error while validating the bootstrap address"},
		{[]string{"--bootstrap-controller", c.addr}, "unknown flag: --bootstrap-controller"},
	} {
		r := c.run("", append([]string{"kafka-get-offsets.sh"}, tc.args...)...).wantCode(t, 2)
		if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "Usage: kafka-get-offsets.sh") || r.stdout != "" {
			t.Errorf("%v: stderr %q, want %q and the usage", tc.args, r.stderr, tc.msg)
		}
	}
}
