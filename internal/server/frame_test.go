package server

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestReadFrameSizes(t *testing.T) {
	for _, size := range []int32{minFrameSize, 1000, eagerAlloc, eagerAlloc + 1, 130 << 10, 4 * eagerAlloc, 1<<20 + 3} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i * 7)
		}
		// A reader that returns a few bytes at a time, as a socket does.
		got, err := readFrame(io.MultiReader(bytes.NewReader(want[:5]), bytes.NewReader(want[5:])), size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: frame differs", size)
		}
		if cap(got) != int(size) {
			t.Errorf("size %d: frame capacity %d, want exactly the size", size, cap(got))
		}
	}
}

func TestReadFrameCutShort(t *testing.T) {
	for _, sent := range []int{0, 10, eagerAlloc - 1, eagerAlloc, eagerAlloc + 1, 200 << 10} {
		_, err := readFrame(bytes.NewReader(make([]byte, sent)), 1<<20)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d of 1 MiB sent: err %v, want io.ErrUnexpectedEOF", sent, err)
		}
	}
	// A small frame, allocated at once, ends the same way.
	for _, sent := range []int{0, 10} {
		_, err := readFrame(bytes.NewReader(make([]byte, sent)), 1000)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d of 1000 bytes sent: err %v, want io.ErrUnexpectedEOF", sent, err)
		}
	}
}

// A frame's memory follows the bytes that actually arrive, not the size
// the client announced.
func TestReadFrameMemoryFollowsArrivedBytes(t *testing.T) {
	const announced = 100 << 20
	for _, sent := range []int{10, eagerAlloc + 1, 1 << 20} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		readFrame(bytes.NewReader(make([]byte, sent)), announced)
		runtime.ReadMemStats(&after)
		input := uint64(sent) // the test's own bytes.Reader input
		// The last allocation is at most frameGrowth times what arrived,
		// and the ones before it a geometric series below it; the pooled
		// first buffer may have to be made too.
		limit := uint64(frameGrowth*sent*frameGrowth/(frameGrowth-1) + eagerAlloc + 4096)
		if got := after.TotalAlloc - before.TotalAlloc - input; got > limit {
			t.Errorf("%d bytes of an announced 100 MiB frame allocated %d bytes, want at most %d", sent, got, limit)
		}
	}
}

// BenchmarkReadFrame reads a produce request of 8 partitions' 16 KiB
// batches, the frame a Kafka producer with default settings sends.
func BenchmarkReadFrame(b *testing.B) {
	const size = 8*(16<<10) + 400
	frame := make([]byte, size)
	r := bytes.NewReader(frame)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(frame)
		if _, err := readFrame(r, size); err != nil {
			b.Fatal(err)
		}
	}
}
