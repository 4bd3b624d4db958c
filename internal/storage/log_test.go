package storage

import (
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/record"
)

func TestAppendAndReadAcrossRolls(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	var want []AppendResult
	for i := 0; i < 200; i++ {
		res := appendOK(t, l, spec{n: 1 + i%4, value: 100, ts: int64(1000 + i)})
		if len(want) > 0 && res.BaseOffset != want[len(want)-1].LastOffset+1 {
			t.Fatalf("batch %d at %d, want %d", i, res.BaseOffset, want[len(want)-1].LastOffset+1)
		}
		want = append(want, res)
	}
	if l.NumSegments() < 5 {
		t.Fatalf("%d segments: expected rolls at 8 KiB", l.NumSegments())
	}
	if l.LogEndOffset() != want[len(want)-1].LastOffset+1 {
		t.Fatalf("log end %d", l.LogEndOffset())
	}
	got := batches(t, l, 0)
	if len(got) != len(want) {
		t.Fatalf("read %d batches, appended %d", len(got), len(want))
	}
	for i, h := range got {
		if h.BaseOffset != want[i].BaseOffset || h.LastOffset() != want[i].LastOffset || h.PartitionLeaderEpoch != 0 {
			t.Fatalf("batch %d: %+v, want offsets %d-%d", i, h, want[i].BaseOffset, want[i].LastOffset)
		}
	}
	// Every offset, including those inside batches, finds its batch.
	for _, r := range want {
		for off := r.BaseOffset; off <= r.LastOffset; off++ {
			s, err := l.Read(off, math.MaxInt64, 1, true)
			if err != nil {
				t.Fatalf("Read(%d): %v", off, err)
			}
			if s.FirstOffset != r.BaseOffset || s.LastOffset != r.LastOffset {
				t.Fatalf("Read(%d) = %d-%d, want the batch %d-%d", off, s.FirstOffset, s.LastOffset, r.BaseOffset, r.LastOffset)
			}
			s.Release()
		}
	}
	var size int64
	for _, h := range got {
		size += h.Size()
	}
	if l.Size() != size {
		t.Fatalf("Size %d, batches %d", l.Size(), size)
	}
}

func TestReadBounds(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 1 << 20
	_, l, _ := newLog(t, cfg)
	var res []AppendResult
	for i := 0; i < 10; i++ { // 10 batches of 3 records: offsets 0-29
		res = append(res, appendOK(t, l, spec{n: 3, value: 50, ts: 10}))
	}
	size := int32(makeBatchSize(spec{n: 3, value: 50}))

	// Drop the ring so that both lookup paths are exercised.
	for _, ring := range []bool{true, false} {
		if !ring {
			l.tailMu.Lock()
			l.ring.reset()
			l.tailMu.Unlock()
		}
		cases := []struct {
			name              string
			offset, maxOffset int64
			maxBytes          int32
			minOne            bool
			first, last       int64 // last < first: empty
		}{
			{"reads everything up to the log end", 0, math.MaxInt64, 1 << 20, false, 0, 29},
			{"starts at the batch holding an inner offset", 4, math.MaxInt64, 1 << 20, false, 3, 29},
			{"stops before maxOffset", 0, 12, 1 << 20, false, 0, 11},
			{"excludes a batch holding maxOffset", 0, 13, 1 << 20, false, 0, 11},
			{"is empty at maxOffset", 12, 12, 1 << 20, false, 12, 11},
			{"cuts at whole batches within maxBytes", 0, math.MaxInt64, 2*size + size/2, false, 0, 5},
			{"returns nothing when the first batch exceeds maxBytes", 6, math.MaxInt64, size - 1, false, 6, 5},
			{"returns the first batch whole with minOneBatch", 6, math.MaxInt64, 1, true, 6, 8},
			{"is empty at the log end", 30, math.MaxInt64, 1 << 20, true, 30, 29},
		}
		for _, c := range cases {
			s, err := l.Read(c.offset, c.maxOffset, c.maxBytes, c.minOne)
			if err != nil {
				t.Fatalf("ring=%v %s: %v", ring, c.name, err)
			}
			if s.FirstOffset != c.first || s.LastOffset != c.last {
				t.Errorf("ring=%v %s: got %d-%d, want %d-%d", ring, c.name, s.FirstOffset, s.LastOffset, c.first, c.last)
			}
			wantSize := int32(0)
			if c.last >= c.first {
				wantSize = int32((c.last-c.first+1)/3) * size
			}
			if s.Size != wantSize {
				t.Errorf("ring=%v %s: size %d, want %d", ring, c.name, s.Size, wantSize)
			}
			if s.Size > 0 {
				buf := make([]byte, s.Size)
				if _, err := s.File.ReadAt(buf, s.Pos); err != nil {
					t.Fatal(err)
				}
				h, _ := record.ParseHeader(buf)
				if h.BaseOffset != c.first {
					t.Errorf("ring=%v %s: file bytes start with batch %d", ring, c.name, h.BaseOffset)
				}
			}
			s.Release()
		}
	}
	for _, off := range []int64{-1, 31} {
		if _, err := l.Read(off, math.MaxInt64, 100, true); !errors.Is(err, kerr.OffsetOutOfRange) {
			t.Errorf("Read(%d) = %v, want OFFSET_OUT_OF_RANGE", off, err)
		}
	}
	_ = res
}

