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
// So samsa keeps the collector's goal at least heapFloor: after each
// collection it raises GOGC while twice the live heap is below the floor,
// and returns it to 100 once the live heap is large enough for the default
// to collect rarely by itself. Garbage between collections can then reach
// the floor, which is the memory this costs. A GOGC set in the environment
// is the operator's choice and turns this off; GOMEMLIMIT still bounds the
// heap either way.

// heapFloor is the smallest heap goal samsa lets the collector aim at.
const heapFloor = 64 << 20

// gcPercentFor is the GOGC that puts the next goal at floor for a live
// heap of live bytes, never below Go's default of 100.
func gcPercentFor(live, floor uint64) int {
	if live == 0 || 2*live >= floor {
		return 100
	}
	return int((floor - live) * 100 / live)
}

// heapTuner applies gcPercentFor after every collection.
type heapTuner struct {
	floor   uint64
	mu      sync.Mutex
	percent int              // guarded by mu: the GOGC last set
	sample  []metrics.Sample // guarded by mu
	onTune  func(int)        // tests: called after each adjustment
	stopped atomic.Bool      // tests: no more adjustments
}

// keepHeapFloor starts tuning GOGC to floor, unless GOGC is set.
func keepHeapFloor(floor uint64) *heapTuner {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	t := &heapTuner{floor: floor, percent: 100}
	t.sample = t.samples()
	t.arm()
	return t
}

// samples is what adjust reads.
func (*heapTuner) samples() []metrics.Sample {
	return []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
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

// adjust reads the live heap the last collection found and sets GOGC.
func (t *heapTuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	want := gcPercentFor(t.sample[0].Value.Uint64(), t.floor)
	// SetGCPercent stops the world briefly: only for a change over 10%.
	if diff := want - t.percent; diff*10 > t.percent || -diff*10 > t.percent {
		debug.SetGCPercent(want)
		t.percent = want
	}
	if t.onTune != nil {
		t.onTune(t.percent)
	}
}
