package storage

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// Readers run against a log that is appended to, rolled and trimmed by
// retention at the same time; every Slice they get must hold whole,
// CRC-valid batches starting at the batch they asked for. Run with -race.
func TestConcurrentReadersAndWriters(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 2000
	cfg.RetentionBytes = 6000
	_, l, _ := newLog(t, cfg)
	appendOK(t, l, spec{n: 2, value: 100})

	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed))
			buf := make([]byte, 64<<10)
			for !stop.Load() {
				start, end := l.LogStartOffset(), l.LogEndOffset()
				off := start + rng.Int64N(end-start+1)
				s, err := l.Read(off, math.MaxInt64, int32(100+rng.IntN(4000)), rng.IntN(2) == 0)
				if errors.Is(err, ErrOffsetOutOfRange) {
					continue // retention moved the log start meanwhile
				}
				if err != nil {
					errs <- err
					return
				}
				if s.Size > 0 {
					b := buf[:s.Size]
					if _, err := s.File.ReadAt(b, s.Pos); err != nil {
						errs <- err
						s.Release()
						return
					}
					h, _ := record.ParseHeader(b)
					if h.BaseOffset != s.FirstOffset || h.BaseOffset > off || h.LastOffset() < off {
						errs <- errors.New("slice does not start with the batch holding the offset")
					}
					for len(b) > 0 {
						h, _ := record.ParseHeader(b)
						if h.Size() > int64(len(b)) || record.ComputeCRC(b[:h.Size()]) != h.CRC {
							errs <- errors.New("slice holds a partial or corrupt batch")
							break
						}
						b = b[h.Size():]
					}
				}
				s.Release()
				reads.Add(1)
			}
		}(uint64(r))
	}
	for i := 0; i < 600; i++ {
		appendOK(t, l, spec{n: 1 + i%3, value: 100})
		if i%50 == 0 {
			if _, err := l.ApplyRetention(0, l.LogEndOffset()); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "readers to make progress", func() bool { return reads.Load() > 100 })
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if l.LogStartOffset() == 0 {
		t.Fatal("retention never ran")
	}
}

func TestPreallocatedSegments(t *testing.T) {
	cfg := testConfig()
	cfg.Preallocate = true
	d, l, path := newLog(t, cfg)
	for i := 0; i < 50; i++ {
		appendOK(t, l, spec{n: 1, value: 300})
	}
	want := batches(t, l, 0)
	d.crash()
	_, l = reopen(t, path, cfg)
	samePrefix(t, batches(t, l, 0), want, len(want))
}
