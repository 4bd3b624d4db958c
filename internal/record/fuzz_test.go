package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"testing/iotest"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Seeds shared by the fuzz targets, besides the files in testdata/fuzz.
func seedBatches(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range allCodecs {
		seeds = append(seeds, franzBatch(t, c, franzRecords(3, 20), nil))
	}
	seeds = append(seeds, BuildEndTxnMarker(nil, EndTxnMarker{ProducerID: 1, Commit: true}, testNow))
	return seeds
}

const fuzzLimit = 1 << 20

// FuzzValidate: no input makes Validate panic or return a non-*Error; an
// accepted batch re-parses to the header Info reports, and validating it
// again agrees without changing it. flags picks the options, and bit 4 fixes
// up the length and CRC so that mutations reach the records.
func FuzzValidate(f *testing.F) {
	for _, s := range seedBatches(f) {
		f.Add(s, uint8(0))
		f.Add(s, uint8(0x1f))
		f.Add(s, uint8(0x13))
	}
	f.Fuzz(func(t *testing.T, b []byte, flags uint8) {
		opts := ValidateOptions{
			Now:                    testNow,
			RequireKeys:            flags&1 != 0,
			CheckCompressedRecords: flags&2 != 0,
			LogAppendTime:          flags&4 != 0,
			CheckTimestamps:        flags&8 != 0,
			TimestampBeforeMaxMs:   3600_000,
			TimestampAfterMaxMs:    3600_000,
			DecompressLimit:        fuzzLimit,
		}
		if flags&16 != 0 && len(b) >= HeaderSize {
			// Let mutations past the length and CRC checks.
			binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-LogOverhead))
			SetCRC(b)
		}
		info, err := Validate(b, opts)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == nil {
				t.Fatalf("error %v is not a *record.Error", err)
			}
			return
		}
		h, err := ParseHeader(b)
		if err != nil || h != info.Header || h.Size() != int64(len(b)) || ComputeCRC(b) != h.CRC {
			t.Fatalf("accepted batch re-parses as %+v (%v), Info says %+v", h, err, info.Header)
		}
		if opts.LogAppendTime {
			// The batch now claims LogAppendTime, which producers may not.
			_, err := Validate(b, opts)
			wantCode(t, err, kerr.InvalidTimestamp)
			return
		}
		before := append([]byte(nil), b...)
		again, err := Validate(b, opts)
		if err != nil || again.Modified || again.Header != info.Header || again.MaxTimestamp != info.MaxTimestamp ||
			again.RecordsChecked != info.RecordsChecked || again.RecordsBytes != info.RecordsBytes {
			t.Fatalf("second Validate = %+v, %v; first %+v", again, err, info)
		}
		if !bytes.Equal(b, before) {
			t.Fatal("second Validate changed the batch")
		}
	})
}

// FuzzRecords: the in-memory Iter and the streaming Reader never panic,
// agree on every record and on success, keep the Reader's buffer within
// bounds, and every record they accept re-encodes to one that decodes the
// same.
func FuzzRecords(f *testing.F) {
	for _, s := range seedBatches(f) {
		h, _ := ParseHeader(s)
		if h.Codec() == CodecNone {
			f.Add(s[HeaderSize:], int32(h.NumRecords))
		}
	}
	f.Add(withLength(oneRecord), int32(1))
	f.Fuzz(func(t *testing.T, section []byte, count int32) {
		it := NewIter(section, count)
		rd := NewReader(iotest.HalfReader(bytes.NewReader(section)), count, len(section))
		defer rd.Release()
		var a, b Record
		n := 0
		for it.Next(&a) {
			if !rd.Next(&b) {
				t.Fatalf("record %d: Iter read it, Reader did not: %v", n, rd.Err())
			}
			if !sameDecoded(&a, &b) {
				t.Fatalf("record %d: Iter %+v, Reader %+v", n, a, b)
			}
			checkReencode(t, &a)
			n++
		}
		more := rd.Next(&b)
		if (it.Err() == nil) != (rd.Err() == nil) || more {
			t.Fatalf("after %d records: Iter %v, Reader %v (more %v)", n, it.Err(), rd.Err(), more)
		}
		if c := cap(rd.buf); c > 2*len(section)+readerMinBuf {
			t.Fatalf("Reader buffer of %d bytes for %d bytes of input", c, len(section))
		}
	})
}

