package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consumer groups as users meet them (issue #3): what the seed documents'
// consumer does, what the tools show and change, and what survives a
// broker restart. Killed consumers are in groups_failover_test.go, joining
// and leaving members in groups_members_test.go, and the helpers these files
// share in groupharness_test.go.

// seedGroupConsumer is the seed document's consumer (the first of its two:
// group test-group, subscribed to test-topic). Deviations: the broker address
// comes from argv, each message is printed as a JSON line, and the loop ends
// once the group has assigned partitions and three seconds pass without a
// message (the document's loops until Ctrl-C), so that close() commits.
const seedGroupConsumer = `
import json, sys
from kafka import KafkaConsumer

consumer = KafkaConsumer(bootstrap_servers=sys.argv[1],
                         auto_offset_reset='earliest',
                         value_deserializer=lambda m: json.loads(m.decode('utf-8')),
                         group_id='test-group',
                         consumer_timeout_ms=3000)
consumer.subscribe(['test-topic'])

def show(message):
    print(json.dumps({'partition': message.partition, 'offset': message.offset, 'message': message.value}))

try:
    while not consumer.assignment():
        for records in consumer.poll(timeout_ms=100).values():
            for message in records:
                show(message)
    for message in consumer:
        show(message)
finally:
    consumer.close()
`

// The seed documents' scenario end to end: the JSON producer sends ten
// messages, the group consumer receives exactly those, a second run receives
// nothing, and both describe commands show that the group has no lag.
func TestKafkaPythonSeedGroupConsumer(t *testing.T) {
	needPython(t, "kafka", "python3-kafka")
	b := groupBroker(t, withProps("num.partitions", "3"))

	sent := parsePyRecords(t, python(t, seedProducer, b.Addr))
	if len(sent) != 10 {
		t.Fatalf("the producer acknowledged %d messages, want 10: %v", len(sent), sent)
	}
	got := parsePyRecords(t, python(t, seedGroupConsumer, b.Addr))
	if !slices.Equal(got, sent) {
		t.Fatalf("the group consumer received\n%s\nthe producer sent\n%s", strings.Join(got, "\n"), strings.Join(sent, "\n"))
	}
	if again := parsePyRecords(t, python(t, seedGroupConsumer, b.Addr)); len(again) != 0 {
		t.Fatalf("run again, the group consumer received what the group had committed:\n%s", strings.Join(again, "\n"))
	}
	_, end := offsets(t, b.Admin(t), "test-topic")

	// samsa group describe: a summary, then TOPIC PARTITION CURRENT-OFFSET
	// LOG-END-OFFSET LAG MEMBER-ID CLIENT-ID HOST per committed partition.
	out := mustRun(t, 30*time.Second, "", samsaBin, "group", "describe", "test-group", "-b", b.Addr).Stdout
	rows := tableRows(t, out, "TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG MEMBER-ID CLIENT-ID HOST")
	checkNoLag(t, "samsa group describe", out, rows, end, map[string]int{"topic": 0, "partition": 1, "current": 2, "end": 3, "lag": 4, "member": 5})
	if !regexpMatch(`(?m)^STATE +Empty$`, out) || !regexpMatch(`(?m)^TOTAL-LAG +0$`, out) {
		t.Errorf("samsa group describe: want STATE Empty and TOTAL-LAG 0 in the summary:\n%s", out)
	}

	// kafka-consumer-groups.sh --describe: Kafka's columns, after a note on
	// stderr that nobody is consuming.
	r := mustRun(t, 30*time.Second, "", filepath.Join(kafkaTools(t), "kafka-consumer-groups.sh"),
		"--bootstrap-server", b.Addr, "--describe", "--group", "test-group")
	rows = tableRows(t, r.Stdout, "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID")
	for _, row := range rows {
		if row[0] != "test-group" {
			t.Errorf("kafka-consumer-groups.sh: row %q does not start with the group", row)
		}
	}
	checkNoLag(t, "kafka-consumer-groups.sh --describe", r.Stdout, rows, end, map[string]int{"topic": 1, "partition": 2, "current": 3, "end": 4, "lag": 5, "member": 6})
	if !strings.Contains(r.Stderr, "Consumer group 'test-group' has no active members.") {
		t.Errorf("kafka-consumer-groups.sh: stderr lacks Kafka's note on an empty group:\n%s", r.Stderr)
	}
}

// kafka-consumer-groups.sh --reset-offsets --to-earliest rewinds a group
// that nobody is consuming in, so that the group reads everything again; it
// refuses, with Kafka's message, while a member is live.
func TestConsumerGroupsResetOffsets(t *testing.T) {
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic, group = "replay", "replayers"
	createTopic(t, adm, topic, 3)
	produceValues(t, b, topic, 3, numbered("r", 30)...)
	consume := func() []string {
		t.Helper()
		out := mustRun(t, 60*time.Second, "", samsaBin, "consume", topic, "-g", group, "-e", "-f", `%p %o %v\n`, "-b", b.Addr).Stdout
		lines := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(lines)
		return lines
	}
	first := consume()
	if len(first) != 30 {
		t.Fatalf("the group consumer read %d records, want 30:\n%s", len(first), strings.Join(first, "\n"))
	}
	_, end := offsets(t, adm, topic)
	if c := committed(t, adm, group, topic); !mapsEqual(c, end) {
		t.Fatalf("after reading everything the group committed %v, want the end offsets %v", c, end)
	}

	tool := filepath.Join(kafkaTools(t), "kafka-consumer-groups.sh")
	reset := func() toolResult {
		t.Helper()
		return runTool(t, 30*time.Second, "", tool, "--bootstrap-server", b.Addr, "--group", group,
			"--reset-offsets", "--to-earliest", "--topic", topic, "--execute")
	}

	member := b.Client(t, groupMember(group, topic)...)
	waitBalanced(t, adm, group, topic, 1, 3)
	r := reset()
	want := fmt.Sprintf("Error: Assignments can only be reset if the group '%s' is inactive, but the current state is Stable.", group)
	if r.ExitCode() != 1 || !strings.Contains(r.Stdout, "\n"+want+"\n") {
		t.Errorf("reset with a live member: want exit status 1 and Kafka's %q on stdout; got\n%s", want, r)
	}
	if c := committed(t, adm, group, topic); !mapsEqual(c, end) {
		t.Errorf("the refused reset changed the committed offsets to %v", c)
	}

	member.Close() // leaves the group
	waitUntil(t, 30*time.Second, "the group is Empty once its member left", func() error {
		d, err := describeGroup(t, adm, group)
		if err == nil && d.State != "Empty" {
			err = fmt.Errorf("state %s", d.State)
		}
		return err
	})
	r = reset()
	if r.Err != nil {
		t.Fatalf("reset of an empty group: %s", r)
	}
	rows := tableRows(t, r.Stdout, "GROUP TOPIC PARTITION NEW-OFFSET")
	if len(rows) != 3 {
		t.Errorf("the reset printed %d rows, want one per partition:\n%s", len(rows), r.Stdout)
	}
	for i, row := range rows {
		if !slices.Equal(row, []string{group, topic, fmt.Sprint(i), "0"}) {
			t.Errorf("reset row %q, want %s %s %d 0", row, group, topic, i)
		}
	}
	if c := committed(t, adm, group, topic); !mapsEqual(c, map[int32]int64{0: 0, 1: 0, 2: 0}) {
		t.Errorf("after the reset the group has committed %v, want 0 everywhere", c)
	}
	if again := consume(); !slices.Equal(again, first) {
		t.Errorf("after the reset the group read\n%s\nwant everything again:\n%s", strings.Join(again, "\n"), strings.Join(first, "\n"))
	}
}

// Acknowledged commits and the groups themselves survive a clean restart
// and a kill -9: offsets with their metadata, a group that only stores
// offsets, and a live member, which carries on in its generation.
func TestGroupsSurviveBrokerRestart(t *testing.T) {
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic = "kept"
	createTopic(t, adm, topic, 4)
	ctx := testContext(t, 2*time.Minute)

	var memberLog clientLog
	member := b.Client(t, append(groupMember("live", topic), kgo.DisableAutoCommit(), kgo.WithLogger(&memberLog))...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("franz-go log of the member (info and above):\n%s", memberLog.warnings())
		}
	})
	read := 0
	consumeAndCommit := func(n int) {
		t.Helper()
		produceValues(t, b, topic, 4, numbered(fmt.Sprint("v", read), n)...)
		for want := read + n; read < want; {
			fs := member.PollFetches(ctx)
			// A poll may report that the member could not reach the
			// restarting broker; it carries on.
			if err := fs.Err0(); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("the member's poll: %v", err)
			}
			read += fs.NumRecords()
		}
		if err := member.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("the member's commit: %v", err)
		}
	}
	consumeAndCommit(40)
	memberID, generation := member.GroupMetadata()
	before := waitBalanced(t, adm, "live", topic, 1, 4)

	for round, stop := range []struct {
		name string
		stop func()
	}{{"SIGTERM", b.Term}, {"SIGKILL", b.Kill}} {
		// A group that only stores offsets, as admin tools and simple
		// consumers commit them: no generation, metadata per partition.
		var os kadm.Offsets
		for p := int32(0); p < 4; p++ {
			os.Add(kadm.Offset{Topic: topic, Partition: p, At: int64(10*round) + int64(p), LeaderEpoch: -1, Metadata: fmt.Sprintf("%s-%d", stop.name, p)})
		}
		if resp, err := adm.CommitOffsets(ctx, "stored", os); err != nil || resp.Error() != nil {
			t.Fatalf("commit the offsets of group stored: %v %v", err, resp.Error())
		}
		wantLive, wantStored := fetchedOffsets(t, adm, "live"), fetchedOffsets(t, adm, "stored")
		logFrom := len(memberLog.warnings())

		stop.stop() // straight after the acknowledgements
		b.Start()

		if got := fetchedOffsets(t, adm, "live"); got != wantLive {
			t.Errorf("after %s the live group's offsets are\n%s\nwant\n%s", stop.name, got, wantLive)
		}
		if got := fetchedOffsets(t, adm, "stored"); got != wantStored {
			t.Errorf("after %s the stored group's offsets are\n%s\nwant\n%s", stop.name, got, wantStored)
		}
		if d, err := describeGroup(t, adm, "stored"); err != nil || d.State != "Empty" || len(d.Members) != 0 {
			t.Errorf("after %s group stored is %s with %d members (%v), want Empty", stop.name, d.State, len(d.Members), err)
		}
		d, err := describeGroup(t, adm, "live")
		if a := assignmentOf(d, topic); err != nil || d.State != "Stable" || a.String() != before.String() {
			t.Errorf("after %s group live is %s with %v (%v); want Stable with %v", stop.name, d.State, a, err, before)
		}
		// The member commits again in the generation it had.
		consumeAndCommit(8)
		// franz-go rejoins (same member id, next generation) when a
		// heartbeat cannot reach the restarting broker at all; that is the
		// client's choice. Anything the broker answered must not make it.
		if id, gen := member.GroupMetadata(); id != memberID || gen != generation {
			if log := memberLog.warnings()[logFrom:]; id == memberID && onlyDialFailures(log) {
				t.Logf("after %s the member rejoined in generation %d: its heartbeat could not reach the restarting broker", stop.name, gen)
				generation = gen
			} else {
				t.Errorf("after %s the member is %s in generation %d; it was %s in %d, and nothing should have made it rejoin",
					stop.name, id, gen, memberID, generation)
			}
		}
	}
	if c := committed(t, adm, "live", topic); len(c) != 4 || c[0]+c[1]+c[2]+c[3] != int64(read) {
		t.Errorf("group live committed %v; its member read %d records", c, read)
	}
}

