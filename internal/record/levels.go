package record

import (
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression levels (KIP-390: compression.gzip.level, compression.lz4.level,
// compression.zstd.level), in Kafka's numbers, for batches the broker
// recompresses. Kafka's default level of each codec compresses exactly as
// Compress does; other levels get compressors of their own, made on first
// use and pooled like the default ones:
//   - gzip: 1 to 9 (or -1, the default), as Go's gzip takes them;
//   - lz4: Kafka's default 9 is LZ4's fast compressor, as in Kafka; the
//     other levels, 1 to 17, are LZ4 HC levels, which pierrec/lz4 has nine
//     of, so Kafka's level n is its level (n+1)/2;
//   - zstd: any level, mapped as the zstd library maps levels to its four
//     speeds (below 3 fastest, 3 to 5 default, 6 to 9 better, 10 and up
//     best).

// Kafka's default levels.
const (
	DefaultGzipLevel = -1
	DefaultLZ4Level  = 9
	DefaultZstdLevel = 3
)

// DefaultLevel is Kafka's default level of codec (0 for codecs without
// levels).
func DefaultLevel(codec Codec) int {
	switch codec {
	case CodecGzip:
		return DefaultGzipLevel
	case CodecLZ4:
		return DefaultLZ4Level
	case CodecZstd:
		return DefaultZstdLevel
	}
	return 0
}

// CompressLevel is Compress at a codec's level in Kafka's numbers; level
// is ignored by CodecNone and CodecSnappy.
func CompressLevel(dst []byte, codec Codec, level int, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip, CodecLZ4:
		return compressPooled(levelPool(codec, level), dst, src), nil
	case CodecSnappy:
		return appendXerial(dst, src), nil
	case CodecZstd:
		return zstdLevelEncoder(zstd.EncoderLevelFromZstd(level)).EncodeAll(src, dst), nil
	}
	return dst, unsupportedCodecf("compression codec %d", codec)
}

// levelKey names the pool of one codec at one level.
type levelKey struct {
	codec Codec
	level int
}

var levelPools sync.Map // levelKey -> *sync.Pool of streamCompressor

// streamCompressor is a pooled gzip or lz4 writer and its output.
type streamCompressor struct {
	w interface {
		Write([]byte) (int, error)
		Close() error
	}
	reset func(*appendWriter)
	out   appendWriter
}

func levelPool(codec Codec, level int) *sync.Pool {
	key := levelKey{codec, level}
	if p, ok := levelPools.Load(key); ok {
		return p.(*sync.Pool)
	}
	p, _ := levelPools.LoadOrStore(key, &sync.Pool{New: func() any { return newStreamCompressor(codec, level) }})
	return p.(*sync.Pool)
}

func newStreamCompressor(codec Codec, level int) *streamCompressor {
	c := new(streamCompressor)
	if codec == CodecGzip {
		w, err := gzip.NewWriterLevel(&c.out, level)
		if err != nil { // a level config did not validate
			w, _ = gzip.NewWriterLevel(&c.out, gzip.DefaultCompression)
		}
		c.w, c.reset = w, func(out *appendWriter) { w.Reset(out) }
		return c
	}
	w := lz4.NewWriter(&c.out)
	opts := []lz4.Option{lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(true), lz4.ConcurrencyOption(1)}
	if level != DefaultLZ4Level {
		hc := lz4.CompressionLevel(1 << (8 + min(max((level+1)/2, 1), 9) - 1)) // lz4.Level1 is 1<<8
		opts = append(opts, lz4.CompressionLevelOption(hc))
	}
	_ = w.Apply(opts...) // constant, valid options
	c.w, c.reset = w, func(out *appendWriter) { w.Reset(out) }
	return c
}

func compressPooled(p *sync.Pool, dst, src []byte) []byte {
	c := p.Get().(*streamCompressor)
	c.out.b = dst
	c.reset(&c.out)
	// Writing to an appendWriter cannot fail, so neither can these.
	_, _ = c.w.Write(src)
	_ = c.w.Close()
	dst = c.out.b
	c.out.b = nil
	p.Put(c)
	return dst
}

var zstdLevelEncoders sync.Map // zstd.EncoderLevel -> *zstd.Encoder

// zstdLevelEncoder is the shared encoder of one zstd speed. EncodeAll may
// be called concurrently (up to GOMAXPROCS at once, each with its own
// state) and runs on the caller's goroutine; only the streaming API would
// start goroutines. The 1 MiB window keeps readers' memory small; batches
// are rarely larger.
func zstdLevelEncoder(l zstd.EncoderLevel) *zstd.Encoder {
	if e, ok := zstdLevelEncoders.Load(l); ok {
		return e.(*zstd.Encoder)
	}
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithZeroFrames(true), zstd.WithWindowSize(1<<20))
	if err != nil {
		panic("record: zstd encoder options: " + err.Error()) // options are constants
	}
	actual, loaded := zstdLevelEncoders.LoadOrStore(l, e)
	if loaded {
		e.Close()
	}
	return actual.(*zstd.Encoder)
}