// sameDecoded compares two decoded records field by field.
func sameDecoded(a, b *Record) bool {
	if a.Attributes != b.Attributes || a.TimestampDelta != b.TimestampDelta || a.OffsetDelta != b.OffsetDelta ||
		!sameBytes(a.Key, b.Key) || !sameBytes(a.Value, b.Value) || a.Len != b.Len || a.Headers.Len() != b.Headers.Len() {
		return false
	}
	ia, ib := a.Headers.Iter(), b.Headers.Iter()
	for {
		ha, oka := ia.Next()
		hb, okb := ib.Next()
		if oka != okb {
			return false
		}
		if !oka {
			return true
		}
		if !sameBytes(ha.Key, hb.Key) || !sameBytes(ha.Value, hb.Value) {
			return false
		}
	}
}

// checkReencode encodes r as the Builder does and decodes it again.
func checkReencode(t *testing.T, r *Record) {
	var hs []RecordHeader
	hi := r.Headers.Iter()
	for h, ok := hi.Next(); ok; h, ok = hi.Next() {
		hs = append(hs, h)
	}
	enc := appendRecord(nil, r.TimestampDelta, r.OffsetDelta, r.Key, r.Value, hs)
	it := NewIter(enc, 1)
	var back Record
	if !it.Next(&back) {
		t.Fatalf("re-encoded record does not decode: %v", it.Err())
	}
	// The encoder writes attributes 0 and minimal varints.
	back.Attributes, back.Len = r.Attributes, r.Len
	if !sameDecoded(r, &back) {
		t.Fatalf("re-encoded %+v as %+v", r, back)
	}
}

// FuzzDecompress: every codec, on any input, stays within the limit and
// fails only with an *Error; and what Compress writes decompresses back.
func FuzzDecompress(f *testing.F) {
	for _, c := range allCodecs[1:] {
		b, _ := Compress(nil, c, []byte("hello, hello, hello, kafka"))
		f.Add(uint8(c), b)
	}
	f.Add(uint8(CodecSnappy), []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0})
	f.Fuzz(func(t *testing.T, codec uint8, data []byte) {
		c := Codec(codec%4 + 1)
		out, err := Decompress(nil, c, data, fuzzLimit)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %v is not a *record.Error", c, err)
			}
		} else if len(out) > fuzzLimit {
			t.Fatalf("%s: %d bytes past the limit", c, len(out))
		}
		comp, err := Compress(nil, c, data)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decompress(nil, c, comp, len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%s round trip: %v", c, err)
		}
	})
}

// FuzzConvertLegacy: no input makes ConvertLegacy panic; what it accepts
// is a v2 batch that Validate accepts, unless it carries a LogAppendTime
// claim. fix recomputes the top-level messages' CRCs so that mutations get
// past them.
func FuzzConvertLegacy(f *testing.F) {
	for _, magic := range []int8{0, 1} {
		f.Add(legacySet(magic, 3), false)
		f.Add(legacySet(magic, 3), true)
		for _, c := range []Codec{CodecGzip, CodecSnappy, CodecLZ4} {
			f.Add(wrap(f, magic, c, legacySet(magic, 3), 2), true)
		}
	}
	f.Fuzz(func(t *testing.T, set []byte, fix bool) {
		if fix {
			fixLegacyCRCs(set)
		}
		opts := ValidateOptions{DecompressLimit: fuzzLimit, MaxMessageBytes: 1 << 30}
		b, err := ConvertLegacy(set, opts)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *record.Error", err)
			}
			return
		}
		opts.CheckCompressedRecords = true
		if _, err := Validate(b, opts); err != nil && !errors.Is(err, kerr.InvalidTimestamp) {
			t.Fatalf("converted batch fails Validate: %v", err)
		}
	})
}

// fixLegacyCRCs recomputes the CRC of each whole top-level message in set.
func fixLegacyCRCs(set []byte) {
	for len(set) >= LogOverhead+4 {
		size := int(int32(binary.BigEndian.Uint32(set[offLength:])))
		if size < 4 || size > len(set)-LogOverhead {
			return
		}
		msg := set[LogOverhead : LogOverhead+size]
		binary.BigEndian.PutUint32(msg, crc32IEEE(msg[4:]))
		set = set[LogOverhead+size:]
	}
}
