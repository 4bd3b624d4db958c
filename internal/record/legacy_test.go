package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// legacyMsg encodes one old message with kmsg, filling in its size and CRC.
func legacyMsg(magic int8, attrs int8, offset, ts int64, key, value []byte) []byte {
	var b []byte
	if magic == 0 {
		m := kmsg.MessageV0{Offset: offset, Magic: 0, Attributes: attrs, Key: key, Value: value}
		b = m.AppendTo(nil)
	} else {
		m := kmsg.MessageV1{Offset: offset, Magic: magic, Attributes: attrs, Timestamp: ts, Key: key, Value: value}
		b = m.AppendTo(nil)
	}
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[12:], crc32IEEE(b[16:]))
	return b
}

// legacySet returns n uncompressed messages of the given magic, with inner
// offsets as producers write them: relative for magic 1, absolute (from 0,
// as a producer's are) for magic 0.
func legacySet(magic int8, n int) []byte {
	var set []byte
	for i := 0; i < n; i++ {
		set = append(set, legacyMsg(magic, 0, int64(i), testNow+int64(i), []byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("value %d", i)))...)
	}
	return set
}

// wrap compresses set into one wrapper message.
func wrap(t testing.TB, magic int8, codec Codec, set []byte, lastOffset int64) []byte {
	t.Helper()
	inner, err := Compress(nil, codec, set)
	if err != nil {
		t.Fatal(err)
	}
	if codec == CodecLZ4 && magic == 0 {
		// Pre-0.10 producers hashed the magic into the header checksum.
		inner[6] = byte(lz4HeaderChecksum(inner[:6]) >> 8)
	}
	return legacyMsg(magic, int8(codec), lastOffset, testNow+100, nil, inner)
}

func TestConvertLegacy(t *testing.T) {
	type tcase struct {
		name   string
		set    []byte
		opts   ValidateOptions
		codec  Codec
		wantTS func(i int) int64
	}
	var tests []tcase
	for _, magic := range []int8{0, 1} {
		ts := func(i int) int64 { return -1 }
		if magic == 1 {
			ts = func(i int) int64 { return testNow + int64(i) }
		}
		tests = append(tests, tcase{fmt.Sprintf("magic %d uncompressed", magic), legacySet(magic, 5), ValidateOptions{}, CodecNone, ts})
		for _, codec := range []Codec{CodecGzip, CodecSnappy, CodecLZ4} {
			tests = append(tests, tcase{fmt.Sprintf("magic %d %s", magic, codec), wrap(t, magic, codec, legacySet(magic, 5), 4), ValidateOptions{}, codec, ts})
		}
	}
	tests = append(tests, tcase{"magic 0 with LogAppendTime takes the broker's time", legacySet(0, 3),
		ValidateOptions{LogAppendTime: true, Now: testNow + 7}, CodecNone, func(int) int64 { return testNow + 7 }})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !IsLegacy(tt.set) {
				t.Fatal("IsLegacy says no")
			}
			b, err := ConvertLegacy(tt.set, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if IsLegacy(b) {
				t.Error("IsLegacy says yes to the converted batch")
			}
			kb, recs := decodeFranz(t, b)
			if Codec(kb.Attributes&CompressionMask) != tt.codec || kb.ProducerID != -1 || kb.ProducerEpoch != -1 || kb.FirstSequence != -1 {
				t.Errorf("header %+v", kb)
			}
			for i, r := range recs {
				if ts := kb.FirstTimestamp + r.TimestampDelta64; ts != tt.wantTS(i) || r.OffsetDelta != int32(i) {
					t.Errorf("record %d: timestamp %d offset delta %d, want %d and %d", i, ts, r.OffsetDelta, tt.wantTS(i), i)
				}
				if string(r.Value) != fmt.Sprintf("value %d", i) || string(r.Key) != fmt.Sprintf("k%d", i) {
					t.Errorf("record %d: %q=%q", i, r.Key, r.Value)
				}
			}
			opts := tt.opts
			opts.CheckCompressedRecords = true
			if _, err := Validate(b, opts); err != nil {
				t.Errorf("the converted batch fails Validate: %v", err)
			}
		})
	}
}

