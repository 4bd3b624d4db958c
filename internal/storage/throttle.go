package storage

import (
	"context"
	"sync"
	"time"
)

// throttler holds the log cleaner's reads and writes, all threads
// together, to a byte rate (log.cleaner.io.max.bytes.per.second), as
// Kafka's Throttler does: it counts the bytes, and every checkInterval
// compares the rate since the last check with the bound; when it is over,
// the thread that checked waits as long as brings the rate down to it,
// and the next interval starts after that wait, so the other threads'
// bytes count against it.
type throttler struct {
	now func() time.Time

	mu       sync.Mutex
	rate     float64   // bytes per second; 0: no bound
	start    time.Time // of the current interval
	observed float64   // bytes since start
}

// throttleCheckInterval is how often the rate is compared with the bound
// (Kafka's 300 ms).
const throttleCheckInterval = 300 * time.Millisecond

// newThrottler returns a throttler of rate bytes per second (see
// setRate).
func newThrottler(rate float64) *throttler {
	t := &throttler{now: time.Now}
	t.setRate(rate)
	return t
}

// setRate changes the bound: rate ≤ 0, or Kafka's default (Double.MaxValue)
// and anything too large to ever be reached, is none.
func (t *throttler) setRate(rate float64) {
	if !(rate > 0 && rate < 1e18) {
		rate = 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rate, t.start, t.observed = rate, time.Time{}, 0
}

// throttle counts n bytes read or written and returns how long the caller
// must wait before going on.
func (t *throttler) throttle(n int) time.Duration {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate == 0 {
		return 0
	}
	now := t.now()
	if t.start.IsZero() {
		t.start = now
	}
	t.observed += float64(n)
	elapsed := now.Sub(t.start)
	if elapsed < throttleCheckInterval {
		return 0
	}
	// How long the observed bytes should have taken at the bound.
	wait := max(time.Duration(t.observed/t.rate*float64(time.Second))-elapsed, 0)
	t.start, t.observed = now.Add(wait), 0
	return wait
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
