package cli

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testMember is a real franz-go group consumer for a test. startMember
// returns once it has joined group, consumed n records and committed them;
// it stays in the group, heartbeating, until stop (or the test's end).
type testMember struct {
	cl   *kgo.Client
	once sync.Once
}

func startMember(t *testing.T, c *cluster, group string, n int, topics []string, opts ...kgo.Opt) *testMember {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(c.addr), kgo.ClientID("tester"), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m := &testMember{cl: cl}
	t.Cleanup(m.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("group %s: consumed %d of %d records: %v", group, got, n, err)
		}
		fs.EachError(func(t2 string, p int32, err error) { t.Fatalf("group %s: fetch %s/%d: %v", group, t2, p, err) })
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("group %s: commit: %v", group, err)
	}
	return m
}

// stop leaves the group and closes the client; it may be called again.
func (m *testMember) stop() { m.once.Do(m.cl.Close) }

// eventually polls cond until it holds, failing the test after a deadline.
// It is the one place these tests wait for the cluster to settle.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		<-tick.C
	}
}

// produceLines writes one record per line to a partition.
func produceLines(t *testing.T, c *cluster, topic, partition string, n int) {
	t.Helper()
	c.run(strings.Repeat("x\n", n), "samsa", "produce", topic, "-p", partition).ok(t)
}

