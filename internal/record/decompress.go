package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// DefaultDecompressLimit is the decompressed size allowed for one batch
// when the caller gives none.
const DefaultDecompressLimit = 64 << 20

// lz4FrameMagic starts every LZ4 frame Kafka writes. The legacy LZ4 frame
// format, which the lz4 library also reads, is refused: no Kafka client
// writes it, and its 8 MiB blocks would be allocated before the cap could
// say no.
const lz4FrameMagic = 0x184D2204

// DecompressReader reads the decompressed form of a batch's records
// section. Every codec is read as a stream, so memory stays bounded however
// much the input claims to expand, and reading more than the limit fails with
// INVALID_RECORD: a decompression bomb costs at most the limit, plus a
// codec's fixed working memory (lz4: its block size, at most 4 MiB; zstd:
// 384 KiB; gzip: its 32 KiB window). Malformed compressed data
// fails with CORRUPT_MESSAGE.
//
// A DecompressReader is not safe for concurrent use. Get one with
// NewDecompressReader and hand it back with Release.
type DecompressReader struct {
	codec Codec
	inner io.Reader // the codec's reader
	limit int64
	n     int64 // decompressed bytes returned so far
	err   error // sticky
	empty int   // reads in a row that returned nothing

	src  bytes.Reader
	head prefixReader // src with a rewritten lz4 or zstd frame header
	gz   *gzip.Reader
	lz   *lz4.Reader
	zs   *zstdDecoder
	sn   snappyReader
}

var decompressPool = sync.Pool{New: func() any { return new(DecompressReader) }}

// NewDecompressReader returns a reader of src decompressed with codec, which
// must be one of the four compression codecs. limit ≤ 0 means
// DefaultDecompressLimit.
func NewDecompressReader(codec Codec, src []byte, limit int) (*DecompressReader, error) {
	return newDecompressReader(codec, src, limit, false)
}

// newDecompressReader is NewDecompressReader; brokenLZ4 accepts the frame
// header checksum that magic 0 producers computed wrongly (KAFKA-3160).
func newDecompressReader(codec Codec, src []byte, limit int, brokenLZ4 bool) (*DecompressReader, error) {
	if limit <= 0 {
		limit = DefaultDecompressLimit
	}
	d := decompressPool.Get().(*DecompressReader)
	d.codec, d.limit, d.n, d.err, d.empty = codec, int64(limit), 0, nil, 0
	d.src.Reset(src)
	var err error
	switch codec {
	case CodecGzip:
		if d.gz == nil {
			d.gz = new(gzip.Reader)
		}
		if err = d.gz.Reset(&d.src); err == nil {
			d.inner = d.gz
		}
	case CodecSnappy:
		d.sn.reset(src, limit)
		d.inner = &d.sn
	case CodecLZ4:
		var r io.Reader = &d.src
		if len(src) < 4 || binary.LittleEndian.Uint32(src) != lz4FrameMagic {
			err = errors.New("not an lz4 frame")
			break
		}
		if brokenLZ4 {
			d.head.reset(src, lz4Header(d.head.buf[:0], src))
			r = &d.head
		}
		if d.lz == nil {
			d.lz = lz4.NewReader(nil)
		}
		d.lz.Reset(r)
		d.inner = d.lz
	case CodecZstd:
		window := zstdWindow(max(limit, zstdMaxBlock))
		d.head.reset(src, zstdHeader(d.head.buf[:0], src, window))
		d.zs = getZstd(window)
		if err = d.zs.dec.Reset(&d.head); err == nil {
			d.inner = d.zs.dec
		}
	default:
		d.Release()
		return nil, unsupportedCodecf("compression codec %d", codec)
	}
	if err != nil {
		d.Release()
		return nil, codecErr(codec, err, limit)
	}
	return d, nil
}

