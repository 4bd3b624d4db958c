package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// FuzzParseHeader feeds parseHeader every frame a client could send (readSize
// refuses frames shorter than minFrameSize) and compares it with a second
// reading of the header built on encoding/binary: the same fields, the same
// body offset, or an error from both.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0, 3, 0, 12, 0, 0, 0, 7, 0, 3, 'c', 'l', 'i', 0, 0xff}, false)
	f.Add([]byte{0, 3, 0, 12, 0, 0, 0, 7, 0xff, 0xff, 0}, true)                             // null client id, no tags
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 1, 'x', 2, 0, 1, 'a', 5, 2, 'b', 'c', 9}, true) // two tagged fields, then the body
	f.Add([]byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10}, true)         // a tag count past 32 bits
	f.Fuzz(func(t *testing.T, frame []byte, flexible bool) {
		if len(frame) < minFrameSize {
			return
		}
		hv := 1
		if flexible {
			hv = 2
		}
		got, err := parseHeader(frame, hv)
		want, ok := readHeader(frame, hv)
		if (err == nil) != ok {
			t.Fatalf("parseHeader error %v, the second reading ok %v", err, ok)
		}
		if !ok {
			return
		}
		if got != want {
			t.Fatalf("parseHeader %+v, the second reading %+v", got, want)
		}
	})
}

// readHeader reads a request header as parseHeader should, with the
// standard library's readers; ok is false where parseHeader must fail.
func readHeader(frame []byte, hv int) (h header, ok bool) {
	r := bytes.NewReader(frame)
	var fixed struct {
		Key, Version int16
		Correlation  int32
		ClientIDLen  int16
	}
	if binary.Read(r, binary.BigEndian, &fixed) != nil {
		return h, false
	}
	h.key, h.version, h.correlationID = fixed.Key, fixed.Version, fixed.Correlation
	switch n := int(fixed.ClientIDLen); {
	case n < -1:
		return h, false
	case n > 0:
		id := make([]byte, n)
		if _, err := io.ReadFull(r, id); err != nil {
			return h, false
		}
		h.clientID = string(id)
	}
	if hv >= 2 {
		// A uint32 varint: at most five bytes, at most 32 bits.
		uvarint := func() (uint64, bool) {
			start := r.Len()
			v, err := binary.ReadUvarint(r)
			return v, err == nil && start-r.Len() <= 5 && v <= math.MaxUint32
		}
		count, ok := uvarint()
		if !ok {
			return h, false
		}
		for range count {
			if _, ok := uvarint(); !ok { // the tag
				return h, false
			}
			size, ok := uvarint()
			if !ok || size > uint64(r.Len()) {
				return h, false
			}
			r.Seek(int64(size), io.SeekCurrent)
		}
	}
	h.bodyOffset = len(frame) - r.Len()
	return h, true
}