func TestConvertLegacyKeepsNulls(t *testing.T) {
	set := append(legacyMsg(1, 0, 0, testNow, nil, []byte{}), legacyMsg(1, 0, 1, testNow, []byte{}, nil)...)
	b, err := ConvertLegacy(set, ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, recs := decodeFranz(t, b)
	if recs[0].Key != nil || recs[0].Value == nil || recs[1].Key == nil || recs[1].Value != nil {
		t.Errorf("nulls lost: %+v", recs)
	}
}

func TestConvertLegacyRejects(t *testing.T) {
	badCRC := legacySet(1, 2)
	badCRC[len(badCRC)-1] ^= 1
	innerBadCRC := legacySet(1, 2)
	innerBadCRC[20] ^= 1
	tooShort := legacyMsg(1, 0, 0, testNow, nil, nil)[:28]
	binary.BigEndian.PutUint32(tooShort[8:], 16)
	trailingJunk := legacyMsg(0, 0, 0, 0, nil, []byte("v"))
	binary.BigEndian.PutUint32(trailingJunk[8:], uint32(len(trailingJunk)-12+2))
	trailingJunk = append(trailingJunk, 0, 0)
	binary.BigEndian.PutUint32(trailingJunk[12:], crc32IEEE(trailingJunk[16:]))
	tests := []struct {
		name string
		set  []byte
		opts ValidateOptions
		want *kerr.Error
	}{
		{"an empty set", nil, ValidateOptions{}, kerr.InvalidRecord},
		{"a partial first message", legacySet(0, 1)[:20], ValidateOptions{}, kerr.InvalidRecord},
		{"a partial last message", legacySet(0, 2)[:40], ValidateOptions{}, kerr.CorruptMessage},
		{"a size below the smallest message", append(make([]byte, 8), 0, 0, 0, 5, 0, 0, 0, 0, 0), ValidateOptions{}, kerr.CorruptMessage},
		{"a magic 1 message below its minimum", tooShort, ValidateOptions{}, kerr.CorruptMessage},
		{"an unknown magic", func() []byte { b := legacySet(0, 1); b[16] = 9; return b }(), ValidateOptions{}, kerr.CorruptMessage},
		{"a bad CRC", badCRC, ValidateOptions{}, kerr.CorruptMessage},
		{"a bad CRC inside a wrapper", wrap(t, 1, CodecGzip, innerBadCRC, 1), ValidateOptions{}, kerr.CorruptMessage},
		{"bytes after the value", trailingJunk, ValidateOptions{}, kerr.CorruptMessage},
		{"a key longer than the message", func() []byte {
			b := legacyMsg(0, 0, 0, 0, []byte("k"), nil)
			b[21] = 99
			binary.BigEndian.PutUint32(b[12:], crc32IEEE(b[16:]))
			return b
		}(), ValidateOptions{}, kerr.CorruptMessage},
		{"mixed magics", append(legacySet(0, 1), legacySet(1, 1)...), ValidateOptions{}, kerr.InvalidRecord},
		{"a v2 batch in the set", append(legacySet(1, 1), good(t)...), ValidateOptions{}, kerr.InvalidRecord},
		{"a v2 batch alone", good(t), ValidateOptions{}, kerr.InvalidRecord},
		{"two wrappers", append(wrap(t, 1, CodecGzip, legacySet(1, 2), 1), wrap(t, 1, CodecGzip, legacySet(1, 2), 1)...), ValidateOptions{}, kerr.InvalidRecord},
		{"a plain message before a wrapper", append(legacySet(1, 1), wrap(t, 1, CodecGzip, legacySet(1, 2), 1)...), ValidateOptions{}, kerr.InvalidRecord},
		{"a wrapper inside a wrapper", wrap(t, 1, CodecGzip, wrap(t, 1, CodecGzip, legacySet(1, 2), 1), 0), ValidateOptions{}, kerr.InvalidRecord},
		{"a magic 0 message inside a magic 1 wrapper", wrap(t, 1, CodecSnappy, legacySet(0, 2), 1), ValidateOptions{}, kerr.InvalidRecord},
		{"an empty wrapper", wrap(t, 1, CodecGzip, nil, 0), ValidateOptions{}, kerr.InvalidRecord},
		{"a wrapper without a value", legacyMsg(1, int8(CodecGzip), 0, testNow, nil, nil), ValidateOptions{}, kerr.InvalidRecord},
		{"zstd in an old message", legacyMsg(1, int8(CodecZstd), 0, testNow, nil, []byte("x")), ValidateOptions{}, kerr.UnsupportedCompressionType},
		{"a corrupt wrapper value", legacyMsg(0, int8(CodecGzip), 0, 0, nil, []byte("not gzip")), ValidateOptions{}, kerr.CorruptMessage},
		{"a message over max.message.bytes", legacySet(1, 1), ValidateOptions{MaxMessageBytes: 20}, kerr.MessageTooLarge},
		{"a wrapper that expands past the limit", wrap(t, 1, CodecGzip, bytes.Repeat(legacySet(1, 1), 2000), 1999), ValidateOptions{DecompressLimit: 4096}, kerr.InvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConvertLegacy(tt.set, tt.opts)
			wantCode(t, err, tt.want)
		})
	}
}

// A LogAppendTime claim in a magic 1 message survives conversion, so that
// Validate rejects it as it would in a v2 batch.
func TestConvertLegacyKeepsLogAppendTimeClaim(t *testing.T) {
	set := legacyMsg(1, TimestampTypeBit, 0, testNow, nil, []byte("v"))
	b, err := ConvertLegacy(set, ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Validate(b, ValidateOptions{})
	wantCode(t, err, kerr.InvalidTimestamp)
}
