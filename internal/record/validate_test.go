package record

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawBatch frames a records section (already compressed with codec, if
// any) holding count records.
func rawBatch(t testing.TB, codec Codec, count int32, section []byte) []byte {
	t.Helper()
	kb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, Attributes: int16(codec),
		LastOffsetDelta: count - 1, FirstTimestamp: testNow, MaxTimestamp: testNow,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: count, Records: section,
	}
	return fixBatch(kb.AppendTo(nil))
}

// good returns a valid uncompressed batch of three records.
func good(t testing.TB) []byte { return franzBatch(t, CodecNone, franzRecords(3, 10), nil) }

// withHeader returns a valid batch with mod applied to its header.
func withHeader(t testing.TB, codec Codec, mod func(*kmsg.RecordBatch)) []byte {
	return franzBatch(t, codec, franzRecords(3, 10), mod)
}

// withRecords returns a valid header around records changed by mod.
func withRecords(t testing.TB, codec Codec, mod func([]kmsg.Record)) []byte {
	recs := franzRecords(3, 10)
	mod(recs)
	return franzBatch(t, codec, recs, nil)
}

// oneRecord is the body of a record with a 1-byte key and value, after its
// length varint: attributes, timestamp delta 0, offset delta 0, key "k",
// value "v", no headers.
var oneRecord = []byte{0, 0, 0, 2, 'k', 2, 'v', 0}

func withLength(body []byte) []byte { return append(appendVarint(nil, int32(len(body))), body...) }

