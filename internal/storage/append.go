package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// The append path: AppendAsLeader and AppendAsFollower, and the roll that
// may precede a write. The helpers (…Locked) run with Log.mu held.

// checkBatch checks the header invariants an append relies on.
func checkBatch(b []byte, maxBytes int32) (record.Header, error) {
	h, err := record.ParseHeader(b)
	if err != nil {
		return h, fmt.Errorf("%w: %d bytes", ErrInvalidBatch, len(b))
	}
	switch {
	case h.Size() != int64(len(b)):
		return h, fmt.Errorf("%w: length field %d for %d bytes", ErrInvalidBatch, h.Length, len(b))
	case h.Magic != 2:
		return h, fmt.Errorf("%w: magic %d", ErrInvalidBatch, h.Magic)
	case h.LastOffsetDelta < 0:
		return h, fmt.Errorf("%w: last offset delta %d", ErrInvalidBatch, h.LastOffsetDelta)
	case maxBytes > 0 && len(b) > int(maxBytes):
		return h, fmt.Errorf("%w: %d bytes > %d", ErrBatchTooLarge, len(b), maxBytes)
	}
	return h, nil
}

// AppendAsLeader appends one batch the caller has validated (CRC,
// records), as the partition leader. It rewrites the batch in place: base
// offset = log end offset, partition leader epoch = leaderEpoch. An
// idempotent batch is first checked against the producer state (see
// producerState.check); a retry of one of the producer's last five batches
// returns the original offsets with Duplicate set and writes nothing. now
// (ms) drives time-based rolling of empty segments. The batch is written
// with one write; the call does not wait for durability (see WaitDurable).
// It does not allocate in steady state.
func (l *Log) AppendAsLeader(batch []byte, leaderEpoch int32, now int64) (AppendResult, error) {
	cfg := l.cfg.Load()
	h, err := checkBatch(batch, cfg.MaxMessageBytes)
	if err != nil {
		return AppendResult{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return AppendResult{}, err
	}
	if h.Idempotent() {
		dup, isDup, err := l.producers.check(&h)
		if err != nil {
			return AppendResult{}, err
		}
		if isDup {
			return AppendResult{
				BaseOffset:     dup.firstOffset,
				LastOffset:     dup.lastOffset,
				LogAppendTime:  -1,
				LogStartOffset: l.logStart.Load(),
				Duplicate:      true,
			}, nil
		}
	}
	record.SetBaseOffset(batch, l.nextOffset)
	record.SetPartitionLeaderEpoch(batch, leaderEpoch)
	h.BaseOffset, h.PartitionLeaderEpoch = l.nextOffset, leaderEpoch
	if err := l.appendLocked(batch, &h, now, cfg); err != nil {
		return AppendResult{}, err
	}
	res := AppendResult{
		BaseOffset:     h.BaseOffset,
		LastOffset:     h.LastOffset(),
		LogAppendTime:  -1,
		LogStartOffset: l.logStart.Load(),
	}
	if h.LogAppendTime() {
		res.LogAppendTime = h.MaxTimestamp
	}
	return res, nil
}

// AppendAsFollower appends batches copied from the leader, which already
// carry their offsets and leader epochs. They must be whole v2 batches
// with valid CRCs, the first starting at the log end offset and each
// following the previous one; otherwise nothing is written. On a compacted
// log (cleanup.policy contains compact) a batch may start after that
// offset, past a gap the leader's compaction left, by less than 2³¹.
// Producer state is updated without idempotence checks (the leader made
// them).
func (l *Log) AppendAsFollower(batches []byte) error {
	cfg := l.cfg.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	next := l.nextOffset
	for b := batches; len(b) > 0; {
		size, err := record.BatchSize(b)
		if err != nil || size < record.HeaderSize || size > int64(len(b)) {
			return fmt.Errorf("%w: partial batch at offset %d", ErrInvalidBatch, next)
		}
		h, err := checkBatch(b[:size], 0)
		if err != nil {
			return err
		}
		if h.BaseOffset != next && !(cfg.CleanupPolicy.Compact() && h.BaseOffset > next && h.LastOffset()-next <= math.MaxInt32) {
			return fmt.Errorf("%w: batch at %d, expected %d", ErrUnexpectedOffset, h.BaseOffset, next)
		}
		if record.CRC32C(b[21:size]) != h.CRC {
			return fmt.Errorf("%w: crc mismatch at offset %d", ErrInvalidBatch, h.BaseOffset)
		}
		next = h.NextOffset()
		b = b[size:]
	}
	now := time.Now().UnixMilli()
	for b := batches; len(b) > 0; {
		size, _ := record.BatchSize(b)
		h, _ := record.ParseHeader(b)
		if err := l.appendLocked(b[:size], &h, now, cfg); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

func (l *Log) usableLocked() error {
	if l.closed {
		return ErrClosed
	}
	return l.failed
}

// appendLocked writes one batch whose header h already holds its final
// offsets and epoch, rolling first when needed, then updates the indexes,
// the epoch cache, the producer state and what readers see.
func (l *Log) appendLocked(batch []byte, h *record.Header, now int64, cfg *LogConfig) error {
	seg := l.activeLocked()
	size := int64(len(batch))
	if l.shouldRollLocked(seg, h, size, now, cfg) {
		var err error
		if seg, err = l.rollLocked(now, cfg); err != nil {
			return err
		}
	}
	pos := seg.size.Load()
	if err := seg.writeAtEnd(batch, pos); err != nil {
		return l.failLocked(err, seg, pos)
	}
	seg.size.Store(pos + size)
	if cfg.fsyncMode() {
		l.maybeExtendRunway(seg, pos+size, cfg.SegmentBytes)
	}
	seg.onAppend(h, pos, cfg.IndexIntervalBytes)
	if l.epochs.needsAssign(h.PartitionLeaderEpoch, h.BaseOffset) {
		l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
		if err := l.epochs.flush(); err != nil {
			return l.failLocked(fmt.Errorf("write leader epoch checkpoint: %w", err), nil, 0)
		}
	}
	if h.ProducerID >= 0 {
		l.producers.update(h)
	}
	l.nextOffset = h.NextOffset()

	l.tailMu.Lock()
	l.ring.push(ringEntry{base: h.BaseOffset, next: l.nextOffset, pos: pos, size: size, seg: seg})
	l.tail = tailState{leo: l.nextOffset, seg: seg, size: pos + size}
	l.tailMu.Unlock()
	l.leo.Store(l.nextOffset)

	if !cfg.fsyncMode() {
		// The batch is durable as the append returns, which its caller
		// sees in DurableOffset; OnDurable is not called for it.
		l.durable.Store(l.nextOffset)
		if l.nWaiters.Load() == 0 && l.nextOffset-l.recoveryPoint.Load() < cfg.FlushMessages {
			return nil // nothing for the flusher to do yet
		}
	}
	l.kickFlusher()
	return nil
}

// shouldRollLocked applies Kafka's roll rules to the active segment before
// a batch of size bytes is appended.
func (l *Log) shouldRollLocked(seg *segment, h *record.Header, size, now int64, cfg *LogConfig) bool {
	cur := seg.size.Load()
	if cur == 0 {
		return !seg.relativeFits(h.LastOffset())
	}
	waited := now - seg.created
	if seg.rollBaseTs >= 0 {
		waited = h.MaxTimestamp - seg.rollBaseTs
	}
	return cur > cfg.SegmentBytes-size ||
		cur+size > math.MaxInt32 ||
		waited > cfg.rollMs()-seg.jitter ||
		seg.idx.full() || seg.tidx.full() ||
		!seg.relativeFits(h.LastOffset())
}

// rollLocked closes the active segment for appends and starts a new one at
// the log end offset, taking a producer-state snapshot there. The old
// segment is fsync'd by the flusher.
func (l *Log) rollLocked(now int64, cfg *LogConfig) (*segment, error) {
	old := l.activeLocked()
	base := l.nextOffset
	if err := old.finishActive(); err != nil {
		return nil, l.failLocked(fmt.Errorf("roll: %w", err), nil, 0)
	}
	old.nextOff.Store(base)
	seg, err := l.newSegmentLocked(base, now, cfg)
	if err != nil {
		return nil, l.failLocked(fmt.Errorf("roll: %w", err), nil, 0)
	}
	if l.snapBuf, err = writeSnapshot(l.dir, l.producers, base, l.snapBuf, false); err != nil {
		l.logger.Warn("storage: producer snapshot failed", "offset", base, "err", err)
	}
	l.segs = append(l.segs, seg)
	l.publishSegmentsLocked()
	l.pending = append(l.pending, old)
	l.dirDirty = true
	l.tailMu.Lock()
	l.tail = tailState{leo: base, seg: seg, size: 0}
	l.tailMu.Unlock()
	l.kickFlusher()
	return seg, nil
}

// newSegmentLocked creates an empty active segment.
func (l *Log) newSegmentLocked(base, now int64, cfg *LogConfig) (*segment, error) {
	seg, err := openSegment(l.dir, base, true)
	if err != nil {
		return nil, err
	}
	if err := seg.activate(cfg.SegmentIndexBytes, true); err != nil {
		seg.release()
		return nil, err
	}
	seg.created = now
	if j := min(cfg.SegmentJitterMs, cfg.SegmentMs); j > 0 {
		seg.jitter = rand.Int64N(j)
	}
	seg.nextOff.Store(-1)
	if cfg.Preallocate {
		// Best effort: FALLOC_FL_KEEP_SIZE (1) reserves blocks without
		// changing the file size.
		_ = syscall.Fallocate(seg.fd, 1, 0, cfg.SegmentBytes)
	}
	return seg, nil
}

// failLocked marks the log failed after an I/O error. When seg is set, the
// partial write at pos is cut off first.
func (l *Log) failLocked(err error, seg *segment, pos int64) error {
	if seg != nil {
		if terr := seg.truncateFile(pos); terr != nil {
			err = fmt.Errorf("%w (and undoing the write: %v)", err, terr)
		}
	}
	l.failed = fmt.Errorf("%w: %v", ErrLogFailed, err)
	l.logger.Error("storage: log failed", "err", err)
	l.kickFlusher() // it releases the waiters with the error
	return l.failed
}
