package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The headline durability test: an idempotent producer writes without
// pause while the broker is killed with SIGKILL and restarted, again and
// again. Every record the broker acknowledged must afterwards be in the log
// at the offset it was acknowledged with, exactly once, in order. This must
// hold in both flush policies: fsync before acknowledging (samsa's default),
// and Kafka's page-cache policy, where a process kill does not lose the page
// cache.

const (
	faultTopic      = "faults"
	faultPartitions = 3
	killRounds      = 5
)

var uncleanStart = regexp.MustCompile(`msg="storage: opened log dir".*clean=false`)

func TestKillNineLosesNoAcknowledgedRecord(t *testing.T) {
	for _, c := range []struct {
		name  string
		props []string
	}{
		{"fsync", nil},
		{"page cache", []string{"log.flush.interval.messages", "9223372036854775807"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := seededRand(t)
			b := startBroker(t, withProps(c.props...))
			w := startSequenceProducer(t, b)
			for k := 1; k <= killRounds; k++ {
				before := w.mark()
				// The fault schedule (not a synchronisation): 1-3 s apart.
				<-time.After(time.Second + time.Duration(rng.Int64N(int64(2*time.Second))))
				w.waitProgress(before)
				b.Kill()
				t.Logf("kill %d: %d records acknowledged so far", k, w.acked())
				b.Start()
				if !uncleanStart.MatchString(b.StartLog()) {
					t.Errorf("the start after kill %d did not see an unclean shutdown", k)
				}
			}
			w.waitProgress(w.mark())
			w.finish(killRounds)
		})
	}
}

// A paused broker (SIGSTOP) answers nothing while its sockets stay open;
// the producer's requests time out and are retried, and once it continues
// they must not be written twice.
func TestPausedBrokerLosesAndDuplicatesNothing(t *testing.T) {
	b := startBroker(t)
	w := startSequenceProducer(t, b, kgo.RequestTimeoutOverhead(time.Second), kgo.ProduceRequestTimeout(time.Second))
	for k := 1; k <= 2; k++ {
		w.waitProgress(w.mark())
		b.Pause()
		// Long enough for the producer's requests to time out.
		<-time.After(3 * time.Second)
		t.Logf("pause %d: %d records acknowledged so far", k, w.acked())
		b.Resume()
	}
	w.waitProgress(w.mark())
	w.finish(2)
	if w.log.cutConnections() == 0 {
		t.Error("no produce request timed out during the pauses: nothing was retried, so nothing was tested")
	}
}

// A clean stop answers the produce requests it took and appended with
// what became of them. A producer without idempotence cannot tell a retried
// batch from a new one, so a batch refused although the broker kept it is
// written twice. (In fsync mode an acks=all request waits for its fsync
// when the shutdown takes the partition's leadership away.)
func TestCleanRestartsDuplicateNothingForAPlainProducer(t *testing.T) {
	const restarts = 3
	b := startBroker(t)
	w := startSequenceProducer(t, b, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
	for k := 1; k <= restarts; k++ {
		w.waitProgress(w.mark())
		b.Restart()
		t.Logf("restart %d: %d records acknowledged so far", k, w.acked())
	}
	w.waitProgress(w.mark())
	w.finish(restarts)
}

// seededRand returns a generator seeded from SAMSA_E2E_SEED or the clock,
// logging the seed so that a schedule can be repeated.
func seededRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SAMSA_E2E_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SAMSA_E2E_SEED: %v", err)
		}
	}
	t.Logf("schedule seed %d (set SAMSA_E2E_SEED to repeat it)", seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// sequenceProducer writes the values 1, 2, 3, ... to each partition of a
// topic with kgo's defaults (idempotent, acks=all, unlimited record retries,
// no delivery timeout) and records what the brokers acknowledged. It works
// the same against one broker and against a cluster: the client options it
// is given say where the brokers are.
type sequenceProducer struct {
	t       *testing.T
	topic   string
	connect []kgo.Opt // seed brokers and dialer, for the producer and the final read
	cl      *kgo.Client
	stop    chan struct{}
	done    chan struct{} // closed when run returns

	log clientLog

	mu sync.Mutex
	// offsets[p][v-1] is the offset value v was acknowledged at on
	// partition p, or -1 while unacknowledged. Guarded by mu.
	offsets [][]int64
	top     []int64  // top[p] is the highest value acknowledged on p; guarded by mu
	nAcked  int      // guarded by mu
	errs    []string // guarded by mu; produce failures and sequence-error reports
}

// startSequenceProducer creates the topic faultTopic on the broker and
// starts producing to it.
func startSequenceProducer(t *testing.T, b *Broker, opts ...kgo.Opt) *sequenceProducer {
	createTopic(t, b.Admin(t), faultTopic, faultPartitions)
	return runSequenceProducer(t, faultTopic, faultPartitions, []kgo.Opt{kgo.SeedBrokers(b.Addr)}, opts...)
}

// runSequenceProducer starts producing to the partitions of an existing
// topic, paced at a few records per partition and millisecond so that
// requests are small and many are in flight when a fault comes. connect
// reaches the brokers; opts tune the producer.
func runSequenceProducer(t *testing.T, topic string, partitions int, connect []kgo.Opt, opts ...kgo.Opt) *sequenceProducer {
	t.Helper()
	w := &sequenceProducer{
		t:       t,
		topic:   topic,
		connect: connect,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		offsets: make([][]int64, partitions),
		top:     make([]int64, partitions),
	}
	// Only the partitioner is ours, so that every value goes where the
	// ledger expects it.
	all := append(slices.Clip(connect),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.WithLogger(&w.log),
		// kgo answers OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID by
		// taking a new producer id and carrying on; after a fault that lost
		// nothing the broker must never say either.
		kgo.ProducerOnDataLossDetected(w.dataLoss),
	)
	w.cl = newClient(t, append(all, opts...)...)
	// Cancelling the loop's context fails the records buffered under it:
	// that is only for the end of a test that failed early, whose loop may
	// be blocked on a full buffer.
	ctx, abort := context.WithCancel(context.Background())
	t.Cleanup(func() {
		abort() // before the client closes
		w.halt()
		if t.Failed() {
			t.Logf("franz-go producer log (info and above):\n%s", w.log.warnings())
			if keep, ok := keepLog(t.Name()+"-producer", w.log.debugLines()); ok {
				t.Logf("the producer's debug log (without per-request lines) kept in %s", keep)
			}
		}
	})
	go w.run(ctx)
	return w
}

func (w *sequenceProducer) run(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	next := make([]int64, len(w.offsets))
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		for i := range 2 * len(next) {
			p := int32(i % len(next))
			next[p]++
			w.sent(p, next[p])
			// Blocks while the producer's buffer is full, as during an outage.
			w.cl.Produce(ctx, &kgo.Record{Partition: p, Value: []byte(strconv.FormatInt(next[p], 10))}, w.promise)
		}
	}
}