func TestGroupNouns(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "orders"), kfake.SeedTopics(1, "audit"))
	produceLines(t, c, "orders", "0", 3)
	produceLines(t, c, "orders", "1", 3)
	member := startMember(t, c, "billing", 6, []string{"orders"})
	produceLines(t, c, "orders", "0", 2) // lag 2 on partition 0

	t.Run("list shows the group, its state and types", func(t *testing.T) {
		out := c.run("", "samsa", "group", "list").ok(t)
		matchLines(t, out, `^GROUP\s+STATE\s+TYPE\s+PROTOCOL-TYPE$`, `^billing\s+Stable\s+classic\s+consumer$`)
	})

	t.Run("list filters by state and type, any case", func(t *testing.T) {
		if got := fields(c.run("", "samsa", "group", "list", "--state", "STABLE,empty").ok(t)); len(got) != 2 || got[1][0] != "billing" {
			t.Fatalf("got %q", got)
		}
		if got := fields(c.run("", "samsa", "group", "list", "--state", "Empty").ok(t)); len(got) != 1 {
			t.Fatalf("an Empty filter listed %q", got)
		}
		if got := fields(c.run("", "samsa", "group", "list", "--type", "consumer").ok(t)); len(got) != 1 {
			t.Fatalf("a consumer-type filter listed %q", got)
		}
		r := c.run("", "samsa", "group", "list", "--state", "sleepy").wantCode(t, 2)
		if !strings.Contains(r.stderr, `unknown state "sleepy"`) {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("list as JSON", func(t *testing.T) {
		var got []listedGroup
		if err := json.Unmarshal([]byte(c.run("", "samsa", "group", "list", "--format", "json").ok(t)), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Group != "billing" || got[0].State != "Stable" || got[0].Type != "classic" || got[0].ProtocolType != "consumer" {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("describe shows the summary, lag and the owning member", func(t *testing.T) {
		out := c.run("", "samsa", "group", "describe", "billing").ok(t)
		matchLines(t, out,
			`^GROUP\s+billing$`, `^COORDINATOR\s+0 \(127\.0\.0\.1:\d+\)$`, `^STATE\s+Stable$`,
			`^PROTOCOL-TYPE\s+consumer$`, `^PROTOCOL\s+cooperative-sticky$`, `^MEMBERS\s+1$`, `^TOTAL-LAG\s+2$`,
			`^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+MEMBER-ID\s+CLIENT-ID\s+HOST$`,
			`^orders\s+0\s+3\s+5\s+2\s+\S+\s+tester\s+\S+$`,
			`^orders\s+1\s+3\s+3\s+0\s+\S+\s+tester\s+\S+$`)
	})

	t.Run("describe as JSON", func(t *testing.T) {
		var got []groupDescription
		if err := json.Unmarshal([]byte(c.run("", "samsa", "group", "describe", "billing", "--format", "json").ok(t)), &got); err != nil {
			t.Fatal(err)
		}
		g := got[0]
		if len(got) != 1 || g.State != "Stable" || len(g.Members) != 1 || g.TotalLag != 2 || len(g.Partitions) != 2 {
			t.Fatalf("got %+v", got)
		}
		m, p := g.Members[0], g.Partitions[0]
		if m.ClientID != "tester" || len(m.Assignment) != 1 || m.Assignment[0].Topic != "orders" || len(m.Assignment[0].Partitions) != 2 {
			t.Fatalf("member %+v", m)
		}
		if p.Topic != "orders" || *p.CurrentOffset != 3 || *p.LogEndOffset != 5 || *p.Lag != 2 || p.MemberID != m.MemberID {
			t.Fatalf("partition %+v", p)
		}
	})

	t.Run("describe of a missing group exits 1", func(t *testing.T) {
		r := c.run("", "samsa", "group", "describe", "nope").wantCode(t, 1)
		if !strings.Contains(r.stderr, "GROUP_ID_NOT_FOUND") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("seek is refused while the group has live members", func(t *testing.T) {
		r := c.run("", "samsa", "group", "seek", "billing", "--to", "start").wantCode(t, 1)
		if !strings.Contains(r.stderr, "cannot seek group billing: it has 1 live member(s) (state Stable); stop its consumers first") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	member.stop()
	eventually(t, "billing is empty", func() bool {
		return strings.Contains(c.run("", "samsa", "group", "list").ok(t), "Empty")
	})

	t.Run("after the member leaves, describe shows offsets without owners", func(t *testing.T) {
		out := c.run("", "samsa", "group", "describe", "billing").ok(t)
		matchLines(t, out, `^STATE\s+Empty$`, `^PROTOCOL\s+-$`, `^MEMBERS\s+0$`,
			`^orders\s+0\s+3\s+5\s+2\s+-\s+-\s+-$`, `^orders\s+1\s+3\s+3\s+0\s+-\s+-\s+-$`)
	})

	describeOffsets := func(t *testing.T) string {
		t.Helper()
		var got []groupDescription
		if err := json.Unmarshal([]byte(c.run("", "samsa", "group", "describe", "billing", "--format", "json").ok(t)), &got); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, p := range got[0].Partitions {
			parts = append(parts, p.Topic+"/"+itoa(int(p.Partition))+"="+ptrText(p.CurrentOffset))
		}
		return strings.Join(parts, " ")
	}

	t.Run("seek --dry-run prints the plan and commits nothing", func(t *testing.T) {
		out := c.run("", "samsa", "group", "seek", "billing", "--to", "start", "--dry-run").ok(t)
		matchLines(t, out, `^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET$`, `^orders\s+0\s+3\s+0$`, `^orders\s+1\s+3\s+0$`)
		if got := describeOffsets(t); got != "orders/0=3 orders/1=3" {
			t.Fatalf("offsets %s", got)
		}
	})

	for _, tc := range []struct {
		to, want string
	}{
		{"start", "orders/0=0 orders/1=0"},
		{"end", "orders/0=5 orders/1=3"},
		{"2", "orders/0=2 orders/1=2"},
		{"@0", "orders/0=0 orders/1=0"},
		{"@+1h", "orders/0=5 orders/1=3"},
	} {
		t.Run("seek --to "+tc.to, func(t *testing.T) {
			before := describeOffsets(t)
			dry := fields(c.run("", "samsa", "group", "seek", "billing", "--to", tc.to, "--dry-run").ok(t))
			if got := describeOffsets(t); got != before {
				t.Fatalf("the dry run moved the offsets from %s to %s", before, got)
			}
			out := c.run("", "samsa", "group", "seek", "billing", "--to", tc.to).ok(t)
			matchLines(t, out, `^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET\s+STATUS$`, `^orders\s+0\s+\S+\s+\d+\s+OK$`, `^orders\s+1\s+\S+\s+\d+\s+OK$`)
			for i, row := range fields(out) {
				if strings.Join(row[:4], " ") != strings.Join(dry[i], " ") {
					t.Fatalf("committed %q, planned %q", row, dry[i])
				}
			}
			if got := describeOffsets(t); got != tc.want {
				t.Fatalf("offsets %s, want %s", got, tc.want)
			}
		})
	}

	t.Run("seek past the log end offset stops at the end, with a warning", func(t *testing.T) {
		r := c.run("", "samsa", "group", "seek", "billing", "--to", "4")
		r.ok(t)
		if !strings.Contains(r.stderr, "New offset (4) is higher than latest offset for topic partition orders-1. Value will be set to 3") {
			t.Fatalf("stderr %q", r.stderr)
		}
		if got := describeOffsets(t); got != "orders/0=4 orders/1=3" {
			t.Fatalf("offsets %s", got)
		}
	})

	t.Run("seek --topics adds partitions the group never committed", func(t *testing.T) {
		produceLines(t, c, "audit", "0", 4)
		c.run("", "samsa", "group", "seek", "billing", "--to", "end", "--topics", "audit").ok(t)
		if got := describeOffsets(t); got != "audit/0=4 orders/0=4 orders/1=3" {
			t.Fatalf("offsets %s", got)
		}
		r := c.run("", "samsa", "group", "seek", "billing", "--to", "end", "--topics", "ghost").wantCode(t, 1)
		if !strings.Contains(r.stderr, "topic ghost: UNKNOWN_TOPIC_OR_PARTITION") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("seek creates a group that does not exist", func(t *testing.T) {
		c.run("", "samsa", "group", "seek", "fresh", "--to", "start", "--topics", "orders").ok(t)
		matchLines(t, c.run("", "samsa", "group", "describe", "fresh").ok(t), `^STATE\s+Empty$`, `^orders\s+0\s+0\s+5\s+5\s`)
		r := c.run("", "samsa", "group", "seek", "other", "--to", "start").wantCode(t, 1)
		if !strings.Contains(r.stderr, "has no committed offsets to move; name the topics with --topics") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("seek checks --to", func(t *testing.T) {
		for _, to := range []string{"", "+3", "soon", "@yesterday"} {
			c.run("", "samsa", "group", "seek", "billing", "--to", to).wantCode(t, 2)
		}
	})

	t.Run("offset-delete removes some partitions' offsets", func(t *testing.T) {
		out := c.run("", "samsa", "group", "offset-delete", "billing", "--topic", "orders:1", "-t", "audit", "-t", "ghost").wantCode(t, 1).stdout
		matchLines(t, out, `^TOPIC\s+PARTITION\s+STATUS$`, `^ghost\s+-\s+UNKNOWN_TOPIC_OR_PARTITION: `, `^orders\s+1\s+OK$`, `^audit\s+0\s+OK$`)
		if got := describeOffsets(t); got != "orders/0=4" {
			t.Fatalf("offsets %s", got)
		}
	})

	t.Run("delete prints a status table", func(t *testing.T) {
		out := c.run("", "samsa", "group", "delete", "billing", "nope").wantCode(t, 1).stdout
		matchLines(t, out, `^GROUP\s+STATUS$`, `^billing\s+OK$`, `^nope\s+GROUP_ID_NOT_FOUND: The group id does not exist\.$`)
		c.run("", "samsa", "group", "describe", "billing").wantCode(t, 1)
	})
}

func TestGroupDescribeProtocols(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"))
	produceLines(t, c, "t", "0", 2)
	produceLines(t, c, "t", "1", 1)

	t.Run("a range assignment decodes like a cooperative one", func(t *testing.T) {
		startMember(t, c, "ranged", 3, []string{"t"}, kgo.Balancers(kgo.RangeBalancer()))
		out := c.run("", "samsa", "group", "describe", "ranged").ok(t)
		matchLines(t, out, `^PROTOCOL\s+range$`, `^t\s+0\s+2\s+2\s+0\s+\S+\s+tester\s`, `^t\s+1\s+1\s+1\s+0\s+\S+\s+tester\s`)
	})

	t.Run("members of other protocol types own no partitions", func(t *testing.T) {
		startMember(t, c, "custom", 3, []string{"t"}, kgo.GroupProtocol("custom"))
		out := c.run("", "samsa", "group", "describe", "custom").ok(t)
		matchLines(t, out, `^PROTOCOL-TYPE\s+custom$`, `^MEMBERS\s+1$`,
			`^t\s+0\s+2\s+2\s+0\s+-\s+-\s+-$`, `^t\s+1\s+1\s+1\s+0\s+-\s+-\s+-$`, `^-\s+-\s+-\s+-\s+-\s+\S+\s+tester\s+\S+$`)
		// Kafka's tool lists consumer-protocol groups only.
		if out := c.run("", "kafka-consumer-groups.sh", "--bootstrap-server", c.addr, "--list").ok(t); out != "ranged\n" {
			t.Fatalf("--list printed %q", out)
		}
	})
}

func TestGroupNextGen(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"))
	produceLines(t, c, "t", "0", 2)
	produceLines(t, c, "t", "1", 1)
	member := startMember(t, c, "ng", 3, []string{"t"}, kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer())
	kcg := func(args ...string) string {
		t.Helper()
		return c.run("", append([]string{"kafka-consumer-groups.sh", "--bootstrap-server", c.addr}, args...)...).ok(t)
	}

	t.Run("a KIP-848 group is described with ConsumerGroupDescribe", func(t *testing.T) {
		out := c.run("", "samsa", "group", "describe", "ng").ok(t)
		matchLines(t, out, `^STATE\s+Stable$`, `^TYPE\s+consumer$`, `^PROTOCOL-TYPE\s+consumer$`, `^PROTOCOL\s+range$`, `^MEMBERS\s+1$`,
			`^t\s+0\s+2\s+2\s+0\s+\S+\s+tester\s`, `^t\s+1\s+1\s+1\s+0\s+\S+\s+tester\s`)
		matchLines(t, c.run("", "samsa", "group", "list").ok(t), `^ng\s+Stable\s+consumer\s+consumer$`)
	})

	t.Run("Kafka's verbose views show the epochs and the target assignment", func(t *testing.T) {
		got := fields(strings.TrimSpace(kcg("--describe", "--group", "ng", "--members", "--verbose")))
		if len(got) != 2 || got[1][4] != "2" || got[1][6] != "t:0,1" || got[1][8] != "t:0,1" || got[1][5] == "-" || got[1][7] == "-" {
			t.Fatalf("got %q", got)
		}
		matchLines(t, kcg("--describe", "--group", "ng", "--state", "--verbose"), `^ng\s+127\.0\.0\.1:\d+  \(0\)\s+range\s+Stable\s+\d+\s+\d+\s+1$`)
		matchLines(t, kcg("--list", "--type"), `^ng\s+Consumer\s*$`)
	})

	t.Run("seek waits for the members to leave", func(t *testing.T) {
		c.run("", "samsa", "group", "seek", "ng", "--to", "start").wantCode(t, 1)
		member.stop()
		eventually(t, "ng is empty", func() bool { return strings.Contains(c.run("", "samsa", "group", "list").ok(t), "Empty") })
		c.run("", "samsa", "group", "seek", "ng", "--to", "start").ok(t)
		matchLines(t, c.run("", "samsa", "group", "describe", "ng").ok(t), `^t\s+0\s+0\s+2\s+2\s+-`)
	})
}
