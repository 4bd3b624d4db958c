package storage

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Time index entries: timestamp (int64, ms) and relative offset (int32),
// big endian. An entry (t, o) says every record before offset base+o+1 has
// a timestamp ≤ t, and the batch with last offset base+o reached t.

func (ix *index) timeEntryLocked(i int) (ts int64, rel int32) {
	e := ix.data[i*timeEntrySize:]
	return int64(binary.BigEndian.Uint64(e)), int32(binary.BigEndian.Uint32(e[8:]))
}

// maybeAppendTime adds a time index entry when ts is above the last one.
func (ix *index) maybeAppendTime(ts int64, offset int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.writable || ix.n >= ix.max {
		return
	}
	if ix.n > 0 {
		if last, _ := ix.timeEntryLocked(ix.n - 1); ts <= last {
			return
		}
	}
	e := ix.data[ix.n*timeEntrySize:]
	binary.BigEndian.PutUint64(e, uint64(ts))
	binary.BigEndian.PutUint32(e[8:], uint32(offset-ix.base))
	ix.n++
}

// lookupTime returns the last entry with timestamp ≤ ts, or (-1, base).
func (ix *index) lookupTime(ts int64) (int64, int64) {
	_ = ix.rlockLoaded()
	defer ix.mu.RUnlock()
	lo, hi := 0, ix.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t, _ := ix.timeEntryLocked(m); t > ts {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return -1, ix.base
	}
	t, o := ix.timeEntryLocked(lo - 1)
	return t, ix.base + int64(o)
}

// lastTimeEntry returns the last time index entry.
func (ix *index) lastTimeEntry() (ts int64, offset int64, ok bool) {
	_ = ix.rlockLoaded()
	defer ix.mu.RUnlock()
	if ix.n == 0 {
		return -1, -1, false
	}
	t, o := ix.timeEntryLocked(ix.n - 1)
	return t, ix.base + int64(o), true
}

// truncateTimesFrom drops time index entries for offsets ≥ offset.
func (ix *index) truncateTimesFrom(offset int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for ix.n > 0 {
		if _, o := ix.timeEntryLocked(ix.n - 1); ix.base+int64(o) < offset {
			break
		}
		ix.n--
	}
}

// checkTimes verifies that entries increase strictly in timestamp and do
// not decrease in offset, with offsets at or below lastOffset.
func (ix *index) checkTimes(lastOffset int64) error {
	if err := ix.rlockLoaded(); err != nil {
		ix.mu.RUnlock()
		return err
	}
	defer ix.mu.RUnlock()
	prevT, prevO := int64(math.MinInt64), int64(-1)
	for i := 0; i < ix.n; i++ {
		t, o := ix.timeEntryLocked(i)
		if t <= prevT || int64(o) < prevO || o < 0 || ix.base+int64(o) > lastOffset {
			return fmt.Errorf("%w: %s entry %d (%d, %d)", ErrCorrupt, ix.path, i, t, o)
		}
		prevT, prevO = t, int64(o)
	}
	return nil
}
