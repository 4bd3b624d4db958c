package group

import "encoding/binary"

// The flexible (v4) value versions end in tag sections, and kmsg reads a
// tag section with a loop that counts down a length it does not bound by
// the bytes present: corrupt bytes claiming 2^32 tags would keep the loader
// busy for minutes. Kafka writes these versions rarely (3.x and 4.x write
// v3), so before kmsg sees a flexible value, flexScan walks its layout and
// accepts it only if every length fits the bytes present. It allocates
// nothing.

type flexScan struct {
	b  []byte
	ok bool
}

func (s *flexScan) skip(n int) {
	if !s.ok || n < 0 || n > len(s.b) {
		s.ok = false
		return
	}
	s.b = s.b[n:]
}

func (s *flexScan) uvarint() uint64 {
	if !s.ok {
		return 0
	}
	v, n := binary.Uvarint(s.b)
	if n <= 0 || n > 5 {
		s.ok = false
		return 0
	}
	s.b = s.b[n:]
	return v
}

// compact skips a compact string or byte array (length+1 as uvarint; 0 is
// null, allowed when nullable).
func (s *flexScan) compact(nullable bool) {
	l := s.uvarint()
	if l == 0 {
		if !nullable {
			s.ok = false
		}
		return
	}
	s.skip(int(l - 1))
}

// tags skips a tag section: a count, then count × (tag, size, size bytes).
// Each tag takes at least two bytes, which bounds the count.
func (s *flexScan) tags() {
	n := s.uvarint()
	if n > uint64(len(s.b)/2) {
		s.ok = false
		return
	}
	for ; n > 0 && s.ok; n-- {
		s.uvarint()
		s.skip(int(s.uvarint()))
	}
}

// flexOffsetValueOK checks an OffsetCommitValue v4 body (after the version).
func flexOffsetValueOK(b []byte) bool {
	s := flexScan{b: b, ok: true}
	s.skip(8 + 4) // offset, leader epoch
	s.compact(false)
	s.skip(8) // commit timestamp
	s.tags()
	return s.ok && len(s.b) == 0
}

// flexGroupValueOK checks a GroupMetadataValue v4 body (after the version).
func flexGroupValueOK(b []byte) bool {
	s := flexScan{b: b, ok: true}
	s.compact(false) // protocol type
	s.skip(4)        // generation
	s.compact(true)  // protocol
	s.compact(true)  // leader
	s.skip(8)        // current state timestamp
	n := s.uvarint()
	if n > 0 {
		n-- // compact array: length+1
	}
	if n > uint64(len(s.b)) {
		return false
	}
	for ; n > 0 && s.ok; n-- {
		s.compact(false) // member id
		s.compact(true)  // instance id
		s.compact(false) // client id
		s.compact(false) // client host
		s.skip(4 + 4)    // rebalance and session timeouts
		s.compact(true)  // subscription (kmsg reads length 0 as empty)
		s.compact(true)  // assignment
		s.tags()
	}
	s.tags()
	return s.ok && len(s.b) == 0
}
