package cli

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type replicaState = kmsg.DescribeQuorumResponseTopicPartitionReplicaState

// replica is one voter's or observer's state; timestamps in ms since the
// epoch, -1 unknown.
func replica(id int32, dir byte, leo, lastFetch, lastCaughtUp int64) replicaState {
	r := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
	r.ReplicaID, r.LogEndOffset, r.LastFetchTimestamp, r.LastCaughtUpTimestamp = id, leo, lastFetch, lastCaughtUp
	if dir != 0 {
		for i := range r.ReplicaDirectoryID {
			r.ReplicaDirectoryID[i] = dir
		}
	}
	return r
}

func quorumPartition(leader int32, voters, observers []replicaState) kmsg.DescribeQuorumResponseTopicPartition {
	p := kmsg.NewDescribeQuorumResponseTopicPartition()
	p.LeaderID, p.LeaderEpoch, p.HighWatermark = leader, 7, 115
	p.CurrentVoters, p.Observers = voters, observers
	return p
}

func controllerNode(id int32, host string) kmsg.DescribeQuorumResponseNode {
	n := kmsg.NewDescribeQuorumResponseNode()
	n.NodeID = id
	l := kmsg.NewDescribeQuorumResponseNodeListener()
	l.Name, l.Host, l.Port = "CONTROLLER", host, 9093
	n.Listeners = append(n.Listeners, l)
	return n
}

// withQuorum makes c answer DescribeQuorum, which kfake does not implement,
// with p and nodes: it advertises DescribeQuorum v0–2 alongside kfake's own
// ApiVersions keys, and answers every DescribeQuorum request.
func (c *cluster) withQuorum(p kmsg.DescribeQuorumResponseTopicPartition, nodes []kmsg.DescribeQuorumResponseNode) {
	t := c.t
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.addr, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	dq := kmsg.NewApiVersionsResponseApiKey()
	dq.ApiKey, dq.MaxVersion = int16(kmsg.DescribeQuorum), 2
	keys := append(slices.Clone(base.ApiKeys), dq)
	c.c.ControlKey(int16(kmsg.ApiVersions), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.c.KeepControl()
		resp := *base
		resp.Version = req.GetVersion()
		resp.ApiKeys = keys
		return &resp, nil, true
	})
	c.c.ControlKey(int16(kmsg.DescribeQuorum), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.c.KeepControl()
		resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
		rt := kmsg.NewDescribeQuorumResponseTopic()
		rt.Topic = "__cluster_metadata"
		rt.Partitions = append(rt.Partitions, p)
		resp.Topics = append(resp.Topics, rt)
		resp.Nodes = nodes
		return resp, nil, true
	})
}

