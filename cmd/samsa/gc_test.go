package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const floor = 64 << 20
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 100},             // nothing measured yet
		{1 << 20, 6300},      // 1 MiB live: the goal is the floor
		{16 << 20, 300},      // 16 MiB: 64 MiB
		{32 << 20, 100},      // twice the live heap reaches the floor
		{1 << 30, 100},       // a large heap keeps Go's default
		{floor - 1, 100},     // just under the floor
		{floor/2 - 1, 100},   // the goal rounds to the floor
		{floor / 640, 63900}, // a tiny heap: a large GOGC, the goal still 64 MiB
	} {
		if got := gcPercentFor(tc.live, floor); got != tc.want {
			t.Errorf("gcPercentFor(%d) = %d, want %d", tc.live, got, tc.want)
		}
	}
}

// TestHeapTuner checks that a collection of this test binary's small heap
// raises GOGC and sets the floor as the memory limit, and that GOGC in the
// environment turns the tuner off.
func TestHeapTuner(t *testing.T) {
	t.Setenv("GOGC", "100")
	if keepHeapFloor(heapFloor) != nil {
		t.Fatal("tuning with GOGC set")
	}

	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	type tune struct {
		percent int
		limit   int64
	}
	tuned := make(chan tune, 100)
	tn := newHeapTuner(heapFloor)
	tn.onTune = func(p int, l int64) {
		select {
		case tuned <- tune{p, l}:
		default:
		}
	}
	tn.arm()
	defer tn.stopped.Store(true)
	runtime.GC()
	got := <-tuned // the sentinel's cleanup ran after that collection
	if got.percent <= 100 || got.limit != heapFloor {
		t.Fatalf("after a collection of a small heap: GOGC %d, limit %d; want > 100 and %d", got.percent, got.limit, heapFloor)
	}
	if p := debug.SetGCPercent(got.percent); p != got.percent {
		t.Fatalf("runtime GOGC %d, tuner says %d", p, got.percent)
	}
	if l := debug.SetMemoryLimit(-1); l != heapFloor {
		t.Fatalf("runtime memory limit %d, want %d", l, heapFloor)
	}
	runtime.GC()
	if again := <-tuned; again.percent <= 100 {
		t.Fatalf("the tuner did not re-arm: GOGC %d after the second collection", again.percent)
	}
}

// TestHeapTunerLargeHeap checks that a live heap above half the floor
// leaves Go's defaults, and that a GOMEMLIMIT below the floor is kept.
func TestHeapTunerLargeHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	live := make([]byte, 4<<20) // kept live through the collection below
	runtime.GC()
	tn := newHeapTuner(4 << 20)
	tn.adjust()
	runtime.KeepAlive(live)
	if tn.percent != 100 || tn.limit != math.MaxInt64 {
		t.Fatalf("large heap: GOGC %d, limit %d; want 100 and no limit", tn.percent, tn.limit)
	}

	debug.SetMemoryLimit(32 << 20)
	tn = newHeapTuner(heapFloor)
	tn.adjust()
	if tn.percent <= 100 || tn.limit != 32<<20 {
		t.Fatalf("GOMEMLIMIT 32 MiB: GOGC %d, limit %d; want > 100 and 32 MiB", tn.percent, tn.limit)
	}
}
