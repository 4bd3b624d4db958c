package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/samsa-io/samsa/internal/record"
)

// The swap: how a cleaned segment replaces a group of segments so that a
// crash at any point leaves either the old group or the new segment (the
// table is in the package doc). Kafka's file suffixes:
//
//	<base>.log.cleaned, .index.cleaned, .timeindex.cleaned   being written
//	<base>.log.swap, .index.swap, .timeindex.swap             complete, replacing
//
// <base> is the group's first base offset, which the cleaned segment keeps.
// The .log.swap rename is the point of no return: before it recovery
// removes the new files, after it recovery removes the old ones.

const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// errSwapIncomplete means a swap failed after its point of no return: the
// log is failed, and reopening it completes the swap.
var errSwapIncomplete = errors.New("storage: segment swap incomplete")

// swapIn replaces the segments of g, which must still be in the log,
// consecutive and inactive, with no truncation since the plan (gen), by
// the finished cleaned segment c. Steps, with Log.mu held:
//
//  1. rename the cleaned index files, then the log file, to .swap (the
//     log's rename is the point of no return), and fsync the directory;
//  2. rename the old segments' files *.deleted;
//  3. rename the .swap files to their final names;
//  4. put the new segment in the list and publish it; the old segments
//     leave the tail ring and the flusher's pending list, and are released
//     (readers holding them keep reading the old files) and scheduled for
//     removal.
//
// The directory is fsync'd again after the lock is released. A refused
// swap returns errCleanAborted with nothing renamed. hook (tests) runs
// after each step.
func (l *Log) swapIn(g segGroup, c *cleanedSegment, gen uint64, hook func(string) error) error {
	step := func(name string) error {
		if hook != nil {
			return hook(name)
		}
		return nil
	}
	cfg := l.cfg.Load()
	l.mu.Lock()
	i, ok := l.groupIndexLocked(g, gen)
	if !ok {
		l.mu.Unlock()
		return errCleanAborted
	}
	err := l.swapFilesLocked(g, c, step)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	seg := c.segment(g.ends[len(g.ends)-1])
	segs := slices.Concat(l.segs[:i], []*segment{seg}, l.segs[i+len(g.segs):])
	l.segs = segs
	l.publishSegmentsLocked()
	l.tailMu.Lock()
	l.ring.dropSegments(g.segs)
	l.tailMu.Unlock()
	l.pending = slices.DeleteFunc(l.pending, func(s *segment) bool { return slices.Contains(g.segs, s) })
	for _, s := range g.segs {
		l.parent.scheduleDelete(s.deletedPaths(), cfg.FileDeleteDelayMs)
		s.release()
	}
	l.mu.Unlock()
	if err := syncDir(l.dir); err != nil {
		l.logger.Warn("storage: fsync after segment swap", "offset", c.base, "err", err)
	}
	return nil
}

// groupIndexLocked returns where g's segments sit in l.segs, checking that
// the swap may go ahead.
func (l *Log) groupIndexLocked(g segGroup, gen uint64) (int, bool) {
	if l.closed || l.failed != nil || l.truncGen != gen {
		return 0, false
	}
	i := slices.Index(l.segs, g.segs[0])
	if i < 0 || i+len(g.segs) >= len(l.segs) { // never the active segment
		return 0, false
	}
	for j, s := range g.segs {
		if l.segs[i+j] != s {
			return 0, false
		}
	}
	return i, true
}

