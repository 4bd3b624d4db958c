package record

import (
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compressors, for recompression, conversion of old message sets, and
// tests. Their output is what the Java client writes, so every client can
// read it: gzip (default level), xerial-framed snappy in 32 KiB blocks, an
// LZ4 frame in 64 KiB independent blocks with a content checksum, and a zstd
// frame at the default level. All pools; nothing here starts a goroutine.

// Compress appends src compressed with codec to dst. CodecNone appends src
// as it is. An unknown codec is UNSUPPORTED_COMPRESSION_TYPE.
func Compress(dst []byte, codec Codec, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		return compressGzip(dst, src), nil
	case CodecSnappy:
		return appendXerial(dst, src), nil
	case CodecLZ4:
		return compressLZ4(dst, src), nil
	case CodecZstd:
		return zstdEncoder().EncodeAll(src, dst), nil
	}
	return dst, unsupportedCodecf("compression codec %d", codec)
}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type gzipCompressor struct {
	w   *gzip.Writer
	out appendWriter
}

var gzipPool = sync.Pool{New: func() any {
	c := new(gzipCompressor)
	c.w, _ = gzip.NewWriterLevel(&c.out, gzip.DefaultCompression) // a valid level cannot fail
	return c
}}

func compressGzip(dst, src []byte) []byte {
	c := gzipPool.Get().(*gzipCompressor)
	c.out.b = dst
	c.w.Reset(&c.out)
	// Writing to an appendWriter cannot fail, so neither can these.
	_, _ = c.w.Write(src)
	_ = c.w.Close()
	dst = c.out.b
	c.out.b = nil
	gzipPool.Put(c)
	return dst
}

type lz4Compressor struct {
	w   *lz4.Writer
	out appendWriter
}

var lz4Pool = sync.Pool{New: func() any {
	c := new(lz4Compressor)
	c.w = lz4.NewWriter(&c.out)
	// Constant, valid options.
	_ = c.w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(true), lz4.ConcurrencyOption(1))
	return c
}}

func compressLZ4(dst, src []byte) []byte {
	c := lz4Pool.Get().(*lz4Compressor)
	c.out.b = dst
	c.w.Reset(&c.out)
	_, _ = c.w.Write(src)
	_ = c.w.Close()
	dst = c.out.b
	c.out.b = nil
	c.w.Reset(nil)
	lz4Pool.Put(c)
	return dst
}

var (
	zstdEncOnce sync.Once
	zstdEnc     *zstd.Encoder
)

// zstdEncoder returns the shared encoder. EncodeAll may be called
// concurrently (up to GOMAXPROCS at once, each with its own state) and runs
// on the caller's goroutine; only the streaming API would start goroutines.
func zstdEncoder() *zstd.Encoder {
	zstdEncOnce.Do(func() {
		var err error
		zstdEnc, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithZeroFrames(true),
			// 1 MiB keeps readers' memory small; batches are rarely larger.
			zstd.WithWindowSize(1<<20),
		)
		if err != nil {
			panic("record: zstd encoder options: " + err.Error()) // options are constants
		}
	})
	return zstdEnc
}
