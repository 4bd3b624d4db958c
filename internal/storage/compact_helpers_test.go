package storage

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// kv is a keyed test record; a nil value is a tombstone.
type kv struct {
	key   string
	value []byte
}

func put(key, value string) kv { return kv{key: key, value: []byte(value)} }
func tomb(key string) kv       { return kv{key: key} }

// keyedBatch builds a batch of recs with codec, record timestamps ts, ts+1…
// and, when pid > 0, that producer id, epoch 0 and base sequence seq.
func keyedBatch(t testing.TB, codec record.Codec, ts int64, pid int64, seq int32, recs ...kv) []byte {
	t.Helper()
	b := record.NewBuilder(codec)
	if pid > 0 {
		b.SetProducer(pid, 0, seq)
	}
	for i, r := range recs {
		b.Add(ts+int64(i), []byte(r.key), r.value, nil)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// appendKeyed appends recs as one batch (leader epoch 0) at time ts.
func appendKeyed(t testing.TB, l *Log, codec record.Codec, ts int64, recs ...kv) AppendResult {
	t.Helper()
	res, err := l.AppendAsLeader(keyedBatch(t, codec, ts, 0, 0, recs...), 0, ts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// compactConfig is a small-segment, fsync-mode configuration of a
// compacted log that compacts whatever is dirty.
func compactConfig() LogConfig {
	cfg := testConfig()
	cfg.FlushMessages = 1
	cfg.CleanupPolicy = CleanupCompact
	cfg.MinCleanableDirtyRatio = 0
	cfg.DeleteRetentionMs = 1000
	return cfg
}

// testClock is an injected clock, ms.
type testClock struct{ ms atomic.Int64 }

func (c *testClock) now() int64    { return c.ms.Load() }
func (c *testClock) set(ms int64)  { c.ms.Store(ms) }
func (c *testClock) add(ms int64)  { c.ms.Add(ms) }
func newClock(ms int64) *testClock { c := new(testClock); c.set(ms); return c }

// newTestCleaner returns a Cleaner of d on clock, not started.
func newTestCleaner(t testing.TB, clock *testClock, d ...*Dir) *Cleaner {
	t.Helper()
	cfg := DefaultCleanerConfig()
	cfg.DedupeBufferSize = 1 << 20
	cfg.IOBufferSize = 64 << 10
	cfg.Now = clock.now
	c, err := NewCleaner(cfg, d...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// settle makes everything appended durable (so below the recovery point)
// and lets the cleaner compact up to the log end.
func settle(t testing.TB, l *Log) {
	t.Helper()
	if err := l.WaitDurable(context.Background(), l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	l.SetCompactionLimit(l.LogEndOffset())
}

// cleanAll runs passes until none is needed, returning how many ran.
func cleanAll(t testing.TB, c *Cleaner) int {
	t.Helper()
	n := 0
	for ; n < 100; n++ {
		ok, err := c.CleanOnce(context.Background())
		if err != nil {
			t.Fatalf("CleanOnce: %v", err)
		}
		if !ok {
			return n
		}
	}
	t.Fatal("the cleaner never ran out of work")
	return n
}

// rec is one record as read back.
type rec struct {
	offset int64
	key    string
	value  []byte // nil: tombstone
	ts     int64  // ms; 0 when not known (records as written)
	codec  record.Codec
}

func (r rec) String() string { return fmt.Sprintf("%d:%s=%q", r.offset, r.key, r.value) }

// readAll reads the log from its start through ReadBytes, checking that
// every batch is whole, passes its CRC, and starts at or after the
// previous batch's next offset, and that record offsets increase. It
// returns the records and the batch headers.
func readAll(t testing.TB, l *Log) ([]rec, []record.Header) {
	t.Helper()
	var recs []rec
	var hs []record.Header
	next := l.LogStartOffset()
	for next < l.LogEndOffset() {
		b, err := l.ReadBytes(next, math.MaxInt64, 1<<20)
		if err != nil {
			t.Fatalf("ReadBytes(%d): %v", next, err)
		}
		if len(b) == 0 {
			t.Fatalf("ReadBytes(%d) empty below the log end %d", next, l.LogEndOffset())
		}
		for len(b) > 0 {
			h, err := record.ParseHeader(b)
			if err != nil || h.Size() > int64(len(b)) {
				t.Fatalf("partial batch after offset %d", next)
			}
			batch := b[:h.Size()]
			b = b[h.Size():]
			if record.ComputeCRC(batch) != h.CRC {
				t.Fatalf("batch at %d fails its CRC", h.BaseOffset)
			}
			if len(hs) > 0 && h.BaseOffset < hs[len(hs)-1].NextOffset() {
				t.Fatalf("batch at %d overlaps the previous one (next %d)", h.BaseOffset, hs[len(hs)-1].NextOffset())
			}
			hs = append(hs, h)
			next = h.NextOffset()
			section := batch[record.HeaderSize:]
			if h.Codec() != record.CodecNone {
				if section, err = record.Decompress(nil, h.Codec(), section, 0); err != nil {
					t.Fatalf("batch at %d: %v", h.BaseOffset, err)
				}
			}
			it := record.NewIter(section, h.NumRecords)
			var r record.Record
			for it.Next(&r) {
				off := h.BaseOffset + int64(r.OffsetDelta)
				if off > h.LastOffset() || (len(recs) > 0 && off <= recs[len(recs)-1].offset) {
					t.Fatalf("record offset %d out of order in batch %d-%d", off, h.BaseOffset, h.LastOffset())
				}
				if h.Control() {
					continue
				}
				var v []byte
				if r.Value != nil {
					v = append([]byte{}, r.Value...)
				}
				ts := h.BaseTimestamp + r.TimestampDelta
				if h.LogAppendTime() {
					ts = h.MaxTimestamp
				}
				recs = append(recs, rec{offset: off, key: string(r.Key), value: v, ts: ts, codec: h.Codec()})
			}
			if err := it.Err(); err != nil {
				t.Fatalf("batch at %d: %v", h.BaseOffset, err)
			}
		}
	}
	return recs, hs
}

// latest maps each key to its last record.
func latest(recs []rec) map[string]rec {
	m := map[string]rec{}
	for _, r := range recs {
		m[r.key] = r
	}
	return m
}

// checkSubset asserts that every record of got was written (want) at the
// same offset with the same key, value and timestamp (when want has one).
func checkSubset(t testing.TB, got, want []rec) {
	t.Helper()
	byOffset := make(map[int64]rec, len(want))
	for _, r := range want {
		byOffset[r.offset] = r
	}
	for _, r := range got {
		w, ok := byOffset[r.offset]
		if !ok || w.key != r.key || string(w.value) != string(r.value) || (w.value == nil) != (r.value == nil) || (w.ts != 0 && w.ts != r.ts) {
			t.Fatalf("record %v was never written at that offset (wrote %v)", r, w)
		}
	}
}

// checkLatest asserts that every key's latest record in want is in got at
// its offset.
func checkLatest(t testing.TB, got, want []rec) {
	t.Helper()
	g := latest(got)
	for k, w := range latest(want) {
		r, ok := g[k]
		if !ok || r.offset != w.offset || string(r.value) != string(w.value) {
			t.Fatalf("key %s: latest record %v, want %v", k, r, w)
		}
	}
}

// activeBase is the base offset of the active segment.
func activeBase(l *Log) int64 {
	segs := *l.segList.Load()
	return segs[len(segs)-1].base
}