// swapFilesLocked renames the files (steps 1-3 of swapIn).
func (l *Log) swapFilesLocked(g segGroup, c *cleanedSegment, step func(string) error) error {
	cLog, cIdx, cTidx := c.paths(cleanedSuffix)
	sLog, sIdx, sTidx := c.paths(swapSuffix)
	fLog, fIdx, fTidx := c.paths("")
	if err := step("cleaned"); err != nil {
		return err
	}
	for _, r := range [][2]string{{cIdx, sIdx}, {cTidx, sTidx}} {
		if err := os.Rename(r[0], r[1]); err != nil {
			return fmt.Errorf("swap in cleaned segment %d: %w", c.base, err)
		}
	}
	if err := step("index.swap"); err != nil {
		return err
	}
	if err := os.Rename(cLog, sLog); err != nil {
		return fmt.Errorf("swap in cleaned segment %d: %w", c.base, err)
	}
	// From here on the new segment wins on recovery.
	fail := func(err error) error {
		if errors.Is(err, errSimulatedCrash) {
			return err
		}
		err = l.failLocked(fmt.Errorf("swap in cleaned segment %d: %w", c.base, err), nil, 0)
		return fmt.Errorf("%w: %w", errSwapIncomplete, err)
	}
	if err := step("log.swap"); err != nil {
		return fail(err)
	}
	if err := syncDir(l.dir); err != nil {
		return fail(err)
	}
	if err := step("swap durable"); err != nil {
		return fail(err)
	}
	for _, s := range g.segs {
		if _, err := s.markDeleted(); err != nil {
			return fail(err)
		}
		if err := step(fmt.Sprintf("deleted %d", s.base)); err != nil {
			return fail(err)
		}
	}
	for _, r := range [][2]string{{sIdx, fIdx}, {sTidx, fTidx}, {sLog, fLog}} {
		if err := os.Rename(r[0], r[1]); err != nil {
			return fail(err)
		}
		if err := step("installed " + filepath.Ext(r[1])); err != nil {
			return fail(err)
		}
	}
	return nil
}

// deletedPaths lists the files markDeleted renamed.
func (s *segment) deletedPaths() []string {
	paths := []string{s.logPath + deletedSuffix}
	for _, ix := range []*index{s.idx, s.tidx} {
		ix.mu.RLock()
		paths = append(paths, ix.path)
		ix.mu.RUnlock()
	}
	return paths
}

// dropSegments removes the oldest entries up to the last one in any of
// segs: the ring then still ends at the log end, contiguous.
func (r *batchRing) dropSegments(segs []*segment) {
	last := -1
	for i := 0; i < r.n; i++ {
		if slices.Contains(segs, r.at(i).seg) {
			last = i
		}
	}
	for ; last >= 0; last-- {
		*r.at(0) = ringEntry{}
		r.head = (r.head + 1) % ringSize
		r.n--
	}
}

// completeSwaps finishes, on open, the swaps a crash interrupted: for each
// "<base>.log.swap" (renamed only once the cleaned segment was whole and
// fsync'd) it reads the batch headers to find next, the offset after its
// last batch, removes every segment file whose base lies in [base, next)
// (the old group: each segment ends where the next one begins, so no
// other segment lies there) and renames the .swap files to their final
// names. cleanDirectory then removes .cleaned files and .swap index files
// without a .log.swap, which belong to swaps that never reached the point
// of no return.
func completeSwaps(dir string, logger *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var bases []int64
	for _, de := range ents {
		if b, ok := parseSegmentName(de.Name(), logSuffix+swapSuffix); ok {
			bases = append(bases, b)
		}
	}
	if len(bases) == 0 {
		return nil
	}
	slices.Sort(bases)
	for _, base := range bases {
		logPath, idxPath, tidxPath := segmentPaths(dir, base)
		next, err := swapEnd(logPath+swapSuffix, base)
		if err != nil {
			return fmt.Errorf("complete segment swap %d: %w", base, err)
		}
		for _, de := range ents {
			for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
				if b, ok := parseSegmentName(de.Name(), suffix); ok && b >= base && b < next {
					if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
						return err
					}
				}
			}
		}
		for _, p := range []string{idxPath, tidxPath, logPath} {
			if err := os.Rename(p+swapSuffix, p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("complete segment swap %d: %w", base, err)
			}
		}
		logger.Warn("storage: completed a segment swap interrupted by a crash", "offset", base, "next_offset", next)
	}
	return syncDir(dir)
}

// swapEnd returns the offset after the last whole batch of a .swap file
// (bounds and magic checked; recovery checks CRCs later if it scans it).
func swapEnd(path string, base int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size, next := st.Size(), base
	var hdr [record.HeaderSize]byte
	for pos := int64(0); pos+record.HeaderSize <= size; {
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return 0, err
		}
		h, _ := record.ParseHeader(hdr[:])
		if h.Magic != 2 || h.Length < record.HeaderSize-record.LogOverhead || h.LastOffsetDelta < 0 ||
			pos+h.Size() > size || h.BaseOffset < next {
			break
		}
		next, pos = h.NextOffset(), pos+h.Size()
	}
	if next == base {
		return 0, fmt.Errorf("%w: %s holds no batch", ErrCorrupt, strings.TrimPrefix(path, filepath.Dir(path)+"/"))
	}
	return next, nil
}
