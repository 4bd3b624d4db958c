package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	windowLine = `^\d+ records sent, \d+\.\d records/sec \(\d+\.\d{2} MB/sec\), \d+\.\d ms avg latency, \d+\.\d ms max latency\.$`
	totalLine  = `^%d records sent, \d+\.\d records/sec \(\d+\.\d{2} MB/sec\), \d+\.\d{2} ms avg latency, \d+\.\d{2} ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$`
	csvHeader  = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
	dateRe     = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}`
	csvRow     = `^` + dateRe + `, ` + dateRe + `, \d+\.\d{4}, (\d+\.\d{4}|Infinity|NaN), %d, (\d+\.\d{4}|Infinity|NaN), \d+, -?\d+, (-?\d+\.\d{4}|-?Infinity|NaN), (-?\d+\.\d{4}|-?Infinity|NaN)$`
)

func sprintf(format string, n int) string { return strings.Replace(format, "%d", itoa(n), 1) }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestPerfProduce(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(3, "bench"))

	t.Run("window lines and Kafka's final line", func(t *testing.T) {
		// 200 records at 2000/s take at least 0.1 s, so 10 ms windows close.
		out := c.run("", "samsa", "perf", "produce", "--topic", "bench", "--num-records", "200", "--record-size", "64",
			"--throughput", "2000", "--reporting-interval", "10", "--producer-props", "acks=all", "linger.ms=0").ok(t)
		matchLines(t, out, windowLine, sprintf(totalLine, 200))
	})

	t.Run("the Kafka personality with bootstrap.servers in --producer-props", func(t *testing.T) {
		out := c.run("", "kafka-producer-perf-test.sh", "--topic", "bench", "--num-records", "100", "--record-size", "10",
			"--throughput", "-1", "--producer-props", "bootstrap.servers="+c.addr, "acks=1", "compression.type=lz4").ok(t)
		matchLines(t, out, sprintf(totalLine, 100))
	})

	t.Run("a topic that does not exist yet is created, as Kafka's producer lets the broker do", func(t *testing.T) {
		auto := newCluster(t, kfake.AllowAutoTopicCreation())
		out := auto.run("", "kafka-producer-perf-test.sh", "--topic", "fresh", "--num-records", "20", "--record-size", "10",
			"--throughput", "-1", "--producer-props", "bootstrap.servers="+auto.addr).ok(t)
		matchLines(t, out, sprintf(totalLine, 20))
	})

	t.Run("--json", func(t *testing.T) {
		r := c.run("", "samsa", "perf", "produce", "--topic", "bench", "--num-records", "50", "--record-size", "10", "--json")
		var s perfSummary
		if err := json.Unmarshal([]byte(r.ok(t)), &s); err != nil {
			t.Fatalf("%v: %q", err, r.stdout)
		}
		if s.Records != 50 || s.Errors != 0 || s.P999Ms < s.P50Ms {
			t.Fatalf("got %+v", s)
		}
		matchLines(t, r.stderr, sprintf(totalLine, 50))
	})

	t.Run("payload file and monotonic payloads", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "payloads.txt")
		if err := os.WriteFile(file, []byte("alpha\nbeta\ngamma\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out := c.run("", "samsa", "perf", "produce", "--topic", "bench", "--num-records", "30", "--payload-file", file).ok(t)
		matchLines(t, out, `^Reading payloads from: .*payloads\.txt$`, `^Number of messages read: 3$`, sprintf(totalLine, 30))

		c.run("", "samsa", "topic", "create", "mono", "-p", "1").ok(t)
		c.run("", "samsa", "perf", "produce", "--topic", "mono", "--num-records", "5", "--payload-monotonic").ok(t)
		if got := c.run("", "samsa", "consume", "mono", "-e").ok(t); got != "0\n1\n2\n3\n4\n" {
			t.Fatalf("monotonic payloads %q", got)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"--num-records", "5", "--record-size", "5"},
			{"--topic", "bench", "--record-size", "5"},
			{"--topic", "bench", "--num-records", "0", "--record-size", "5"},
			{"--topic", "bench", "--num-records", "5"},
			{"--topic", "bench", "--num-records", "5", "--record-size", "5", "--payload-monotonic"},
		} {
			c.run("", append([]string{"samsa", "perf", "produce"}, args...)...).wantCode(t, 2)
		}
	})
}

func TestPerfConsume(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "bench"))
	c.run("", "samsa", "perf", "produce", "--topic", "bench", "--num-records", "300", "--record-size", "100").ok(t)

	t.Run("Kafka's CSV header and row", func(t *testing.T) {
		out := c.run("", "samsa", "perf", "consume", "--topic", "bench", "--messages", "300").ok(t)
		ls := lines(out)
		if len(ls) != 2 || ls[0] != csvHeader {
			t.Fatalf("stdout %q", out)
		}
		matchLines(t, ls[1], sprintf(csvRow, 300))
	})

	t.Run("the Kafka personality in a group", func(t *testing.T) {
		out := c.run("", "kafka-consumer-perf-test.sh", "--bootstrap-server", c.addr, "--topic", "bench",
			"--messages", "300", "--group", "perf", "--hide-header").ok(t)
		matchLines(t, out, sprintf(csvRow, 300))
	})

	t.Run("a timeout before all messages warns", func(t *testing.T) {
		out := c.run("", "samsa", "perf", "consume", "--topic", "bench", "--messages", "1000", "--timeout", "200").ok(t)
		matchLines(t, out, `^`+csvHeader+`$`, `^WARNING: Exiting before consuming the expected number of messages: timeout \(200 ms\) exceeded\. You can use the --timeout option to increase the timeout\.$`, sprintf(csvRow, 300))
	})

	t.Run("--json", func(t *testing.T) {
		var s perfConsumeSummary
		if err := json.Unmarshal([]byte(c.run("", "samsa", "perf", "consume", "--topic", "bench", "--messages", "300", "--json").ok(t)), &s); err != nil {
			t.Fatal(err)
		}
		if s.Messages != 300 || s.MB <= 0 {
			t.Fatalf("got %+v", s)
		}
	})

	t.Run("detailed stats change the header", func(t *testing.T) {
		out := c.run("", "samsa", "perf", "consume", "--topic", "bench", "--messages", "300", "--show-detailed-stats").ok(t)
		if !strings.HasPrefix(out, "time, threadId, data.consumed.in.MB, MB.sec,") {
			t.Fatalf("stdout %q", out)
		}
	})
}

func TestPerfE2E(t *testing.T) {
	c := newCluster(t)
	out := c.run("", "samsa", "perf", "e2e", "--topic", "latency", "--num-records", "50", "--throughput", "1000", "--record-size", "16").ok(t)
	matchLines(t, out,
		`^Topic "latency" does not exist\. Will create topic with 1 partition\(s\) and replication factor = 1$`,
		`^0\t\d+(\.\d+)?(e-\d+)?$`,
		`^Avg latency: \d+\.\d{4} ms$`,
		`^Percentiles: 50th = \d+, 99th = \d+, 99\.9th = \d+$`,
		`^Max latency: \d+ ms$`,
		`^Achieved rate: \d+\.\d records/sec$`)

	r := c.run("", "samsa", "perf", "e2e", "--topic", "latency", "--num-records", "20", "--throughput", "2000", "--json")
	var s e2eSummary
	if err := json.Unmarshal([]byte(r.ok(t)), &s); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if s.Records != 20 || s.P999Ms < s.P50Ms || s.MaxLatencyMs < s.P999Ms {
		t.Fatalf("got %+v", s)
	}
	// The warm-up is sent and received but left out of the figures.
	r = c.run("", "samsa", "perf", "e2e", "--topic", "latency", "--num-records", "15", "--warmup-records", "25", "--throughput", "2000", "--json")
	s = e2eSummary{}
	if err := json.Unmarshal([]byte(r.ok(t)), &s); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if s.Records != 15 {
		t.Fatalf("with a warm-up of 25, measured %d records, want 15", s.Records)
	}
	c.run("", "samsa", "perf", "e2e", "--topic", "latency", "--num-records", "5", "--warmup-records", "-1").wantCode(t, 2)
	c.run("", "samsa", "perf", "e2e", "--topic", "latency", "--num-records", "5", "--record-size", "4").wantCode(t, 2)
	c.run("", "samsa", "perf", "e2e", "--topic", "latency", "--num-records", "5", "--producer-props", "acks=0").wantCode(t, 1)
}
