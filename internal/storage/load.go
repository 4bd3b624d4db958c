package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// logState is what a Log is opened with, from the Dir's checkpoints.
type logState struct {
	clean         bool  // the previous shutdown was clean
	recoveryPoint int64 // from recovery-point-offset-checkpoint; 0 when absent
	logStart      int64 // from log-start-offset-checkpoint; -1 when absent
	cleanPoint    int64 // from cleaner-offset-checkpoint; -1 when absent
	highWatermark int64 // from replication-offset-checkpoint; 0 when absent
}

// openLog loads the log in dir, running recovery when the previous
// shutdown was unclean, and starts its flusher.
func openLog(parent *Dir, dir string, tp TopicPartition, topicID [16]byte, cfg LogConfig, st logState, logger *slog.Logger) (*Log, error) {
	l := &Log{
		tp:      tp,
		topicID: topicID,
		dir:     dir,
		logger:  logger,
		parent:  parent,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	l.cfg.Store(&cfg)
	l.clean.init(st.cleanPoint)
	l.hwCheckpoint.Store(st.highWatermark)
	if err := l.load(st); err != nil {
		for _, s := range l.segs {
			s.release()
		}
		return nil, fmt.Errorf("open log %s: %w", tp, err)
	}
	l.lastFlush = time.Now().UnixMilli()
	go l.runFlusher()
	return l, nil
}

// load builds the in-memory log from the directory.
func (l *Log) load(st logState) error {
	cfg := l.cfg.Load()
	bases, err := l.cleanDirectory()
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	for _, b := range bases {
		seg, err := openSegment(l.dir, b, false)
		if err != nil {
			return err
		}
		seg.created = now
		l.segs = append(l.segs, seg)
	}
	// A log without segments gets a fresh one, which has nothing to check
	// (its preallocated indexes would read as zero entries).
	fresh := len(l.segs) == 0
	if fresh {
		seg, err := l.newSegmentLocked(max(st.logStart, 0), now, cfg)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, seg)
	}
	epochs, epochsOK, err := loadEpochCache(filepath.Join(l.dir, epochCheckpointFile))
	if err != nil {
		return err
	}
	l.epochs = epochs
	var recovered []*segment
	if fresh {
		l.nextOffset = l.segs[0].base
	} else if recovered, err = l.loadSegments(st, cfg); err != nil {
		return err
	}
	if err := l.loadBounds(st, cfg, now); err != nil {
		return err
	}
	if err := l.loadEpochs(epochsOK); err != nil {
		return err
	}
	if err := l.loadProducerState(); err != nil {
		return err
	}
	if err := l.activeLocked().activate(cfg.SegmentIndexBytes, false); err != nil {
		return err
	}
	if len(recovered) > 0 {
		// What recovery kept is fsync'd now, so the recovery point (and in
		// fsync mode the durable offset) start at the log end.
		for _, s := range recovered {
			if s.refs.Load() > 0 {
				if err := s.syncAll(); err != nil {
					return err
				}
			}
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
	}
	for _, s := range l.segs {
		s.syncedSize = s.size.Load()
	}
	l.recoveryPoint.Store(l.nextOffset)
	l.durable.Store(l.nextOffset)
	l.leo.Store(l.nextOffset)
	active := l.activeLocked()
	l.tail = tailState{leo: l.nextOffset, seg: active, size: active.size.Load()}
	l.publishSegmentsLocked()
	return nil
}

// cleanDirectory completes interrupted compaction swaps, removes leftovers
// of interrupted operations (.deleted, .tmp, .cleaned and stray .swap
// files, index files without a log) and returns the segment base offsets,
// ascending.
func (l *Log) cleanDirectory() ([]int64, error) {
	if err := completeSwaps(l.dir, l.logger); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	logs := map[int64]bool{}
	for _, de := range ents {
		if b, ok := parseSegmentName(de.Name(), logSuffix); ok {
			logs[b] = true
		}
	}
	for _, de := range ents {
		name := de.Name()
		drop := strings.HasSuffix(name, deletedSuffix) || strings.HasSuffix(name, tmpSuffix) ||
			strings.HasSuffix(name, ".cleaned") || strings.HasSuffix(name, ".swap")
		for _, suf := range []string{indexSuffix, timeIndexSuffix, txnIndexSuffix} {
			if b, ok := parseSegmentName(name, suf); ok && !logs[b] {
				drop = true
			}
		}
		if drop {
			if err := os.Remove(filepath.Join(l.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	slices.Sort(bases)
	return bases, nil
}

// loadSegments restores every segment's indexes and append state, running
// recovery where needed, and sets nextOffset. It returns the segments it
// recovered.
func (l *Log) loadSegments(st logState, cfg *LogConfig) ([]*segment, error) {
	// Segments from the one holding the recovery point on are scanned in
	// full after an unclean shutdown.
	firstUnflushed := len(l.segs)
	if !st.clean {
		firstUnflushed = 0
		for i, s := range l.segs {
			if s.base <= st.recoveryPoint {
				firstUnflushed = i
			}
		}
	}
	var recovered []*segment
	last := len(l.segs) - 1
	for i := 0; i <= last; i++ {
		seg := l.segs[i]
		bound := int64(1<<63 - 1)
		if i < last {
			bound = l.segs[i+1].base
		}
		full := i >= firstUnflushed
		if !full {
			if err := quickCheck(seg, bound); err != nil {
				l.logger.Warn("storage: rebuilding segment indexes", "offset", seg.base, "err", err)
				full = true
			}
		}
		if !full && i == last {
			// The active segment's indexes are checked entry by entry
			// (they are about to be mapped anyway).
			err := seg.idx.checkOffsets(seg.size.Load())
			if err == nil {
				err = seg.tidx.checkTimes(math.MaxInt64)
			}
			var next int64
			if err == nil {
				next, err = scanTail(seg)
			}
			if err == nil {
				l.nextOffset = next
				continue
			}
			l.logger.Warn("storage: recovering segment after a clean shutdown", "offset", seg.base, "err", err)
			full = true
		}
		if !full {
			seg.nextOff.Store(bound)
			continue
		}
		recovered = append(recovered, seg)
		// A scan that runs to the log end adds the epochs it finds past
		// the cache; rebuilding one old segment's indexes leaves it alone.
		var onBatch func(*record.Header)
		if i >= firstUnflushed || i == last {
			onBatch = func(h *record.Header) { l.epochs.assignIfNewer(h.PartitionLeaderEpoch, h.BaseOffset) }
		}
		res, err := recoverSegment(seg, cfg, onBatch)
		if err != nil {
			return recovered, err
		}
		if i < last {
			if err := seg.finishActive(); err != nil {
				return recovered, err
			}
			seg.nextOff.Store(res.next)
		}
		l.nextOffset = res.next
		if res.truncated == 0 {
			continue
		}
		l.logger.Warn("storage: truncated corrupt segment tail",
			"offset", res.next, "segment", seg.base, "bytes", res.truncated, "reason", res.reason)
		if i >= firstUnflushed && i < last {
			// Everything after the first invalid batch of the unflushed
			// part of the log goes.
			if err := l.dropSegmentsAfter(i); err != nil {
				return recovered, err
			}
			last = i
			seg.nextOff.Store(-1)
		}
	}
	if last := l.activeLocked(); last.nextOff.Load() >= 0 {
		last.nextOff.Store(-1)
	}
	return recovered, nil
}

// dropSegmentsAfter removes the files of every segment after index i.
func (l *Log) dropSegmentsAfter(i int) error {
	for _, s := range l.segs[i+1:] {
		paths, err := s.markDeleted()
		s.release()
		if err != nil {
			return err
		}
		for _, p := range paths {
			os.Remove(p)
		}
		l.logger.Warn("storage: deleted segment after corruption", "offset", s.base)
	}
	l.segs = l.segs[:i+1]
	return nil
}

// loadBounds sets the log start offset from the checkpoint and the first
// segment. When the log ends before the checkpointed log start (files
// lost), it starts over, empty, at the checkpointed offset.
func (l *Log) loadBounds(st logState, cfg *LogConfig, now int64) error {
	start := max(st.logStart, l.segs[0].base)
	if st.logStart > l.nextOffset {
		l.logger.Warn("storage: log ends before its checkpointed start; starting empty", "offset", st.logStart)
		if err := l.dropSegmentsAfter(-1); err != nil {
			return err
		}
		seg, err := l.newSegmentLocked(st.logStart, now, cfg)
		if err != nil {
			return err
		}
		l.segs = []*segment{seg}
		l.epochs.clear()
		if err := removeSnapshots(l.dir, func(int64) bool { return true }); err != nil {
			return err
		}
		l.nextOffset, start = st.logStart, st.logStart
	}
	l.logStart.Store(start)
	return nil
}

// loadEpochs makes the leader-epoch cache agree with the log: entries past
// the end go, the first entry moves up to the log start, and a missing or
// corrupt checkpoint is rebuilt from the batch headers.
func (l *Log) loadEpochs(checkpointOK bool) error {
	if !checkpointOK && l.nextOffset > l.logStart.Load() {
		l.epochs.clear()
		if err := l.scanLoaded(l.logStart.Load(), func(h *record.Header) {
			l.epochs.assignIfNewer(h.PartitionLeaderEpoch, h.BaseOffset)
		}); err != nil {
			return err
		}
	}
	l.epochs.truncateFromEnd(l.nextOffset)
	l.epochs.truncateFromStart(l.logStart.Load())
	return l.epochs.flush()
}

// loadProducerState loads the newest valid snapshot at or below the log
// end offset and replays the batch headers after it. Snapshots above the
// log end (left by a truncation or a lost tail) or below the log start are
// deleted.
func (l *Log) loadProducerState() error {
	start, end := l.logStart.Load(), l.nextOffset
	if err := removeSnapshots(l.dir, func(off int64) bool { return off > end || off < start }); err != nil {
		return err
	}
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	ps, from := newProducerState(), start
	for i := len(offs) - 1; i >= 0; i-- {
		path := snapshotPath(l.dir, offs[i])
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		p, off, err := decodeSnapshot(data)
		if err == nil && off != offs[i] {
			err = fmt.Errorf("%w: names offset %d", errBadSnapshot, off)
		}
		if err != nil {
			l.logger.Warn("storage: discarding producer snapshot", "offset", offs[i], "err", err)
			os.Remove(path)
			continue
		}
		ps, from = p, off
		break
	}
	if from < end {
		if err := l.scanLoaded(from, func(h *record.Header) {
			if h.ProducerID >= 0 {
				ps.update(h)
			}
		}); err != nil {
			return err
		}
	}
	ps.evictBefore(start)
	l.producers = ps
	return nil
}

// scanLoaded visits the headers of the batches ending at or after from,
// during load (before the log is published).
func (l *Log) scanLoaded(from int64, fn func(*record.Header)) error {
	for i, seg := range l.segs {
		if i+1 < len(l.segs) && l.segs[i+1].base <= from {
			continue
		}
		pos := int64(0)
		if seg.base < from {
			p, _, found, err := seg.findBatch(from, seg.size.Load())
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			pos = p
		}
		err := scanSegmentHeaders(seg, pos, seg.size.Load(), func(_ int64, h record.Header) bool {
			if h.LastOffset() >= from {
				fn(&h)
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}
