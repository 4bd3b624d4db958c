package record

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// Snappy in Kafka comes in two shapes, and clients differ in which they
// write:
//
//   - xerial framing, written by the Java client: the 8-byte magic
//     "\x82SNAPPY\x00", a 4-byte version, a 4-byte minimum compatible
//     version, then blocks of [int32 big-endian length][raw snappy block].
//   - one raw snappy block, written by librdkafka and older franz-go.
//
// Readers tell them apart by the magic, as every Kafka client does. This
// package writes xerial framing, which every client reads.

var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16
	// xerialBlockSize is the uncompressed block size the Java client uses.
	xerialBlockSize = 32 << 10
)

// xerialHeader is the magic followed by version 1 and compatible version 1;
// the Java reader refuses a compatible version it does not know.
var xerialHeader = append(append([]byte(nil), xerialMagic...), 0, 0, 0, 1, 0, 0, 0, 1)

// maxSnappyExpansion bounds what n bytes of a raw snappy block (after its
// length header) can decode to: the densest element is a 3-byte copy of 64
// bytes. A block claiming more is corrupt, and is rejected before its
// claimed size is allocated.
func maxSnappyExpansion(n int) int64 { return int64(n)*64/3 + 1 }

// snappyReader decodes either snappy shape one block at a time into a
// buffer it reuses.
type snappyReader struct {
	src    []byte // compressed bytes not decoded yet
	framed bool   // xerial framing
	out    []byte // the decoded block
	pos    int    // out[pos:] is not read yet
	limit  int64  // decoded bytes still allowed
	full   int    // the limit at reset, for errors
	blocks int    // blocks decoded
}

func (s *snappyReader) reset(src []byte, limit int) {
	s.framed = len(src) >= xerialHeaderSize && bytes.Equal(src[:len(xerialMagic)], xerialMagic)
	if s.framed {
		src = src[xerialHeaderSize:]
	}
	s.src, s.out, s.pos, s.limit, s.full, s.blocks = src, s.out[:0], 0, int64(limit), limit, 0
}

func (s *snappyReader) Read(p []byte) (int, error) {
	for s.pos == len(s.out) {
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.out[s.pos:])
	s.pos += n
	return n, nil
}

// next decodes the next block into out.
func (s *snappyReader) next() error {
	if len(s.src) == 0 {
		if !s.framed && s.blocks == 0 {
			return corruptf("snappy: no data")
		}
		return io.EOF
	}
	s.blocks++
	block := s.src
	if s.framed {
		if len(s.src) < 4 {
			return corruptf("snappy: %d stray bytes after the last xerial block", len(s.src))
		}
		size := int32(binary.BigEndian.Uint32(s.src))
		if size <= 0 || int(size) > len(s.src)-4 {
			return corruptf("snappy: xerial block length %d with %d bytes left", size, len(s.src)-4)
		}
		block, s.src = s.src[4:4+int(size)], s.src[4+int(size):]
	} else {
		s.src = nil
	}
	dl, err := snappy.DecodedLen(block)
	if err != nil {
		return corruptf("snappy: %v", err)
	}
	if int64(dl) > maxSnappyExpansion(len(block)) {
		return corruptf("snappy: block of %d bytes claims to decode to %d", len(block), dl)
	}
	if int64(dl) > s.limit {
		return errOverLimit(s.full)
	}
	s.limit -= int64(dl)
	if cap(s.out) < dl {
		s.out = make([]byte, dl)
	}
	out, err := snappy.DecodeStrict(s.out[:cap(s.out)], block)
	if err != nil {
		return corruptf("snappy: %v", err)
	}
	s.out, s.pos = out, 0
	return nil
}

// appendXerial appends src compressed with xerial-framed snappy.
func appendXerial(dst, src []byte) []byte {
	dst = append(dst, xerialHeader...)
	for len(src) > 0 {
		n := min(len(src), xerialBlockSize)
		dst = slices.Grow(dst, 4+s2.MaxEncodedLen(n))
		at := len(dst)
		block := s2.EncodeSnappy(dst[at+4:cap(dst)], src[:n])
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
		dst = dst[:at+4+len(block)]
		src = src[n:]
	}
	return dst
}
