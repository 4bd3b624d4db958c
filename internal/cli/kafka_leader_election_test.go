package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestKafkaLeaderElection(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(3, "events"), kfake.SeedTopics(2, "orders"))
	// sent is the ElectLeaders request of the last run, if it sent one.
	var sent atomic.Pointer[kmsg.ElectLeadersRequest]
	c.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ElectLeaders}, Count: -1, When: func(r kmsg.Request) bool {
		sent.Store(r.(*kmsg.ElectLeadersRequest))
		return false
	}})
	le := func(args ...string) result {
		t.Helper()
		sent.Store(nil)
		return c.run("", append([]string{"kafka-leader-election.sh", "--bootstrap-server", c.addr}, args...)...)
	}
	jsonFile := func(t *testing.T, content string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "election.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("a preferred election for one partition names it", func(t *testing.T) {
		r := le("--election-type", "preferred", "--topic", "events", "--partition", "1")
		if out := r.ok(t); out != "Successfully completed leader election (PREFERRED) for partitions events-1\n" {
			t.Fatalf("stdout %q", out)
		}
		req := sent.Load()
		if req.ElectionType != 0 || len(req.Topics) != 1 || req.Topics[0].Topic != "events" || len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0] != 1 {
			t.Fatalf("sent type %d topics %+v", req.ElectionType, req.Topics)
		}
	})

	t.Run("the election type is case-insensitive and printed in capitals", func(t *testing.T) {
		out := le("--election-type", "UnClEaN", "--topic", "orders", "--partition", "0").ok(t)
		if out != "Successfully completed leader election (UNCLEAN) for partitions orders-0\n" {
			t.Fatalf("stdout %q", out)
		}
		if typ := sent.Load().ElectionType; typ != 1 {
			t.Fatalf("sent election type %d, want 1 (unclean)", typ)
		}
	})

	t.Run("all topic partitions sends a null list and lists them in Kafka's order", func(t *testing.T) {
		out := le("--election-type", "preferred", "--all-topic-partitions").ok(t)
		// java.util.HashSet's order for these five, not a sorted one.
		if out != "Successfully completed leader election (PREFERRED) for partitions orders-0, orders-1, events-0, events-1, events-2\n" {
			t.Fatalf("stdout %q", out)
		}
		if sent.Load().Topics != nil {
			t.Fatalf("sent topics %+v, want null", sent.Load().Topics)
		}
	})

	t.Run("an empty JSON list elects nothing rather than everything", func(t *testing.T) {
		out := le("--election-type", "preferred", "--path-to-json-file", jsonFile(t, `{"partitions": []}`)).ok(t)
		if out != "" {
			t.Fatalf("stdout %q", out)
		}
		if req := sent.Load(); req == nil || req.Topics == nil || len(req.Topics) != 0 {
			t.Fatalf("sent topics %+v, want an empty list", req.Topics)
		}
	})

	t.Run("refused elections are listed and fail the command", func(t *testing.T) {
		h := c.c.Fault(
			kfake.Fault{Keys: []kmsg.Key{kmsg.ElectLeaders}, Topic: "events", Partitions: []int32{0}, Err: kerr.ElectionNotNeeded},
			kfake.Fault{Keys: []kmsg.Key{kmsg.ElectLeaders}, Topic: "events", Partitions: []int32{2}, Err: kerr.PreferredLeaderNotAvailable},
		)
		defer h.Remove()
		path := jsonFile(t, `{"partitions": [
			{"topic": "events", "partition": 0}, {"topic": "events", "partition": 1},
			{"topic": "events", "partition": 2}, {"topic": "events", "partition": 9},
			{"topic": "orders", "partition": 0}]}`)
		r := le("--election-type", "preferred", "--path-to-json-file", path).wantCode(t, 1)
		want := "Successfully completed leader election (PREFERRED) for partitions orders-0, events-1\n" +
			"Valid replica already elected for partitions events-0\n" +
			"Error completing leader election (PREFERRED) for partition: events-9: UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.\n" +
			"Error completing leader election (PREFERRED) for partition: events-2: PREFERRED_LEADER_NOT_AVAILABLE: The preferred leader was not available\n"
		if r.stdout != want {
			t.Fatalf("stdout\n%s\nwant\n%s", r.stdout, want)
		}
		if r.stderr != "2 replica(s) could not be elected\n" {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("a partition that does not exist fails the command", func(t *testing.T) {
		r := le("--election-type", "preferred", "--topic", "nope", "--partition", "0").wantCode(t, 1)
		if r.stdout != "Error completing leader election (PREFERRED) for partition: nope-0: UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
		if r.stderr != "1 replica(s) could not be elected\n" {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("a request refused as a whole prints Kafka's message", func(t *testing.T) {
		for _, tc := range []struct {
			err            *kerr.Error
			stdout, stderr string
		}{
			{kerr.ClusterAuthorizationFailed, "Not authorized to perform leader election\n", "Not authorized to perform leader election\n"},
			{kerr.RequestTimedOut, "Timeout waiting for election results\n", "Timeout waiting for election results\n"},
			{kerr.UnknownServerError, "", "UNKNOWN_SERVER_ERROR: The server experienced an unexpected error when processing the request.\n"},
		} {
			c.c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ElectLeaders}, TopLevel: true, Err: tc.err})
			r := le("--election-type", "preferred", "--all-topic-partitions").wantCode(t, 1)
			if r.stdout != tc.stdout || r.stderr != tc.stderr {
				t.Fatalf("%s: stdout %q stderr %q", tc.err.Message, r.stdout, r.stderr)
			}
		}
	})

	t.Run("argument checks", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"--topic", "events", "--partition", "0"}, "Missing required option(s): election-type"},
			{[]string{"--election-type", "preferred"}, "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"},
			{[]string{"--election-type", "preferred", "--topic", "events", "--partition", "0", "--all-topic-partitions"}, "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"},
			{[]string{"--election-type", "preferred", "--all-topic-partitions", "--path-to-json-file", "x.json"}, "One and only one of the following options is required"},
			{[]string{"--election-type", "preferred", "--topic", "events"}, "Missing required option(s): partition"},
			{[]string{"--election-type", "preferred", "--all-topic-partitions", "--partition", "0"}, "Option partition is only allowed if topic is used"},
			{[]string{"--election-type", "clean", "--all-topic-partitions"}, "Cannot parse argument 'clean' of option election-type"},
			{[]string{"--election-type", "preferred", "--topic", "events", "--partition", "one"}, "Cannot parse argument 'one' of option partition"},
			{[]string{"--election-type", "preferred", "--all-topic-partitions", "--admin.config", "a", "--command-config", "b"}, `Option "[admin.config]" can't be used with option "[command-config]"`},
		} {
			r := le(tc.args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.msg)
			}
			if sent.Load() != nil {
				t.Fatalf("%v: an election was requested", tc.args)
			}
		}
	})

	t.Run("a bad JSON file fails before any election", func(t *testing.T) {
		r := le("--election-type", "preferred", "--path-to-json-file", jsonFile(t, `{"partitions": [`)).wantCode(t, 1)
		if r.stdout != "" || r.stderr != "Replica election data is empty\n" {
			t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
		}
		if sent.Load() != nil {
			t.Fatal("an election was requested")
		}
	})

	t.Run("--admin.config is read as --command-config", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "admin.properties")
		r := le("--election-type", "preferred", "--all-topic-partitions", "--admin.config", missing).wantCode(t, 1)
		if !strings.Contains(r.stderr, missing) {
			t.Fatalf("stderr %q does not name %s", r.stderr, missing)
		}
	})
}

func TestKafkaLeaderElectionJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // the partitions, or the error
	}{
		{"partitions in file order", `{"partitions": [{"topic": "b", "partition": 1}, {"topic": "a", "partition": 0}]}`, "[b-1 a-0]"},
		{"what follows the document is ignored", `{"partitions": [{"topic": "a", "partition": 0}]} trailing`, "[a-0]"},
		{"an empty file", ``, "Replica election data is empty"},
		{"invalid JSON", `{"partitions": [}`, "Replica election data is empty"},
		{"not an object", `[1, 2]`, "Expected JSON object, received [1,2]"},
		{"no partitions field", `{"partition": []}`, `Replica election data is missing "partitions" field`},
		{"partitions not a list", `{"partitions": {"topic": "a"}}`, `Expected JSON array, received {"topic":"a"}`},
		{"partitions null", `{"partitions": null}`, "Expected JSON array, received null"},
		{"an entry not an object", `{"partitions": [1]}`, "Expected JSON object, received 1"},
		{"an entry without a topic", `{"partitions": [{"partition": 0}]}`, "No such field exists: `topic`"},
		{"an entry without a partition", `{"partitions": [{"topic": "a"}]}`, "No such field exists: `partition`"},
		{"a topic not a string", `{"partitions": [{"topic": 1, "partition": 0}]}`, "Expected `String` value, received 1"},
		{"a partition given as a string", `{"partitions": [{"topic": "a", "partition": "0"}]}`, "Expected `Integer` value, received \"0\""},
		{"a partition given as a double", `{"partitions": [{"topic": "a", "partition": 1.0}]}`, "Expected `Integer` value, received 1.0"},
		{"a partition beyond int32", `{"partitions": [{"topic": "a", "partition": 2147483648}]}`, "Expected `Integer` value, received 2147483648"},
		{"duplicates are named once, in HashSet order", `{"partitions": [
			{"topic": "events", "partition": 0}, {"topic": "orders", "partition": 1},
			{"topic": "events", "partition": 0}, {"topic": "orders", "partition": 1}, {"topic": "events", "partition": 2}]}`,
			"Replica election data contains duplicate partitions: [orders-1, events-0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tps, err := parseElectionJSON([]byte(tc.in))
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				var parts []string
				for _, tp := range tps {
					parts = append(parts, tp.String())
				}
				got = "[" + strings.Join(parts, " ") + "]"
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestKafkaLeaderElectionOrder checks javaHashOrder against what OpenJDK
// 17's HashSet printed for the same insertions.
func TestKafkaLeaderElectionOrder(t *testing.T) {
	// "Aa" and "BB" have the same String.hashCode, so topics built of them
	// land in one bucket.
	collide := []string{"AaAaAaAa", "AaAaAaBB", "AaAaBBAa", "AaAaBBBB", "AaBBAaAa", "AaBBAaBB", "AaBBBBAa", "AaBBBBBB", "BBAaAaAa"}
	var twenty []string
	for p := range 20 {
		twenty = append(twenty, "events-"+strconv.Itoa(p))
	}
	for _, tc := range []struct {
		name     string
		in, want []string
	}{
		{"five partitions of two topics",
			[]string{"events-0", "events-1", "events-2", "orders-0", "orders-1"},
			[]string{"orders-0", "orders-1", "events-0", "events-1", "events-2"}},
		{"one bucket keeps the order of insertion",
			[]string{"BB-0", "Aa-0", "events-0"}, []string{"BB-0", "Aa-0", "events-0"}},
		{"repeats are dropped", []string{"events-0", "orders-1", "events-0"}, []string{"orders-1", "events-0"}},
		{"twenty entries grow the table to 32", twenty,
			[]string{"events-19", "events-11", "events-12", "events-13", "events-14", "events-15", "events-16", "events-17", "events-18",
				"events-3", "events-4", "events-5", "events-6", "events-7", "events-8", "events-9", "events-10", "events-0", "events-1", "events-2"}},
		{"eight in one bucket leave the table at 16",
			append([]string{"z-4"}, suffix(collide[:8], "-0")...),
			append([]string{"z-4"}, suffix(collide[:8], "-0")...)},
		{"a ninth in one bucket doubles a small table",
			append([]string{"z-4"}, suffix(collide, "-0")...),
			append(suffix(collide, "-0"), "z-4")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tps []topicPartition
			for _, s := range tc.in {
				i := strings.LastIndex(s, "-")
				p, err := strconv.Atoi(s[i+1:])
				if err != nil {
					t.Fatal(err)
				}
				tps = append(tps, topicPartition{s[:i], int32(p)})
			}
			var got []string
			for _, tp := range javaHashOrder(tps) {
				got = append(got, tp.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func suffix(ss []string, s string) []string {
	out := make([]string, len(ss))
	for i := range ss {
		out[i] = ss[i] + s
	}
	return out
}
