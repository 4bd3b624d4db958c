package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
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
	perTick         = 2 * faultPartitions // records produced each millisecond
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
				before := w.acked()
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
			w.waitProgress(w.acked())
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
		w.waitProgress(w.acked())
		b.Pause()
		// Long enough for the producer's requests to time out.
		<-time.After(3 * time.Second)
		t.Logf("pause %d: %d records acknowledged so far", k, w.acked())
		b.Resume()
	}
	w.waitProgress(w.acked())
	w.finish(2)
	if w.log.cutConnections() == 0 {
		t.Error("no produce request timed out during the pauses: nothing was retried, so nothing was tested")
	}
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
// no delivery timeout) and records what the broker acknowledged.
type sequenceProducer struct {
	t    *testing.T
	b    *Broker
	cl   *kgo.Client
	stop chan struct{}
	wg   sync.WaitGroup

	log clientLog

	mu sync.Mutex
	// offsets[p][v-1] is the offset value v was acknowledged at on
	// partition p, or -1 while unacknowledged. Guarded by mu.
	offsets [faultPartitions][]int64
	nAcked  int      // guarded by mu
	errs    []string // guarded by mu; produce failures and sequence-error reports
}

// startSequenceProducer creates the topic and starts producing, paced at a
// few records per partition and millisecond so that requests are small and
// many are in flight when a fault comes.
func startSequenceProducer(t *testing.T, b *Broker, opts ...kgo.Opt) *sequenceProducer {
	createTopic(t, b.Admin(t), faultTopic, faultPartitions)
	w := &sequenceProducer{t: t, b: b, stop: make(chan struct{})}
	// Only the partitioner is ours, so that every value goes where the
	// ledger expects it.
	w.cl = b.Client(t, append([]kgo.Opt{
		kgo.DefaultProduceTopic(faultTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.WithLogger(&w.log),
		// kgo answers OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID by
		// taking a new producer id and carrying on; after a crash that lost
		// nothing the broker must never say either.
		kgo.ProducerOnDataLossDetected(w.dataLoss),
	}, opts...)...)
	t.Cleanup(func() {
		w.halt() // before the client closes: an early failure leaves the loop blocked
		if t.Failed() {
			t.Logf("franz-go producer log (info and above):\n%s", w.log.warnings())
		}
	})
	w.wg.Add(1)
	go w.run()
	return w
}

func (w *sequenceProducer) run() {
	defer w.wg.Done()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var next [faultPartitions]int64
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		for i := 0; i < perTick; i++ {
			p := int32(i % faultPartitions)
			next[p]++
			w.sent(p, next[p])
			// Blocks while the producer's buffer is full, as during an outage.
			w.cl.Produce(context.Background(), &kgo.Record{Partition: p, Value: []byte(strconv.FormatInt(next[p], 10))}, w.promise)
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

// waitProgress waits until more than n records are acknowledged.
func (w *sequenceProducer) waitProgress(n int) {
	w.t.Helper()
	waitUntil(w.t, 60*time.Second, "the producer gets acknowledgements", func() error {
		if a := w.acked(); a <= n {
			return fmt.Errorf("still %d acknowledged", a)
		}
		return nil
	})
}

// halt stops the producing loop; it is idempotent.
func (w *sequenceProducer) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// finish stops producing, flushes, reads every partition from offset 0 and
// checks that each acknowledged record is at its acknowledged offset, that
// no value appears twice and that values increase in every partition.
func (w *sequenceProducer) finish(faults int) {
	t := w.t
	t.Helper()
	w.halt()
	if err := w.cl.Flush(testContext(t, 60*time.Second)); err != nil {
		t.Fatalf("final flush: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.errs {
		t.Errorf("producer: %s", e)
	}

	recs := readAll(t, w.b, faultTopic)
	var lost, duplicated, reordered, unacked, inLog int
	for p := int32(0); p < faultPartitions; p++ {
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

// clientLog is the producer's kgo.Logger: it keeps the first 64 KiB of
// what kgo logs at info level and above for a failed test's report, and counts connections the client gave up on (a
// request that timed out or failed and is retried on a new connection).
type clientLog struct {
	mu   sync.Mutex
	warn bytes.Buffer // info and above; guarded by mu
	cuts int          // guarded by mu
}

func (l *clientLog) Level() kgo.LogLevel { return kgo.LogLevelDebug }

func (l *clientLog) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(msg, "errored, killing connection") {
		l.cuts++
	}
	if level <= kgo.LogLevelInfo && l.warn.Len() < 64<<10 {
		fmt.Fprintf(&l.warn, "[%s] %s %v\n", level, msg, keyvals)
	}
}

func (l *clientLog) warnings() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warn.String()
}

func (l *clientLog) cutConnections() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cuts
}