func (w *sequenceProducer) sent(p int32, v int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for int64(len(w.offsets[p])) < v {
		w.offsets[p] = append(w.offsets[p], -1)
	}
}

// promise is the producer's callback for every record.
func (w *sequenceProducer) promise(r *kgo.Record, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if len(w.errs) < 20 {
			w.errs = append(w.errs, fmt.Sprintf("partition %d value %s failed (retries are unlimited, so only a non-retriable broker answer fails a record): %v", r.Partition, r.Value, err))
		}
		return
	}
	v, _ := strconv.ParseInt(string(r.Value), 10, 64)
	w.offsets[r.Partition][v-1] = r.Offset
	w.top[r.Partition] = max(w.top[r.Partition], v)
	w.nAcked++
}

// dataLoss is kgo's report of a sequence error on a partition.
func (w *sequenceProducer) dataLoss(topic string, p int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, fmt.Sprintf("partition %d: the broker answered OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID, which franz-go reports as data loss", p))
}

// acked returns how many records have been acknowledged.
func (w *sequenceProducer) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nAcked
}

// mark returns, for each partition, the highest value handed to the
// client so far, for waitProgress.
func (w *sequenceProducer) mark() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make([]int64, len(w.offsets))
	for p, offs := range w.offsets {
		m[p] = int64(len(offs))
	}
	return m
}

// waitProgress waits until every partition has had a record acknowledged
// that was handed to the client after the mark: each partition has a leader
// that takes acks=all writes. (Counting acknowledgements would not do: the
// answers to requests sent before a fault can arrive after it.)
func (w *sequenceProducer) waitProgress(mark []int64) {
	w.t.Helper()
	waitUntil(w.t, 60*time.Second, "every partition takes writes", func() error { return w.progressSince(mark) })
}