func TestValidateRejects(t *testing.T) {
	legacySet := func() []byte {
		m := kmsg.MessageV1{Magic: 1, Timestamp: testNow, Value: []byte("v")}
		return legacyMessage1(m)
	}
	tests := []struct {
		name  string
		batch func(t testing.TB) []byte
		opts  func(*ValidateOptions)
		want  *kerr.Error
		index int // the record at fault, or -1
	}{
		{"no bytes is not a batch", func(testing.TB) []byte { return nil }, nil, kerr.InvalidRecord, -1},
		{"fewer bytes than a length field is not a batch", func(testing.TB) []byte { return make([]byte, 11) }, nil, kerr.InvalidRecord, -1},
		{"a length below the smallest message is corrupt", func(t testing.TB) []byte {
			b := good(t)
			binary.BigEndian.PutUint32(b[offLength:], 13)
			return b
		}, nil, kerr.CorruptMessage, -1},
		{"an unknown magic is corrupt", func(t testing.TB) []byte {
			b := good(t)
			b[offMagic] = 3
			return b
		}, nil, kerr.CorruptMessage, -1},
		{"a negative magic is corrupt", func(t testing.TB) []byte {
			b := good(t)
			b[offMagic] = 0xff
			return b
		}, nil, kerr.CorruptMessage, -1},
		{"a truncated batch is no batch", func(t testing.TB) []byte { b := good(t); return b[:len(b)-1] }, nil, kerr.InvalidRecord, -1},
		{"a magic 1 message set needs conversion", func(testing.TB) []byte { return legacySet() }, nil, kerr.InvalidRecord, -1},
		{"two batches are one too many", func(t testing.TB) []byte { return append(good(t), good(t)...) }, nil, kerr.InvalidRecord, -1},
		{"trailing bytes are rejected", func(t testing.TB) []byte { return append(good(t), 1, 2, 3, 4, 5) }, nil, kerr.InvalidRecord, -1},
		{"trailing bytes with a tiny length are corrupt", func(t testing.TB) []byte {
			return append(good(t), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3)
		}, nil, kerr.CorruptMessage, -1},
		{"a batch shorter than its header is corrupt", func(t testing.TB) []byte {
			b := good(t)[:40]
			binary.BigEndian.PutUint32(b[offLength:], 28)
			return b
		}, nil, kerr.CorruptMessage, -1},
		{"codec 5 is unsupported", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.Attributes = 5 })
		}, nil, kerr.UnsupportedCompressionType, -1},
		{"zstd before Produce v7 is unsupported", func(t testing.TB) []byte { return withHeader(t, CodecZstd, nil) },
			func(o *ValidateOptions) { o.NoZstd = true }, kerr.UnsupportedCompressionType, -1},
		{"a client's base offset must be 0", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.FirstOffset = 5 })
		}, nil, kerr.InvalidRecord, -1},
		{"a batch over max.message.bytes is too large", good,
			func(o *ValidateOptions) { o.MaxMessageBytes = 100 }, kerr.MessageTooLarge, -1},
		{"a CRC mismatch is corrupt", func(t testing.TB) []byte {
			b := good(t)
			b[len(b)-1] ^= 1
			return b
		}, nil, kerr.CorruptMessage, -1},
		{"a negative last offset delta is invalid", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.LastOffsetDelta = -1 })
		}, nil, kerr.InvalidRecord, -1},
		{"a record count of 0 is invalid", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.NumRecords = 0 })
		}, nil, kerr.InvalidRecord, -1},
		{"a count that disagrees with the last offset delta is invalid", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.LastOffsetDelta = 5 })
		}, nil, kerr.InvalidRecord, -1},
		{"a client may not send a control batch", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.Attributes |= ControlBit })
		}, nil, kerr.InvalidRecord, -1},
		{"a transactional batch needs a producer id", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.Attributes |= TransactionalBit; kb.ProducerID = -1 })
		}, nil, kerr.InvalidRecord, -1},
		{"a producer id needs a sequence", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.FirstSequence = -1 })
		}, nil, kerr.InvalidRecord, -1},
		{"a producer id needs an epoch", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.ProducerEpoch = -1 })
		}, nil, kerr.InvalidRecord, -1},
		{"a producer may not claim LogAppendTime", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.Attributes |= TimestampTypeBit })
		}, nil, kerr.InvalidTimestamp, -1},
		{"fewer records than declared is invalid", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.NumRecords, kb.LastOffsetDelta = 4, 3 })
		}, nil, kerr.InvalidRecord, -1},
		{"more records than declared is invalid", func(t testing.TB) []byte {
			return withHeader(t, CodecNone, func(kb *kmsg.RecordBatch) { kb.NumRecords, kb.LastOffsetDelta = 2, 1 })
		}, nil, kerr.InvalidRecord, -1},
		{"a record length past the section is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, append(appendVarint(nil, 100), oneRecord...))
		}, nil, kerr.InvalidRecord, 0},
		{"a six-byte varint is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
		}, nil, kerr.InvalidRecord, 0},
		{"a varint overflowing 32 bits is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, withLength([]byte{0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 2, 'v', 0}))
		}, nil, kerr.InvalidRecord, 0},
		{"a key length below -1 is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, withLength([]byte{0, 0, 0, 3, 2, 'v', 0}))
		}, nil, kerr.InvalidRecord, 0},
		{"a value longer than its record is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, withLength([]byte{0, 0, 0, 2, 'k', 20, 'v', 0}))
		}, nil, kerr.InvalidRecord, 0},
		{"a negative header count is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, withLength([]byte{0, 0, 0, 2, 'k', 2, 'v', 1}))
		}, nil, kerr.InvalidRecord, 0},
		{"a null header key is invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, withLength([]byte{0, 0, 0, 2, 'k', 2, 'v', 2, 1, 2, 'x'}))
		}, nil, kerr.InvalidRecord, 0},
		{"bytes after a record's last field are invalid", func(t testing.TB) []byte {
			return rawBatch(t, CodecNone, 1, withLength(append(append([]byte(nil), oneRecord...), 0)))
		}, nil, kerr.InvalidRecord, 0},
		{"offset deltas must count from 0", func(t testing.TB) []byte {
			return withRecords(t, CodecNone, func(r []kmsg.Record) { r[1].OffsetDelta = 5 })
		}, nil, kerr.InvalidRecord, 1},
		{"a compacted topic needs keys", func(t testing.TB) []byte {
			return withRecords(t, CodecNone, func(r []kmsg.Record) { r[2].Key = nil })
		}, func(o *ValidateOptions) { o.RequireKeys = true }, kerr.InvalidRecord, 2},
		{"a compacted topic needs keys in compressed batches too", func(t testing.TB) []byte {
			return withRecords(t, CodecLZ4, func(r []kmsg.Record) { r[1].Key = nil })
		}, func(o *ValidateOptions) { o.RequireKeys = true }, kerr.InvalidRecord, 1},
		{"a timestamp too far in the past is invalid", func(t testing.TB) []byte {
			return withRecords(t, CodecNone, func(r []kmsg.Record) { r[1].TimestampDelta64 = -3600_001 })
		}, nil, kerr.InvalidTimestamp, 1},
		{"a timestamp too far in the future is invalid", func(t testing.TB) []byte {
			return withRecords(t, CodecNone, func(r []kmsg.Record) { r[2].TimestampDelta64 = 3600_001 })
		}, nil, kerr.InvalidTimestamp, 2},
		{"a compressed batch's header timestamps are bounded", func(t testing.TB) []byte {
			return withHeader(t, CodecGzip, func(kb *kmsg.RecordBatch) { kb.MaxTimestamp = testNow + 3600_001 })
		}, nil, kerr.InvalidTimestamp, -1},
		{"corrupt compressed data is corrupt when read", func(t testing.TB) []byte {
			return rawBatch(t, CodecGzip, 1, []byte("definitely not gzip"))
		}, func(o *ValidateOptions) { o.CheckCompressedRecords = true }, kerr.CorruptMessage, -1},
		{"a zstd bomb stops at the limit", func(t testing.TB) []byte {
			enc, _ := zstd.NewWriter(nil)
			defer enc.Close()
			body := bytes.Repeat([]byte{0}, 1<<20)
			rec := append(appendVarint(nil, int32(len(body)+7)), 0, 0, 0, 1, 0)
			rec = append(appendVarint(rec, int32(len(body))), body...)
			return rawBatch(t, CodecZstd, 1, enc.EncodeAll(append(rec, 0), nil))
		}, func(o *ValidateOptions) { o.CheckCompressedRecords = true; o.DecompressLimit = 64 << 10 }, kerr.InvalidRecord, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOpts()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			b := tt.batch(t)
			orig := append([]byte(nil), b...)
			_, err := Validate(b, opts)
			wantCode(t, err, tt.want)
			recs := RecordErrors(err)
			switch {
			case tt.index < 0 && len(recs) != 0:
				t.Errorf("record errors %+v for a batch-level failure", recs)
			case tt.index >= 0 && (len(recs) != 1 || recs[0].BatchIndex != int32(tt.index)):
				t.Errorf("record errors %+v, want one for record %d", recs, tt.index)
			}
			if !bytes.Equal(b, orig) {
				t.Error("Validate changed a batch it rejected")
			}
		})
	}
}

// legacyMessage1 encodes one magic 1 message with its CRC.
func legacyMessage1(m kmsg.MessageV1) []byte {
	b := m.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[12:], crc32IEEE(b[16:]))
	return b
}
