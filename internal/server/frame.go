package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// minFrameSize is the smallest valid request: api key, api version,
// correlation id and a null client id.
const minFrameSize = 2 + 2 + 4 + 2

// eagerAlloc is the largest frame allocated whole as soon as its size is
// known. A larger frame's first eagerAlloc bytes are read into a pooled
// buffer, and it is given memory as its bytes actually arrive, at most
// frameGrowth times what has arrived, so a client that announces a 100 MiB
// frame and sends ten bytes holds one pooled buffer, a 130 KiB produce is
// allocated once, and a 1 MiB one twice.
const (
	eagerAlloc  = 64 << 10
	frameGrowth = 4
)

// firstChunks holds the buffers a large frame's first bytes are read into.
var firstChunks = sync.Pool{New: func() any { return new([eagerAlloc]byte) }}

var (
	errFrameSize  = errors.New("request frame size out of bounds")
	errHeader     = errors.New("malformed request header")
	errUnknownAPI = errors.New("unsupported api key or version")
	errStopped    = errors.New("connection stopped while its request waited for the request queue")
)

// readSize reads a frame's 4-byte size prefix and checks it against the
// bounds before anything is allocated.
func readSize(r io.Reader, buf *[4]byte, max int32) (int32, error) {
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return 0, err
	}
	size := int32(binary.BigEndian.Uint32(buf[:]))
	if size < minFrameSize || size > max {
		return 0, fmt.Errorf("%w: %d (limit %d)", errFrameSize, size, max)
	}
	return size, nil
}

// readFrame reads a frame body of the given size (already bounded).
func readFrame(r io.Reader, size int32) ([]byte, error) {
	if size <= eagerAlloc {
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, unexpectedEOF(err)
		}
		return b, nil
	}
	first := firstChunks.Get().(*[eagerAlloc]byte)
	defer firstChunks.Put(first)
	b := first[:]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, unexpectedEOF(err)
	}
	for len(b) < int(size) {
		grown := make([]byte, len(b), min(frameGrowth*len(b), int(size)))
		copy(grown, b)
		n, err := io.ReadFull(r, grown[len(b):cap(grown)])
		b = grown[:len(b)+n]
		if err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	return b, nil
}

// unexpectedEOF reports a frame cut short as io.ErrUnexpectedEOF, however
// far into it the connection ended: its size prefix has already arrived,
// so this is never the clean end of a connection between requests.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// header is a parsed request header (v1 or v2; v0 is only used by
// ControlledShutdown v0, which samsa does not serve).
type header struct {
	key, version  int16
	correlationID int32
	clientID      string
	bodyOffset    int
}

// peekAPI returns the api key and version at the start of a frame.
func peekAPI(frame []byte) (key, version int16) {
	return int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
}

// parseHeader parses the request header of the given version from frame.
// Every length is bounded by the bytes left in the frame.
func parseHeader(frame []byte, headerVersion int) (header, error) {
	var h header
	h.key, h.version = peekAPI(frame)
	h.correlationID = int32(binary.BigEndian.Uint32(frame[4:]))
	p := 8
	n := int(int16(binary.BigEndian.Uint16(frame[p:])))
	p += 2
	if n > 0 {
		if n > len(frame)-p {
			return h, errHeader
		}
		h.clientID = string(frame[p : p+n])
		p += n
	} else if n < -1 {
		return h, errHeader
	}
	if headerVersion >= 2 {
		var err error
		if p, err = skipTags(frame, p); err != nil {
			return h, err
		}
	}
	h.bodyOffset = p
	return h, nil
}

// skipTags skips a tagged-field section starting at p. Each field takes at
// least two bytes, which bounds the count by the bytes left.
func skipTags(b []byte, p int) (int, error) {
	count, p, err := uvarint(b, p)
	if err != nil {
		return 0, err
	}
	if uint64(count) > uint64(len(b)-p)/2 {
		return 0, errHeader
	}
	for i := uint32(0); i < count; i++ {
		if _, p, err = uvarint(b, p); err != nil { // tag number
			return 0, err
		}
		var size uint32
		if size, p, err = uvarint(b, p); err != nil {
			return 0, err
		}
		if uint64(size) > uint64(len(b)-p) {
			return 0, errHeader
		}
		p += int(size)
	}
	return p, nil
}

// uvarint reads an unsigned varint of at most 5 bytes (a uint32).
func uvarint(b []byte, p int) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if p >= len(b) {
			return 0, 0, errHeader
		}
		c := b[p]
		p++
		if i == 4 && c > 0x0f {
			return 0, 0, errHeader
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, p, nil
		}
	}
	return 0, 0, errHeader
}
