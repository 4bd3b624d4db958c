package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/samsa-io/samsa/internal/record"
)

// Slice is a run of whole batches inside one segment file, handed out
// without copying (Fetch writes it to the socket, with sendfile on
// plaintext connections). The file stays open until Release, even if
// retention deletes the segment meanwhile. An empty Slice has a nil File.
type Slice struct {
	File        *os.File // the segment's .log file; read it with ReadAt/sendfile only
	Pos         int64    // file position of the first batch
	Size        int32    // bytes, a whole number of batches
	FirstOffset int64    // base offset of the first batch (may be below the offset asked for)
	LastOffset  int64    // last offset of the last batch; FirstOffset-1 when empty

	seg *segment
}

// Release gives the segment file back. It must be called once for every
// non-empty Slice; calling it on an empty or released Slice does nothing.
func (s *Slice) Release() {
	if s.seg != nil {
		s.seg.release()
		s.seg = nil
	}
}

// ringSize is how many of the newest batches the ring remembers.
const ringSize = 64

// ringEntry locates one recent batch.
type ringEntry struct {
	base, next int64 // first offset, and the offset after the batch
	pos, size  int64 // file position and size in seg
	seg        *segment
}

// batchRing holds the newest batches in offset order, contiguous, so that
// reads near the log end (consumers that keep up, the high watermark)
// need no index lookup and no syscall. Guarded by Log.tailMu.
type batchRing struct {
	e       [ringSize]ringEntry
	head, n int // the oldest entry is at head
}

func (r *batchRing) at(i int) *ringEntry { return &r.e[(r.head+i)%ringSize] }

func (r *batchRing) push(e ringEntry) {
	if r.n == ringSize {
		r.head = (r.head + 1) % ringSize
		r.n--
	}
	*r.at(r.n) = e
	r.n++
}

// find returns the index of the entry holding offset.
func (r *batchRing) find(offset int64) (int, bool) {
	if r.n == 0 || offset < r.at(0).base || offset >= r.at(r.n-1).next {
		return 0, false
	}
	i := sort.Search(r.n, func(i int) bool { return r.at(i).next > offset })
	return i, r.at(i).base <= offset
}

// truncate drops entries that end after offset.
func (r *batchRing) truncate(offset int64) {
	for r.n > 0 && r.at(r.n-1).next > offset {
		*r.at(r.n - 1) = ringEntry{}
		r.n--
	}
}

func (r *batchRing) reset() { r.truncate(math.MinInt64) }

// Read returns the batches from the one holding offset onwards, without
// copying: every batch with last offset < maxOffset (an exclusive bound
// the caller sets to the high watermark or last stable offset, always a
// batch boundary), in at most maxBytes bytes, all in one segment. With
// minOneBatch the first batch is returned whole even when it exceeds
// maxBytes (KIP-74); without it such a read is empty. An offset below the
// log start offset or above the log end offset fails with
// ErrOffsetOutOfRange; the log end offset itself, or an offset at or above
// maxOffset, gives an empty Slice. The caller must Release a non-empty
// Slice. It does not allocate.
func (l *Log) Read(offset, maxOffset int64, maxBytes int32, minOneBatch bool) (Slice, error) {
	if l.closedFlag.Load() {
		return Slice{}, ErrClosed
	}
	if offset < l.logStart.Load() {
		return Slice{}, ErrOffsetOutOfRange
	}
	l.tailMu.RLock()
	t := l.tail
	if offset > t.leo {
		l.tailMu.RUnlock()
		return Slice{}, ErrOffsetOutOfRange
	}
	maxOffset = min(maxOffset, t.leo)
	if offset >= maxOffset {
		l.tailMu.RUnlock()
		return Slice{FirstOffset: offset, LastOffset: offset - 1}, nil
	}
	if s, ok := l.readRingLocked(offset, maxOffset, maxBytes, minOneBatch); ok {
		l.tailMu.RUnlock()
		return s, nil
	}
	l.tailMu.RUnlock()
	return l.readSlow(offset, maxOffset, maxBytes, minOneBatch, t)
}

