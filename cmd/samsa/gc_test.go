package main

import (
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
		{floor / 4, 300},     //
		{floor / 64, 6300},   //
		{floor / 640, 63900}, // a tiny heap: a large GOGC, the goal still 64 MiB
	} {
		if got := gcPercentFor(tc.live, floor); got != tc.want {
			t.Errorf("gcPercentFor(%d) = %d, want %d", tc.live, got, tc.want)
		}
	}
}

// TestHeapTuner checks that a collection raises GOGC for this test
// binary's small heap, and that GOGC in the environment turns it off.
func TestHeapTuner(t *testing.T) {
	t.Setenv("GOGC", "100")
	if keepHeapFloor(heapFloor) != nil {
		t.Fatal("tuning with GOGC set")
	}

	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tuned := make(chan int, 100)
	tn := &heapTuner{floor: heapFloor, percent: 100}
	tn.sample = (&heapTuner{}).samples()
	tn.onTune = func(p int) {
		select {
		case tuned <- p:
		default:
		}
	}
	tn.arm()
	defer tn.stopped.Store(true)
	runtime.GC()
	p := <-tuned // the sentinel's cleanup ran after that collection
	if p <= 100 {
		t.Fatalf("GOGC after a collection of a small heap: %d, want > 100", p)
	}
	if got := debug.SetGCPercent(p); got != p {
		t.Fatalf("runtime GOGC %d, tuner says %d", got, p)
	}
	runtime.GC()
	if p2 := <-tuned; p2 <= 100 {
		t.Fatalf("the tuner did not re-arm: GOGC %d after the second collection", p2)
	}
}
