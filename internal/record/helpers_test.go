package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testNow is the clock the tests run at, ms since epoch.
const testNow = int64(1_700_000_000_000)

// franzCodec maps a codec to franz-go's.
func franzCodec(c Codec) kgo.CompressionCodec {
	switch c {
	case CodecGzip:
		return kgo.GzipCompression()
	case CodecSnappy:
		return kgo.SnappyCompression()
	case CodecLZ4:
		return kgo.Lz4Compression()
	case CodecZstd:
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// franzRecords returns n records the way a producer fills them: offset
// deltas 0..n-1, timestamps one ms apart from testNow, a key, a value of
// valueSize bytes, and a header on every other record.
func franzRecords(n, valueSize int) []kmsg.Record {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		r := &recs[i]
		r.TimestampDelta64 = int64(i)
		r.OffsetDelta = int32(i)
		r.Key = []byte(fmt.Sprintf("key-%d", i))
		r.Value = bytes.Repeat([]byte{byte('a' + i%26)}, valueSize)
		if i%2 == 1 {
			r.Headers = []kmsg.Header{{Key: "h", Value: []byte("v")}, {Key: "null", Value: nil}}
		}
	}
	return recs
}

// encodeFranzRecords encodes records with kmsg, filling in their lengths.
func encodeFranzRecords(recs []kmsg.Record) []byte {
	var out []byte
	for i := range recs {
		r := &recs[i]
		r.Length = 0
		body := len(r.AppendTo(nil)) - 1 // minus the 1-byte varint of 0
		r.Length = int32(body)
		out = r.AppendTo(out)
	}
	return out
}

// franzBatch builds a batch as franz-go's producer does: records encoded by
// kmsg, compressed by kgo's default compressor, framed by
// kmsg.RecordBatch. mod may change the header before the length and CRC
// are computed.
func franzBatch(t testing.TB, codec Codec, recs []kmsg.Record, mod func(*kmsg.RecordBatch)) []byte {
	t.Helper()
	raw := encodeFranzRecords(recs)
	section := raw
	if codec != CodecNone {
		comp, err := kgo.DefaultCompressor(franzCodec(codec))
		if err != nil {
			t.Fatal(err)
		}
		out, used := comp.Compress(new(bytes.Buffer), raw)
		if int8(used) != int8(codec) {
			t.Fatalf("kgo compressed with %d, want %d", used, codec)
		}
		section = append([]byte(nil), out...)
	}
	maxTS := int64(-1)
	for i := range recs {
		maxTS = max(maxTS, testNow+recs[i].TimestampDelta64)
	}
	kb := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(codec),
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       testNow,
		MaxTimestamp:         maxTS,
		ProducerID:           1000,
		ProducerEpoch:        3,
		FirstSequence:        7,
		NumRecords:           int32(len(recs)),
		Records:              section,
	}
	if mod != nil {
		mod(&kb)
	}
	b := kb.AppendTo(nil)
	return fixBatch(b)
}

// fixBatch sets the length field and CRC, computed independently of the
// package's own helpers.
func fixBatch(b []byte) []byte {
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// decodeFranz decodes a batch with kmsg, decompressing with kgo's default
// decompressor, and returns its header and records.
func decodeFranz(t testing.TB, b []byte) (kmsg.RecordBatch, []kmsg.Record) {
	t.Helper()
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil {
		t.Fatalf("kmsg.RecordBatch.ReadFrom: %v", err)
	}
	raw, err := kgo.DefaultDecompressor().Decompress(kb.Records, kgo.CompressionCodecType(kb.Attributes&7))
	if err != nil {
		t.Fatalf("kgo decompress: %v", err)
	}
	var recs []kmsg.Record
	for len(raw) > 0 {
		l, n := readVarint(raw)
		if n <= 0 || int(l) > len(raw)-n {
			t.Fatalf("bad record length in %x", raw)
		}
		var r kmsg.Record
		if err := r.ReadFrom(raw[:n+int(l)]); err != nil {
			t.Fatalf("kmsg.Record.ReadFrom: %v", err)
		}
		recs = append(recs, r)
		raw = raw[n+int(l):]
	}
	return kb, recs
}

// sameRecord reports how r differs from k, or "".
func sameRecord(r *Record, k *kmsg.Record) string {
	switch {
	case r.Attributes != k.Attributes:
		return fmt.Sprintf("attributes %d vs %d", r.Attributes, k.Attributes)
	case r.TimestampDelta != k.TimestampDelta64:
		return fmt.Sprintf("timestamp delta %d vs %d", r.TimestampDelta, k.TimestampDelta64)
	case r.OffsetDelta != k.OffsetDelta:
		return fmt.Sprintf("offset delta %d vs %d", r.OffsetDelta, k.OffsetDelta)
	case !sameBytes(r.Key, k.Key):
		return fmt.Sprintf("key %q vs %q", r.Key, k.Key)
	case !sameBytes(r.Value, k.Value):
		return fmt.Sprintf("value %q vs %q", r.Value, k.Value)
	case r.Headers.Len() != len(k.Headers):
		return fmt.Sprintf("%d headers vs %d", r.Headers.Len(), len(k.Headers))
	}
	it := r.Headers.Iter()
	for i := range k.Headers {
		h, ok := it.Next()
		if !ok || string(h.Key) != k.Headers[i].Key || !sameBytes(h.Value, k.Headers[i].Value) {
			return fmt.Sprintf("header %d: %q=%q vs %q=%q", i, h.Key, h.Value, k.Headers[i].Key, k.Headers[i].Value)
		}
	}
	return ""
}

// sameBytes compares byte slices, telling null from empty.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// wantCode fails the test unless err carries the Kafka error code want.
func wantCode(t testing.TB, err error, want *kerr.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %s", err, want.Message)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *record.Error", err)
	}
}

// opts returns the options most tests validate with: CreateTime with
// bounds of an hour either side.
func testOpts() ValidateOptions {
	return ValidateOptions{
		Now:                  testNow,
		CheckTimestamps:      true,
		TimestampBeforeMaxMs: 3600_000,
		TimestampAfterMaxMs:  3600_000,
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