// progressSince is waitProgress's condition: nil once every partition has
// had a record acknowledged that was handed to the client after the mark.
func (w *sequenceProducer) progressSince(mark []int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var stuck []string
	for p, top := range w.top {
		if top <= mark[p] {
			stuck = append(stuck, fmt.Sprintf("%d (highest value acknowledged %d, mark %d)", p, top, mark[p]))
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("nothing written since the mark acknowledged on partitions %s", strings.Join(stuck, ", "))
	}
	return nil
}

// halt stops the producing loop and waits for it; it is idempotent.
func (w *sequenceProducer) halt() {
	w.stopLoop()
	<-w.done
}

// stopLoop tells the producing loop to stop; it is idempotent.
func (w *sequenceProducer) stopLoop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

// finish stops producing, flushes, reads every partition from its log start
// offset to its high watermark and checks that each acknowledged record is
// at its acknowledged offset, that no value appears twice and that values
// increase in every partition.
func (w *sequenceProducer) finish(faults int) {
	t := w.t
	t.Helper()
	w.stopLoop()
	select {
	case <-w.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the producing loop is still blocked on a full buffer after 60 s: the brokers take no records")
	}
	if err := w.cl.Flush(testContext(t, 60*time.Second)); err != nil {
		t.Fatalf("final flush: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.errs {
		t.Errorf("producer: %s", e)
	}
	w.checkLocked(readTopic(t, w.topic, w.connect...), faults)
}

// checkLocked compares the records read back with the ledger, reporting
// each kind of fault as a count with the first few examples.
func (w *sequenceProducer) checkLocked(recs map[int32][]*kgo.Record, faults int) {
	t := w.t
	t.Helper()
	var lost, duplicated, reordered, unacked, inLog int
	for p := range int32(len(w.offsets)) {
		at := map[int64]int64{} // offset → value
		seen := map[int64]bool{}
		var last int64
		for _, r := range recs[p] {
			v, err := strconv.ParseInt(string(r.Value), 10, 64)
			if err != nil {
				t.Fatalf("partition %d offset %d: unexpected value %q", p, r.Offset, r.Value)
			}
			inLog++
			at[r.Offset] = v
			if seen[v] {
				duplicated++
				if duplicated <= 10 {
					t.Errorf("partition %d: value %d again at offset %d", p, v, r.Offset)
				}
			}
			seen[v] = true
			if v <= last {
				reordered++
				if reordered <= 10 {
					t.Errorf("partition %d: value %d at offset %d follows %d", p, v, r.Offset, last)
				}
			}
			last = v
		}
		for i, off := range w.offsets[p] {
			v := int64(i + 1)
			switch got, ok := at[off]; {
			case off < 0:
				unacked++
			case !ok || got != v:
				lost++
				if lost <= 10 {
					t.Errorf("partition %d: value %d was acknowledged at offset %d; the log has %s", p, v, off, describeAt(got, ok))
				}
			}
		}
	}
	t.Logf("acknowledged %d, lost %d, duplicated %d, reordered %d, faults %d (records in the log %d, sent but never acknowledged %d, connections the client cut and retried %d)",
		w.nAcked, lost, duplicated, reordered, faults, inLog, unacked, w.log.cutConnections())
	if lost+duplicated+reordered > 0 {
		t.Errorf("%d acknowledged records lost, %d duplicated, %d reordered", lost, duplicated, reordered)
	}
	if inLog != w.nAcked {
		t.Errorf("the log holds %d records but %d were acknowledged", inLog, w.nAcked)
	}
}

func describeAt(v int64, ok bool) string {
	if !ok {
		return "no record there"
	}
	return fmt.Sprintf("value %d there", v)
}

// clientLog is a kgo.Logger for a failed test's report: it keeps the last
// 64 KiB or so of what kgo logs at info level and above, the last megabyte
// or so of everything but its lines for each produce request and answer
// (the debug lines show what the client did in an outage: each connection
// it opened and gave up on, each retry, each sink a partition moved to),
// each line with the time (to set beside the brokers' logs), and counts
// connections the client gave up on (a request that timed out or failed and
// is retried on a new connection).
type clientLog struct {
	mu    sync.Mutex
	warn  tailBuffer // info and above; guarded by mu
	debug tailBuffer // guarded by mu
	cuts  int        // guarded by mu
}

func (l *clientLog) Level() kgo.LogLevel { return kgo.LogLevelDebug }

func (l *clientLog) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(msg, "errored, killing connection") {
		l.cuts++
	}
	if level == kgo.LogLevelDebug && (msg == "produced" || strings.HasPrefix(msg, "wrote Produce ") || strings.HasPrefix(msg, "read Produce ")) {
		return
	}
	line := fmt.Sprintf("%s [%s] %s %v\n", time.Now().UTC().Format("15:04:05.000"), level, msg, keyvals)
	l.debug.add(line, 1<<20)
	if level <= kgo.LogLevelInfo {
		l.warn.add(line, 64<<10)
	}
}

func (l *clientLog) warnings() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warn.String()
}

func (l *clientLog) debugLines() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return []byte(l.debug.String())
}

// tailBuffer keeps about the last n bytes of the lines added to it: it
// grows to 2n and then drops whole lines from the front down to n.
type tailBuffer struct {
	buf     bytes.Buffer
	dropped bool // the start was dropped
}

func (b *tailBuffer) add(line string, n int) {
	b.buf.WriteString(line)
	if b.buf.Len() <= 2*n {
		return
	}
	keep := b.buf.Bytes()[b.buf.Len()-n:]
	keep = keep[bytes.IndexByte(keep, '\n')+1:]
	b.buf = *bytes.NewBuffer(bytes.Clone(keep))
	b.dropped = true
}

func (b *tailBuffer) String() string {
	if b.dropped {
		return "…\n" + b.buf.String()
	}
	return b.buf.String()
}

func (l *clientLog) cutConnections() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cuts
}
