package group

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
)

// memLog is an in-memory __consumer_offsets partition: Append commits at
// once (or after the disk's simulated fsync), Read serves whole batches.
type memLog struct {
	mu       sync.Mutex
	batches  [][]byte // base offsets set
	start    int64
	end      int64
	appendOK int
	failWith error         // Append fails with it and appends nothing
	gate     chan struct{} // when set, Append waits for a value from it (or ctx)
	readGate chan struct{} // when set, Read waits for it to be closed
	disk     *fakeDisk     // when set, Append waits for a simulated fsync
}

func (l *memLog) Append(ctx context.Context, batch []byte) error {
	l.mu.Lock()
	gate, fail := l.gate, l.failWith
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	b := append([]byte(nil), batch...)
	l.mu.Lock()
	record.SetBaseOffset(b, l.end)
	h, _ := record.ParseHeader(b)
	l.end = h.NextOffset()
	l.batches = append(l.batches, b)
	l.appendOK++
	l.mu.Unlock()
	if l.disk != nil {
		return l.disk.sync(ctx)
	}
	return nil
}

func (l *memLog) Read(offset int64, maxBytes int32) ([]byte, error) {
	l.mu.Lock()
	gate := l.readGate
	l.mu.Unlock()
	if gate != nil {
		<-gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []byte
	for _, b := range l.batches {
		h, _ := record.ParseHeader(b)
		if h.NextOffset() <= offset {
			continue
		}
		if len(out) > 0 && len(out)+len(b) > int(maxBytes) {
			break
		}
		out = append(out, b...)
	}
	return out, nil
}

func (l *memLog) LogStartOffset() int64 { l.mu.Lock(); defer l.mu.Unlock(); return l.start }
func (l *memLog) LoadEnd() int64        { l.mu.Lock(); defer l.mu.Unlock(); return l.end }

// appendRaw appends a batch as it is (tests that plant bad bytes).
func (l *memLog) appendRaw(b []byte, numOffsets int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b = append([]byte(nil), b...)
	if len(b) >= 8 {
		record.SetBaseOffset(b, l.end)
	}
	l.end += numOffsets
	l.batches = append(l.batches, b)
}

// kv is one record of the log.
type kv struct {
	key, value []byte
}

// records decodes every record of the log with the record package alone.
func (l *memLog) records(t testing.TB) []kv {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []kv
	for _, b := range l.batches {
		h, err := record.ParseHeader(b)
		if err != nil || h.Codec() != record.CodecNone {
			t.Fatalf("batch %x: %v", b[:min(len(b), 16)], err)
		}
		it := record.NewIter(b[record.HeaderSize:], h.NumRecords)
		var r record.Record
		for it.Next(&r) {
			out = append(out, kv{r.Key, r.Value})
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
	}
	return out
}

// fakeDisk simulates group commit on one disk: appends wait for the next
// fsync, which takes latency and covers every append that arrived before it
// started.
type fakeDisk struct {
	latency time.Duration
	precise bool // yield-spin rather than sleep (see wait)
	fsyncs  atomic.Int64
	mu      sync.Mutex
	waiters []chan struct{}
	kick    chan struct{}
}

func newFakeDisk(latency time.Duration) *fakeDisk {
	return &fakeDisk{latency: latency, kick: make(chan struct{}, 1)}
}

func (d *fakeDisk) sync(ctx context.Context) error {
	ch := make(chan struct{})
	d.mu.Lock()
	d.waiters = append(d.waiters, ch)
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait lasts one fsync. Runtime timers fire a millisecond late on an idle
// machine, twice a 0.5 ms fsync; a precise disk yields the processor until
// its time is up instead, which only spends cycles nothing else wants.
func (d *fakeDisk) wait(ctx context.Context, t *time.Timer) {
	if !d.precise {
		t.Reset(d.latency)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return
	}
	for start := time.Now(); time.Since(start) < d.latency && ctx.Err() == nil; {
		runtime.Gosched()
	}
}

// run performs fsyncs until ctx is done.
func (d *fakeDisk) run(ctx context.Context) {
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		}
		d.mu.Lock()
		ws := d.waiters
		d.waiters = nil
		d.mu.Unlock()
		d.wait(ctx, t)
		d.fsyncs.Add(1)
		for _, w := range ws {
			close(w)
		}
	}
}

// testCoordinator returns a started coordinator with one __consumer_offsets
// partition (so every group lands in partition 0), loading from log. Inside
// a synctest bubble, synctest.Wait lets the load finish; elsewhere use
// eventually(isLoaded).
func testCoordinator(log *memLog, edit ...func(*Config)) *Coordinator {
	cfg := Config{
		NodeID: 1,
		Group: config.Group{
			OffsetsTopicPartitions:  1,
			MinSessionTimeoutMs:     1000,
			MaxSessionTimeoutMs:     300_000,
			InitialRebalanceDelayMs: 100, // lets members joining at the same (fake) instant share a generation
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, e := range edit {
		e(&cfg)
	}
	c := New(cfg)
	c.Start(context.Background())
	if log != nil {
		c.Load(0, log)
	}
	return c
}

// loaded reports whether every partition the coordinator leads is loaded.
func isLoaded(c *Coordinator) bool {
	return c.ListGroups(context.Background(), &kmsg.ListGroupsRequest{}).ErrorCode == 0
}

// eventually polls cond until it holds, failing the test after 10 s. It is
// the one place tests outside synctest wait for something to happen.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}
