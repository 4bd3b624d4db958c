package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"syscall"
)

// index is one memory-mapped index file of a segment, .index or .timeindex.
// The mapping lives outside the Go heap.
//
// The active segment's indexes are preallocated to SegmentIndexBytes and
// mapped read-write; when the segment stops being active they are trimmed to
// the entries in use and remapped read-only. Older segments' indexes are
// mapped lazily, read-only, on first lookup.
//
// Concurrency: mu guards the mapping and the entry count. Lookups hold the
// read lock for a binary search; append, trim, truncate and unmap take the
// write lock, so no lookup ever touches an unmapped or resized region.
type index struct {
	path      string // guarded by mu (renamed on delete)
	entrySize int    // immutable
	base      int64  // segment base offset; immutable

	mu       sync.RWMutex
	data     []byte // mapping; nil when unmapped or empty
	n        int    // entries in use
	max      int    // capacity in entries while writable
	writable bool
	loaded   bool // data/n reflect the file
}

func newIndex(path string, entrySize int, base int64) *index {
	return &index{path: path, entrySize: entrySize, base: base}
}

var errIndexSize = errors.New("storage: index file size is not a multiple of its entry size")

// mmapFile maps size bytes of f.
func mmapFile(f *os.File, size int, writable bool) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	prot := syscall.PROT_READ
	if writable {
		prot |= syscall.PROT_WRITE
	}
	return syscall.Mmap(int(f.Fd()), 0, size, prot, syscall.MAP_SHARED)
}

func (ix *index) unmapLocked() {
	if ix.data != nil {
		// Munmap fails only for bad arguments, which would be a bug here.
		if err := syscall.Munmap(ix.data); err != nil {
			panic(fmt.Sprintf("storage: munmap %s: %v", ix.path, err))
		}
		ix.data = nil
	}
}

// loadLocked maps the file read-only as it is on disk.
func (ix *index) loadLocked() error {
	f, err := os.Open(ix.path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size%int64(ix.entrySize) != 0 || size > math.MaxInt32 {
		return fmt.Errorf("%w: %s has %d bytes", errIndexSize, ix.path, size)
	}
	ix.unmapLocked()
	data, err := mmapFile(f, int(size), false)
	if err != nil {
		return fmt.Errorf("mmap %s: %w", ix.path, err)
	}
	ix.data, ix.n, ix.max, ix.writable, ix.loaded = data, int(size)/ix.entrySize, 0, false, true
	return nil
}

// activate makes the index writable with room for maxBytes/entrySize
// entries, keeping the n entries in use. create truncates an existing file.
func (ix *index) activate(maxBytes int32, create bool) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	flags := os.O_RDWR | os.O_CREATE
	if create {
		flags |= os.O_TRUNC
		ix.n = 0
	}
	f, err := os.OpenFile(ix.path, flags, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	capEntries := int(maxBytes) / ix.entrySize
	if capEntries < ix.n {
		capEntries = ix.n
	}
	size := capEntries * ix.entrySize
	if err := f.Truncate(int64(size)); err != nil {
		return err
	}
	ix.unmapLocked()
	data, err := mmapFile(f, size, true)
	if err != nil {
		return fmt.Errorf("mmap %s: %w", ix.path, err)
	}
	ix.data, ix.max, ix.writable, ix.loaded = data, capEntries, true, true
	return nil
}

// trim shrinks the file to the entries in use and remaps it read-only; the
// index takes no more entries afterwards.
func (ix *index) trim() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.writable {
		return nil
	}
	ix.unmapLocked()
	ix.writable, ix.max = false, 0
	f, err := os.OpenFile(ix.path, os.O_RDWR, 0)
	if err != nil {
		ix.loaded = false
		return err
	}
	defer f.Close()
	size := ix.n * ix.entrySize
	if err := f.Truncate(int64(size)); err != nil {
		ix.loaded = false
		return err
	}
	data, err := mmapFile(f, size, false)
	if err != nil {
		ix.loaded = false
		return fmt.Errorf("mmap %s: %w", ix.path, err)
	}
	ix.data = data
	return nil
}

// sync fsyncs the index file (which also writes back pages dirtied through
// a shared mapping).
func (ix *index) sync() error {
	ix.mu.RLock()
	path := ix.path
	ix.mu.RUnlock()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// full reports whether a writable index has no room for another entry.
func (ix *index) full() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.writable && ix.n >= ix.max
}

// entries returns the number of entries in use.
func (ix *index) entries() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n
}

// reset drops every entry (before a rebuild).
func (ix *index) reset() {
	ix.mu.Lock()
	ix.n = 0
	ix.mu.Unlock()
}

