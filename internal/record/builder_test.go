package record

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestEndTxnMarkerRoundTrip(t *testing.T) {
	for _, commit := range []bool{true, false} {
		m := EndTxnMarker{ProducerID: 77, ProducerEpoch: 5, Commit: commit, CoordinatorEpoch: 12}
		b := BuildEndTxnMarker([]byte("x"), m, testNow)[1:]
		got, err := ParseEndTxnMarker(b)
		if err != nil || got != m {
			t.Fatalf("ParseEndTxnMarker = %+v, %v; want %+v", got, err, m)
		}
		// As kmsg sees it: a transactional control batch, one record whose
		// key is version 0 and the type, whose value is version 0 and the
		// coordinator epoch.
		kb, recs := decodeFranz(t, b)
		if kb.Attributes != TransactionalBit|ControlBit || kb.ProducerID != 77 || kb.ProducerEpoch != 5 ||
			kb.FirstSequence != -1 || kb.NumRecords != 1 || kb.FirstTimestamp != testNow {
			t.Errorf("marker header %+v", kb)
		}
		typ := byte(0)
		if commit {
			typ = 1
		}
		if !bytes.Equal(recs[0].Key, []byte{0, 0, 0, typ}) || !bytes.Equal(recs[0].Value, []byte{0, 0, 0, 0, 0, 12}) {
			t.Errorf("marker record %x=%x", recs[0].Key, recs[0].Value)
		}
		// A marker is not something a client may produce.
		_, err = Validate(b, ValidateOptions{})
		wantCode(t, err, kerr.InvalidRecord)
	}
}

func TestParseEndTxnMarkerRejects(t *testing.T) {
	marker := func(key, value []byte, mod func(*Builder)) []byte {
		b := NewBuilder(CodecNone)
		b.SetProducer(1, 0, -1)
		b.SetTransactional(true)
		b.SetControl(true)
		if mod != nil {
			mod(b)
		}
		b.Add(testNow, key, value, nil)
		out, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	value := []byte{0, 0, 0, 0, 0, 1}
	badCRC := marker([]byte{0, 0, 0, 1}, value, nil)
	badCRC[len(badCRC)-1] ^= 1
	tests := []struct {
		name  string
		batch []byte
		want  *kerr.Error
	}{
		{"a data batch", marker([]byte{0, 0, 0, 1}, value, func(b *Builder) { b.SetControl(false) }), kerr.InvalidRecord},
		{"a short key", marker([]byte{0, 0, 1}, value, nil), kerr.InvalidRecord},
		{"a negative key version", marker([]byte{0xff, 0xff, 0, 1}, value, nil), kerr.InvalidRecord},
		{"a type that is not a marker", marker([]byte{0, 0, 0, 3}, value, nil), kerr.InvalidRecord},
		{"a short value", marker([]byte{0, 0, 0, 1}, value[:5], nil), kerr.InvalidRecord},
		{"a negative value version", marker([]byte{0, 0, 0, 1}, []byte{0x80, 0, 0, 0, 0, 1}, nil), kerr.InvalidRecord},
		{"a bad CRC", badCRC, kerr.CorruptMessage},
		{"a truncated batch", marker([]byte{0, 0, 0, 1}, value, nil)[:70], kerr.CorruptMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEndTxnMarker(tt.batch)
			wantCode(t, err, tt.want)
		})
	}
}

// Kafka reads newer marker versions as version 0, ignoring what follows.
func TestParseEndTxnMarkerAcceptsNewerVersions(t *testing.T) {
	b := NewBuilder(CodecGzip)
	b.SetProducer(9, 2, -1)
	b.SetTransactional(true)
	b.SetControl(true)
	b.Add(testNow, []byte{0, 1, 0, 1, 0xaa}, []byte{0, 1, 0, 0, 0, 4, 0xbb, 0xcc}, nil)
	batch, _ := b.Build(nil)
	m, err := ParseEndTxnMarker(batch)
	if err != nil || m != (EndTxnMarker{ProducerID: 9, ProducerEpoch: 2, Commit: true, CoordinatorEpoch: 4}) {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func TestRecompress(t *testing.T) {
	want := franzRecords(40, 500)
	for _, from := range allCodecs {
		for _, to := range allCodecs {
			t.Run(from.String()+" to "+to.String(), func(t *testing.T) {
				src := franzBatch(t, from, want, func(kb *kmsg.RecordBatch) { kb.Attributes |= TransactionalBit })
				out, err := Recompress(src, to, DefaultLevel(to), 0)
				if err != nil {
					t.Fatal(err)
				}
				h0, _ := ParseHeader(src)
				h1, _ := ParseHeader(out)
				if h1.Codec() != to || !h1.Transactional() || h1.Length != int32(len(out)-LogOverhead) {
					t.Errorf("header %+v", h1)
				}
				// Every field but codec, length and CRC carries over.
				h0.Attributes, h0.Length, h0.CRC = h1.Attributes, h1.Length, h1.CRC
				if h0 != h1 {
					t.Errorf("header changed:\n%+v\n%+v", h0, h1)
				}
				opts := testOpts()
				opts.CheckCompressedRecords = true
				if _, err := Validate(out, opts); err != nil {
					t.Fatalf("recompressed batch fails Validate: %v", err)
				}
				checkRecords(t, out, want)
			})
		}
	}
}

func TestRecompressRejects(t *testing.T) {
	good := franzBatch(t, CodecGzip, franzRecords(3, 10), nil)
	short := franzBatch(t, CodecNone, franzRecords(3, 10), func(kb *kmsg.RecordBatch) { kb.NumRecords = 4 })
	bomb := franzBatch(t, CodecZstd, franzRecords(3, 100000), nil)
	tests := []struct {
		name  string
		batch []byte
		codec Codec
		limit int
		want  *kerr.Error
	}{
		{"an unknown target codec", good, Codec(6), 0, kerr.UnsupportedCompressionType},
		{"a truncated batch", good[:len(good)-1], CodecNone, 0, kerr.CorruptMessage},
		{"a bad CRC", append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1), CodecNone, 0, kerr.CorruptMessage},
		{"a header alone", good[:40], CodecNone, 0, kerr.CorruptMessage},
		{"a record count the records disagree with", short, CodecLZ4, 0, kerr.InvalidRecord},
		{"more than the limit", bomb, CodecLZ4, 1000, kerr.InvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Recompress(tt.batch, tt.codec, DefaultLevel(tt.codec), tt.limit)
			wantCode(t, err, tt.want)
		})
	}
}

