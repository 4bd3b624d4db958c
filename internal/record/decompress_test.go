package record

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"
)

// encodings returns data compressed every way a client may send it: each
// codec as Compress writes it, plus raw snappy and streamed zstd (no content
// size in the frame header).
func encodings(t testing.TB, data []byte) map[string]struct {
	codec Codec
	b     []byte
} {
	t.Helper()
	out := map[string]struct {
		codec Codec
		b     []byte
	}{}
	for _, c := range allCodecs[1:] {
		b, err := Compress(nil, c, data)
		if err != nil {
			t.Fatal(err)
		}
		out[c.String()] = struct {
			codec Codec
			b     []byte
		}{c, b}
	}
	out["raw snappy"] = struct {
		codec Codec
		b     []byte
	}{CodecSnappy, s2.EncodeSnappy(nil, data)}
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out["streamed zstd"] = struct {
		codec Codec
		b     []byte
	}{CodecZstd, buf.Bytes()}
	return out
}

func TestDecompressRoundTrip(t *testing.T) {
	data := encodeFranzRecords(franzRecords(200, 700)) // over 100 KiB: several blocks
	for name, e := range encodings(t, data) {
		t.Run(name, func(t *testing.T) {
			got, err := Decompress([]byte("prefix"), e.codec, e.b, len(data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[6:], data) || string(got[:6]) != "prefix" {
				t.Fatalf("round trip lost data: %d bytes back of %d", len(got)-6, len(data))
			}
			_, err = Decompress(nil, e.codec, e.b, len(data)-1)
			wantCode(t, err, kerr.InvalidRecord)
		})
	}
}

// A decompression bomb must cost no more than the limit, whatever the codec.
func TestDecompressBombsStopAtTheLimit(t *testing.T) {
	const limit = 1 << 20
	zeros := make([]byte, 32<<20)
	for name, e := range encodings(t, zeros) {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d, err := NewDecompressReader(e.codec, e.b, limit)
			if err == nil {
				_, err = io.Copy(io.Discard, d)
				d.Release()
			}
			runtime.ReadMemStats(&after)
			wantCode(t, err, kerr.InvalidRecord)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*limit {
				t.Errorf("a %d-byte bomb allocated %d bytes with a limit of %d", len(e.b), grew, limit)
			}
			// Decompress also holds the output, which grows by doubling to
			// the limit (2×limit in all), besides the decoder's window.
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = Decompress(nil, e.codec, e.b, limit)
			runtime.ReadMemStats(&after)
			wantCode(t, err, kerr.InvalidRecord)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*limit+2<<20 {
				t.Errorf("Decompress of a %d-byte bomb allocated %d bytes with a limit of %d", len(e.b), grew, limit)
			}
		})
	}
}

func TestDecompressRejectsCorruptData(t *testing.T) {
	data := encodeFranzRecords(franzRecords(50, 500))
	for name, e := range encodings(t, data) {
		t.Run(name+" truncated", func(t *testing.T) {
			_, err := Decompress(nil, e.codec, e.b[:len(e.b)*2/3], 0)
			wantCode(t, err, kerr.CorruptMessage)
		})
	}
	tests := []struct {
		name  string
		codec Codec
		b     []byte
	}{
		{"gzip without a header", CodecGzip, []byte("plain text")},
		{"lz4 legacy frame", CodecLZ4, []byte{0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0}},
		{"lz4 too short", CodecLZ4, []byte{0x04}},
		{"zstd garbage", CodecZstd, []byte("\x28\xb5\x2f\xfdgarbage")},
		{"raw snappy claiming a gigabyte", CodecSnappy, append(appendUvarint(nil, 1<<30), 0, 1, 2, 3)},
		{"raw snappy empty", CodecSnappy, nil},
		{"xerial with a negative block length", CodecSnappy, append(append([]byte(nil), xerialHeader...), 0xff, 0xff, 0xff, 0xff)},
		{"xerial with a block past the end", CodecSnappy, append(append([]byte(nil), xerialHeader...), 0, 0, 0, 9, 1)},
		{"xerial with stray bytes", CodecSnappy, append(append([]byte(nil), xerialHeader...), 0, 0)},
		{"snappy with an s2-only repeat", CodecSnappy, []byte{8, 0x0c, 'a', 'b', 'c', 'd', 0x01, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decompress(nil, tt.codec, tt.b, 1<<20)
			wantCode(t, err, kerr.CorruptMessage)
		})
	}
}

func TestDecompressUnknownCodec(t *testing.T) {
	_, err := NewDecompressReader(Codec(5), []byte{1}, 0)
	wantCode(t, err, kerr.UnsupportedCompressionType)
	_, err = Compress(nil, Codec(7), []byte{1})
	wantCode(t, err, kerr.UnsupportedCompressionType)
}