// readRingLocked answers a read whose first batch is in the ring. The ring
// is contiguous up to the log end, so the answer is complete.
func (l *Log) readRingLocked(offset, maxOffset int64, maxBytes int32, minOne bool) (Slice, bool) {
	i, ok := l.ring.find(offset)
	if !ok {
		return Slice{}, false
	}
	first := l.ring.at(i)
	seg := first.seg
	end, endOff := first.pos, first.base
	for j := i; j < l.ring.n; j++ {
		e := l.ring.at(j)
		if e.seg != seg || e.next > maxOffset {
			break
		}
		if e.pos+e.size-first.pos > int64(maxBytes) && !(j == i && minOne) {
			break
		}
		end, endOff = e.pos+e.size, e.next
	}
	if end == first.pos {
		return Slice{FirstOffset: first.base, LastOffset: first.base - 1}, true
	}
	if !seg.tryAcquire() {
		return Slice{}, false
	}
	return Slice{File: seg.f, Pos: first.pos, Size: int32(end - first.pos), FirstOffset: first.base, LastOffset: endOff - 1, seg: seg}, true
}

// readSlow finds the first batch through the segment list and the offset
// index, then bounds the read by the segment end, maxOffset and maxBytes.
func (l *Log) readSlow(offset, maxOffset int64, maxBytes int32, minOne bool, t tailState) (Slice, error) {
	seg, pos, h, err := l.locate(offset, t)
	if err != nil {
		return Slice{}, err
	}
	end, endOff := segmentEnd(seg, t)
	if maxOffset < endOff {
		p, base, err := l.positionOf(seg, maxOffset, end)
		if err != nil {
			seg.release()
			return Slice{}, err
		}
		end, endOff = p, base
	}
	if end-pos > int64(maxBytes) {
		cut, base, err := seg.lastBoundary(pos, pos+int64(maxBytes), end, endOff)
		if err != nil {
			seg.release()
			return Slice{}, err
		}
		if cut == pos {
			if !minOne {
				seg.release()
				return Slice{FirstOffset: h.BaseOffset, LastOffset: h.BaseOffset - 1}, nil
			}
			cut, base = pos+h.Size(), h.NextOffset()
		}
		end, endOff = cut, base
	}
	if end <= pos {
		seg.release()
		return Slice{FirstOffset: h.BaseOffset, LastOffset: h.BaseOffset - 1}, nil
	}
	return Slice{File: seg.f, Pos: pos, Size: int32(end - pos), FirstOffset: h.BaseOffset, LastOffset: endOff - 1, seg: seg}, nil
}

// segmentEnd is the visible end of seg and the offset that follows it, as
// of the tail snapshot t.
func segmentEnd(seg *segment, t tailState) (int64, int64) {
	if seg == t.seg {
		return t.size, t.leo
	}
	if next := seg.nextOff.Load(); next >= 0 {
		return seg.size.Load(), next
	}
	return seg.size.Load(), math.MaxInt64
}

// locate finds the segment and batch holding offset (offset < t.leo) and
// returns the segment acquired.
func (l *Log) locate(offset int64, t tailState) (*segment, int64, record.Header, error) {
	for attempt := 0; attempt < 8; attempt++ {
		list := *l.segList.Load()
		i := sort.Search(len(list), func(i int) bool { return list[i].base > offset }) - 1
		if i < 0 {
			i = 0
		}
		retry := false
		for ; i < len(list); i++ {
			seg := list[i]
			if !seg.tryAcquire() {
				retry = true // deleted under us: reload the list
				break
			}
			end, _ := segmentEnd(seg, t)
			pos, h, found, err := seg.findBatch(offset, end)
			if err != nil {
				seg.release()
				l.logger.Error("storage: read failed", "offset", offset, "err", err)
				return nil, 0, h, err
			}
			if found {
				if h.BaseOffset > offset && offset < l.logStart.Load() {
					// Retention removed offset while we looked for it.
					seg.release()
					return nil, 0, h, ErrOffsetOutOfRange
				}
				return seg, pos, h, nil
			}
			seg.release()
		}
		if !retry {
			break
		}
	}
	if l.closedFlag.Load() {
		return nil, 0, record.Header{}, ErrClosed
	}
	return nil, 0, record.Header{}, ErrOffsetOutOfRange
}

