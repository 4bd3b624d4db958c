package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Cleaner compacts the logs of cleanup.policy=compact topics (Kafka's
// LogCleaner): it keeps the latest record of each key, and tombstones
// until their delete horizon. One Cleaner serves every Dir of a broker, as
// Kafka's serves every log.dirs entry, so that log.cleaner.threads and the
// dedupe buffer are broker-wide budgets; each Dir keeps its own
// cleaner-offset-checkpoint.
//
// The caller owns it: NewCleaner, Start after the Dirs are open, Stop
// before they close (a Log being closed aborts and waits for a pass over
// it anyway). Methods are safe for concurrent use.
type Cleaner struct {
	cfg    CleanerConfig // immutable
	logger *slog.Logger  // immutable
	dirs   []*Dir        // immutable

	mu          sync.Mutex
	uncleanable map[*Log]error // guarded by mu: logs a pass failed on, skipped until reopened
	started     bool           // guarded by mu
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	once        *cleanWorker // guarded by onceMu: CleanOnce's worker
	throttle    *throttler   // shared by every worker
	onceMu      sync.Mutex

	stats cleanerCounters

	// testHook, when set (tests only, before use), runs at each step of a
	// swap; errSimulatedCrash stops the pass there as a kill would.
	testHook func(step string) error
}

// cleanerCounters are the Cleaner's totals.
type cleanerCounters struct {
	passes, bytesRead, bytesWritten, recordsRead, recordsKept atomic.Int64
	lastCleanMs, lastDurationMs                               atomic.Int64
	maxDirtyRatio                                             atomic.Uint64 // float64 bits, of the last selection
}

// CleanerStats are a Cleaner's totals since NewCleaner, for the broker to
// log or export (Kafka's cleaner metrics).
type CleanerStats struct {
	Passes          int64   // passes completed
	BytesRead       int64   // segment bytes read (map building and rewriting)
	BytesWritten    int64   // bytes of cleaned segments written
	RecordsRead     int64   // records examined while rewriting
	RecordsRetained int64   // records kept
	LastCleanMs     int64   // when the last pass ended, ms; 0 when none
	LastDurationMs  int64   // how long it took, ms
	MaxDirtyRatio   float64 // the dirtiest log's ratio at the last selection
	UncleanableLogs int     // logs skipped after a failed pass
}

// NewCleaner returns a Cleaner of the logs open in dirs.
func NewCleaner(cfg CleanerConfig, dirs ...*Dir) (*Cleaner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cleaner{cfg: cfg, logger: logger, dirs: dirs, uncleanable: map[*Log]error{},
		throttle: newThrottler(cfg.IOMaxBytesPerSecond)}, nil
}

// SetIOMaxBytesPerSecond changes the bound of CleanerConfig's
// IOMaxBytesPerSecond while the cleaner runs, as Kafka's
// log.cleaner.io.max.bytes.per.second changes at run time.
func (c *Cleaner) SetIOMaxBytesPerSecond(rate float64) { c.throttle.setRate(rate) }

// Start starts the cleaner threads (none when Enable is false or Threads
// is 0). Each picks the dirtiest log, compacts it, and waits BackoffMs
// when no log needs it. Starting twice, or after Stop, does nothing.
func (c *Cleaner) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || !c.cfg.Enable {
		return
	}
	c.started = true
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for i := 0; i < c.cfg.Threads; i++ {
		c.wg.Add(1)
		go c.run(ctx, newCleanWorker(&c.cfg, c.throttle))
	}
}

// Stop stops the threads and waits for them; a pass in progress stops at
// its next batch and leaves the log as it was. Stop may be called more
// than once, and without Start.
func (c *Cleaner) Stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.cancel = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
}

// run is one cleaner thread.
func (c *Cleaner) run(ctx context.Context, w *cleanWorker) {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		cleaned, err := c.cleanFilthiest(ctx, w)
		if cleaned && err == nil {
			continue
		}
		timer.Reset(max(msDuration(c.cfg.BackoffMs), time.Millisecond))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
}

// CleanOnce runs one selection and, when a log needs it, one pass over
// the dirtiest, on the caller's goroutine. It reports whether a log was
// compacted; an error is that pass's failure (the log is then skipped
// until reopened).
func (c *Cleaner) CleanOnce(ctx context.Context) (bool, error) {
	c.onceMu.Lock()
	defer c.onceMu.Unlock()
	if c.once == nil {
		c.once = newCleanWorker(&c.cfg, c.throttle)
	}
	return c.cleanFilthiest(ctx, c.once)
}

// Stats returns the Cleaner's totals.
func (c *Cleaner) Stats() CleanerStats {
	c.mu.Lock()
	bad := len(c.uncleanable)
	c.mu.Unlock()
	return CleanerStats{
		Passes:          c.stats.passes.Load(),
		BytesRead:       c.stats.bytesRead.Load(),
		BytesWritten:    c.stats.bytesWritten.Load(),
		RecordsRead:     c.stats.recordsRead.Load(),
		RecordsRetained: c.stats.recordsKept.Load(),
		LastCleanMs:     c.stats.lastCleanMs.Load(),
		LastDurationMs:  c.stats.lastDurationMs.Load(),
		MaxDirtyRatio:   math.Float64frombits(c.stats.maxDirtyRatio.Load()),
		UncleanableLogs: bad,
	}
}

// candidate is a log chosen for a pass, with its cleaning lock held and
// its plan's segments acquired.
type candidate struct {
	log   *Log
	plan  cleanPlan
	ratio float64
}