func TestKafkaMetadataQuorum(t *testing.T) {
	// t0 is 10 s ago, so every timestamp below is in the past.
	t0 := time.Now().UnixMilli() - 10_000
	p := quorumPartition(1,
		[]replicaState{
			replica(1, 1, 120, t0+9_000, t0+9_000),
			replica(2, 0, 100, t0+8_000, t0+7_005),
			replica(3, 0, 110, -1, -1),
		},
		[]replicaState{replica(4, 2, 90, t0+5_000, -1)})
	c := newCluster(t, kfake.ClusterID("quorum-test"))
	c.withQuorum(p, []kmsg.DescribeQuorumResponseNode{controllerNode(1, "c1"), controllerNode(2, "::1")})
	kmq := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-metadata-quorum.sh", "--bootstrap-server", c.addr}, args...)...)
	}

	t.Run("--status prints Kafka's block", func(t *testing.T) {
		want := `ClusterId:              quorum-test
LeaderId:               1
LeaderEpoch:            7
HighWatermark:          115
MaxFollowerLag:         20
MaxFollowerLagTimeMs:   1995
CurrentVoters:          [{"id": 1, "directoryId": "AQEBAQEBAQEBAQEBAQEBAQ", "endpoints": ["CONTROLLER://c1:9093"]}, {"id": 2, "endpoints": ["CONTROLLER://[::1]:9093"]}, {"id": 3}]
CurrentObservers:       [{"id": 4, "directoryId": "AgICAgICAgICAgICAgICAg"}]
`
		if out := kmq("describe", "--status").ok(t); out != want {
			t.Fatalf("stdout:\n%s\nwant:\n%s", out, want)
		}
	})

	t.Run("--replication prints Kafka's table, leader first", func(t *testing.T) {
		ts := func(d int64) string { return strconv.FormatInt(t0+d, 10) }
		want := "" +
			"NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t\n" +
			"1     \tAQEBAQEBAQEBAQEBAQEBAQ\t120         \t0  \t" + ts(9_000) + "     \t" + ts(9_000) + "        \tLeader  \t\n" +
			"2     \tAAAAAAAAAAAAAAAAAAAAAA\t100         \t20 \t" + ts(8_000) + "     \t" + ts(7_005) + "        \tFollower\t\n" +
			"3     \tAAAAAAAAAAAAAAAAAAAAAA\t110         \t10 \t-1                \t-1                   \tFollower\t\n" +
			"4     \tAgICAgICAgICAgICAgICAg\t90          \t30 \t" + ts(5_000) + "     \t-1                   \tObserver\t\n"
		if out := kmq("describe", "--replication").ok(t); out != want {
			t.Fatalf("stdout:\n%q\nwant:\n%q", out, want)
		}
	})

	t.Run("--human-readable prints ages in ms", func(t *testing.T) {
		out := kmq("describe", "--replication", "--human-readable").ok(t)
		rows := lines(out)
		if len(rows) != 5 {
			t.Fatalf("%d lines:\n%s", len(rows), out)
		}
		cells := strings.Split(rows[2], "\t")
		// Node 2 fetched 2 s and caught up 2.995 s before t0+10 s, which
		// was before the command ran.
		for i, min := range map[int]int64{4: 2_000, 5: 2_995} {
			m := regexp.MustCompile(`^(\d+) ms ago *$`).FindStringSubmatch(cells[i])
			if m == nil {
				t.Fatalf("cell %d is %q in:\n%s", i, cells[i], out)
			}
			if n, _ := strconv.ParseInt(m[1], 10, 64); n < min || n > min+60_000 {
				t.Fatalf("cell %d is %q, want %d ms ago or a little more", i, cells[i], min)
			}
		}
		if got := strings.TrimSpace(strings.Split(rows[3], "\t")[4]); got != "-1" {
			t.Fatalf("unknown last fetch printed %q", got)
		}
	})

	t.Run("argument errors exit 1 with Kafka's text alone", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"describe"}, "One of --status or --replication must be specified with describe sub-command"},
			{[]string{"describe", "--human-readable"}, "One of --status or --replication must be specified with describe sub-command"},
			{[]string{"describe", "--status", "--human-readable"}, "The option --human-readable is only supported along with --replication"},
			{[]string{"describe", "--status", "--replication"}, "Only one of --status or --replication should be specified with describe sub-command"},
		} {
			r := kmq(tc.args...).wantCode(t, 1)
			if r.stderr != tc.msg+"\n" || r.stdout != "" {
				t.Fatalf("%v: stdout %q stderr %q", tc.args, r.stdout, r.stderr)
			}
		}
	})

	t.Run("what samsa does not serve is refused with exit 1", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"add-controller"}, "add-controller is not supported: samsa's controller quorum voters are static (controller.quorum.voters)"},
			{[]string{"remove-controller", "--controller-id", "2", "--controller-directory-id", "AAAAAAAAAAAAAAAAAAAAAA"}, "remove-controller is not supported"},
		} {
			r := c.run("", append([]string{"kafka-metadata-quorum.sh"}, tc.args...)...).wantCode(t, 1)
			if !strings.HasPrefix(r.stderr, "kafka-metadata-quorum.sh: ") || !strings.Contains(r.stderr, tc.msg) || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("%v: stderr %q lacks %q on one line", tc.args, r.stderr, tc.msg)
			}
		}
	})

	t.Run("--bootstrap-controller asks the controllers", func(t *testing.T) {
		// kfake stands in for a controller listener: it answers
		// DescribeCluster with itself as the active controller.
		want := kmq("describe", "--status").ok(t)
		got := c.run("", "kafka-metadata-quorum.sh", "--bootstrap-controller", c.addr, "describe", "--status").ok(t)
		if got != want {
			t.Fatalf("through the controllers:\n%s\nthrough the brokers:\n%s", got, want)
		}
		r := c.run("", "kafka-metadata-quorum.sh", "--bootstrap-server", c.addr, "--bootstrap-controller", c.addr, "describe", "--status").wantCode(t, 2)
		if !strings.Contains(r.stderr, "argument --bootstrap-controller: not allowed with argument --bootstrap-server") {
			t.Fatalf("both bootstrap flags: stderr %q", r.stderr)
		}
	})

	t.Run("a missing or unknown command is a usage error", func(t *testing.T) {
		for args, msg := range map[string]string{
			"":                  "too few arguments",
			"status":            "invalid choice: 'status' (choose from 'describe', 'add-controller', 'remove-controller')",
			"describe extra":    "unrecognized arguments: 'extra'",
			"describe --nope x": "unknown flag: --nope",
		} {
			r := kmq(append(strings.Fields(args), "--status")...).wantCode(t, 2)
			if !strings.Contains(r.stderr, msg) || !strings.Contains(r.stderr, "Usage: kafka-metadata-quorum.sh") {
				t.Fatalf("%q: stderr %q lacks %q", args, r.stderr, msg)
			}
		}
	})

	t.Run("--version", func(t *testing.T) {
		if out := kmq("--version").ok(t); out != "kafka-metadata-quorum.sh (samsa dev)\n" {
			t.Fatalf("stdout %q", out)
		}
	})
}

