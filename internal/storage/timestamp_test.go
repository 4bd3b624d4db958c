package storage

import (
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

func TestOffsetForTimestamp(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 2000
	d, l, path := newLog(t, cfg)
	// Batch i holds offsets 4i..4i+3 with timestamps 1000i + 0/100/200/300.
	for i := 0; i < 40; i++ {
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 4, value: 60, ts: int64(1000 * i), tsStep: 100}), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if l.NumSegments() < 4 {
		t.Fatalf("%d segments", l.NumSegments())
	}
	check := func(l *Log) {
		t.Helper()
		cases := []struct {
			ts     int64
			offset int64
			recTs  int64
			ok     bool
		}{
			{-5, 0, 0, true},
			{0, 0, 0, true},
			{1, 1, 100, true},
			{100, 1, 100, true},
			{301, 4, 1000, true},
			{17_250, 71, 17_300, true},
			{39_300, 159, 39_300, true},
			{39_301, 0, 0, false},
		}
		for _, c := range cases {
			got, ok, err := l.OffsetForTimestamp(c.ts)
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok || (ok && (got.Offset != c.offset || got.Timestamp != c.recTs || got.LeaderEpoch != 0)) {
				t.Errorf("OffsetForTimestamp(%d) = %+v %v, want offset %d ts %d %v", c.ts, got, ok, c.offset, c.recTs, c.ok)
			}
		}
	}
	check(l)
	d.Close()
	_, l = reopen(t, path, cfg)
	check(l)

	if _, err := l.DeleteRecordsBefore(70); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := l.OffsetForTimestamp(0); !ok || got.Offset != 70 || got.Timestamp != 17_200 {
		t.Errorf("below the log start: %+v %v, want offset 70", got, ok)
	}
}

func TestOffsetForTimestampBatchGranularity(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	appendOK(t, l, spec{n: 4, ts: 100, tsStep: 10})
	appendOK(t, l, spec{n: 4, ts: 200, tsStep: 10, codec: record.CodecLZ4})
	appendOK(t, l, spec{n: 4, ts: 300, appendTime: true})
	for _, c := range []struct{ ts, offset, recTs int64 }{
		{205, 4, 230}, // compressed: the batch's first offset, its max timestamp
		{250, 8, 300}, // LogAppendTime: every record has the batch time
	} {
		if got, ok, err := l.OffsetForTimestamp(c.ts); err != nil || !ok || got.Offset != c.offset || got.Timestamp != c.recTs {
			t.Errorf("OffsetForTimestamp(%d) = %+v %v %v, want (%d, %d)", c.ts, got, ok, err, c.offset, c.recTs)
		}
	}
}

func TestMaxTimestamp(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 600
	_, l, _ := newLog(t, cfg)
	if _, ok, _ := l.MaxTimestamp(); ok {
		t.Fatal("empty log has a max timestamp")
	}
	for i := 0; i < 10; i++ {
		appendOK(t, l, spec{n: 3, value: 50, ts: int64(100 * i), tsStep: 1})
	}
	// The peak: three records at 5000, the first at offset 31.
	appendOK(t, l, spec{n: 1, value: 50, ts: 10}) // offset 30
	peak := makeBatch(spec{n: 3, value: 50, ts: 5000, tsStep: 0})
	if _, err := l.AppendAsLeader(peak, 2, 0); err != nil { // offsets 31-33
		t.Fatal(err)
	}
	appendOK(t, l, spec{n: 2, value: 50, ts: 20}) // 34-35
	got, ok, err := l.MaxTimestamp()
	if err != nil || !ok || got.Timestamp != 5000 || got.Offset != 31 || got.LeaderEpoch != 2 {
		t.Fatalf("MaxTimestamp = %+v %v %v, want 5000 at 31", got, ok, err)
	}
	appendOK(t, l, spec{n: 3, ts: 9000, codec: record.CodecZstd}) // 36-38
	if got, _, _ := l.MaxTimestamp(); got.Timestamp != 9000 || got.Offset != 38 {
		t.Fatalf("compressed peak: %+v, want the batch's last offset 38", got)
	}
	appendOK(t, l, spec{n: 3, ts: 9500, appendTime: true}) // 39-41
	if got, _, _ := l.MaxTimestamp(); got.Timestamp != 9500 || got.Offset != 39 {
		t.Fatalf("LogAppendTime peak: %+v, want the batch's first offset 39", got)
	}
}
