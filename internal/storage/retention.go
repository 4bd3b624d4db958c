package storage

import (
	"fmt"
	"slices"
)

// Retention, DeleteRecords and truncation: everything that removes data.
// Removed segments leave the published list first, then their files are
// renamed *.deleted and handed to the Dir's deleter, which removes them
// after FileDeleteDelayMs; readers holding a Slice keep reading through
// their open descriptor.

// ApplyRetention deletes the oldest segments that retention allows, as
// Kafka's log cleaner thread does for cleanup.policy=delete (it does
// nothing for a compact-only log):
//
//   - time: segments whose max timestamp is more than RetentionMs before
//     now (ms); when every segment qualifies, a new empty segment is rolled
//     first so the log keeps an active segment;
//   - size: while the log would still hold at least RetentionBytes without
//     it, the oldest segment other than the active one.
//
// Only segments wholly below highWatermark are eligible. The log start
// offset moves to the first remaining segment (or stays higher if
// DeleteRecordsBefore set it). It returns the number of segments deleted.
func (l *Log) ApplyRetention(now, highWatermark int64) (int, error) {
	cfg := l.cfg.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return 0, err
	}
	var victims []*segment
	if cfg.RetentionMs >= 0 && cfg.CleanupPolicy.Delete() {
		n := l.deletablePrefixLocked(highWatermark, true, func(s *segment) bool {
			return now-s.maxTimestampOrMtime() > cfg.RetentionMs
		})
		if n == len(l.segs) {
			if _, err := l.rollLocked(now, cfg); err != nil {
				return 0, err
			}
		}
		victims = append(victims, l.segs[:n]...)
		l.segs = l.segs[n:]
	}
	if cfg.RetentionBytes >= 0 && cfg.CleanupPolicy.Delete() {
		diff := -cfg.RetentionBytes
		for _, s := range l.segs {
			diff += s.size.Load()
		}
		n := l.deletablePrefixLocked(highWatermark, false, func(s *segment) bool {
			if diff-s.size.Load() < 0 {
				return false
			}
			diff -= s.size.Load()
			return true
		})
		victims = append(victims, l.segs[:n]...)
		l.segs = l.segs[n:]
	}
	if len(victims) == 0 {
		return 0, nil
	}
	if start := l.segs[0].base; start > l.logStart.Load() {
		l.logStart.Store(start)
	}
	return len(victims), l.afterHeadRemovalLocked(victims, cfg)
}

// deletablePrefixLocked counts the leading segments for which pred holds,
// stopping at the first segment not wholly below highWatermark. With
// active, a non-empty active segment may be counted (the caller then
// rolls); otherwise never.
func (l *Log) deletablePrefixLocked(highWatermark int64, active bool, pred func(*segment) bool) int {
	n := 0
	for n < len(l.segs) {
		s := l.segs[n]
		last := n == len(l.segs)-1
		upper := l.nextOffset
		if !last {
			upper = l.segs[n+1].base
		}
		if (last && (!active || s.size.Load() == 0)) || upper > highWatermark || !pred(s) {
			break
		}
		n++
	}
	return n
}

// afterHeadRemovalLocked finishes removing the first segments: publish,
// delete files, and forget producer and epoch state below the log start.
func (l *Log) afterHeadRemovalLocked(victims []*segment, cfg *LogConfig) error {
	l.publishSegmentsLocked()
	start := l.logStart.Load()
	l.producers.evictBefore(start)
	if l.epochs.truncateFromStart(start) {
		if err := l.epochs.flush(); err != nil {
			return l.failLocked(fmt.Errorf("write leader epoch checkpoint: %w", err), nil, 0)
		}
	}
	if err := removeSnapshots(l.dir, func(off int64) bool { return off < l.segs[0].base }); err != nil {
		l.logger.Warn("storage: removing old producer snapshots", "err", err)
	}
	return l.deleteSegmentsLocked(victims, cfg)
}

// deleteSegmentsLocked renames the victims' files *.deleted, schedules
// their removal and drops the Log's reference. They must already be out of
// l.segs.
func (l *Log) deleteSegmentsLocked(victims []*segment, cfg *LogConfig) error {
	var firstErr error
	for _, s := range victims {
		l.pending = slices.DeleteFunc(l.pending, func(p *segment) bool { return p == s })
		paths, err := s.markDeleted()
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("delete segment %d: %w", s.base, err)
		}
		l.parent.scheduleDelete(paths, cfg.FileDeleteDelayMs)
		l.logger.Info("storage: deleting segment", "offset", s.base)
		s.release()
	}
	return firstErr
}

// DeleteRecordsBefore moves the log start offset up to offset (the
// DeleteRecords API; the caller checks offset against the high watermark)
// and deletes the segments wholly below it, never the active one. The new
// log start offset is in the Dir's log-start-offset checkpoint, fsync'd,
// before it returns, so it survives a crash. offset above the log end
// offset fails with ErrOffsetOutOfRange; at or below the log start it
// changes nothing. It returns the log start offset.
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	if offset > l.nextOffset {
		l.mu.Unlock()
		return 0, fmt.Errorf("delete records before %d, log end %d: %w", offset, l.nextOffset, ErrOffsetOutOfRange)
	}
	if offset <= l.logStart.Load() {
		l.mu.Unlock()
		return l.logStart.Load(), nil
	}
	l.logStart.Store(offset)
	l.producers.evictBefore(offset)
	if l.epochs.truncateFromStart(offset) {
		if err := l.epochs.flush(); err != nil {
			err = l.failLocked(fmt.Errorf("write leader epoch checkpoint: %w", err), nil, 0)
			l.mu.Unlock()
			return 0, err
		}
	}
	l.mu.Unlock()

	if err := l.parent.checkpointLogStarts(); err != nil {
		return 0, fmt.Errorf("persist log start offset %d: %w", offset, err)
	}

	cfg := l.cfg.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return offset, nil
	}
	start := l.logStart.Load()
	n := 0
	for n < len(l.segs)-1 && l.segs[n+1].base <= start {
		n++
	}
	if n == 0 {
		return start, nil
	}
	victims := slices.Clone(l.segs[:n])
	l.segs = l.segs[n:]
	return start, l.afterHeadRemovalLocked(victims, cfg)
}

// ExpireProducers forgets idempotent producers whose last batch is
// ProducerIDExpirationMs or more older than now (ms) and that have no
// transaction in progress (Kafka's producer.id.expiration.check). It
// returns how many were removed.
func (l *Log) ExpireProducers(now int64) int {
	cfg := l.cfg.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.producers.expire(now, cfg.ProducerIDExpirationMs)
}
