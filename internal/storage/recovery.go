package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/samsa-io/samsa/internal/record"
)

// Segment-level recovery. Three ways to load a segment, cheapest first:
//
//   - quickCheck (every segment, every open): both index files exist, their
//     sizes are whole entries, and their last entries point inside the log
//     file. It also yields the segment's max timestamp from the last time
//     index entry, which the active segment wrote when it stopped being
//     active.
//   - scanTail (the last segment after a clean shutdown): from the last
//     offset-index entry, step over batch headers to the end of the file,
//     checking length bounds, to find the log end offset.
//   - recoverSegment (segments from the one holding the recovery point after
//     an unclean shutdown, and any segment whose indexes failed quickCheck):
//     read every batch, check length bounds, magic, offsets and CRC-32C,
//     rebuild both indexes, and cut the file at the first invalid batch.

// recoverResult is what a full scan of a segment found.
type recoverResult struct {
	next      int64 // offset after the last valid batch (base when empty)
	truncated int64 // bytes cut off the end
	reason    string
}

// recoverSegment validates every batch of seg, rebuilding its indexes and
// timestamps, and truncates the file at the first invalid batch. onBatch
// sees each valid header in order. The indexes are left writable; the
// caller trims them unless seg becomes the active segment.
func recoverSegment(seg *segment, cfg *LogConfig, onBatch func(*record.Header)) (recoverResult, error) {
	size := seg.size.Load()
	// Room for an entry per batch whatever the index interval, so a
	// rebuild never runs out of index space.
	capBytes := int64(cfg.SegmentIndexBytes)
	if need := (size/record.HeaderSize + 1) * timeEntrySize; need > capBytes {
		capBytes = min(need, math.MaxInt32)
	}
	if err := seg.activate(int32(capBytes), true); err != nil {
		return recoverResult{}, err
	}
	seg.maxTs, seg.offMaxTs, seg.rollBaseTs, seg.bytesSinceIndex = -1, -1, -1, 0

	r := bufio.NewReaderSize(io.NewSectionReader(seg.f, 0, size), 256<<10)
	var hdr [record.HeaderSize]byte
	chunk := make([]byte, 64<<10)
	res := recoverResult{next: seg.base}
	pos := int64(0)
	for pos < size {
		if size-pos < record.HeaderSize {
			res.reason = "torn batch header"
			break
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return res, fmt.Errorf("read %s at %d: %w", seg.logPath, pos, err)
		}
		if hdr == ([record.HeaderSize]byte{}) {
			res.reason = "zeros (a segment's runway, or blocks never written)"
			break
		}
		h, _ := record.ParseHeader(hdr[:])
		if res.reason = checkRecoveredHeader(seg, &h, pos, size, res.next); res.reason != "" {
			break
		}
		crc := crc32.Update(0, castagnoli, hdr[21:])
		for left := h.Size() - record.HeaderSize; left > 0; {
			n := int(min(left, int64(len(chunk))))
			if _, err := io.ReadFull(r, chunk[:n]); err != nil {
				return res, fmt.Errorf("read %s at %d: %w", seg.logPath, pos, err)
			}
			crc = crc32.Update(crc, castagnoli, chunk[:n])
			left -= int64(n)
		}
		if crc != h.CRC {
			res.reason = "crc mismatch"
			break
		}
		seg.onAppend(&h, pos, cfg.IndexIntervalBytes)
		if onBatch != nil {
			onBatch(&h)
		}
		res.next = h.NextOffset()
		pos += h.Size()
	}
	if pos < size {
		res.truncated = size - pos
		if err := seg.truncateFile(pos); err != nil {
			return res, err
		}
	}
	return res, nil
}

// checkRecoveredHeader returns why the header h read at pos is invalid, or
// "".
func checkRecoveredHeader(seg *segment, h *record.Header, pos, size, next int64) string {
	switch {
	case h.Magic != 2:
		return fmt.Sprintf("magic %d", h.Magic)
	case h.Length < record.HeaderSize-record.LogOverhead:
		return fmt.Sprintf("batch length %d too small", h.Length)
	case pos+h.Size() > size:
		return fmt.Sprintf("batch length %d runs past the end of the file", h.Length)
	case h.LastOffsetDelta < 0:
		return fmt.Sprintf("last offset delta %d", h.LastOffsetDelta)
	case h.BaseOffset < next:
		// Offsets increase from the segment's base offset; compaction
		// leaves gaps, so a batch may start after the previous one's next
		// offset. The base offset is outside the CRC: this is its only
		// check.
		return fmt.Sprintf("base offset %d below %d", h.BaseOffset, next)
	case !seg.relativeFits(h.LastOffset()):
		return fmt.Sprintf("offset %d outside the segment", h.LastOffset())
	}
	return ""
}

