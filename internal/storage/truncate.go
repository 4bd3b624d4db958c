package storage

import (
	"fmt"
	"slices"
	"time"
)

// Truncate removes every batch at or after offset (a follower truncating
// to the leader's log after OffsetForLeaderEpoch): segments, index
// entries, leader-epoch entries and producer state. A batch holding offset
// goes whole, so the new log end offset is the base offset of the first
// batch removed. The cut is fsync'd before it returns. offset at or after
// the log end removes no batch, only leader epochs starting at or after
// offset; offset below the log start empties the log
// and restarts it at offset, as TruncateFullyAndStartAt.
func (l *Log) Truncate(offset int64) error {
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	if offset >= l.nextOffset {
		// No batch goes, but an epoch that starts at the end and has no
		// batch yet (a leadership that wrote nothing) does.
		defer l.mu.Unlock()
		if l.epochs.truncateFromEnd(offset) {
			return l.epochs.flush()
		}
		return nil
	}
	if offset < l.logStart.Load() {
		l.mu.Unlock()
		return l.TruncateFullyAndStartAt(offset)
	}
	defer l.mu.Unlock()
	cfg := l.cfg.Load()
	k := len(l.segs)
	for k > 1 && l.segs[k-1].base > offset {
		k--
	}
	victims := slices.Clone(l.segs[k:])
	l.segs = slices.Clip(l.segs[:k])
	seg := l.segs[k-1]
	wasActive := seg.nextOff.Load() < 0

	pos, h, found, err := seg.findBatch(offset, seg.size.Load())
	if err != nil {
		return l.failLocked(fmt.Errorf("truncate to %d: %w", offset, err), nil, 0)
	}
	newEnd := offset
	cut := seg.size.Load()
	if found {
		// The batch holding offset goes whole; one starting after it
		// (past a compaction gap) leaves the log ending at offset.
		newEnd, cut = min(h.BaseOffset, offset), pos
	} else if n := seg.nextOff.Load(); n >= 0 {
		newEnd = n
	}
	if err := seg.truncateFile(cut); err != nil {
		return l.failLocked(err, nil, 0)
	}
	seg.idx.truncateOffsetsFrom(newEnd)
	seg.tidx.truncateTimesFrom(newEnd)
	if !wasActive {
		if err := seg.activate(cfg.SegmentIndexBytes, false); err != nil {
			return l.failLocked(fmt.Errorf("truncate to %d: %w", offset, err), nil, 0)
		}
		seg.created = time.Now().UnixMilli()
		seg.reopenRunway()
	}
	seg.maxTs, seg.offMaxTs = -1, -1
	if _, err := scanTail(seg); err != nil {
		return l.failLocked(fmt.Errorf("truncate to %d: %w", offset, err), nil, 0)
	}
	seg.nextOff.Store(-1)
	l.nextOffset = newEnd
	l.lowerCleanPointLocked(newEnd)
	if err := seg.syncAll(); err != nil {
		return l.failLocked(fmt.Errorf("truncate to %d: %w", offset, err), nil, 0)
	}
	if l.epochs.truncateFromEnd(newEnd) {
		if err := l.epochs.flush(); err != nil {
			return l.failLocked(fmt.Errorf("write leader epoch checkpoint: %w", err), nil, 0)
		}
	}
	if err := l.loadProducerState(); err != nil {
		return l.failLocked(fmt.Errorf("reload producer state: %w", err), nil, 0)
	}
	l.publishEndLocked(seg)
	return l.deleteSegmentsLocked(victims, cfg)
}

// publishEndLocked makes a lowered log end visible: ring, tail, log end,
// recovery point and durable offset.
func (l *Log) publishEndLocked(active *segment) {
	l.truncGen++ // a flush in progress must not publish what it covered
	l.publishSegmentsLocked()
	l.tailMu.Lock()
	l.ring.truncate(l.nextOffset)
	l.tail = tailState{leo: l.nextOffset, seg: active, size: active.size.Load()}
	l.tailMu.Unlock()
	l.leo.Store(l.nextOffset)
	if l.recoveryPoint.Load() > l.nextOffset {
		l.recoveryPoint.Store(l.nextOffset)
	}
	if l.durable.Load() > l.nextOffset {
		l.durable.Store(l.nextOffset)
	}
	l.kickFlusher()
}

// TruncateFullyAndStartAt deletes every segment and restarts the log,
// empty, at offset, which becomes both its log start and log end offset (a
// follower too far behind the leader's log start). The epoch cache and
// producer state are cleared. The new log start offset is checkpointed
// before it returns.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("storage: truncate fully to negative offset %d", offset)
	}
	cfg := l.cfg.Load()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	victims := l.segs
	l.segs = nil
	// Rename the old files first: the new segment may reuse a base offset.
	err := l.deleteSegmentsLocked(victims, cfg)
	if err == nil {
		var seg *segment
		if seg, err = l.newSegmentLocked(offset, time.Now().UnixMilli(), cfg); err == nil {
			l.segs = []*segment{seg}
			l.dirDirty = true
			l.nextOffset = offset
			l.logStart.Store(offset)
			l.lowerCleanPointLocked(offset)
			l.epochs.clear()
			l.producers.clear()
			if err = l.epochs.flush(); err == nil {
				err = removeSnapshots(l.dir, func(int64) bool { return true })
			}
			l.tailMu.Lock()
			l.ring.reset()
			l.tailMu.Unlock()
			l.publishEndLocked(seg)
			l.recoveryPoint.Store(offset)
			l.durable.Store(offset)
		}
	}
	if err != nil {
		err = l.failLocked(fmt.Errorf("truncate fully to %d: %w", offset, err), nil, 0)
		l.mu.Unlock()
		return err
	}
	l.mu.Unlock()
	if err := l.parent.checkpointLogStarts(); err != nil {
		return fmt.Errorf("persist log start offset %d: %w", offset, err)
	}
	return nil
}
