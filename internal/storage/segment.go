package storage

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/samsa-io/samsa/internal/record"
)

// File name suffixes inside a partition directory.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	txnIndexSuffix  = ".txnindex"
	snapshotSuffix  = ".snapshot"
	deletedSuffix   = ".deleted"
	tmpSuffix       = ".tmp"
)

// segmentName is the 20-digit, zero-padded base offset that names every file
// of a segment.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

// parseSegmentName parses "<20 digits><suffix>".
func parseSegmentName(name, suffix string) (int64, bool) {
	s, ok := strings.CutSuffix(name, suffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v >= 0
}

// segment is one .log file with its .index and .timeindex.
//
// A segment is shared by the Log and by readers: refs counts the Log's own
// reference plus one per live Slice or in-flight read; the files close when
// it drops to zero, so a Slice keeps working after retention deleted the
// segment.
type segment struct {
	base int64 // first offset the segment may hold; immutable
	dir  string
	f    *os.File // .log, read-write; closed when refs reaches 0
	fd   int      // f's descriptor, for pread/pwrite without allocation

	size    atomic.Int64 // bytes of whole batches written; final once inactive
	nextOff atomic.Int64 // offset after the last batch once inactive; -1 while active
	refs    atomic.Int32
	deleted atomic.Bool // files renamed for deletion: nothing to sync any more

	idx  *index // .index
	tidx *index // .timeindex

	logPath string // the .log file's name when created; immutable (names it in errors)

	// Guarded by Log.mu.
	bytesSinceIndex int64
	maxTs           int64 // max batch timestamp; -1 when none
	offMaxTs        int64 // last offset of the batch that set maxTs
	rollBaseTs      int64 // max timestamp of the first batch; -1 when none
	created         int64 // ms, when this process created or opened it
	jitter          int64 // ms subtracted from SegmentMs
	syncedSize      int64 // bytes known fsync'd

	// The zeroed runway ahead of the data (runway.go). runMu orders zero
	// writes with appends past them, trims and truncations; Log.mu, when
	// held, comes first.
	runMu     sync.Mutex
	zeroEnd   atomic.Int64 // the file's length, ≥ size; stored with runMu held
	extending atomic.Bool  // an extension goroutine is running
	nextStep  atomic.Int64 // the next extension's size; 0 until the first
	runwayOff bool         // guarded by runMu: not active, or an extension failed
	// bgErr is the first error of an extension's write-back: it consumed
	// the file's write-back error (Linux reports one to each open file
	// once), so the flusher reports it instead.
	bgErr atomic.Pointer[error]
}

func segmentPaths(dir string, base int64) (log, idx, tidx string) {
	p := filepath.Join(dir, segmentName(base))
	return p + logSuffix, p + indexSuffix, p + timeIndexSuffix
}

// openSegment opens (create: creates, truncating) a segment's log file. The
// indexes are not loaded.
func openSegment(dir string, base int64, create bool) (*segment, error) {
	logPath, idxPath, tidxPath := segmentPaths(dir, base)
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(logPath, flags, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &segment{
		base:       base,
		dir:        dir,
		f:          f,
		fd:         int(f.Fd()),
		idx:        newIndex(idxPath, offsetEntrySize, base),
		tidx:       newIndex(tidxPath, timeEntrySize, base),
		logPath:    logPath,
		maxTs:      -1,
		offMaxTs:   -1,
		rollBaseTs: -1,
	}
	s.size.Store(st.Size())
	s.zeroEnd.Store(st.Size())
	s.nextOff.Store(-1)
	s.refs.Store(1)
	return s, nil
}

// tryAcquire takes a reference unless the segment is already closed.
func (s *segment) tryAcquire() bool {
	for {
		r := s.refs.Load()
		if r <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the files.
func (s *segment) release() {
	if n := s.refs.Add(-1); n == 0 {
		s.idx.close()
		s.tidx.close()
		s.f.Close()
	} else if n < 0 {
		panic("storage: segment released more often than acquired")
	}
}

// preadFull reads len(b) bytes at off.
func (s *segment) preadFull(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pread(s.fd, b, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s at %d: %w", s.logPath, off, err)
		}
		if n == 0 {
			return fmt.Errorf("read %s at %d: %w", s.logPath, off, io.ErrUnexpectedEOF)
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// pwriteFull writes b at off.
func (s *segment) pwriteFull(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pwrite(s.fd, b, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s at %d: %w", s.logPath, off, err)
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// headerAt reads and checks the header of the batch at pos, which must end
// at or before limit.
func (s *segment) headerAt(buf *[record.HeaderSize]byte, pos, limit int64) (record.Header, error) {
	if pos+record.HeaderSize > limit {
		return record.Header{}, fmt.Errorf("%w: %s: header at %d crosses %d", ErrCorrupt, s.logPath, pos, limit)
	}
	if err := s.preadFull(buf[:], pos); err != nil {
		return record.Header{}, err
	}
	h, _ := record.ParseHeader(buf[:])
	if h.Length < record.HeaderSize-record.LogOverhead || pos+h.Size() > limit || h.LastOffsetDelta < 0 {
		return record.Header{}, fmt.Errorf("%w: %s: batch at %d (length %d) crosses %d", ErrCorrupt, s.logPath, pos, h.Length, limit)
	}
	return h, nil
}

// findBatch returns the position and header of the first batch below limit
// whose last offset is ≥ offset, starting from the offset index's floor
// entry. found is false when every batch below limit ends before offset.
// An index entry that leads nowhere sensible is not trusted: the scan then
// starts over from the beginning of the segment.
func (s *segment) findBatch(offset, limit int64) (pos int64, h record.Header, found bool, err error) {
	start := s.idx.lookupOffset(offset)
	if start >= limit {
		start = 0
	}
	pos, h, found, err = s.scanFor(offset, start, limit)
	if start > 0 && (err != nil || (found && h.BaseOffset > offset)) {
		return s.scanFor(offset, 0, limit)
	}
	return pos, h, found, err
}

func (s *segment) scanFor(offset, pos, limit int64) (int64, record.Header, bool, error) {
	var buf [record.HeaderSize]byte
	for pos < limit {
		h, err := s.headerAt(&buf, pos, limit)
		if err != nil {
			return 0, h, false, err
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
		pos += h.Size()
	}
	return pos, record.Header{}, false, nil
}

// lastBoundary returns the greatest batch boundary b with from < b ≤ limit,
// or from when the batch at from does not fit, together with the base
// offset of the batch starting at b. from must be a boundary and limit <
// end, the visible end of the segment, whose next offset is endOffset.
func (s *segment) lastBoundary(from, limit, end, endOffset int64) (int64, int64, error) {
	var buf [record.HeaderSize]byte
	pos := s.idx.lookupPosition(limit)
	if pos <= from || pos >= end {
		pos = from
	}
	for pos < end {
		h, err := s.headerAt(&buf, pos, end)
		if err != nil {
			return 0, 0, err
		}
		if pos+h.Size() > limit {
			return pos, h.BaseOffset, nil
		}
		pos += h.Size()
	}
	return end, endOffset, nil
}

// onAppend maintains the indexes and timestamps after the batch h was
// written at pos. Kafka's rule: an offset index entry (with a time index
// entry for the max timestamp so far) once IndexIntervalBytes have been
// written since the last one. Called with Log.mu held.
func (s *segment) onAppend(h *record.Header, pos int64, interval int32) {
	if s.rollBaseTs < 0 && pos == 0 {
		s.rollBaseTs = h.MaxTimestamp
	}
	if h.MaxTimestamp > s.maxTs {
		s.maxTs, s.offMaxTs = h.MaxTimestamp, h.LastOffset()
	}
	if s.bytesSinceIndex >= int64(interval) {
		s.idx.appendOffset(h.LastOffset(), pos)
		if s.maxTs >= 0 {
			s.tidx.maybeAppendTime(s.maxTs, s.offMaxTs)
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += h.Size()
}

// relativeFits reports whether offset can be stored relative to the base.
func (s *segment) relativeFits(offset int64) bool {
	d := offset - s.base
	return d >= 0 && d <= math.MaxInt32
}

// finishActive runs when the segment stops being the active one: the time
// index gets the segment's max timestamp as its last entry, both indexes
// shrink to the entries in use, and the log file loses its zeroed runway.
// Called with Log.mu held.
func (s *segment) finishActive() error {
	if err := s.trimRunway(); err != nil {
		return err
	}
	if s.maxTs >= 0 {
		s.tidx.maybeAppendTime(s.maxTs, s.offMaxTs)
	}
	if err := s.idx.trim(); err != nil {
		return err
	}
	return s.tidx.trim()
}

// activate makes the indexes writable (for the active segment).
func (s *segment) activate(indexBytes int32, create bool) error {
	if err := s.idx.activate(indexBytes, create); err != nil {
		return err
	}
	return s.tidx.activate(indexBytes, create)
}

// syncData fdatasyncs the log file. It also fails when a runway
// extension's write-back failed on the file (runway.go): Linux reports a
// write-back error to each open file once, and the extension saw it first.
func (s *segment) syncData() error {
	for {
		err := syscall.Fdatasync(s.fd)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("fdatasync %s: %w", s.logPath, err)
		}
		return s.backgroundErr()
	}
}

// syncAll fsyncs the log file and both indexes (a segment that stops being
// active, or before a clean close). A segment deleted meanwhile needs no
// sync.
func (s *segment) syncAll() error {
	if s.deleted.Load() {
		return nil
	}
	err := s.syncData()
	if err == nil {
		err = s.idx.sync()
	}
	if err == nil {
		err = s.tidx.sync()
	}
	if err != nil && s.deleted.Load() {
		return nil
	}
	return err
}

// markDeleted renames the segment's files with the .deleted suffix. The
// open descriptors and mappings stay valid. Called with Log.mu held.
func (s *segment) markDeleted() ([]string, error) {
	s.deleted.Store(true)
	var paths []string
	if err := os.Rename(s.logPath, s.logPath+deletedSuffix); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	paths = append(paths, s.logPath+deletedSuffix)
	for _, ix := range []*index{s.idx, s.tidx} {
		ix.mu.RLock()
		p := ix.path + deletedSuffix
		ix.mu.RUnlock()
		if err := ix.rename(p); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// truncateFile cuts the log file at size. Called with Log.mu held.
func (s *segment) truncateFile(size int64) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.truncateFileLocked(size)
}

// truncateFileLocked is truncateFile with runMu held.
func (s *segment) truncateFileLocked(size int64) error {
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", s.logPath, size, err)
	}
	s.size.Store(size)
	s.zeroEnd.Store(size)
	if s.syncedSize > size {
		s.syncedSize = size
	}
	return nil
}

// maxTimestampOrMtime is the timestamp retention compares with: the max
// batch timestamp, or the file's modification time when no batch carried
// one (Kafka's largestTimestamp).
func (s *segment) maxTimestampOrMtime() int64 {
	if s.maxTs >= 0 {
		return s.maxTs
	}
	st, err := s.f.Stat()
	if err != nil {
		return math.MaxInt64 // never delete on an unreadable stat
	}
	return st.ModTime().UnixMilli()
}