var errTail = errors.New("storage: inconsistent segment tail")

// scanTail finds the end of a cleanly closed segment: it steps over the
// batch headers after the last offset-index entry, checking bounds (not
// CRCs), and restores the segment's in-memory append state. An error means
// the segment must be recovered instead.
func scanTail(seg *segment) (next int64, err error) {
	size := seg.size.Load()
	_, pos, ok := seg.idx.lastOffsetEntry()
	if !ok {
		pos = 0
	}
	if ts, off, ok := seg.tidx.lastTimeEntry(); ok {
		seg.maxTs, seg.offMaxTs = ts, off
	}
	seg.rollBaseTs = -1
	next = seg.base
	var buf [record.HeaderSize]byte
	if size > 0 {
		h, err := seg.headerAt(&buf, 0, size)
		if err != nil {
			return 0, err
		}
		seg.rollBaseTs = h.MaxTimestamp
	}
	seg.bytesSinceIndex = size - pos
	first := pos > 0 // the first batch after an index entry has an unknown base
	for pos < size {
		h, err := seg.headerAt(&buf, pos, size)
		if err != nil {
			return 0, err
		}
		if !first && h.BaseOffset < next {
			return 0, fmt.Errorf("%w: %s: batch at %d has offset %d, below %d", errTail, seg.logPath, pos, h.BaseOffset, next)
		}
		first = false
		if h.Magic != 2 || h.BaseOffset < seg.base || !seg.relativeFits(h.LastOffset()) {
			return 0, fmt.Errorf("%w: %s: batch at %d", errTail, seg.logPath, pos)
		}
		if h.MaxTimestamp > seg.maxTs {
			seg.maxTs, seg.offMaxTs = h.MaxTimestamp, h.LastOffset()
		}
		next = h.NextOffset()
		pos += h.Size()
	}
	return next, nil
}

// quickCheck checks that seg's index files exist and look sane against
// the log file without mapping them: whole entries, the last two strictly
// increasing (an untrimmed, preallocated index ends in zeros), the last
// one inside the segment. It also loads the max timestamp from the time
// index's last entry. next bounds the offsets (math.MaxInt64 when
// unknown).
func quickCheck(seg *segment, next int64) error {
	size := seg.size.Load()
	prev, last, err := lastEntries(seg.idx.path, offsetEntrySize)
	if err != nil {
		return err
	}
	if last != nil {
		rel, p := int32(binary.BigEndian.Uint32(last)), int64(int32(binary.BigEndian.Uint32(last[4:])))
		bad := rel < 0 || p < 0 || p >= size || seg.base+int64(rel) >= next
		if prev != nil {
			prel, pp := int32(binary.BigEndian.Uint32(prev)), int64(int32(binary.BigEndian.Uint32(prev[4:])))
			bad = bad || prel >= rel || pp >= p
		}
		if bad {
			return fmt.Errorf("%w: %s: last entry (%d, %d) for a %d-byte log", ErrCorrupt, seg.idx.path, rel, p, size)
		}
	}
	prev, last, err = lastEntries(seg.tidx.path, timeEntrySize)
	if err != nil {
		return err
	}
	if last != nil {
		ts, rel := int64(binary.BigEndian.Uint64(last)), int32(binary.BigEndian.Uint32(last[8:]))
		bad := rel < 0 || seg.base+int64(rel) >= next || size == 0
		if prev != nil {
			pts, prel := int64(binary.BigEndian.Uint64(prev)), int32(binary.BigEndian.Uint32(prev[8:]))
			bad = bad || pts >= ts || prel > rel
		}
		if bad {
			return fmt.Errorf("%w: %s: last entry (%d, %d)", ErrCorrupt, seg.tidx.path, ts, rel)
		}
		seg.maxTs, seg.offMaxTs = ts, seg.base+int64(rel)
	}
	return nil
}

// lastEntries reads the last two entries of an index file; nil for those
// it does not have.
func lastEntries(path string, entrySize int) (prev, last []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size%int64(entrySize) != 0 {
		return nil, nil, fmt.Errorf("%w: %s has %d bytes", errIndexSize, path, size)
	}
	n := min(size, 2*int64(entrySize))
	if n == 0 {
		return nil, nil, nil
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, size-n); err != nil {
		return nil, nil, err
	}
	if n == int64(entrySize) {
		return nil, b, nil
	}
	return b[:entrySize], b[entrySize:], nil
}
