package storage

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The flusher: one goroutine per Log, started by Dir.OpenLog and stopped by
// Close. It does group commit in fsync mode and Kafka's background flushing
// in page-cache mode, moves the recovery point, releases WaitDurable
// callers and calls OnDurable.
//
// One pass: under Log.mu it notes the log end offset (target) and the
// segments with unsynced bytes (rolled ones, and the active one when the
// policy says so); without the lock it fsyncs them; under the lock again it
// publishes what that covered. Batches appended during the fsync are
// covered by the next pass, so one fsync serves every batch that arrived
// while the previous one ran.

// waiter is one WaitDurable call.
type waiter struct {
	offset int64
	ch     chan error // capacity 1: the flusher never blocks on it
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan error, 1)} }}

// maxTimerMs bounds FlushMs values treated as a real interval; larger ones
// (Kafka's default is Long.MAX_VALUE) mean never.
const maxTimerMs = int64(1) << 40

// WaitDurable returns once every offset below offset is durable under the
// current flush policy: fdatasync'd in fsync mode (FlushMessages == 1),
// written in page-cache mode (so it returns at once for appended offsets).
// It fails when ctx ends, when the log is closed before that point is
// durable, or when an fsync failed (ErrLogFailed).
func (l *Log) WaitDurable(ctx context.Context, offset int64) error {
	if l.durable.Load() >= offset {
		return nil
	}
	w := waiterPool.Get().(*waiter)
	w.offset = offset
	l.flushMu.Lock()
	if l.durable.Load() >= offset {
		l.flushMu.Unlock()
		waiterPool.Put(w)
		return nil
	}
	if err := l.waitErr; err != nil {
		l.flushMu.Unlock()
		waiterPool.Put(w)
		return err
	}
	l.waiters = append(l.waiters, w)
	l.nWaiters.Add(1)
	l.flushMu.Unlock()
	l.kickFlusher()
	select {
	case err := <-w.ch:
		waiterPool.Put(w)
		return err
	case <-ctx.Done():
		l.flushMu.Lock()
		removed := false
		for i, x := range l.waiters {
			if x == w {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				l.nWaiters.Add(-1)
				removed = true
				break
			}
		}
		l.flushMu.Unlock()
		if !removed {
			<-w.ch // released meanwhile: drain before reuse
		}
		waiterPool.Put(w)
		return ctx.Err()
	}
}

// releaseWaiters wakes the waiters at or below durable; with err, all.
func (l *Log) releaseWaiters(durable int64, err error) {
	l.flushMu.Lock()
	if err != nil && l.waitErr == nil {
		l.waitErr = err
	}
	keep := l.waiters[:0]
	for _, w := range l.waiters {
		switch {
		case w.offset <= durable:
			w.ch <- nil
		case err != nil:
			w.ch <- err
		default:
			keep = append(keep, w)
			continue
		}
		l.nWaiters.Add(-1)
	}
	clear(l.waiters[len(keep):])
	l.waiters = keep
	l.flushMu.Unlock()
}

// runFlusher is the flusher goroutine.
func (l *Log) runFlusher() {
	defer close(l.done)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var tick <-chan time.Time
		if cfg := l.cfg.Load(); !cfg.fsyncMode() && cfg.FlushMs < maxTimerMs {
			d := time.Duration(max(cfg.FlushMs, 1)) * time.Millisecond
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tick = timer.C
		}
		select {
		case <-l.stop:
			return
		case <-l.kick:
		case <-tick:
		}
		l.flushPass()
	}
}