// Read reads decompressed bytes.
func (d *DecompressReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for at most one byte past the limit: enough to see it passed.
	if allowed := d.limit + 1 - d.n; int64(len(p)) > allowed {
		p = p[:allowed]
	}
	n, err := d.inner.Read(p)
	d.n += int64(n)
	if n == 0 && err == nil {
		// A decoder that makes no progress must not spin its caller.
		if d.empty++; d.empty >= 100 {
			err = io.ErrNoProgress
		}
	} else {
		d.empty = 0
	}
	if d.n > d.limit {
		d.err = errOverLimit(int(d.limit))
		return n - int(d.n-d.limit), d.err
	}
	if err != nil {
		if err == io.EOF {
			d.err = io.EOF
		} else {
			d.err = codecErr(d.codec, err, int(d.limit))
			return n, d.err
		}
	}
	return n, err
}

// Release hands the reader and its decoder back to their pools.
func (d *DecompressReader) Release() {
	d.src.Reset(nil)
	d.head.reset(nil, nil)
	d.sn.reset(nil, 0)
	if cap(d.sn.out) > readerKeepBuf {
		d.sn.out = nil
	}
	if d.zs != nil {
		_ = d.zs.dec.Reset(nil)
		zstdPool.Put(d.zs)
		d.zs = nil
	}
	if d.lz != nil {
		d.lz.Reset(nil)
	}
	d.inner, d.err = nil, nil
	decompressPool.Put(d)
}

// Decompress appends src decompressed with codec to dst. CodecNone copies.
// More than limit bytes (≤ 0: DefaultDecompressLimit) is INVALID_RECORD.
// dst grows with the bytes that actually arrive, by at most the limit.
func Decompress(dst []byte, codec Codec, src []byte, limit int) ([]byte, error) {
	return decompress(dst, codec, src, limit, false)
}

func decompress(dst []byte, codec Codec, src []byte, limit int, brokenLZ4 bool) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultDecompressLimit
	}
	if codec == CodecNone {
		if len(src) > limit {
			return dst, errOverLimit(limit)
		}
		return append(dst, src...), nil
	}
	d, err := newDecompressReader(codec, src, limit, brokenLZ4)
	if err != nil {
		return dst, err
	}
	defer d.Release()
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			// Double what has arrived, but never reserve more than one
			// byte past the limit.
			got := len(dst) - start
			dst = slices.Grow(dst, min(max(got, 4096), limit+1-got))
		}
		n, err := d.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// codecErr maps a decoder's error to a protocol outcome.
func codecErr(codec Codec, err error, limit int) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
		return invalidf("zstd frame needs more than the limit of %d bytes: %v", limit, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return corruptf("compressed data truncated")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, codec.String()) {
		msg = codec.String() + ": " + msg
	}
	return corruptf("%s", msg)
}

// zstdDecoder is a pooled zstd decoder and the window it was set up for. It
// runs synchronously (concurrency 1): no goroutines.
type zstdDecoder struct {
	dec    *zstd.Decoder
	window int64
}

var zstdPool sync.Pool

// getZstd returns a decoder that refuses frames with a window over window,
// before allocating it.
func getZstd(window int64) *zstdDecoder {
	w := uint64(window)
	if z, ok := zstdPool.Get().(*zstdDecoder); ok {
		if z.window != window {
			// Options apply at the next Reset, which the caller does.
			_ = z.dec.ResetWithOptions(nil, zstd.WithDecoderMaxWindow(w), zstd.WithDecoderMaxMemory(w))
			z.window = window
		}
		return z
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(w),
		zstd.WithDecoderMaxMemory(w),
	)
	if err != nil {
		panic("record: zstd decoder options: " + err.Error()) // valid by construction
	}
	return &zstdDecoder{dec: dec, window: window}
}

// A zstd decoder allocates the window its frame header declares before
// decoding anything, and encoders declare windows far larger than a batch
// (the Java client streams with 2 MiB at level 3 and up to 128 MiB at level
// 22). But when at most limit bytes may come out, no match can reach back
// further than limit, so a window of limit decodes any frame that stays
// within the limit exactly as the declared one would. zstdHeader lowers
// the declared window to that, though never below the largest block
// (zstdMaxBlock), which a smaller window would also shrink: an oversized
// block must fail the limit, not look corrupt. The decoder's buffers are
// then the window plus two blocks: at most the limit plus 384 KiB.

