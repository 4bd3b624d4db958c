package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

func TestThrottlerHoldsTheRate(t *testing.T) {
	th := newThrottler(1000) // bytes per second
	now := time.Unix(1000, 0)
	th.now = func() time.Time { return now }
	th.throttle(0) // starts the interval
	// 600 bytes in the first 300 ms: twice the rate. They should have
	// taken 600 ms, so the caller waits the other 300 ms, and the next
	// interval starts after that wait.
	now = now.Add(throttleCheckInterval)
	if got := th.throttle(600); got != 300*time.Millisecond {
		t.Fatalf("wait %v, want 300ms", got)
	}
	// Another thread's bytes during that wait are not checked yet...
	if got := th.throttle(500); got != 0 {
		t.Fatalf("during the wait: %v", got)
	}
	// ...but count against the next interval: 500 + 100 bytes in 300 ms.
	now = now.Add(300*time.Millisecond + throttleCheckInterval)
	if got := th.throttle(100); got != 300*time.Millisecond {
		t.Fatalf("wait %v, want 300ms", got)
	}
	// Under the rate: no wait.
	now = now.Add(300*time.Millisecond + throttleCheckInterval)
	if got := th.throttle(100); got != 0 {
		t.Fatalf("under the rate: %v", got)
	}
	for _, rate := range []float64{0, -1, 1.7976931348623157e308} {
		th.setRate(rate)
		th.throttle(1 << 30)
		now = now.Add(time.Hour)
		if got := th.throttle(1 << 30); got != 0 {
			t.Errorf("rate %v: wait %v, want no bound", rate, got)
		}
	}
	var none *throttler
	if got := none.throttle(1 << 30); got != 0 {
		t.Fatal(got)
	}
}

// The cleaner's reads and writes go through its throttler: a pass over a
// log counts every byte it reads (to build the map, then to rewrite) and
// writes.
func TestCleanerIOIsThrottled(t *testing.T) {
	clock := newClock(1_000_000)
	d, l, _ := newLog(t, compactConfig())
	for round := 0; round < 5; round++ {
		for k := 0; k < 40; k++ {
			appendKeyed(t, l, record.CodecNone, 1, put(fmt.Sprintf("k%03d", k), "v"))
		}
	}
	settle(t, l)
	cfg := DefaultCleanerConfig()
	cfg.Now = clock.now
	cfg.IOMaxBytesPerSecond = 10
	c, err := NewCleaner(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	// A clock that stands still: no interval ends, the bytes add up.
	still := time.Unix(1000, 0)
	c.throttle.now = func() time.Time { return still }
	if ok, err := c.CleanOnce(context.Background()); !ok || err != nil {
		t.Fatalf("pass: %v, %v", ok, err)
	}
	st := c.Stats()
	if got, want := c.throttle.observed, float64(st.BytesRead+st.BytesWritten); got != want || want == 0 {
		t.Fatalf("%v bytes counted, want the %d read and %d written", got, st.BytesRead, st.BytesWritten)
	}
}

// A throttled thread waits in slices and gives up when its pass is
// aborted.
func TestPaceWaitsInSlices(t *testing.T) {
	_, l, _ := newLog(t, compactConfig())
	th := newThrottler(1000)
	now := time.Unix(1000, 0)
	th.now = func() time.Time { return now }
	w := newCleanWorker(&CleanerConfig{DedupeBufferSize: 1 << 20, DedupeLoadFactor: 0.9}, th)
	var slices []time.Duration
	w.sleep = func(_ context.Context, d time.Duration) error {
		slices = append(slices, d)
		return nil
	}
	ctx := context.Background()
	w.pace(ctx, l, 0)
	now = now.Add(throttleCheckInterval)
	if err := w.pace(ctx, l, 1250); err != nil { // 1.25 s worth: wait 950 ms
		t.Fatal(err)
	}
	if len(slices) != 10 || slices[9] != 50*time.Millisecond {
		t.Fatalf("slept %v, want nine slices of 100 ms and one of 50", slices)
	}
	slices = nil
	now = now.Add(time.Second + throttleCheckInterval)
	l.clean.abort.Store(true)
	if err := w.pace(ctx, l, 1250); err != errCleanAborted || len(slices) != 1 {
		t.Fatalf("aborted pass: %v after %v", err, slices)
	}
}
