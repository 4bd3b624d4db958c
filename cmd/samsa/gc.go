package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// The heap floor. Go starts a collection when the heap reaches twice what
// the previous one found live (GOGC=100), and at least 4 MB. A broker keeps
// records off its heap, in the page cache, so its live heap is a few MB,
// while every request frame and response passes through it: at 50,000
// 1 KiB records/s the broker and a `samsa perf e2e` client each collected
// about 40 times a second. Each cycle stops the world (up to about a
// millisecond on this project's 2-core machine) and takes a processor for
// its marking, and those cycles made most of the end-to-end latency tail.
//
// So samsa puts the collector's goal at heapFloor while the live heap is
// small. After each collection, while twice the live heap is below the
// floor, it raises GOGC so that the goal would be the floor, and sets the
// runtime's memory limit to the floor: the limit is what holds the goal
// there when the live heap grows between two collections (GOGC alone
// multiplies that growth: a live heap going from 1 to 2 MB under the GOGC
// computed for 1 MB made goals of 103 and 133 MB). Once the live heap is
// large enough for the default to collect rarely by itself, GOGC returns
// to 100 and the limit to what it was. Garbage between collections can reach the
// floor, which is the memory this costs.
//
// A GOGC set in the environment is the operator's choice and turns this
// off. A GOMEMLIMIT below the floor is kept as the limit.

// heapFloor is the heap goal samsa gives the collector while the live heap
// is small.
const heapFloor = 64 << 20

// gcPercentFor is the GOGC that puts the next goal at floor for a live
// heap of live bytes, never below Go's default of 100.
func gcPercentFor(live, floor uint64) int {
	if live == 0 || 2*live >= floor {
		return 100
	}
	return int((floor - live) * 100 / live)
}

// heapTuner applies gcPercentFor and the floor's memory limit after every
// collection.
type heapTuner struct {
	floor     uint64
	userLimit int64 // the memory limit the process started with (GOMEMLIMIT)

	mu      sync.Mutex
	percent int              // guarded by mu: the GOGC last set
	limit   int64            // guarded by mu: the memory limit last set
	sample  []metrics.Sample // guarded by mu
	onTune  func(int, int64) // tests: called after each adjustment
	stopped atomic.Bool      // tests: no more adjustments
}

// keepHeapFloor starts tuning the collector to floor, unless GOGC is set.
func keepHeapFloor(floor uint64) *heapTuner {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	t := newHeapTuner(floor)
	t.arm()
	return t
}

func newHeapTuner(floor uint64) *heapTuner {
	limit := debug.SetMemoryLimit(-1) // reads it
	return &heapTuner{floor: floor, userLimit: limit, percent: 100, limit: limit,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

// gcSentinel is dropped as soon as it is made, so that its cleanup runs
// after the next collection. It holds a pointer so that it is not a tiny
// allocation, whose cleanups may never run.
type gcSentinel struct{ _ *heapTuner }

// arm schedules adjust after the next collection.
func (t *heapTuner) arm() {
	runtime.AddCleanup(&gcSentinel{}, func(t *heapTuner) {
		if !t.stopped.Load() {
			t.adjust()
			t.arm()
		}
	}, t)
}

// adjust reads the live heap the last collection found and sets GOGC and
// the memory limit.
func (t *heapTuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	percent, limit := gcPercentFor(t.sample[0].Value.Uint64(), t.floor), t.userLimit
	if percent > 100 {
		limit = min(limit, int64(t.floor))
	}
	// Both calls stop the world briefly: only on a change, and for GOGC
	// only on one over 10%.
	if diff := percent - t.percent; diff*10 > t.percent || -diff*10 > t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
	if limit != t.limit {
		debug.SetMemoryLimit(limit)
		t.limit = limit
	}
	if t.onTune != nil {
		t.onTune(t.percent, t.limit)
	}
}