// zstdMaxBlock is the largest block a zstd frame may hold.
const zstdMaxBlock = 128 << 10

// zstdWindow is the smallest window a zstd frame header can declare that
// covers limit bytes. Windows are int64: a header can declare 2^41 bytes,
// more than an int holds on 32-bit platforms.
func zstdWindow(limit int) int64 {
	for e := range 32 {
		base := int64(1) << (10 + e)
		for m := range int64(8) {
			if w := base + base/8*m; w >= int64(limit) {
				return w
			}
		}
	}
	return 1 << 41 // unreachable for an int limit
}

// zstdHeader appends to dst the first frame's header up to and including
// its window descriptor, with the window lowered to window, and returns
// dst; it returns nil when src needs no change. Single-segment frames
// declare no window: theirs is their content size, which the decoder bounds
// by the limit.
func zstdHeader(dst, src []byte, window int64) []byte {
	const magic = 0xFD2FB528
	if len(src) < 6 || binary.LittleEndian.Uint32(src) != magic || src[4]&0x20 != 0 {
		return nil
	}
	desc := src[5]
	base := int64(1) << (10 + desc>>3)
	if declared := base + base/8*int64(desc&7); declared <= window {
		return nil
	}
	var nd byte
	for e := range 32 {
		base := int64(1) << (10 + e)
		if base+base/8*7 >= window {
			m := (window - base + base/8 - 1) / (base / 8)
			nd = byte(e<<3) | byte(max(m, 0))
			break
		}
	}
	return append(append(dst, src[:5]...), nd)
}

// lz4Header appends src's LZ4 frame header to dst with its checksum byte
// recomputed and returns dst, or nil when src is too short to hold one. Kafka before 0.10
// (magic 0) hashed the magic number into that checksum (KAFKA-3160); Kafka
// accepts such frames for magic 0 by not checking it, and this is the same.
func lz4Header(dst, src []byte) []byte {
	// magic(4) FLG(1) BD(1) [content size(8)] [dict id(4)] HC(1)
	if len(src) < 7 {
		return nil
	}
	n := 6
	if src[4]&0x08 != 0 {
		n += 8
	}
	if src[4]&0x01 != 0 {
		n += 4
	}
	if len(src) < n+1 {
		return nil
	}
	return append(append(dst, src[:n]...), byte(lz4HeaderChecksum(src[4:n])>>8))
}

// prefixReader reads src with its first len(head) bytes replaced by head.
type prefixReader struct {
	buf  [19]byte // the largest header replaced: an lz4 frame's
	head []byte   // head bytes not read yet
	rest bytes.Reader
}

// reset starts reading src with head in place of its start; head may be a
// prefix of p.buf.
func (p *prefixReader) reset(src, head []byte) {
	n := copy(p.buf[:], head)
	p.head = p.buf[:n]
	p.rest.Reset(src[min(n, len(src)):])
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.rest.Read(b)
}

// lz4HeaderChecksum is xxHash32 with seed 0, which the lz4 frame format
// uses for its header checksum byte (bits 8-15 of the hash).
func lz4HeaderChecksum(b []byte) uint32 {
	var (
		p1 uint32 = 2654435761
		p2 uint32 = 2246822519
		p3 uint32 = 3266489917
		p4 uint32 = 668265263
		p5 uint32 = 374761393
	)
	round := func(acc, x uint32) uint32 { return bits.RotateLeft32(acc+x*p2, 13) * p1 }
	n := uint32(len(b))
	var h uint32
	if len(b) >= 16 {
		v1, v2, v3, v4 := p1+p2, p2, uint32(0), -p1
		for ; len(b) >= 16; b = b[16:] {
			v1 = round(v1, binary.LittleEndian.Uint32(b))
			v2 = round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(b[12:]))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = p5
	}
	h += n
	for ; len(b) >= 4; b = b[4:] {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(b)*p3, 17) * p4
	}
	for _, c := range b {
		h = bits.RotateLeft32(h+uint32(c)*p5, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