// xerial framing as the Java client writes it, built here without the
// package's writer: several blocks, each a raw snappy block.
func TestDecompressXerialFromJava(t *testing.T) {
	data := encodeFranzRecords(franzRecords(40, 2000))
	b := append([]byte(nil), 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 32<<10)
		block := snappy.Encode(nil, rest[:n])
		b = binary.BigEndian.AppendUint32(b, uint32(len(block)))
		b = append(b, block...)
		rest = rest[n:]
	}
	got, err := Decompress(nil, CodecSnappy, b, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("xerial: %v", err)
	}
	if ours := appendXerial(nil, data); !bytes.Equal(ours[:16], b[:16]) {
		t.Errorf("our xerial header %x, Java's %x", ours[:16], b[:16])
	}
}

// Kafka before 0.10 hashed the frame magic into the LZ4 header checksum
// (KAFKA-3160). Magic 0 message sets may carry such frames.
func TestDecompressBrokenLZ4Checksum(t *testing.T) {
	data := encodeFranzRecords(franzRecords(10, 100))
	good, _ := Compress(nil, CodecLZ4, data)
	if flg := good[4]; flg&0x09 != 0 {
		t.Fatalf("test assumes no content size or dictionary id, FLG %#x", flg)
	}
	if want := byte(lz4HeaderChecksum(good[4:6]) >> 8); good[6] != want {
		t.Fatalf("lz4HeaderChecksum disagrees with the lz4 library: %#x vs %#x", want, good[6])
	}
	broken := append([]byte(nil), good...)
	broken[6] = byte(lz4HeaderChecksum(broken[:6]) >> 8)
	if broken[6] == good[6] {
		t.Skip("broken and right checksums coincide for this header")
	}
	_, err := Decompress(nil, CodecLZ4, broken, 0)
	wantCode(t, err, kerr.CorruptMessage)
	if h := lz4Header(nil, broken); h[6] != good[6] {
		t.Fatalf("repaired header checksum %#x, want %#x", h[6], good[6])
	}
	got, err := decompress(nil, CodecLZ4, broken, 0, true)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("broken checksum with the magic 0 allowance: %v", err)
	}
	got, err = decompress(nil, CodecLZ4, good, 0, true)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("right checksum with the magic 0 allowance: %v", err)
	}
}

func TestLZ4HeaderChecksumKnownValues(t *testing.T) {
	// xxHash32 reference values (seed 0).
	for in, want := range map[string]uint32{
		"":    0x02cc5d05,
		"a":   0x550d7456,
		"abc": 0x32d153ff,
		"Nobody inspects the spammish repetition": 0xe2293b2f,
	} {
		if got := lz4HeaderChecksum([]byte(in)); got != want {
			t.Errorf("xxh32(%q) = %#08x, want %#08x", in, got, want)
		}
	}
}

// Pooled zstd decoders are set up for a limit; a different limit must take
// effect.
func TestZstdPoolHonoursEachLimit(t *testing.T) {
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB
	_, _ = w.Write(data)
	_ = w.Close()
	for _, tt := range []struct {
		limit int
		want  *kerr.Error
	}{{4 << 20, nil}, {1 << 20, kerr.InvalidRecord}, {4 << 20, nil}, {len(data), nil}, {len(data) - 1, kerr.InvalidRecord}} {
		_, err := Decompress(nil, CodecZstd, buf.Bytes(), tt.limit)
		wantCode(t, err, tt.want)
	}
}

// The Java client streams zstd with a 2 MiB window at level 3 (128 MiB at
// level 22) however small the batch. With a smaller limit that window must
// neither be refused nor allocated.
func TestZstdLargeDeclaredWindow(t *testing.T) {
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(64<<20))
	data := encodeFranzRecords(franzRecords(5, 100))
	_, _ = w.Write(data)
	_ = w.Close()
	if buf.Bytes()[4]&0x20 != 0 {
		t.Fatal("test needs a frame that declares its window")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := Decompress(nil, CodecZstd, buf.Bytes(), 4096)
	runtime.ReadMemStats(&after)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decompress: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes for a %d-byte batch", grew, len(data))
	}
	for _, tt := range []struct {
		limit int
		want  int64
	}{{1, 1024}, {1024, 1024}, {1025, 1152}, {4096, 4096}, {64 << 20, 64 << 20}, {(64 << 20) + 1, 72 << 20}} {
		if got := zstdWindow(tt.limit); got != tt.want {
			t.Errorf("zstdWindow(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}
