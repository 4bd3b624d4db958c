package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The two worked examples of Kafka's AdminUtils.assignReplicasToBrokers
// documentation, with the random start and shift at 0.
func TestPlaceReplicasFollowsKafka(t *testing.T) {
	zero := func(int) int { return 0 }
	var five []brokerRack
	for id := range int32(5) {
		five = append(five, brokerRack{id: id})
	}
	got, err := placeReplicas(five, 10, 3, zero)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1}, {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("without racks: got %v, want %v", got, want)
	}

	// Followers wrap around the broker list, and the shift grows with
	// each round of leaders; the random start and shift move both.
	got, err = placeReplicas(five[:3], 6, 3, zero)
	if err != nil {
		t.Fatal(err)
	}
	want = [][]int32{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {1, 0, 2}, {2, 1, 0}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("three brokers: got %v, want %v", got, want)
	}
	got, err = placeReplicas(five[:3], 2, 3, func(int) int { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	want = [][]int32{{1, 0, 2}, {2, 1, 0}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("start and shift 1: got %v, want %v", got, want)
	}

	racks := map[int32]string{0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
	var six []brokerRack
	for id := range int32(6) {
		six = append(six, brokerRack{id: id, rack: racks[id], hasRack: true})
	}
	if got := rackAlternated(racks); !slices.Equal(got, []int32{0, 3, 1, 5, 4, 2}) {
		t.Errorf("rack alternated list %v", got)
	}
	got, err = placeReplicas(six, 7, 3, zero)
	if err != nil {
		t.Fatal(err)
	}
	want = [][]int32{{0, 3, 1}, {3, 1, 5}, {1, 5, 4}, {5, 4, 2}, {4, 2, 0}, {2, 0, 3}, {0, 4, 2}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("with racks: got %v, want %v", got, want)
	}

	if _, err := placeReplicas(five[:2], 3, 3, zero); err == nil || err.Error() != "Replication factor: 3 larger than available brokers: 2." {
		t.Errorf("RF above the brokers: %v", err)
	}
}

func TestKafkaReassignPartitions(t *testing.T) {
	c := newCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(2, "events"))
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rp := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-reassign-partitions.sh", "--bootstrap-server", c.addr}, args...)...)
	}
	// kfake places each partition on one broker: read where, for plans that
	// keep and change it.
	var current map[int32][]int32
	{
		out := rp("--generate", "--topics-to-move-json-file", file("topics.json", `{"topics":[{"topic":"events"}]}`), "--broker-list", "0,1,2").ok(t)
		lines := strings.Split(out, "\n")
		if len(lines) != 6 || lines[0] != "Current partition replica assignment" || lines[2] != "" ||
			lines[3] != "Proposed partition reassignment configuration" || lines[5] != "" {
			t.Fatalf("--generate printed:\n%s", out)
		}
		current = planOf(t, lines[1])
		proposed := planOf(t, lines[4])
		if len(current) != 2 || len(proposed) != 2 {
			t.Fatalf("--generate printed:\n%s", out)
		}
		for p, replicas := range proposed {
			if len(replicas) != len(current[p]) || replicas[0] < 0 || replicas[0] > 2 {
				t.Errorf("partition %d: proposed %v for current %v", p, replicas, current[p])
			}
		}
		if !strings.HasPrefix(lines[1], `{"version":1,"partitions":[{"topic":"events","partition":0,"replicas":[`) {
			t.Errorf("JSON not in Kafka's field order: %s", lines[1])
		}
	}
	other := func(p int32) int32 { return (current[p][0] + 1) % 3 }

	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{nil, "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"},
			{[]string{"--list", "--verify"}, "Command must include exactly one action"},
			{[]string{"--execute"}, `Missing required argument "[reassignment-json-file]"`},
			{[]string{"--generate", "--broker-list", "1"}, `Missing required argument "[topics-to-move-json-file]"`},
			{[]string{"--verify", "--reassignment-json-file", "x", "--throttle", "10"}, `Option "[throttle]" can't be used with action "[verify]"`},
			{[]string{"--list", "--additional"}, `Option "[additional]" can't be used with action "[list]"`},
		} {
			r := rp(tc.args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("%v: stderr %q, want %q", tc.args, r.stderr, tc.msg)
			}
		}
	})

	t.Run("plans samsa or Kafka refuses", func(t *testing.T) {
		for _, tc := range []struct{ plan, msg string }{
			{`{"version":1,"partitions":[]}`, "Partition reassignment list cannot be empty"},
			{`{"partitions":[{"topic":"events","partition":0,"replicas":[]}]}`, "Partition replica list cannot be empty"},
			{`{"partitions":[{"topic":"events","partition":0,"replicas":[0]},{"topic":"events","partition":0,"replicas":[1]}]}`,
				"Partition reassignment contains duplicate topic partitions: events-0"},
			{`{"partitions":[{"topic":"events","partition":0,"replicas":[1,1]}]}`,
				"Partition replica lists may not contain duplicate entries: events-0 contains multiple entries for 1"},
			{`{"partitions":[{"topic":"events","partition":0,"replicas":[1],"log_dirs":["any","any"]}]}`,
				"Size of replicas list [1] is different from size of log dirs list [any, any] for partition events-0"},
			{`{"partitions":[{"topic":"events","partition":0,"replicas":[1],"log_dirs":["/data/a"]}]}`,
				`samsa does not move replicas between log directories`},
			{`{"version":2,"partitions":[]}`, "Not supported version field value 2"},
			{`{"partitions":[`, "The input string is not a valid JSON"},
			{`{"partitions":[{"topic":"events","partition":0,"replicas":[7]}]}`, "Unknown broker id 7"},
			{`{"partitions":[{"topic":"events","partition":9,"replicas":[0]}]}`, "Unable to find partition: events-9"},
			{`{"partitions":[{"topic":"nope","partition":0,"replicas":[0]}]}`, "Topic nope not found."},
		} {
			r := rp("--execute", "--reassignment-json-file", file("bad.json", tc.plan)).wantCode(t, 1)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("%s: stderr %q, want %q", tc.plan, r.stderr, tc.msg)
			}
		}
		r := rp("--execute", "--throttle", "1000", "--reassignment-json-file", file("ok.json", `{"partitions":[{"topic":"events","partition":0,"replicas":[0]}]}`)).wantCode(t, 1)
		if !strings.Contains(r.stderr, "samsa does not throttle replication") {
			t.Errorf("--throttle: stderr %q", r.stderr)
		}
		r = rp("--generate", "--topics-to-move-json-file", file("t.json", `{"topics":[{"topic":"events"},{"topic":"events"}]}`), "--broker-list", "0,1").wantCode(t, 1)
		if !strings.Contains(r.stderr, "List of topics to reassign contains duplicate entries: [events]") {
			t.Errorf("duplicate topics: stderr %q", r.stderr)
		}
		r = rp("--generate", "--topics-to-move-json-file", file("t.json", `{"topics":[{"topic":"events"}]}`), "--broker-list", "0,1,0").wantCode(t, 1)
		if !strings.Contains(r.stderr, "Broker list contains duplicate entries: [0]") {
			t.Errorf("duplicate brokers: stderr %q", r.stderr)
		}
	})

	t.Run("execute then verify", func(t *testing.T) {
		plan := file("plan.json", planJSON(map[int32][]int32{0: current[0], 1: {other(1)}}))
		out := rp("--execute", "--reassignment-json-file", plan).ok(t)
		want := "Current partition replica assignment\n\n" + planJSON(current) +
			"\n\nSave this to use as the --reassignment-json-file option during rollback\n" +
			"Successfully started partition reassignments for events-0,events-1\n"
		if out != want {
			t.Errorf("--execute printed:\n%s\nwant:\n%s", out, want)
		}
		// kfake accepts reassignments and moves nothing: one partition
		// already has its target, the other never gets it.
		out = rp("--verify", "--preserve-throttles", "--reassignment-json-file", plan).ok(t)
		want = "Status of partition reassignment:\n" +
			"Reassignment of partition events-0 is completed.\n" +
			"There is no active reassignment of partition events-1, but replica set is " + int32List(current[1]) +
			" rather than " + int32List([]int32{other(1)}) + ".\n\n"
		if out != want {
			t.Errorf("--verify printed:\n%s\nwant:\n%s", out, want)
		}
	})

	t.Run("list and cancel with nothing in progress", func(t *testing.T) {
		if out := rp("--list").ok(t); out != "No partition reassignments found.\n" {
			t.Errorf("--list printed %q", out)
		}
		plan := file("cancel.json", planJSON(map[int32][]int32{0: current[0]}))
		out := rp("--cancel", "--preserve-throttles", "--reassignment-json-file", plan).ok(t)
		if out != "None of the specified partition reassignments are active.\nNone of the specified partition moves are active.\n" {
			t.Errorf("--cancel printed %q", out)
		}
	})
}

// planOf reads a reassignment JSON of topic events: partition → replicas.
func planOf(t *testing.T, s string) map[int32][]int32 {
	t.Helper()
	var doc reassignJSON
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	out := map[int32][]int32{}
	for _, p := range doc.Partitions {
		if p.Topic != "events" || len(p.LogDirs) != len(p.Replicas) {
			t.Fatalf("unexpected entry in %s", s)
		}
		out[p.Partition] = p.Replicas
	}
	return out
}

// planJSON is the reassignment JSON of topic events.
func planJSON(plan map[int32][]int32) string {
	var rs []reassignment
	for p, replicas := range plan {
		rs = append(rs, reassignment{topicPartition{"events", p}, replicas})
	}
	return reassignmentJSON(rs)
}
