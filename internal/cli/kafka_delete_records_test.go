package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestKafkaDeleteRecords(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"))
	cl := offsetsTestClient(t, c)
	produceStamped(t, cl, "t", 0, 1, 2, 3, 4, 5)
	produceStamped(t, cl, "t", 1, 1, 2, 3)
	dir := t.TempDir()
	del := func(plan string) result {
		t.Helper()
		path := filepath.Join(dir, "offsets.json")
		if err := os.WriteFile(path, []byte(plan), 0o644); err != nil {
			t.Fatal(err)
		}
		return c.run("", "kafka-delete-records.sh", "--bootstrap-server", c.addr, "--offset-json-file", path)
	}
	earliest := func() string {
		t.Helper()
		return c.run("", "kafka-get-offsets.sh", "--bootstrap-server", c.addr, "--topic", "t", "--time", "earliest").ok(t)
	}
	const head = "Executing records delete operation\nRecords delete operation completed:\n"

	t.Run("the low watermark moves up to the offset", func(t *testing.T) {
		out := del(`{"partitions":[{"topic":"t","partition":0,"offset":2}],"version":1}`).ok(t)
		if want := head + "partition: t-0\tlow_watermark: 2\n"; out != want {
			t.Fatalf("printed %q, want %q", out, want)
		}
		if got := earliest(); got != "t:0:2\nt:1:0\n" {
			t.Fatalf("after deleting, earliest offsets %q", got)
		}
		out = del(`{"partitions":[{"topic":"t", "partition":0, "offset":4}]}`).ok(t)
		if want := head + "partition: t-0\tlow_watermark: 4\n"; out != want {
			t.Fatalf("printed %q, want %q", out, want)
		}
	})

	t.Run("offset -1 is the high watermark", func(t *testing.T) {
		out := del(`{"partitions":[{"topic":"t","partition":1,"offset":-1}]}`).ok(t)
		if want := head + "partition: t-1\tlow_watermark: 3\n"; out != want {
			t.Fatalf("printed %q, want %q", out, want)
		}
	})

	t.Run("failed partitions get an error line, in Kafka's HashMap order", func(t *testing.T) {
		// TopicPartition.hashCode puts t-1, t-0 and t-42 in buckets 4, 5
		// and 11 of a 16-bucket HashMap: Kafka prints them in that order.
		out := del(`{"partitions":[{"topic":"t","partition":0,"offset":99},{"topic":"t","partition":42,"offset":1},` +
			`{"topic":"t","partition":1,"offset":3}]}`).ok(t)
		want := head +
			"partition: t-1\tlow_watermark: 3\n" +
			"partition: t-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.\n" +
			"partition: t-42\terror: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.\n"
		if out != want {
			t.Fatalf("printed:\n%s\nwant:\n%s", out, want)
		}
		if got := earliest(); got != "t:0:4\nt:1:3\n" {
			t.Fatalf("a failed delete moved the log start: %q", got)
		}
	})

	t.Run("no partitions", func(t *testing.T) {
		if out := del(`{"partitions":[]}`).ok(t); out != head {
			t.Fatalf("printed %q", out)
		}
	})

	t.Run("files Kafka refuses exit 1 before deleting", func(t *testing.T) {
		for _, tc := range []struct{ plan, msg string }{
			{``, "The input string is not a valid JSON"},
			{`{"partitions":[`, "The input string is not a valid JSON"},
			{`[]`, "Expected JSON object, received []"},
			{`{"version":"1"}`, "Expected `Integer` value, received \"1\""},
			{`{"version":2,"partitions":[]}`, "Not supported version field value 2"},
			{`{"version":1}`, "Missing partitions field"},
			{`{"partitions":2}`, "Expected JSON array, received 2"},
			{`{"partitions":{}}`, "Expected JSON array, received {}"},
			{`{"partitions":[1]}`, "Expected JSON object, received 1"},
			{`{"partitions":[{}]}`, "No such field exists: `topic`"},
			{`{"partitions":[{"topic":0}]}`, "Expected `String` value, received 0"},
			{`{"partitions":[{"topic":"t"}]}`, "No such field exists: `partition`"},
			{`{"partitions":[{"topic":"t", "partition": ""}]}`, "Expected `Integer` value, received \"\""},
			{`{"partitions":[{"topic":"t", "partition": 1.0, "offset": 0}]}`, "Expected `Integer` value, received 1.0"},
			{`{"partitions":[{"topic":"t", "partition": 0}]}`, "No such field exists: `offset`"},
			{`{"partitions":[{"topic":"t", "partition": 0, "offset": 1e3}]}`, "Expected `Long` value, received 1e3"},
			{`{"partitions":[{"topic":"t","partition":0,"offset":5},{"topic":"t","partition":1,"offset":3},{"topic":"t","partition":0,"offset":5}]}`,
				"Offset json file contains duplicate topic partitions: t-0"},
		} {
			r := del(tc.plan).wantCode(t, 1)
			if r.stdout != "" || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("%s: stdout %q, stderr %q, want %q", tc.plan, r.stdout, r.stderr, tc.msg)
			}
		}
		if got := earliest(); got != "t:0:4\nt:1:3\n" {
			t.Fatalf("a refused file deleted records: %q", got)
		}
		r := c.run("", "kafka-delete-records.sh", "--offset-json-file", filepath.Join(dir, "none.json")).wantCode(t, 1)
		if !strings.Contains(r.stderr, "no such file") {
			t.Errorf("a missing file: stderr %q", r.stderr)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{nil, "This tool helps to delete records of the given partitions down to the specified offset."},
			{[]string{"--bootstrap-server", c.addr}, `Missing required argument "[offset-json-file]"`},
			{[]string{"--offset-json-file"}, "flag --offset-json-file needs a value"},
		} {
			r := c.run("", append([]string{"kafka-delete-records.sh"}, tc.args...)...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "Usage: kafka-delete-records.sh") {
				t.Errorf("%v: stderr %q, want %q", tc.args, r.stderr, tc.msg)
			}
		}
	})
}

// Kafka lists duplicates as its HashSet iterates them.
func TestKafkaDeleteRecordsDuplicates(t *testing.T) {
	_, err := parseOffsetJSON([]byte(`{"partitions":[` +
		`{"topic":"t","partition":42,"offset":1},{"topic":"t","partition":0,"offset":1},` +
		`{"topic":"t","partition":0,"offset":2},{"topic":"t","partition":42,"offset":2}]}`))
	if err == nil || err.Error() != "Offset json file contains duplicate topic partitions: t-0,t-42" {
		t.Fatalf("got %v", err)
	}
	ds, err := parseOffsetJSON([]byte(`{"partitions":[{"topic":"t","partition":1,"offset":1,"ignored":"field"}]} trailing`))
	if err != nil || len(ds) != 1 || ds[0] != (recordsToDelete{topicPartition{"t", 1}, 1}) {
		t.Fatalf("got %v, %v", ds, err)
	}
}
