package storage

import (
	"math"
	"testing"
)

// epochLog appends 3-record idempotent batches (pid testPID, epoch 0,
// sequences 0, 3, 6, ...) at leader epoch i/10.
func epochLog(t *testing.T, cfg LogConfig, count int) (*Dir, *Log, string) {
	t.Helper()
	d, l, path := newLog(t, cfg)
	for i := 0; i < count; i++ {
		b := makeBatch(spec{n: 3, value: 100, ts: int64(i), pid: testPID, epoch: 0, seq: int32(3 * i)})
		if _, err := l.AppendAsLeader(b, int32(i/10), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return d, l, path
}

func TestTruncate(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 1500
	for _, c := range []struct {
		name   string
		offset int64
		end    int64
	}{
		{"to a batch boundary in the active segment", 87, 87},
		{"to a batch boundary in an older segment", 48, 48},
		{"into the middle of a batch", 49, 48},
		{"to a segment's base offset", -1, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, l, path := epochLog(t, cfg, 30) // offsets 0-89
			want := batches(t, l, 0)
			if segs := *l.segList.Load(); c.offset >= 0 && c.offset < segs[len(segs)-1].base && c.offset%9 == 0 {
				t.Fatalf("offset %d is a segment base; pick another", c.offset)
			}
			if c.offset < 0 {
				c.offset = (*l.segList.Load())[2].base
				c.end = c.offset
			}
			if err := l.Truncate(c.offset); err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != c.end {
				t.Fatalf("log end %d, want %d", l.LogEndOffset(), c.end)
			}
			n := int(c.end / 3)
			samePrefix(t, batches(t, l, 0), want, n)
			if s, err := l.Read(c.end, math.MaxInt64, 100, true); err != nil || s.Size != 0 {
				t.Fatalf("read at the new end: %d bytes, %v", s.Size, err)
			}
			// Epochs past the end are gone.
			if l.LatestEpoch() != int32((n-1)/10) {
				t.Fatalf("latest epoch %d after truncating to %d", l.LatestEpoch(), c.end)
			}
			// The producer state is the state at the new end: the removed
			// batch can be written again, as the next in sequence.
			res := appendOK(t, l, spec{n: 3, value: 100, pid: testPID, epoch: 0, seq: int32(3 * n)})
			if res.Duplicate || res.BaseOffset != c.end {
				t.Fatalf("re-append after truncation: %+v", res)
			}
			for i := 0; i < 20; i++ { // and the log keeps rolling
				appendOK(t, l, spec{n: 3, value: 100, pid: testPID, epoch: 0, seq: int32(3 * (n + 1 + i))})
			}
			after := batches(t, l, 0)
			d.crash()
			_, l = reopen(t, path, cfg)
			samePrefix(t, batches(t, l, 0), after, len(after))
		})
	}
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	cfg := testConfig()
	d, l, path := epochLog(t, cfg, 30)
	if err := l.TruncateFullyAndStartAt(1000); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 1000 || l.LogEndOffset() != 1000 || l.NumSegments() != 1 || l.Size() != 0 {
		t.Fatalf("log %d-%d, %d segments", l.LogStartOffset(), l.LogEndOffset(), l.NumSegments())
	}
	if l.LatestEpoch() != UndefinedEpoch {
		t.Fatal("epoch cache survived")
	}
	appendOK(t, l, spec{n: 1, pid: testPID, epoch: 0, seq: 777}) // producer forgotten
	d.crash()
	_, l = reopen(t, path, cfg)
	if l.LogStartOffset() != 1000 || l.LogEndOffset() != 1001 {
		t.Fatalf("after a crash: log %d-%d", l.LogStartOffset(), l.LogEndOffset())
	}
	if err := l.Truncate(5); err != nil { // below the log start: start over there
		t.Fatal(err)
	}
	if l.LogStartOffset() != 5 || l.LogEndOffset() != 5 {
		t.Fatalf("truncate below the log start: log %d-%d", l.LogStartOffset(), l.LogEndOffset())
	}
}