func (cd *candidate) drop() {
	cd.plan.release()
	cd.log.clean.mu.Unlock()
}

// cleanFilthiest picks the log to compact, as Kafka's
// grabFilthiestCompactedLog does, and runs a pass over it. A log is
// eligible when its dirty ratio exceeds MinCleanableDirtyRatio, when its
// oldest dirty batch is older than MaxCompactionLagMs, or (samsa) when a
// tombstone the last pass kept reached its delete horizon; the highest
// ratio wins. Logs another thread is cleaning are skipped.
func (c *Cleaner) cleanFilthiest(ctx context.Context, w *cleanWorker) (bool, error) {
	now := c.cfg.now()
	var best *candidate
	maxRatio := 0.0
	for _, l := range c.logs() {
		if !l.clean.mu.TryLock() {
			continue
		}
		cd, ok := l.candidate(now)
		if !ok {
			l.clean.mu.Unlock()
			continue
		}
		maxRatio = max(maxRatio, cd.ratio)
		if !cd.eligible(now) || (best != nil && cd.ratio <= best.ratio) {
			cd.drop()
			continue
		}
		if best != nil {
			best.drop()
		}
		best = cd
	}
	c.stats.maxDirtyRatio.Store(math.Float64bits(maxRatio))
	if best == nil {
		return false, nil
	}
	err := c.cleanLog(ctx, w, best, now)
	best.drop()
	switch {
	case err == nil:
		best.log.parent.checkpointCleaner()
		return true, nil
	case errors.Is(err, errCleanAborted), errors.Is(err, errSimulatedCrash), errors.Is(err, ErrClosed):
		return false, nil
	case ctx.Err() != nil:
		return false, nil
	}
	c.mu.Lock()
	c.uncleanable[best.log] = err
	c.mu.Unlock()
	best.log.logger.Error("storage: compaction failed; the log is not compacted until reopened", "err", err)
	return false, err
}

// logs lists the open logs of compacted topics that no pass failed on.
func (c *Cleaner) logs() []*Log {
	var out []*Log
	for _, d := range c.dirs {
		d.mu.Lock()
		if !d.closed {
			for _, l := range d.logs {
				if l.cfg.Load().CleanupPolicy.Compact() {
					out = append(out, l)
				}
			}
		}
		d.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for l := range c.uncleanable {
		if l.closedFlag.Load() {
			delete(c.uncleanable, l) // closed for good: a reopened log is a new Log
		}
	}
	keep := out[:0]
	for _, l := range out {
		if _, bad := c.uncleanable[l]; !bad {
			keep = append(keep, l)
		}
	}
	return keep
}

// candidate plans a pass over l as of now; ok is false when there is
// nothing to compact or the log is closed. Called with l.clean.mu held.
func (l *Log) candidate(now int64) (*candidate, bool) {
	l.mu.Lock()
	if l.usableLocked() != nil || !l.cfg.Load().CleanupPolicy.Compact() {
		l.mu.Unlock()
		return nil, false
	}
	p := l.planLocked(now, true)
	l.mu.Unlock()
	if len(p.segs) == 0 {
		p.release()
		return nil, false
	}
	return &candidate{log: l, plan: p, ratio: p.ratio()}, true
}

// eligible applies the selection rules.
func (cd *candidate) eligible(now int64) bool {
	p := &cd.plan
	switch {
	case p.dirtyBytes > 0 && cd.ratio > p.cfg.MinCleanableDirtyRatio:
		return true
	case p.dirtyBytes > 0 && p.overdue(now):
		return true
	}
	return p.cleanBytes > 0 && now >= cd.log.clean.horizon.Load()
}

// errCleanAborted stops a pass whose log was closed, truncated or changed
// under it, or whose Cleaner stopped.
var errCleanAborted = errors.New("storage: compaction aborted")

// errSimulatedCrash is returned by a test hook to stop a swap where a
// kill would, leaving the files as they are.
var errSimulatedCrash = errors.New("storage: simulated crash")

// cleanLog runs one pass over cd's log and records its statistics.
func (c *Cleaner) cleanLog(ctx context.Context, w *cleanWorker, cd *candidate, now int64) error {
	l := cd.log
	start := time.Now()
	w.hook = c.testHook
	res, err := w.pass(ctx, l, &cd.plan, now)
	c.stats.bytesRead.Add(res.bytesRead)
	c.stats.bytesWritten.Add(res.bytesAfter)
	c.stats.recordsRead.Add(res.recordsRead)
	c.stats.recordsKept.Add(res.recordsKept)
	if err != nil {
		return err
	}
	dur := time.Since(start)
	end := c.cfg.now()
	c.stats.passes.Add(1)
	c.stats.lastCleanMs.Store(end)
	c.stats.lastDurationMs.Store(dur.Milliseconds())
	l.clean.passes.Add(1)
	l.clean.bytesBefore.Add(res.bytesBefore)
	l.clean.bytesAfter.Add(res.bytesAfter)
	l.clean.lastCleanMs.Store(end)
	l.clean.lastDuration.Store(dur.Milliseconds())
	l.logger.Info("storage: compacted log",
		"first_dirty_offset", cd.plan.firstDirty, "cleaned_to", res.cleanedTo,
		"segments_before", res.segsBefore, "segments_after", res.segsAfter,
		"bytes_before", res.bytesBefore, "bytes_after", res.bytesAfter,
		"records_read", res.recordsRead, "records_kept", res.recordsKept,
		"dirty_ratio", fmt.Sprintf("%.3f", cd.ratio), "duration", dur)
	return nil
}