// fetchedOffsets renders everything OffsetFetch returns for a group:
// partition, offset, leader epoch, metadata.
func fetchedOffsets(t *testing.T, adm *kadm.Client, group string) string {
	t.Helper()
	resps, err := adm.FetchOffsets(testContext(t, 30*time.Second), group)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatalf("fetch the offsets of group %s: %v", group, err)
	}
	var lines []string
	resps.Each(func(o kadm.OffsetResponse) {
		lines = append(lines, fmt.Sprintf("%s/%d at %d epoch %d metadata %q", o.Topic, o.Partition, o.At, o.LeaderEpoch, o.Metadata))
	})
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// tableRows finds the line whose fields are header's and returns the
// whitespace-separated fields of each non-empty line after it.
func tableRows(t *testing.T, out, header string) [][]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Join(strings.Fields(l), " ") != header {
			continue
		}
		var rows [][]string
		for _, l := range lines[i+1:] {
			if f := strings.Fields(l); len(f) > 0 {
				rows = append(rows, f)
			}
		}
		return rows
	}
	t.Fatalf("no table with the columns %s in:\n%s", header, out)
	return nil
}

// checkNoLag checks a describe table of test-topic: one row per partition,
// each committed at the log end offset the broker lists, with lag 0 and no
// owner. col names the columns by their index.
func checkNoLag(t *testing.T, tool, out string, rows [][]string, end map[int32]int64, col map[string]int) {
	t.Helper()
	if len(rows) != len(end) {
		t.Errorf("%s: %d rows, want one for each of test-topic's %d partitions:\n%s", tool, len(rows), len(end), out)
	}
	for i, row := range rows {
		if len(row) <= col["member"] {
			t.Errorf("%s: short row %q", tool, row)
			continue
		}
		want := fmt.Sprint(end[int32(i)])
		if row[col["topic"]] != "test-topic" || row[col["partition"]] != fmt.Sprint(i) || row[col["current"]] != want ||
			row[col["end"]] != want || row[col["lag"]] != "0" || row[col["member"]] != "-" {
			t.Errorf("%s: row %q; want test-topic partition %d committed at its log end offset %s, LAG 0, no member", tool, row, i, want)
		}
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// onlyDialFailures reports whether franz-go's log shows failed heartbeats
// and every one of them failed to reach the broker, rather than getting an
// answer from it.
func onlyDialFailures(log string) bool {
	n := 0
	for line := range strings.Lines(log) {
		if strings.Contains(line, "heartbeat errored") {
			if !strings.Contains(line, "unable to dial") {
				return false
			}
			n++
		}
	}
	return n > 0
}
