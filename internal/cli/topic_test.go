package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestTopicNouns(t *testing.T) {
	c := newCluster(t)

	t.Run("create prints a TOPIC STATUS table", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "create", "orders", "payments", "-p", "3", "-r", "1", "-c", "retention.ms=1000").ok(t)
		got := fields(out)
		want := [][]string{{"TOPIC", "STATUS"}, {"orders", "OK"}, {"payments", "OK"}}
		if !equalFields(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("create of an existing topic names the Kafka error and exits 1", func(t *testing.T) {
		r := c.run("", "samsa", "topic", "create", "orders", "fresh").wantCode(t, 1)
		matchLines(t, r.stdout, `^TOPIC\s+STATUS$`, `^orders\s+TOPIC_ALREADY_EXISTS: Topic 'orders' already exists\.$`, `^fresh\s+OK$`)
	})

	t.Run("create with more replicas than brokers gives Kafka's message", func(t *testing.T) {
		r := c.run("", "samsa", "topic", "create", "wide", "-r", "3").wantCode(t, 1)
		matchLines(t, r.stdout, `^wide\s+INVALID_REPLICATION_FACTOR: Replication factor: 3 larger than available brokers: 1\.$`)
	})

	t.Run("dry run creates nothing", func(t *testing.T) {
		c.run("", "samsa", "topic", "create", "ghost", "--dry-run").ok(t)
		if out := c.run("", "samsa", "topic", "list").ok(t); strings.Contains(out, "ghost") {
			t.Fatalf("dry run created the topic:\n%s", out)
		}
	})

	t.Run("list shows partitions and replicas sorted by name", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "list").ok(t)
		matchLines(t, out, `^NAME\s+PARTITIONS\s+REPLICAS$`, `^fresh\s+\d+\s+1$`, `^orders\s+3\s+1$`, `^payments\s+3\s+1$`)
	})

	t.Run("list filters by regex", func(t *testing.T) {
		got := fields(c.run("", "samsa", "topic", "list", "-r", "ord.*").ok(t))
		if len(got) != 2 || got[1][0] != "orders" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("list as JSON", func(t *testing.T) {
		var topics []struct {
			Name       string `json:"name"`
			Partitions int    `json:"partitions"`
		}
		if err := json.Unmarshal([]byte(c.run("", "samsa", "topic", "list", "--format", "json").ok(t)), &topics); err != nil {
			t.Fatal(err)
		}
		if len(topics) != 3 || topics[1].Name != "orders" || topics[1].Partitions != 3 {
			t.Fatalf("got %+v", topics)
		}
	})

	t.Run("describe prints summary, configs and partitions", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "describe", "orders").ok(t)
		matchLines(t, out,
			`^SUMMARY$`, `^NAME\s+orders$`, `^ID\s+\S{22}$`, `^INTERNAL\s+false$`, `^PARTITIONS\s+3$`, `^REPLICAS\s+1$`,
			`^CONFIGS$`, `^KEY\s+VALUE\s+SOURCE$`, `^retention\.ms\s+1000\s+DYNAMIC_TOPIC_CONFIG$`,
			`^PARTITIONS$`, `^PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+LOG-START-OFFSET\s+HIGH-WATERMARK$`,
			`^0\s+0\s+\d+\s+0\s+0\s+0\s+0$`, `^1\s`, `^2\s`)
	})

	t.Run("--topic and -t name topics as Kafka's tools do", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "create", "--topic", "flagged", "-t", "tagged", "plain", "-p", "2").ok(t)
		matchLines(t, out, `^TOPIC\s+STATUS$`, `^flagged\s+OK$`, `^tagged\s+OK$`, `^plain\s+OK$`)
		out = c.run("", "samsa", "topic", "describe", "--topic", "flagged", "-p").ok(t)
		if got := fields(out); len(got) != 3 || got[0][0] != "PARTITION" {
			t.Fatalf("describe --topic flagged -p: got %q", got)
		}
		if out := c.run("", "samsa", "topic", "delete", "-t", "tagged", "--topic=plain").ok(t); !strings.Contains(out, "tagged") || !strings.Contains(out, "plain") {
			t.Fatalf("delete: %s", out)
		}
	})

	t.Run("describe -p prints only the partitions table", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "describe", "orders", "-p").ok(t)
		if strings.Contains(out, "SUMMARY") || strings.Contains(out, "retention.ms") {
			t.Fatalf("more than partitions:\n%s", out)
		}
		if got := fields(out); len(got) != 4 || got[0][0] != "PARTITION" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("describe as JSON", func(t *testing.T) {
		var d []topicDescription
		if err := json.Unmarshal([]byte(c.run("", "samsa", "topic", "describe", "orders", "--format=json").ok(t)), &d); err != nil {
			t.Fatal(err)
		}
		if len(d) != 1 || d[0].Partitions != 3 || len(d[0].PartitionDetails) != 3 || len(d[0].Configs) == 0 {
			t.Fatalf("got %+v", d)
		}
	})

	t.Run("describe of a missing topic exits 1", func(t *testing.T) {
		r := c.run("", "samsa", "topic", "describe", "nope").wantCode(t, 1)
		if !strings.Contains(r.stderr, "UNKNOWN_TOPIC_OR_PARTITION") {
			t.Fatalf("stderr: %s", r.stderr)
		}
	})

	t.Run("add-partitions adds N", func(t *testing.T) {
		c.run("", "samsa", "topic", "add-partitions", "orders", "-n", "2").ok(t)
		matchLines(t, c.run("", "samsa", "topic", "list").ok(t), `^orders\s+5\s+1$`)
	})

	t.Run("alter-config sets and deletes", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "alter-config", "orders", "--set", "cleanup.policy=compact", "--delete", "retention.ms").ok(t)
		matchLines(t, out, `^TOPIC\s+STATUS$`, `^orders\s+OK$`)
		desc := c.run("", "samsa", "topic", "describe", "orders", "-c").ok(t)
		matchLines(t, desc, `^cleanup\.policy\s+compact\s+DYNAMIC_TOPIC_CONFIG$`)
		if strings.Contains(desc, "1000") {
			t.Fatalf("retention.ms not deleted:\n%s", desc)
		}
	})

	t.Run("delete prints a status table", func(t *testing.T) {
		out := c.run("", "samsa", "topic", "delete", "payments", "nope").wantCode(t, 1).stdout
		matchLines(t, out, `^payments\s+OK$`, `^nope\s+UNKNOWN_TOPIC_OR_PARTITION: `)
	})
}

