package record

import (
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestValidateCorrectsMaxTimestampInPlace(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			b := withHeader(t, codec, func(kb *kmsg.RecordBatch) { kb.MaxTimestamp = testNow - 50 })
			opts := testOpts()
			opts.CheckCompressedRecords = true
			info, err := Validate(b, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !info.Modified || info.MaxTimestamp != testNow+2 || info.MaxTimestampDelta != 2 {
				t.Fatalf("info = %+v, want the max timestamp corrected to %d", info, testNow+2)
			}
			h, _ := ParseHeader(b)
			if h != info.Header || h.MaxTimestamp != testNow+2 || ComputeCRC(b) != h.CRC {
				t.Fatalf("header after Validate = %+v, info says %+v", h, info.Header)
			}
			again, err := Validate(b, opts)
			if err != nil || again.Modified || again.Header != info.Header {
				t.Fatalf("second Validate = %+v, %v", again, err)
			}
		})
	}
}

func TestValidateStampsLogAppendTime(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecSnappy} {
		t.Run(codec.String(), func(t *testing.T) {
			// Timestamps a day old would fail CreateTime bounds; LogAppendTime
			// topics ignore them.
			b := withRecords(t, codec, func(r []kmsg.Record) { r[1].TimestampDelta64 = -86400_000 })
			before, _ := ParseHeader(b)
			opts := testOpts()
			opts.LogAppendTime = true
			opts.Now = testNow + 1000
			info, err := Validate(b, opts)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := ParseHeader(b)
			switch {
			case !info.Modified || !h.LogAppendTime():
				t.Errorf("LogAppendTime not applied: %+v", h)
			case h.MaxTimestamp != opts.Now || info.MaxTimestamp != opts.Now || info.MaxTimestampDelta != 2:
				t.Errorf("max timestamp %d (info %d at %d), want %d at 2", h.MaxTimestamp, info.MaxTimestamp, info.MaxTimestampDelta, opts.Now)
			case h.BaseTimestamp != before.BaseTimestamp:
				t.Errorf("base timestamp changed from %d to %d", before.BaseTimestamp, h.BaseTimestamp)
			case ComputeCRC(b) != h.CRC:
				t.Errorf("CRC not recomputed")
			}
			kb, _ := decodeFranz(t, b)
			if kb.Attributes&TimestampTypeBit == 0 || kb.MaxTimestamp != opts.Now {
				t.Errorf("kmsg sees %+v", kb)
			}
		})
	}
}

// The documented trade-off: a compressed batch is not decompressed unless a
// check needs its records, so garbage under a valid CRC passes.
func TestValidateTrustsCompressedHeaders(t *testing.T) {
	b := rawBatch(t, CodecGzip, 3, []byte("not gzip at all"))
	info, err := Validate(b, testOpts())
	if err != nil {
		t.Fatalf("Validate decompressed a batch no check needed: %v", err)
	}
	if info.RecordsChecked || info.RecordsBytes != 0 || info.MaxTimestampDelta != 2 || info.MaxTimestamp != testNow {
		t.Errorf("info = %+v", info)
	}
	opts := testOpts()
	opts.CheckCompressedRecords = true
	_, err = Validate(b, opts)
	wantCode(t, err, kerr.CorruptMessage)
}

func TestValidateSkipsRecordsWithoutTimestamp(t *testing.T) {
	recs := franzRecords(2, 5)
	b := franzBatch(t, CodecNone, recs, func(kb *kmsg.RecordBatch) {
		kb.FirstTimestamp, kb.MaxTimestamp = -1, -1
	})
	info, err := Validate(b, ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Record 0 has timestamp -1, record 1 has 0: Kafka's max is 0, at 1.
	if info.MaxTimestamp != 0 || info.MaxTimestampDelta != 1 {
		t.Errorf("max timestamp %d at %d", info.MaxTimestamp, info.MaxTimestampDelta)
	}
}

func TestValidateListsEveryBadRecord(t *testing.T) {
	recs := franzRecords(2*maxRecordErrors+10, 1)
	for i := range recs {
		if i%2 == 0 {
			recs[i].Key = nil
		}
	}
	recs[1].TimestampDelta64 = -86400_000
	opts := testOpts()
	opts.RequireKeys = true
	_, err := Validate(franzBatch(t, CodecNone, recs, nil), opts)
	wantCode(t, err, kerr.InvalidTimestamp) // one timestamp failure makes all of it INVALID_TIMESTAMP
	got := RecordErrors(err)
	if len(got) != maxRecordErrors {
		t.Fatalf("%d record errors, want the cap of %d", len(got), maxRecordErrors)
	}
	if got[0].BatchIndex != 0 || got[1].BatchIndex != 1 || got[2].BatchIndex != 2 {
		t.Errorf("first record errors %+v", got[:3])
	}
}

func TestTimestampBoundsDoNotOverflow(t *testing.T) {
	opts := ValidateOptions{Now: testNow, TimestampBeforeMaxMs: math.MaxInt64, TimestampAfterMaxMs: math.MaxInt64}
	for _, ts := range []int64{math.MinInt64, -2, 0, testNow, math.MaxInt64} {
		if !timestampInBounds(ts, &opts) {
			t.Errorf("%d out of unbounded range", ts)
		}
	}
	opts.TimestampBeforeMaxMs, opts.TimestampAfterMaxMs = 0, 0
	for ts, want := range map[int64]bool{testNow: true, testNow - 1: false, testNow + 1: false, math.MinInt64: false, math.MaxInt64: false} {
		if got := timestampInBounds(ts, &opts); got != want {
			t.Errorf("timestampInBounds(%d) with zero bounds = %v", ts, got)
		}
	}
	opts.TimestampBeforeMaxMs = -1 // never valid in Kafka's config; nothing earlier passes
	if timestampInBounds(testNow, &opts) {
		t.Error("negative bound accepted now")
	}
}

func TestValidateAllocatesNothingForUncompressed(t *testing.T) {
	b := franzBatch(t, CodecNone, franzRecords(16, 1000), nil)
	opts := testOpts()
	opts.RequireKeys = true
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Validate(b, opts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Validate allocated %v times per call", allocs)
	}
}

func TestErrorCode(t *testing.T) {
	if ErrorCode(nil) != nil {
		t.Error("code for nil")
	}
	if ErrorCode(ErrShortBatch) != kerr.CorruptMessage {
		t.Error("ErrShortBatch is not CORRUPT_MESSAGE")
	}
	if ErrorCode(errEmptyBatch) != kerr.UnknownServerError {
		t.Error("a plain error is not UNKNOWN_SERVER_ERROR")
	}
	_, err := Validate(nil, ValidateOptions{})
	if ErrorCode(err) != kerr.InvalidRecord {
		t.Errorf("ErrorCode(%v) = %v", err, ErrorCode(err))
	}
}

// The codec pools are shared: validations of different batches, with
// different limits, may run at once.
func TestValidateConcurrently(t *testing.T) {
	for i, codec := range allCodecs {
		batch := franzBatch(t, codec, franzRecords(20, 2000), nil)
		t.Run(codec.String(), func(t *testing.T) {
			t.Parallel()
			opts := testOpts()
			opts.CheckCompressedRecords = true
			for j := range 50 {
				opts.DecompressLimit = (256 + 64*((i+j)%3)) << 10
				if _, err := Validate(batch, opts); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