func makeBatchSize(s spec) int { return len(makeBatch(s)) }

func TestReadNeverSpansSegments(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 1000
	_, l, _ := newLog(t, cfg)
	for i := 0; i < 20; i++ {
		appendOK(t, l, spec{n: 1, value: 300})
	}
	s, err := l.Read(0, math.MaxInt64, 1<<20, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if s.LastOffset >= 3 || s.FirstOffset != 0 {
		t.Fatalf("read %d-%d; a 1000-byte segment holds at most 3 batches", s.FirstOffset, s.LastOffset)
	}
}

func TestSliceOutlivesDeletedSegment(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 1000
	_, l, _ := newLog(t, cfg)
	for i := 0; i < 10; i++ {
		appendOK(t, l, spec{n: 1, value: 300})
	}
	s, err := l.Read(0, math.MaxInt64, 1<<20, false)
	if err != nil || s.Size == 0 {
		t.Fatalf("Read: %v, %d bytes", err, s.Size)
	}
	want := make([]byte, s.Size)
	if _, err := s.File.ReadAt(want, s.Pos); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteRecordsBefore(l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 {
		t.Fatalf("%d segments after deleting every record", l.NumSegments())
	}
	eventually(t, "the deleter to remove the files", func() bool { return len(segmentFiles(t, l.dir)) == 1 })
	got := make([]byte, s.Size)
	if _, err := s.File.ReadAt(got, s.Pos); err != nil {
		t.Fatalf("reading a held Slice of a deleted segment: %v", err)
	}
	if string(got) != string(want) {
		t.Fatal("held Slice changed content")
	}
	seg := s.seg
	s.Release()
	eventually(t, "the last reference to go", func() bool { return seg.refs.Load() == 0 })
}

func TestAppendResultFields(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	res := appendOK(t, l, spec{n: 5, ts: 777, appendTime: true})
	if res.BaseOffset != 0 || res.LastOffset != 4 || res.LogAppendTime != 777 || res.LogStartOffset != 0 || res.Duplicate {
		t.Fatalf("got %+v", res)
	}
	res = appendOK(t, l, spec{n: 1, ts: 1})
	if res.LogAppendTime != -1 {
		t.Fatalf("CreateTime batch reported log append time %d", res.LogAppendTime)
	}
}

func TestAppendRewritesOffsetAndEpoch(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	appendOK(t, l, spec{n: 2})
	b := makeBatch(spec{n: 1})
	if _, err := l.AppendAsLeader(b, 7, 0); err != nil {
		t.Fatal(err)
	}
	h, _ := record.ParseHeader(b)
	if h.BaseOffset != 2 || h.PartitionLeaderEpoch != 7 {
		t.Fatalf("batch rewritten to offset %d epoch %d", h.BaseOffset, h.PartitionLeaderEpoch)
	}
	if record.ComputeCRC(b) != h.CRC {
		t.Fatal("rewrite broke the CRC")
	}
}

func TestAppendRejectsMalformedBatches(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 500
	_, l, _ := newLog(t, cfg)
	good := makeBatch(spec{n: 1})
	badMagic := makeBatch(spec{n: 1})
	badMagic[16] = 1
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:30], kerr.CorruptMessage},
		{"length field disagrees", append(append([]byte{}, good...), 0), kerr.CorruptMessage},
		{"wrong magic", badMagic, kerr.CorruptMessage},
		{"too large", makeBatch(spec{n: 1, value: 600}), kerr.MessageTooLarge},
	}
	for _, c := range cases {
		if _, err := l.AppendAsLeader(c.b, 0, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if l.LogEndOffset() != 0 {
		t.Fatal("a rejected batch was written")
	}
}

func TestAppendAsFollower(t *testing.T) {
	_, leader, _ := newLog(t, testConfig())
	for i := 0; i < 30; i++ {
		if _, err := leader.AppendAsLeader(makeBatch(spec{n: 2, value: 200, ts: int64(i)}), int32(i/10), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	d2 := openDir(t, t.TempDir())
	f := openTestLog(t, d2, testConfig())
	for next := int64(0); next < leader.LogEndOffset(); {
		b, err := leader.ReadBytes(next, math.MaxInt64, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.AppendAsFollower(b); err != nil {
			t.Fatalf("AppendAsFollower at %d: %v", next, err)
		}
		next = f.LogEndOffset()
	}
	if got, want := batches(t, f, 0), batches(t, leader, 0); len(got) != len(want) {
		t.Fatalf("follower has %d batches, leader %d", len(got), len(want))
	}
	if e, off := f.EndOffsetForEpoch(1); e != 1 || off != 40 {
		t.Fatalf("follower epoch cache: epoch 1 ends at (%d, %d), want (1, 40)", e, off)
	}

	gap := makeBatch(spec{n: 1})
	record.SetBaseOffset(gap, f.LogEndOffset()+1)
	if err := f.AppendAsFollower(gap); !errors.Is(err, ErrUnexpectedOffset) {
		t.Fatalf("gap: %v", err)
	}
	corrupt := makeBatch(spec{n: 1, value: 10})
	record.SetBaseOffset(corrupt, f.LogEndOffset())
	corrupt[len(corrupt)-3] ^= 1
	if err := f.AppendAsFollower(corrupt); !errors.Is(err, kerr.CorruptMessage) {
		t.Fatalf("bad CRC: %v", err)
	}
	ok := makeBatch(spec{n: 1})
	record.SetBaseOffset(ok, f.LogEndOffset())
	if err := f.AppendAsFollower(append(ok, corrupt[:20]...)); !errors.Is(err, kerr.CorruptMessage) {
		t.Fatalf("trailing partial batch: %v", err)
	}
	if f.LogEndOffset() != leader.LogEndOffset() {
		t.Fatal("a rejected follower append wrote something")
	}
}

func TestRollRules(t *testing.T) {
	t.Run("a segment older than segment.ms by batch timestamps rolls", func(t *testing.T) {
		cfg := testConfig()
		cfg.SegmentMs = 1000
		_, l, _ := newLog(t, cfg)
		appendOK(t, l, spec{ts: 5000})
		appendOK(t, l, spec{ts: 6000})
		if l.NumSegments() != 1 {
			t.Fatalf("rolled after exactly segment.ms")
		}
		appendOK(t, l, spec{ts: 6001})
		if l.NumSegments() != 2 {
			t.Fatalf("%d segments, want a roll after segment.ms", l.NumSegments())
		}
	})
	t.Run("a full offset index rolls", func(t *testing.T) {
		cfg := testConfig()
		cfg.IndexIntervalBytes = 0 // an entry per batch
		cfg.SegmentIndexBytes = 12 * 4
		_, l, _ := newLog(t, cfg)
		for i := 0; i < 7; i++ {
			appendOK(t, l, spec{ts: int64(i)})
		}
		if l.NumSegments() != 2 {
			t.Fatalf("%d segments, want a roll once 4 time-index entries are used", l.NumSegments())
		}
	})
	t.Run("an empty segment takes an oversized batch", func(t *testing.T) {
		cfg := testConfig()
		cfg.SegmentBytes = 100
		_, l, _ := newLog(t, cfg)
		appendOK(t, l, spec{value: 300})
		appendOK(t, l, spec{value: 300})
		if l.NumSegments() != 2 {
			t.Fatalf("%d segments", l.NumSegments())
		}
	})
}

func TestScanHeaders(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	for i := 0; i < 100; i++ {
		appendOK(t, l, spec{n: 2, value: 200})
	}
	var offs []int64
	err := l.ScanHeaders(51, func(pos int64, h record.Header) bool {
		offs = append(offs, h.BaseOffset)
		return len(offs) < 30
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 30 || offs[0] != 50 {
		t.Fatalf("scan from 51 visited %d batches starting at %v", len(offs), offs[:1])
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] != offs[i-1]+2 {
			t.Fatalf("scan skipped: %v", offs)
		}
	}
}

func TestClosedLog(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	appendOK(t, l, spec{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsLeader(makeBatch(spec{}), 0, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := l.Read(0, math.MaxInt64, 100, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