func TestTopicTrimPrefix(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "logs"))
	c.run("a\nb\nc\nd\n", "samsa", "produce", "logs", "-p", "0").ok(t)
	c.run("x\ny\n", "samsa", "produce", "logs", "-p", "1").ok(t)

	out := c.run("", "samsa", "topic", "trim-prefix", "logs", "-o", "2", "-p", "0").ok(t)
	matchLines(t, out, `^TOPIC\s+PARTITION\s+NEW-START-OFFSET\s+STATUS$`, `^logs\s+0\s+2\s+OK$`)
	if got := c.run("", "samsa", "consume", "logs", "-e").ok(t); sortedLines(got) != "c\nd\nx\ny" {
		t.Fatalf("after trimming to 2: %q", got)
	}
	out = c.run("", "samsa", "topic", "trim-prefix", "logs", "-o", "end").ok(t)
	matchLines(t, out, `^logs\s+0\s+4\s+OK$`, `^logs\s+1\s+2\s+OK$`)
	if got := c.run("", "samsa", "consume", "logs", "-e").ok(t); got != "" {
		t.Fatalf("after trimming to the end: %q", got)
	}
}

func TestClusterInfo(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "a", "b"))
	out := c.run("", "samsa", "cluster", "info").ok(t)
	matchLines(t, out, `^CLUSTER$`, `^ID\s+\S+$`, `^CONTROLLER\s+0$`, `^TOPICS\s+2$`, `^PARTITIONS\s+2$`,
		`^UNDER-REPLICATED\s+0$`, `^OFFLINE\s+0$`,
		`^BROKERS$`, `^ID\s+HOST\s+PORT\s+RACK\s+LEADERS\s+REPLICAS$`, `^0\*\s+127\.0\.0\.1\s+\d+\s+krack\s+2\s+2$`)
	if strings.Contains(out, "PARTITIONS\n==") {
		t.Errorf("healthy partitions listed without --partitions:\n%s", out)
	}
	all := c.run("", "samsa", "cluster", "info", "--partitions").ok(t)
	matchLines(t, all, `^TOPIC\s+PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+STATUS$`, `^a\s+0\s+0\s+0\s+0\s+ok$`, `^b\s+0\s+0\s+0\s+0\s+ok$`)
	var d clusterDescription
	if err := json.Unmarshal([]byte(c.run("", "samsa", "cluster", "info", "--format", "json").ok(t)), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Brokers) != 1 || !d.Brokers[0].Controller || d.Topics != 2 {
		t.Fatalf("got %+v", d)
	}
}

func equalFields(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], " ") != strings.Join(b[i], " ") {
			return false
		}
	}
	return true
}

// sortedLines returns s's lines sorted, joined by newlines.
func sortedLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Partition health as cluster info reports it: a partition whose leader is
// not among the live brokers is offline, one whose ISR is smaller than its
// replicas under-replicated, and only those are listed by default.
func TestClusterInfoPartitionHealth(t *testing.T) {
	md := kadm.Metadata{
		Brokers: kadm.BrokerDetails{kadm.BrokerDetail{NodeID: 1}, kadm.BrokerDetail{NodeID: 2}},
		Topics: kadm.TopicDetails{"t": kadm.TopicDetail{Topic: "t", Partitions: kadm.PartitionDetails{
			0: kadm.PartitionDetail{Partition: 0, Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}},
			1: kadm.PartitionDetail{Partition: 1, Leader: 2, Replicas: []int32{2, 3}, ISR: []int32{2}},
			2: kadm.PartitionDetail{Partition: 2, Leader: 3, Replicas: []int32{3}, ISR: []int32{3}},
			3: kadm.PartitionDetail{Partition: 3, Leader: -1, Replicas: []int32{3, 1}, ISR: []int32{3}},
		}}},
	}
	d := describeCluster(md, false)
	if d.Partitions != 4 || d.UnderReplicated != 1 || d.Offline != 2 {
		t.Fatalf("partitions %d under-replicated %d offline %d, want 4, 1, 2", d.Partitions, d.UnderReplicated, d.Offline)
	}
	var got []string
	for _, p := range d.PartitionDetails {
		got = append(got, fmt.Sprintf("%d:%s", p.Partition, p.Status))
	}
	if want := []string{"1:under-replicated", "2:offline", "3:offline"}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if b := d.Brokers[0]; b.Leaders != 1 || b.Replicas != 2 {
		t.Fatalf("broker 1 leads %d and hosts %d, want 1 and 2", b.Leaders, b.Replicas)
	}
}
