package storage

import (
	"fmt"
	"syscall"
)

// The zeroed runway. In fsync mode every acknowledged batch waits for an
// fdatasync of its segment file. When the batch made the file longer, that
// fdatasync must also write the inode (the new size), which on ext4 is a
// second synchronous write (without a journal) or a journal commit (with
// one). So the active segment keeps its file zero-filled ahead of the data:
// batches overwrite blocks that already exist, the size does not change,
// and fdatasync writes only data. PostgreSQL pre-zeroes its WAL for the
// same reason.
//
// The zeros are written by a short-lived goroutine, a step at a time (the
// step grows with the writes: runwayMinStep), in pieces that it writes
// back at once (sync_file_range), so that a produce request's
// fdatasync neither writes them nor waits for them; the first fdatasync
// after an extension writes the new size once. An append never overlaps a
// zero write: one that would run past the zeros written so far takes
// runMu, which the extension holds while it writes.
//
// The runway is an optimisation only; the kernel keeps fdatasync correct
// either way. What the log must do is never treat the zeros as data:
//
//   - size (what readers, indexes, retention and recovery points use) is
//     the end of the last whole batch; zeroEnd is the file's length;
//   - the segment loses its runway when it stops being active
//     (finishActive: at a roll and on a clean close), so a cleanly closed
//     log has files of exactly their data and its last segment's tail scan
//     finds no zeros;
//   - that cut is fdatasync'd at once: the recovery point may already be at
//     the segment's end, and a segment wholly below the recovery point is
//     not scanned after a crash, so a crash must not bring its zeros back;
//   - after a crash the last segment is recovered batch by batch, and the
//     first zero header ends it as any torn tail would.

const (
	// An extension adds the segment's step of zeros, and starts when less
	// than a step is left. The step starts at runwayMinStep and doubles
	// with each extension up to runwayChunk, so a partition written to
	// now and then costs a few dozen KiB of zeros, not megabytes, and a
	// busy one extends a megabyte at a time.
	runwayMinStep = 64 << 10
	runwayChunk   = 1 << 20
	// runwayPiece is how much is written and written back at a time.
	runwayPiece = 128 << 10
)

// zeros is the source of every zero write.
var zeros [runwayPiece]byte

// sync_file_range flags: wait for writeback in progress, start it, wait
// for it. No device cache flush and no metadata: the fdatasync that
// follows does those.
const syncFileRangeWriteWait = 1 | 2 | 4

// writeAtEnd writes the batch b at pos, the end of the segment's data.
// Past the zeros written so far it waits for an extension in progress and
// writes under runMu. Called with Log.mu held.
func (s *segment) writeAtEnd(b []byte, pos int64) error {
	end := pos + int64(len(b))
	if end <= s.zeroEnd.Load() {
		return s.pwriteFull(b, pos)
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	err := s.pwriteFull(b, pos)
	if err == nil && end > s.zeroEnd.Load() {
		s.zeroEnd.Store(end)
	}
	return err
}

// runwayStep is the size of seg's next extension.
func (s *segment) runwayStep() int64 {
	if n := s.nextStep.Load(); n > 0 {
		return n
	}
	return runwayMinStep
}

// maybeExtendRunway starts an extension of seg's runway when less than a
// step of zeros is left past end, never past limit (the segment size the
// log rolls at). Called with Log.mu held, in fsync mode.
func (l *Log) maybeExtendRunway(seg *segment, end, limit int64) {
	z := seg.zeroEnd.Load()
	if z-end >= seg.runwayStep() || z >= limit || !seg.extending.CompareAndSwap(false, true) {
		return
	}
	if !seg.tryAcquire() {
		seg.extending.Store(false)
		return
	}
	l.runways.Add(1)
	go func() {
		defer l.runways.Done()
		defer seg.release()
		defer seg.extending.Store(false)
		seg.extendRunway(limit)
	}()
}

// extendRunway zero-fills a step more of the file and doubles the step. A
// failed write is undone as far as it can be and turns the runway off for
// this segment: it only costs speed. A failed write-back is kept in bgErr
// for the flusher: the log cannot trust the file.
func (s *segment) extendRunway(limit int64) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.runwayOff || s.deleted.Load() {
		return
	}
	step := s.runwayStep()
	s.nextStep.Store(min(2*step, runwayChunk))
	from := s.zeroEnd.Load()
	to := min(from+step, limit)
	for off := from; off < to; off += runwayPiece {
		n := min(to-off, runwayPiece)
		if err := s.pwriteFull(zeros[:n], off); err != nil {
			s.runwayOff = true
			_ = s.f.Truncate(off)
			return
		}
		if err := s.syncRange(off, off+n); err != nil {
			s.backgroundFailed(err)
			return
		}
		s.zeroEnd.Store(off + n)
	}
}

// backgroundFailed keeps the first write-back error of an extension and
// stops the runway.
func (s *segment) backgroundFailed(err error) {
	s.runwayOff = true
	s.bgErr.CompareAndSwap(nil, &err)
}

// backgroundErr is the write-back error an extension saw, if any.
func (s *segment) backgroundErr() error {
	if p := s.bgErr.Load(); p != nil && !s.deleted.Load() {
		return *p
	}
	return nil
}

// syncRange writes the pages of [from, to) and waits for them, without
// metadata and without flushing the device cache.
func (s *segment) syncRange(from, to int64) error {
	for {
		err := syncFileRange(s.fd, from, to-from, syncFileRangeWriteWait)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sync_file_range %s: %w", s.logPath, err)
		}
		return nil
	}
}

// trimRunway cuts the file back to its data, durably, and keeps it from
// growing a runway again. Called with Log.mu held.
func (s *segment) trimRunway() error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.runwayOff = true
	size := s.size.Load()
	if s.zeroEnd.Load() <= size {
		return nil
	}
	if err := s.truncateFileLocked(size); err != nil {
		return err
	}
	if err := s.syncData(); err != nil {
		return fmt.Errorf("cut the runway: %w", err)
	}
	return nil
}

// reopenRunway lets a segment that is active again (a truncation made it
// the last one) grow a runway. Called with Log.mu held.
func (s *segment) reopenRunway() {
	s.runMu.Lock()
	s.runwayOff = false
	s.runMu.Unlock()
}