// close unmaps the index.
func (ix *index) close() {
	ix.mu.Lock()
	ix.unmapLocked()
	ix.n, ix.loaded, ix.writable = 0, false, false
	ix.mu.Unlock()
}

// rename moves the file, keeping the mapping.
func (ix *index) rename(newPath string) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	err := os.Rename(ix.path, newPath)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		ix.path = newPath
		return nil
	}
	return err
}

// rlockLoaded takes the read lock with the file mapped. The caller must
// RUnlock. A load failure leaves the index empty (lookups fall back to
// scanning) and is returned for logging.
func (ix *index) rlockLoaded() error {
	ix.mu.RLock()
	if ix.loaded {
		return nil
	}
	ix.mu.RUnlock()
	ix.mu.Lock()
	var err error
	if !ix.loaded {
		if err = ix.loadLocked(); err != nil {
			ix.unmapLocked()
			ix.n, ix.loaded = 0, true
		}
	}
	ix.mu.Unlock()
	ix.mu.RLock()
	return err
}

// Offset index entries: relative offset (int32) and file position (int32),
// big endian. An entry (o, p) says the batch starting at p has last offset
// base+o.

func (ix *index) offsetEntryLocked(i int) (rel int32, pos int32) {
	e := ix.data[i*offsetEntrySize:]
	return int32(binary.BigEndian.Uint32(e)), int32(binary.BigEndian.Uint32(e[4:]))
}

// appendOffset adds an offset index entry. The caller guarantees room and
// monotonic order.
func (ix *index) appendOffset(offset int64, pos int64) {
	ix.mu.Lock()
	e := ix.data[ix.n*offsetEntrySize:]
	binary.BigEndian.PutUint32(e, uint32(offset-ix.base))
	binary.BigEndian.PutUint32(e[4:], uint32(pos))
	ix.n++
	ix.mu.Unlock()
}

// lookupOffset returns the position of the last indexed batch whose last
// offset is ≤ target, or 0 when there is none: a place to start scanning
// forward for the batch holding target.
func (ix *index) lookupOffset(target int64) (pos int64) {
	if err := ix.rlockLoaded(); err != nil {
		_ = err // reported by segment.loadIndexes; lookups just scan
	}
	defer ix.mu.RUnlock()
	rel := target - ix.base
	lo, hi := 0, ix.n // find the first entry with offset > rel
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if o, _ := ix.offsetEntryLocked(m); int64(o) > rel {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return 0
	}
	_, p := ix.offsetEntryLocked(lo - 1)
	return int64(p)
}

// lookupPosition returns the position of the last indexed batch starting at
// or before limit, or 0.
func (ix *index) lookupPosition(limit int64) int64 {
	_ = ix.rlockLoaded()
	defer ix.mu.RUnlock()
	lo, hi := 0, ix.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if _, p := ix.offsetEntryLocked(m); int64(p) > limit {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return 0
	}
	_, p := ix.offsetEntryLocked(lo - 1)
	return int64(p)
}

// lastOffsetEntry returns the last offset index entry.
func (ix *index) lastOffsetEntry() (offset int64, pos int64, ok bool) {
	_ = ix.rlockLoaded()
	defer ix.mu.RUnlock()
	if ix.n == 0 {
		return 0, 0, false
	}
	o, p := ix.offsetEntryLocked(ix.n - 1)
	return ix.base + int64(o), int64(p), true
}

// truncateOffsetsFrom drops offset index entries for offsets ≥ offset.
func (ix *index) truncateOffsetsFrom(offset int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for ix.n > 0 {
		if o, _ := ix.offsetEntryLocked(ix.n - 1); ix.base+int64(o) < offset {
			break
		}
		ix.n--
	}
}

// checkOffsets verifies that the entries are strictly increasing in offset
// and position, that positions lie below logSize and offsets at or below
// maxOffset (when ≥ 0).
func (ix *index) checkOffsets(logSize int64) error {
	if err := ix.rlockLoaded(); err != nil {
		ix.mu.RUnlock()
		return err
	}
	defer ix.mu.RUnlock()
	prevO, prevP := int64(-1), int64(-1)
	for i := 0; i < ix.n; i++ {
		o, p := ix.offsetEntryLocked(i)
		if int64(o) <= prevO || int64(p) <= prevP || int64(p) >= logSize || o < 0 {
			return fmt.Errorf("%w: %s entry %d (%d, %d)", ErrCorrupt, ix.path, i, o, p)
		}
		prevO, prevP = int64(o), int64(p)
	}
	return nil
}
