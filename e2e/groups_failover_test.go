package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// A consumer killed with SIGKILL commits nothing more; its partitions move
// to the members left once its session times out, and they resume at its
// last commit. So nothing is lost, and what is consumed twice is exactly
// what it consumed after that commit.

func TestGroupSurvivesSIGKILLOfAMember(t *testing.T) {
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic, group, partitions = "churn", "churners", 6
	createTopic(t, adm, topic, partitions)

	consumer := func(name string) *bgTool {
		return startTool(t, samsaBin, "consume", topic, "-g", group, "-b", b.Addr, "-f", `%p %o %v\n`,
			"-X", "client.id="+name,
			"-X", fmt.Sprint("session.timeout.ms=", sessionTimeout.Milliseconds()),
			"-X", fmt.Sprint("heartbeat.interval.ms=", heartbeatInterval.Milliseconds()),
			"-X", "auto.commit.interval.ms=200")
	}
	victim := consumer("victim")
	waitBalanced(t, adm, group, topic, 1, partitions)
	survivor := consumer("survivor")
	waitBalanced(t, adm, group, topic, 2, partitions)
	d, err := describeGroup(t, adm, group)
	if err != nil {
		t.Fatal(err)
	}
	var victimParts []int32
	for _, m := range d.Members {
		if m.ClientID == "victim" {
			victimParts = assignmentOf(d, topic)[m.MemberID]
		}
	}
	if len(victimParts) != partitions/2 {
		t.Fatalf("the first consumer owns %v after the second joined, want half of the %d partitions", victimParts, partitions)
	}

	prod := startValueProducer(t, b, topic, partitions)
	waitUntil(t, 30*time.Second, "the victim consumes and commits on each of its partitions", func() error {
		c := committed(t, adm, group, topic)
		for _, p := range victimParts {
			if c[p] < 100 {
				return fmt.Errorf("committed %v", c)
			}
		}
		return nil
	})

	victim.Kill()
	killed := time.Now()
	// lastCommit[p] is the victim's last commit on p: read from the broker
	// until the survivor prints a record of p, which it can commit only
	// after printing.
	lastCommit := map[int32]int64{}
	waitUntil(t, sessionTimeout+10*time.Second, "the survivor consumes the killed consumer's partitions", func() error {
		c := committed(t, adm, group, topic)
		printed := map[int32]bool{}
		for _, r := range parseConsumed(t, "the survivor", survivor.Lines()) {
			printed[r.partition] = true
		}
		var missing []int32
		for _, p := range victimParts {
			if !printed[p] {
				lastCommit[p] = c[p]
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the survivor has printed nothing of partitions %v", missing)
		}
		return nil
	})
	took := time.Since(killed)
	if took > sessionTimeout+3*time.Second {
		t.Errorf("the partitions moved %v after the kill; the session timeout is %v", took.Round(time.Millisecond), sessionTimeout)
	}
	d, err = describeGroup(t, adm, group)
	if a := assignmentOf(d, topic); err != nil || a.balanced(1, partitions) != nil {
		t.Errorf("after the kill the group is %s with %v (%v), want the survivor alone with every partition", d.State, a, err)
	}

	// Produce on for a while after the move, then wait until the survivor
	// has consumed everything.
	prod.waitAcked(prod.acked() + 200)
	produced := prod.stop()
	_, end := offsets(t, adm, topic)
	waitUntil(t, 30*time.Second, "the survivor reaches the end of every partition", func() error {
		last := map[int32]int64{}
		for _, r := range parseConsumed(t, "the survivor", survivor.Lines()) {
			last[r.partition] = max(last[r.partition], r.offset+1)
		}
		if !mapsEqual(last, end) {
			return fmt.Errorf("the survivor is at %v, the end offsets are %v", last, end)
		}
		return nil
	})
	survivor.Kill()

	fromVictim := parseConsumed(t, "the victim", victim.Lines())
	fromSurvivor := parseConsumed(t, "the survivor", survivor.Lines())
	lastByVictim := map[int32]int64{}
	for _, r := range fromVictim {
		lastByVictim[r.partition] = max(lastByVictim[r.partition], r.offset)
	}
	// What may be consumed twice: the victim's records after its last
	// commit, on each of its partitions.
	mayRepeat := map[[2]int64]bool{}
	for _, p := range victimParts {
		if lastCommit[p] > lastByVictim[p]+1 {
			t.Errorf("partition %d: the victim committed %d but printed only up to %d", p, lastCommit[p], lastByVictim[p])
		}
		for o := lastCommit[p]; o <= lastByVictim[p]; o++ {
			mayRepeat[[2]int64{int64(p), o}] = true
		}
	}
	firstBySurvivor := map[int32]int64{}
	for _, r := range fromSurvivor {
		if o, ok := firstBySurvivor[r.partition]; !ok || r.offset < o {
			firstBySurvivor[r.partition] = r.offset
		}
	}
	for _, p := range victimParts {
		if firstBySurvivor[p] != lastCommit[p] {
			t.Errorf("partition %d: the survivor started at offset %d, the victim's last commit was %d", p, firstBySurvivor[p], lastCommit[p])
		}
	}

	seen := map[[2]int64]int{}
	repeated := 0
	for _, r := range append(fromVictim, fromSurvivor...) {
		key := [2]int64{int64(r.partition), r.offset}
		if want := produced[key]; r.value != want {
			t.Fatalf("%d/%d was consumed as %q, the producer had %q acknowledged there", r.partition, r.offset, r.value, want)
		}
		if seen[key]++; seen[key] == 2 {
			repeated++
			if !mayRepeat[key] {
				t.Errorf("%d/%d (%s) was consumed twice, but it is not after the victim's last commit %d", r.partition, r.offset, r.value, lastCommit[r.partition])
			}
		} else if seen[key] > 2 {
			t.Errorf("%d/%d (%s) was consumed %d times", r.partition, r.offset, r.value, seen[key])
		}
	}
	for key := range mayRepeat {
		if seen[key] != 2 {
			t.Errorf("%d/%d follows the victim's last commit and was printed by it, but the survivor did not consume it again", key[0], key[1])
		}
	}
	missing := 0
	for key := range produced {
		if seen[key] == 0 {
			if missing++; missing <= 10 {
				t.Errorf("%d/%d (%s) was acknowledged but never consumed", key[0], key[1], produced[key])
			}
		}
	}
	t.Logf("partitions moved %v after the kill; %d records produced, %d consumed by the victim, %d by the survivor, %d twice (after commits %v)",
		took.Round(time.Millisecond), len(produced), len(fromVictim), len(fromSurvivor), repeated, lastCommit)
}

// samsa consume -g "commits the offsets of the records it printed". When
// its stdout is slower than the broker (a pipe into a slow program), records
// wait in the command's output buffer; they are not printed yet, and a
// commit that covers them loses them if the command is killed.
func TestSamsaConsumeGroupCommitsOnlyWhatReachedStdout(t *testing.T) {
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic, group = "slow", "slowpokes"
	createTopic(t, adm, topic, 1)
	vals := make([]string, 20000) // 2 MB, far more than a pipe and the command's buffer hold
	for i := range vals {
		vals[i] = fmt.Sprintf("%05d-%s", i, strings.Repeat("x", 90))
	}
	produceValues(t, b, topic, 1, vals...)

	// Nobody reads the pipe until the command is dead, as if the program
	// it feeds were stuck.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(samsaBin, "consume", topic, "-g", group, "-b", b.Addr, "-X", "auto.commit.interval.ms=100")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Blocked on the full pipe, the command commits no further: wait until
	// its committed offset has stood still for five polls (250 ms, more
	// than two commit intervals).
	var last int64
	still := 0
	waitUntil(t, 30*time.Second, "the consumer commits, then blocks", func() error {
		c := committed(t, adm, group, topic)[0]
		if c == 0 || c != last {
			last, still = c, 0
			return fmt.Errorf("committed offset %d", c)
		}
		if still++; still < 5 {
			return fmt.Errorf("committed offset %d for %d polls", c, still)
		}
		return nil
	})
	cmd.Process.Kill()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	printed := int64(strings.Count(string(out), "\n"))
	if c := committed(t, adm, group, topic); c[0] > printed {
		t.Errorf("the group committed offset %d, but only %d records reached stdout: %d would never be consumed", c[0], printed, c[0]-printed)
	}
}

// confluentManualCommit consumes topic argv[3] in group argv[2] with
// automatic commits off, and commits synchronously after each batch of at
// most argv[4] messages. It prints "R partition offset value" per message,
// "B" after each batch, and "C partition:offset ..." with what each commit
// returned. With argv[5] == "gated" it reads a line from stdin between
// printing a batch and committing it, so that the test chooses where it is
// killed.
const confluentManualCommit = `
import sys
from confluent_kafka import Consumer

broker, group, topic, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
gated = len(sys.argv) > 5 and sys.argv[5] == 'gated'
c = Consumer({'bootstrap.servers': broker, 'group.id': group, 'enable.auto.commit': False,
              'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 300,
              'max.partition.fetch.bytes': 1})
c.subscribe([topic])
while True:
    batch = []
    for m in c.consume(num_messages=size, timeout=0.5):
        if m.error():
            print('consume error:', m.error(), file=sys.stderr)
        else:
            batch.append(m)
    if not batch:
        continue
    for m in batch:
        print('R', m.partition(), m.offset(), m.value().decode())
    print('B', flush=True)
    if gated and sys.stdin.readline() == '':
        break
    done = c.commit(asynchronous=False)
    print('C', ' '.join('%d:%d' % (tp.partition, tp.offset) for tp in done if tp.offset >= 0), flush=True)
`

// A confluent-kafka consumer that commits by hand after each batch is
// killed between printing a batch and committing it; the next consumer in
// the group starts at the last commit, so the uncommitted batch, and only
// it, is delivered twice.
func TestConfluentGroupManualCommitResumesAfterSIGKILL(t *testing.T) {
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic, group, partitions = "ledger", "bookkeepers", 3
	createTopic(t, adm, topic, partitions)
	// Thirty small batches, fetched one per partition at a time (below),
	// so that the consumer's batches span every partition.
	for i := 0; i < 30; i++ {
		produceValues(t, b, topic, partitions, numbered(fmt.Sprint("entry-", i), 10)...)
	}
	_, end := offsets(t, adm, topic)

	count := func(p *bgTool, kind string) (n int, last string) {
		for _, l := range p.Lines() {
			if l == kind || strings.HasPrefix(l, kind+" ") {
				n, last = n+1, l
			}
		}
		return n, last
	}
	waitFor := func(p *bgTool, kind string, n int) string {
		t.Helper()
		var last string
		waitUntil(t, 60*time.Second, fmt.Sprintf("%d %q lines", n, kind), func() error {
			var got int
			if got, last = count(p, kind); got < n {
				if p.Exited() {
					t.Fatalf("the consumer exited: %s", p.Stderr())
				}
				return fmt.Errorf("%d so far", got)
			}
			return nil
		})
		return last
	}

	const batch, committedBatches = 20, 3
	first := startInteractiveTool(t, pythonBin, "-u", "-c", confluentManualCommit, b.Addr, group, topic, fmt.Sprint(batch), "gated")
	var lastC string
	for i := 1; i <= committedBatches; i++ {
		waitFor(first, "B", i)
		first.Send("commit")
		lastC = waitFor(first, "C", i)
	}
	waitFor(first, "B", committedBatches+1) // printed, not committed
	first.Kill()

	acked := map[int32]int64{}
	for _, f := range strings.Fields(strings.TrimPrefix(lastC, "C")) {
		var p int32
		var o int64
		if _, err := fmt.Sscanf(f, "%d:%d", &p, &o); err != nil {
			t.Fatalf("bad commit line %q", lastC)
		}
		acked[p] = o
	}
	if len(acked) != partitions {
		t.Fatalf("the consumer's batches did not span every partition; its last commit was %q", lastC)
	}
	if c := committed(t, adm, group, topic); !mapsEqual(c, acked) {
		t.Fatalf("the broker has %v committed; the consumer's last commit returned %v", c, acked)
	}

	second := startTool(t, pythonBin, "-u", "-c", confluentManualCommit, b.Addr, group, topic, fmt.Sprint(batch))
	waitUntil(t, sessionTimeout+30*time.Second, "the second consumer reads to the end", func() error {
		if c := committed(t, adm, group, topic); !mapsEqual(c, end) {
			if second.Exited() {
				t.Fatalf("the second consumer exited: %s", second.Stderr())
			}
			return fmt.Errorf("committed %v, the end offsets are %v", c, end)
		}
		return nil
	})
	second.Kill()

	records := func(p *bgTool) map[int32][]int64 {
		out := map[int32][]int64{}
		for _, l := range p.Lines() {
			var part int32
			var off int64
			var v string
			if n, _ := fmt.Sscanf(l, "R %d %d %s", &part, &off, &v); n == 3 {
				out[part] = append(out[part], off)
			}
		}
		return out
	}
	byFirst, bySecond := records(first), records(second)
	uncommitted := 0 // records the first printed after its last commit
	for _, l := range first.Lines() {
		switch {
		case strings.HasPrefix(l, "C"):
			uncommitted = 0
		case strings.HasPrefix(l, "R "):
			uncommitted++
		}
	}
	repeated := 0
	for p := int32(0); p < partitions; p++ {
		// The first read 0 … lastFirst, the second from the commit to
		// the end: each without gaps, and overlapping exactly where the
		// first printed but had not committed.
		f, s := byFirst[p], bySecond[p]
		if !slices.Equal(f, offsetRange(0, int64(len(f)))) {
			t.Errorf("partition %d: the first consumer read offsets %v", p, f)
		}
		if want := offsetRange(acked[p], end[p]); !slices.Equal(s, want) {
			t.Errorf("partition %d: the second consumer read %v; want %d…%d, from the last commit to the end", p, s, acked[p], end[p]-1)
		}
		repeated += len(f) - int(acked[p])
	}
	if repeated != uncommitted || uncommitted == 0 {
		t.Errorf("%d records were delivered twice; want the %d of the batch printed but not committed", repeated, uncommitted)
	}
	t.Logf("last commit %v; %d records delivered twice", acked, repeated)
}

// offsetRange returns from, from+1, … to-1.
func offsetRange(from, to int64) []int64 {
	var out []int64
	for o := from; o < to; o++ {
		out = append(out, o)
	}
	return out
}
