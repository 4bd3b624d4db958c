package storage

import (
	"hash/maphash"
	"math/bits"
)

// offsetMap is the cleaner's key → latest offset map over the dirty
// section of a log (Kafka's OffsetMap). A key is kept as a 128-bit hash
// (two independently seeded maphash values, fresh seeds per map), so its
// memory does not depend on key sizes and two keys are confused only with
// probability about n²/2¹²⁹. Open addressing with double hashing over a
// prime-sized table; the table doubles as keys arrive, up to what maxKeys
// and the load factor allow, and is kept between passes.
//
// Not safe for concurrent use: each cleaner thread owns one.
type offsetMap struct {
	seed1, seed2 maphash.Seed
	slots        []mapSlot
	n            int     // keys stored
	maxKeys      int     // the most keys it may hold (the dedupe buffer's share)
	load         float64 // fill ratio, (0, 1]
}

// mapSlot is one table entry; next is the offset + 1, 0 for an empty slot,
// so that clearing is a memclr.
type mapSlot struct {
	h1, h2 uint64
	next   int64
}

func newOffsetMap(maxKeys int, load float64) *offsetMap {
	return &offsetMap{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), maxKeys: max(maxKeys, 1), load: load}
}

// reset empties the map, keeping its table.
func (m *offsetMap) reset() {
	clear(m.slots)
	m.n = 0
}

// full reports whether a new key would not fit.
func (m *offsetMap) full() bool { return m.n >= m.maxKeys }

// hash returns the two halves of key's 128-bit hash.
func (m *offsetMap) hash(key []byte) (uint64, uint64) {
	return maphash.Bytes(m.seed1, key), maphash.Bytes(m.seed2, key)
}

// find returns the slot holding (h1, h2), or the empty slot where it would
// go. The table always has an empty slot.
func (m *offsetMap) find(h1, h2 uint64) *mapSlot {
	size := uint64(len(m.slots))
	i, _ := bits.Mul64(h1, size)
	step, _ := bits.Mul64(h2, size-1)
	step++ // in [1, size-1]: coprime with the prime size, so every slot is visited
	for {
		s := &m.slots[i]
		if s.next == 0 || (s.h1 == h1 && s.h2 == h2) {
			return s
		}
		if i += step; i >= size {
			i -= size
		}
	}
}

// put records offset as key's latest offset (offsets arrive in increasing
// order). It returns false, changing nothing, when key is new and the map
// is full.
func (m *offsetMap) put(key []byte, offset int64) bool {
	h1, h2 := m.hash(key)
	if m.slots == nil {
		m.resize(min(1021, m.tableFor(m.maxKeys)))
	}
	s := m.find(h1, h2)
	if s.next == 0 {
		if m.full() {
			return false
		}
		if float64(m.n+1) > float64(len(m.slots)-1)*m.load && len(m.slots) < m.tableFor(m.maxKeys) {
			m.resize(min(2*len(m.slots), m.tableFor(m.maxKeys)))
			s = m.find(h1, h2)
		}
		s.h1, s.h2 = h1, h2
		m.n++
	}
	s.next = offset + 1
	return true
}

// get returns key's latest offset, or -1 when the map does not hold it.
func (m *offsetMap) get(key []byte) int64 {
	if m.n == 0 {
		return -1
	}
	h1, h2 := m.hash(key)
	return m.find(h1, h2).next - 1
}

// tableFor is the table size that holds keys at the load factor with an
// empty slot to spare.
func (m *offsetMap) tableFor(keys int) int {
	return nextPrime(int(float64(keys)/m.load) + 2)
}

// resize rehashes into a table of at least size slots (a prime).
func (m *offsetMap) resize(size int) {
	old := m.slots
	m.slots = make([]mapSlot, nextPrime(size))
	for i := range old {
		if s := &old[i]; s.next != 0 {
			*m.find(s.h1, s.h2) = *s
		}
	}
}

// nextPrime returns the smallest prime ≥ n (n ≥ 2), by trial division:
// tables are resized a few dozen times in a process's life.
func nextPrime(n int) int {
	if n <= 2 {
		return 2
	}
	if n%2 == 0 {
		n++
	}
	for ; ; n += 2 {
		prime := true
		for d := 3; d*d <= n; d += 2 {
			if n%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			return n
		}
	}
}