// flushPass runs one pass of the flusher.
func (l *Log) flushPass() {
	now := time.Now().UnixMilli()
	l.mu.Lock()
	if l.closed || l.failed != nil {
		failed, durable := l.failed, l.durable.Load()
		l.mu.Unlock()
		if failed != nil {
			l.releaseWaiters(durable, failed)
		}
		return
	}
	cfg := l.cfg.Load()
	target := l.nextOffset
	active := l.activeLocked()
	activeSize, activeBase := active.size.Load(), active.base
	gen := l.truncGen
	dirty := activeSize > active.syncedSize
	syncActive := dirty && (cfg.fsyncMode() ||
		target-l.recoveryPoint.Load() >= cfg.FlushMessages ||
		(cfg.FlushMs < maxTimerMs && now-l.lastFlush >= cfg.FlushMs))
	pending := l.pending
	l.pending = nil
	dirDirty := l.dirDirty
	l.dirDirty = false
	var syncs []*segment
	for _, s := range pending {
		if s.tryAcquire() {
			syncs = append(syncs, s)
		}
	}
	if syncActive && !active.tryAcquire() {
		syncActive = false
	}
	l.mu.Unlock()

	var started time.Time
	flushed := l.parent.flushedHook()
	if flushed != nil {
		started = time.Now()
	}
	var err error
	for _, s := range syncs {
		if err == nil {
			err = s.syncAll()
		}
	}
	if syncActive && err == nil {
		l.fsyncs.Add(1)
		if hook := l.syncHook.Load(); hook != nil {
			(*hook)()
		}
		err = active.syncData()
	}
	if (dirDirty || len(syncs) > 0) && err == nil {
		err = syncDir(l.dir)
	}
	if flushed != nil && err == nil && (syncActive || dirDirty || len(syncs) > 0) {
		flushed(time.Since(started))
	}

	l.mu.Lock()
	if err == nil && gen == l.truncGen {
		for _, s := range syncs {
			s.syncedSize = s.size.Load()
		}
		if syncActive && active.syncedSize < activeSize {
			active.syncedSize = activeSize
		}
		covered := activeBase
		if syncActive || !dirty {
			covered = target
		}
		covered = min(covered, l.nextOffset)
		if covered > l.recoveryPoint.Load() {
			l.recoveryPoint.Store(covered)
		}
		if syncActive {
			l.lastFlush = now
		}
		if cfg.fsyncMode() && covered > l.durable.Load() {
			l.durable.Store(covered)
		}
	} else if err != nil && l.failed == nil && !l.closed {
		l.failLocked(fmt.Errorf("flush: %w", err), nil, 0)
	}
	durable := l.durable.Load()
	failed := l.failed
	curGen := l.truncGen
	l.mu.Unlock()
	for _, s := range syncs {
		s.release()
	}
	if syncActive {
		active.release()
	}
	l.releaseWaiters(durable, failed)
	if curGen != l.notifiedGen { // the log end moved down: start over
		l.notified, l.notifiedGen = -1, curGen
	}
	if cb := cfg.OnDurable; cb != nil && durable > l.notified {
		l.notified = durable
		cb(durable)
	}
}

// Close flushes the log (every segment fsync'd, indexes trimmed, a
// producer-state snapshot at the log end offset), stops the flusher and
// closes the files, which stay open for Slices still held. Waiters above
// the durable offset get ErrClosed. Closing twice is a no-op.
func (l *Log) Close() error { return l.close(true) }

// close stops the flusher and, with flush, makes everything durable first.
// A compaction pass over the log is stopped and waited for first.
func (l *Log) close(flush bool) error {
	l.clean.abort.Store(true)
	l.clean.mu.Lock()
	l.clean.mu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.closedFlag.Store(true)
	l.mu.Unlock()
	close(l.stop)
	<-l.done

	l.mu.Lock()
	var err error
	if flush && l.failed == nil {
		err = l.flushAllLocked()
	}
	durable := l.durable.Load()
	for _, s := range l.segs {
		s.release()
	}
	l.segs = nil
	l.publishSegmentsLocked()
	l.pending = nil
	l.mu.Unlock()
	l.runways.Wait()
	l.releaseWaiters(durable, ErrClosed)
	return err
}

// flushAllLocked makes the whole log durable for a clean close: trims the
// active segment's indexes, fsyncs every unsynced segment and the
// directory, and writes a synced producer snapshot at the log end offset.
func (l *Log) flushAllLocked() error {
	active := l.activeLocked()
	if err := active.finishActive(); err != nil {
		return err
	}
	for _, s := range append(l.pending, active) {
		if err := s.syncAll(); err != nil {
			return err
		}
		s.syncedSize = s.size.Load()
	}
	l.pending = nil
	var err error
	if l.snapBuf, err = writeSnapshot(l.dir, l.producers, l.nextOffset, l.snapBuf, true); err != nil {
		return fmt.Errorf("producer snapshot: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		return err
	}
	l.recoveryPoint.Store(l.nextOffset)
	l.durable.Store(l.nextOffset)
	return nil
}
