package cli

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestProduceConsume(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))

	t.Run("every line is a record, the last one without a newline too", func(t *testing.T) {
		out := c.run("a\nb\nc", "samsa", "produce", "t").ok(t)
		matchLines(t, out,
			`^Produced to partition 0 at offset 0 with timestamp \d{13}\.$`,
			`^Produced to partition 0 at offset 1 with timestamp \d{13}\.$`,
			`^Produced to partition 0 at offset 2 with timestamp \d{13}\.$`)
		if got := c.run("", "samsa", "consume", "t", "-e").ok(t); got != "a\nb\nc\n" {
			t.Fatalf("consumed %q", got)
		}
	})

	t.Run("keys, headers and a custom output format", func(t *testing.T) {
		out := c.run("k1 v1\nk2 v2\n", "samsa", "produce", "t", "-f", `%k %v\n`, "-H", "h1:x", "-H", "h2:y",
			"-o", `%t/%p/%o %k=%v\n`).ok(t)
		if out != "t/0/3 k1=v1\nt/0/4 k2=v2\n" {
			t.Fatalf("output %q", out)
		}
		got := c.run("", "samsa", "consume", "t", "-o", "3", "-e", "-f", `%o %k %v %h{%k=%v;}\n`).ok(t)
		if got != "3 k1 v1 h1=x;h2=y;\n4 k2 v2 h1=x;h2=y;\n" {
			t.Fatalf("consumed %q", got)
		}
	})

	t.Run("-k keys every record and -o '' prints nothing", func(t *testing.T) {
		if out := c.run("v\n", "samsa", "produce", "t", "-k", "fixed", "-o", "").ok(t); out != "" {
			t.Fatalf("output %q", out)
		}
		if got := c.run("", "samsa", "consume", "t", "-o", "-1", "-e", "-f", `%k:%v\n`).ok(t); got != "fixed:v\n" {
			t.Fatalf("consumed %q", got)
		}
	})

	t.Run("tombstones and JSON output", func(t *testing.T) {
		c.run("\n", "samsa", "produce", "t", "-k", "gone", "-Z").ok(t)
		got := c.run("", "samsa", "consume", "t", "-o", "-1", "-e", "-f", "json").ok(t)
		var r jsonRecord
		if err := json.Unmarshal([]byte(got), &r); err != nil {
			t.Fatalf("%v: %q", err, got)
		}
		if r.Topic != "t" || r.Offset != 6 || r.Key == nil || *r.Key != "gone" || r.Value != nil || r.Timestamp == 0 {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("-n stops after N records", func(t *testing.T) {
		if got := c.run("", "samsa", "consume", "t", "-n", "2").ok(t); got != "a\nb\n" {
			t.Fatalf("consumed %q", got)
		}
	})

	t.Run("a record larger than --max-message-bytes fails with exit 1", func(t *testing.T) {
		r := c.run(strings.Repeat("x", 2000)+"\n", "samsa", "produce", "t", "--max-message-bytes", "1000").wantCode(t, 1)
		if !strings.Contains(r.stderr, "MESSAGE_TOO_LARGE") || !strings.Contains(r.stderr, "1 record(s) failed") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"samsa", "produce"},
			{"samsa", "produce", "t", "--acks", "2"},
			{"samsa", "produce", "t", "-z", "brotli"},
			{"samsa", "consume"},
			{"samsa", "consume", "t", "-o", "sideways"},
			{"samsa", "consume", "t", "-g", "g", "-p", "0"},
			{"samsa", "consume", "t", "--no-such-flag"},
		} {
			r := c.run("", args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, "Usage:") {
				t.Fatalf("%v: no usage in stderr %q", args, r.stderr)
			}
		}
	})
}

func TestConsumeOffsetSpecs(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"))
	// Partition 0 holds timestamps 1000..5000, partition 1 holds p1-0..p1-4 stamped now.
	c.run("1000 a\n2000 b\n3000 c\n4000 d\n5000 e\n", "samsa", "produce", "t", "-p", "0", "-f", `%d %v\n`).ok(t)
	c.run("p1-0\np1-1\np1-2\np1-3\np1-4\n", "samsa", "produce", "t", "-p", "1").ok(t)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"start to the end, both partitions", []string{"-o", "start", "-e"}, "a b c d e p1-0 p1-1 p1-2 p1-3 p1-4"},
		{"end prints nothing and exits with -e", []string{"-o", "end", "-e"}, ""},
		{"an exact offset", []string{"-o", "3", "-e", "-p", "0"}, "d e"},
		{"an offset past the end is clamped to it", []string{"-o", "99", "-e", "-p", "0"}, ""},
		{"+N counts from the start", []string{"-o", "+2", "-e", "-p", "0"}, "c d e"},
		{"-N counts back from the end", []string{"-o", "-2", "-e"}, "d e p1-3 p1-4"},
		{"an offset range excludes its end", []string{"-o", "1:3", "-p", "0"}, "b c"},
		{":end reads everything there is", []string{"-o", ":end", "-p", "1"}, "p1-0 p1-1 p1-2 p1-3 p1-4"},
		{"@TIME starts at the first record at or after it", []string{"-o", "@2000", "-e", "-p", "0"}, "b c d e"},
		{"@T1:@T2 stops before T2", []string{"-o", "@2000:@4000", "-p", "0"}, "b c"},
		{"a date before every record", []string{"-o", "@1970-01-01T00:00:03Z:end", "-p", "0"}, "c d e"},
		{"@-1h skips records older than an hour", []string{"-o", "@-1h", "-e"}, "p1-0 p1-1 p1-2 p1-3 p1-4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := c.run("", append([]string{"samsa", "consume", "t"}, tc.args...)...).ok(t)
			if got := strings.Join(strings.Fields(sortedLines(out)), " "); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConsumeGroupCommits(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	c.run("1\n2\n3\n4\n5\n", "samsa", "produce", "t").ok(t)
	if got := c.run("", "samsa", "consume", "t", "-g", "readers", "-n", "2").ok(t); got != "1\n2\n" {
		t.Fatalf("first member read %q", got)
	}
	if got := c.run("", "samsa", "consume", "t", "-g", "readers", "-e").ok(t); got != "3\n4\n5\n" {
		t.Fatalf("second member read %q", got)
	}
	if got := c.run("", "samsa", "consume", "t", "-g", "readers", "-e").ok(t); got != "" {
		t.Fatalf("a caught-up group read %q", got)
	}
}

func TestConsumeRegexTopics(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "logs-a", "logs-b", "other"))
	for _, topic := range []string{"logs-a", "logs-b", "other"} {
		c.run(topic+"\n", "samsa", "produce", topic).ok(t)
	}
	out := c.run("", "samsa", "consume", "-r", "logs-.*", "-e", "-f", `%t\n`).ok(t)
	if got := sortedLines(out); got != "logs-a\nlogs-b" {
		t.Fatalf("got %q", got)
	}
}

// lines reads s as lines, for tests that count output.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