// positionOf returns the position of the batch holding offset in seg (or
// end when none does) and that batch's base offset: the exclusive end of a
// read bounded by offset.
func (l *Log) positionOf(seg *segment, offset, end int64) (int64, int64, error) {
	l.tailMu.RLock()
	if i, ok := l.ring.find(offset); ok && l.ring.at(i).seg == seg {
		e := l.ring.at(i)
		l.tailMu.RUnlock()
		return e.pos, e.base, nil
	}
	l.tailMu.RUnlock()
	pos, h, found, err := seg.findBatch(offset, end)
	if err != nil {
		return 0, 0, err
	}
	if !found {
		return end, offset, nil
	}
	return pos, h.BaseOffset, nil
}

// ReadBytes copies the batches Read(offset, maxOffset, maxBytes, true)
// would return into memory, for internal readers (coordinator state
// loading). The result is nil at the end of the log.
func (l *Log) ReadBytes(offset, maxOffset int64, maxBytes int32) ([]byte, error) {
	s, err := l.Read(offset, maxOffset, maxBytes, true)
	if err != nil || s.Size == 0 {
		return nil, err
	}
	defer s.Release()
	buf := make([]byte, s.Size)
	if err := s.seg.preadFull(buf, s.Pos); err != nil {
		return nil, err
	}
	return buf, nil
}

// errStopScan ends a scan early without error.
var errStopScan = errors.New("stop scan")

// ScanHeaders calls fn with the file position (within its segment) and
// header of every batch from the one holding from (or from the log start
// offset, when from is below it) to the log end, in order, reading headers
// only. fn returning false stops the scan. It may run concurrently with
// appends; batches appended meanwhile may or may not be visited.
func (l *Log) ScanHeaders(from int64, fn func(pos int64, h record.Header) bool) error {
	if from < l.logStart.Load() {
		from = l.logStart.Load()
	}
	l.tailMu.RLock()
	t := l.tail
	l.tailMu.RUnlock()
	if from >= t.leo {
		return nil
	}
	seg, pos, _, err := l.locate(from, t)
	if err != nil {
		return err
	}
	for {
		end, _ := segmentEnd(seg, t)
		err := scanSegmentHeaders(seg, pos, end, fn)
		next := seg.base
		seg.release()
		if errors.Is(err, errStopScan) {
			return nil
		}
		if err != nil {
			return err
		}
		if seg == t.seg {
			return nil
		}
		if seg = l.nextSegmentAfter(next); seg == nil {
			return nil
		}
		pos = 0
	}
}

// scanSegmentHeaders visits the headers of seg in [pos, end).
func scanSegmentHeaders(seg *segment, pos, end int64, fn func(int64, record.Header) bool) error {
	var buf [record.HeaderSize]byte
	for pos < end {
		h, err := seg.headerAt(&buf, pos, end)
		if err != nil {
			return err
		}
		if !fn(pos, h) {
			return errStopScan
		}
		pos += h.Size()
	}
	return nil
}

// nextSegmentAfter returns, acquired, the first live segment with a base
// offset above base.
func (l *Log) nextSegmentAfter(base int64) *segment {
	for attempt := 0; attempt < 8; attempt++ {
		list := *l.segList.Load()
		i := sort.Search(len(list), func(i int) bool { return list[i].base > base })
		if i == len(list) {
			return nil
		}
		if list[i].tryAcquire() {
			return list[i]
		}
	}
	return nil
}

// readBatch copies the whole batch at pos (with header h) into buf,
// growing it.
func readBatch(seg *segment, pos int64, h *record.Header, buf []byte) ([]byte, error) {
	n := int(h.Size())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if err := seg.preadFull(buf, pos); err != nil {
		return buf, err
	}
	if got := record.CRC32C(buf[21:]); got != h.CRC {
		return buf, fmt.Errorf("%w: %s: crc mismatch in batch at %d", ErrCorrupt, seg.logPath, pos)
	}
	return buf, nil
}