func TestKafkaMetadataQuorumWithoutDescribeQuorum(t *testing.T) {
	c := newCluster(t) // kfake does not advertise DescribeQuorum
	r := c.run("", "kafka-metadata-quorum.sh", "--bootstrap-server", c.addr, "describe", "--replication").wantCode(t, 1)
	if r.stdout != "" || !strings.HasPrefix(r.stderr, "kafka-metadata-quorum.sh: DescribeQuorum: ") {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestQuorumStatusMaxFollowerLagTime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		voters []replicaState
		lag    string // MaxFollowerLag and MaxFollowerLagTimeMs
	}{
		{"is 0 when the leader has the lowest log end, its caught-up time unknown or not",
			[]replicaState{replica(1, 0, 50, 900, -1), replica(2, 0, 60, 800, 700)}, "0 0"},
		{"is the caught-up difference to the lowest voter",
			[]replicaState{replica(1, 0, 50, 900, 900), replica(2, 0, 40, 800, 700), replica(3, 0, 45, 850, 650)}, "10 200"},
		{"takes the first of voters tied for lowest",
			[]replicaState{replica(2, 0, 40, 800, 700), replica(1, 0, 40, 900, 900)}, "0 200"},
		{"is -1 when a caught-up time is unknown",
			[]replicaState{replica(1, 0, 50, 900, 900), replica(2, 0, 40, 800, -1)}, "10 -1"},
		{"counts a voter never heard from as log end -1",
			[]replicaState{replica(1, 0, 50, 900, 900), replica(2, 0, -1, -1, -1)}, "51 -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := quorumStatus("c", quorumPartition(1, tc.voters, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			var lag, lagMs string
			for _, l := range lines(out) {
				if v, ok := strings.CutPrefix(l, "MaxFollowerLag:"); ok {
					lag = strings.TrimSpace(v)
				}
				if v, ok := strings.CutPrefix(l, "MaxFollowerLagTimeMs:"); ok {
					lagMs = strings.TrimSpace(v)
				}
			}
			if got := lag + " " + lagMs; got != tc.lag {
				t.Fatalf("got %q, want %q in:\n%s", got, tc.lag, out)
			}
		})
	}
}

func TestReplicationRows(t *testing.T) {
	const now = 10_000
	t.Run("human-readable ages are relative to now", func(t *testing.T) {
		rows, err := replicationRows(quorumPartition(1, []replicaState{replica(1, 0, 5, now, now-250)}, nil), true, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := rows[0][4] + "|" + rows[0][5]; got != "0 ms ago|250 ms ago" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("a timestamp after now is Kafka's clock drift error", func(t *testing.T) {
		_, err := replicationRows(quorumPartition(1, []replicaState{replica(1, 0, 5, now+1, now)}, nil), true, now)
		want := "Error while computing relative time, possible drift in system clock.\nCurrent timestamp is 10000, last fetch timestamp is 10001"
		if err == nil || err.Error() != want {
			t.Fatalf("err %v, want %q", err, want)
		}
		if _, err := replicationRows(quorumPartition(1, []replicaState{replica(1, 0, 5, now+1, now)}, nil), false, now); err != nil {
			t.Fatalf("without --human-readable: %v", err)
		}
	})
	t.Run("a quorum without a leader among its voters is an error", func(t *testing.T) {
		if _, err := replicationRows(quorumPartition(-1, []replicaState{replica(1, 0, 5, now, now)}, nil), false, now); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestPrettyPrintTable(t *testing.T) {
	var b strings.Builder
	prettyPrintTable(&b, []string{"A", "Long"}, [][]string{{"wide", "x"}, {"", "yz"}})
	want := "A   \tLong\t\n" + "wide\tx   \t\n" + "    \tyz  \t\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