func TestBuilder(t *testing.T) {
	b := NewBuilder(CodecNone)
	if _, err := b.Build(nil); err == nil {
		t.Error("built an empty batch")
	}
	b.SetBaseOffset(100)
	b.SetPartitionLeaderEpoch(7)
	b.SetLogAppendTime(true)
	b.Add(-1, nil, nil, nil)
	b.Add(-1, nil, nil, []RecordHeader{{Key: nil, Value: []byte("v")}}) // a nil header key is written empty
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ParseHeader(batch)
	if h.BaseOffset != 100 || h.PartitionLeaderEpoch != 7 || !h.LogAppendTime() || h.MaxTimestamp != -1 || h.BaseTimestamp != -1 || h.LastOffset() != 101 {
		t.Errorf("header %+v", h)
	}
	_, recs := decodeFranz(t, batch)
	if len(recs) != 2 || recs[1].Headers[0].Key != "" {
		t.Errorf("records %+v", recs)
	}
	// Reset keeps nothing but the buffer.
	b.Reset(CodecSnappy)
	b.Add(testNow, []byte("k"), []byte("v"), nil)
	batch, _ = b.Build(batch[:0])
	h, _ = ParseHeader(batch)
	if h.BaseOffset != 0 || h.PartitionLeaderEpoch != -1 || h.LogAppendTime() || h.NumRecords != 1 || h.Codec() != CodecSnappy {
		t.Errorf("header after Reset %+v", h)
	}
}

func TestHeaderHelpers(t *testing.T) {
	b := good(t)
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := BatchSize(b); size != int64(len(b)) || h.Size() != int64(len(b)) {
		t.Errorf("size %d, header %d, bytes %d", size, h.Size(), len(b))
	}
	if _, err := BatchSize(b[:11]); err != ErrShortBatch {
		t.Errorf("BatchSize of 11 bytes: %v", err)
	}
	if _, err := ParseHeader(b[:60]); err != ErrShortBatch {
		t.Errorf("ParseHeader of 60 bytes: %v", err)
	}
	SetBaseOffset(b, 1000)
	SetPartitionLeaderEpoch(b, 9)
	if h2, _ := ParseHeader(b); h2.BaseOffset != 1000 || h2.PartitionLeaderEpoch != 9 || ComputeCRC(b) != h2.CRC ||
		h2.LastOffset() != 1002 || h2.NextOffset() != 1003 {
		t.Errorf("after setting fields outside the CRC: %+v", h2)
	}
	if CRC32C(b[offAttributes:]) != ComputeCRC(b) {
		t.Error("CRC32C and ComputeCRC disagree")
	}
	SetLogAppendTime(b, testNow+5)
	h3, _ := ParseHeader(b)
	if !h3.LogAppendTime() || h3.MaxTimestamp != testNow+5 || h3.BaseTimestamp != h.BaseTimestamp || ComputeCRC(b) != h3.CRC {
		t.Errorf("after SetLogAppendTime: %+v", h3)
	}
	for _, tt := range []struct{ seq, n, want int32 }{
		{0, 5, 5}, {2147483647, 1, 0}, {2147483640, 10, 2}, {2147483647, 0, 2147483647},
	} {
		if got := IncrementSequence(tt.seq, tt.n); got != tt.want {
			t.Errorf("IncrementSequence(%d, %d) = %d, want %d", tt.seq, tt.n, got, tt.want)
		}
	}
	h.BaseSequence, h.LastOffsetDelta = 2147483646, 3
	if h.LastSequence() != 1 {
		t.Errorf("LastSequence wrapped to %d", h.LastSequence())
	}
	h.BaseSequence = NoSequence
	if h.LastSequence() != NoSequence {
		t.Error("LastSequence without a sequence")
	}
	if !IsLegacy(legacySet(0, 1)) || IsLegacy(b) || IsLegacy(b[:16]) {
		t.Error("IsLegacy")
	}
	binary.BigEndian.PutUint16(b[offAttributes:], 4)
	if h4, _ := ParseHeader(b); h4.Codec() != CodecZstd || h4.Codec().String() != "zstd" || Codec(6).String() != "unknown" {
		t.Error("codec names")
	}
}
