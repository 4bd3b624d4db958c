package storage

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/samsa-io/samsa/internal/record"
)

// A Log's side of compaction: its cleaning state, what the partition tells
// it (the compaction limit), and the plan of a pass, made under Log.mu.
// The pass itself is in clean_pass.go, the swap in swap.go.

// logCleanState is a Log's compaction state.
type logCleanState struct {
	// mu is held by the Cleaner for a whole pass over the log (taken with
	// TryLock, so two cleaner threads never clean one log); close takes it
	// after setting abort, to wait for a pass to stop. Lock order:
	// clean.mu → Log.mu.
	mu    sync.Mutex
	abort atomic.Bool // set once by close: a pass stops at its next batch

	// point is the first dirty offset: everything below it was compacted
	// by a pass whose map covered it (Kafka's cleaner checkpoint). -1 when
	// the log never was. It rises at the end of a pass, with Log.mu held
	// and only when no truncation happened meanwhile; truncation lowers
	// it, with Log.mu held.
	point atomic.Int64

	limit   atomic.Int64 // SetCompactionLimit: no segment reaching it is compacted
	horizon atomic.Int64 // ms: earliest delete horizon of the tombstones kept by the last pass; MaxInt64 when none known

	passes       atomic.Int64
	bytesBefore  atomic.Int64 // bytes of the segments passes rewrote
	bytesAfter   atomic.Int64 // bytes they became
	lastCleanMs  atomic.Int64 // end of the last pass, ms; 0 when none
	lastDuration atomic.Int64 // ms
}

func (c *logCleanState) init(point int64) {
	c.point.Store(point)
	c.horizon.Store(math.MaxInt64)
}

// lowerPointLocked moves the first dirty offset down to offset (a
// truncation): what is written again from there is dirty. Called with
// Log.mu held.
func (l *Log) lowerCleanPointLocked(offset int64) {
	if l.clean.point.Load() > offset {
		l.clean.point.Store(offset)
	}
}

// SetCompactionLimit bounds compaction: the Cleaner rewrites only segments
// that end at or below offset. The partition calls it with its high
// watermark whenever that moves (Kafka compacts below the last stable
// offset, which never passes the high watermark), so that no record is
// compacted away in favour of one a new leader may truncate. Until it is
// first called the limit is 0 and nothing is compacted. Transactions in
// progress bound compaction too (see producerState.firstUnstableOffset).
// Safe for concurrent use; it does not block.
func (l *Log) SetCompactionLimit(offset int64) { l.clean.limit.Store(offset) }

// CompactionStats is what a Log reports about its compaction, for the
// broker to log or export.
type CompactionStats struct {
	Policy           CleanupPolicy
	FirstDirtyOffset int64   // the log below it is compacted
	DirtyRatio       float64 // cleanable dirty bytes / (compacted + cleanable dirty bytes), now
	CleanableBytes   int64   // dirty bytes a pass could compact now
	Passes           int64   // passes completed since the log was opened
	BytesBefore      int64   // bytes of the segments those passes rewrote
	BytesAfter       int64   // bytes they rewrote them into
	LastCleanMs      int64   // when the last pass ended, ms; 0 when none
	LastDurationMs   int64   // how long it took
}

// CompactionStats reports the log's compaction state as of now (ms). It
// takes Log.mu briefly.
func (l *Log) CompactionStats(now int64) CompactionStats {
	st := CompactionStats{
		Policy:         l.cfg.Load().CleanupPolicy,
		Passes:         l.clean.passes.Load(),
		BytesBefore:    l.clean.bytesBefore.Load(),
		BytesAfter:     l.clean.bytesAfter.Load(),
		LastCleanMs:    l.clean.lastCleanMs.Load(),
		LastDurationMs: l.clean.lastDuration.Load(),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return st
	}
	p := l.planLocked(now, false)
	l.mu.Unlock()
	st.FirstDirtyOffset, st.DirtyRatio, st.CleanableBytes = p.firstDirty, p.ratio(), p.dirtyBytes
	return st
}

// cleanPlan is the part of the log one pass may compact, fixed under
// Log.mu: the segments wholly below the first uncleanable offset, oldest
// first, acquired (when made with acquire) so that they stay readable
// whatever happens to the log meanwhile.
type cleanPlan struct {
	cfg        *LogConfig
	gen        uint64     // Log.truncGen: a truncation meanwhile voids the pass
	segs       []*segment // never the active segment
	ends       []int64    // ends[i]: the base offset of the segment after segs[i]
	firstDirty int64
	acquired   bool

	cleanBytes, dirtyBytes int64
	lastData               map[int64]int64 // producer id → last offset of its newest batch
}

// planLocked fixes what a pass may compact as of now (ms). The first
// uncleanable offset is the smallest of: the active segment's base, the
// compaction limit, the recovery point (so that every record the map uses
// to drop an older one is fsync'd), the first offset of a transaction in
// progress, and the base of the first dirty segment younger than
// MinCompactionLagMs; the plan holds the segments that end at or below it.
// Called with Log.mu held.
func (l *Log) planLocked(now int64, acquire bool) cleanPlan {
	cfg := l.cfg.Load()
	p := cleanPlan{cfg: cfg, gen: l.truncGen, acquired: acquire}
	start := l.logStart.Load()
	p.firstDirty = l.clean.point.Load()
	if p.firstDirty < start || p.firstDirty > l.nextOffset {
		// Never compacted, or the checkpoint is from a longer log
		// (Kafka resets it likewise): all of it is dirty.
		p.firstDirty = start
	}
	limit := min(l.clean.limit.Load(), l.recoveryPoint.Load(), l.nextOffset)
	if fu := l.producers.firstUnstableOffset(); fu >= 0 {
		limit = min(limit, fu)
	}
	for i := 0; i+1 < len(l.segs); i++ {
		s, end := l.segs[i], l.segs[i+1].base
		if end > limit {
			break
		}
		dirty := end > p.firstDirty
		if dirty && cfg.MinCompactionLagMs > 0 && s.maxTs > now-cfg.MinCompactionLagMs {
			break
		}
		if acquire && !s.tryAcquire() {
			break // cannot happen with Log.mu held; stop rather than skip a segment
		}
		p.segs = append(p.segs, s)
		p.ends = append(p.ends, end)
		if dirty {
			p.dirtyBytes += s.size.Load()
		} else {
			p.cleanBytes += s.size.Load()
		}
	}
	if acquire {
		p.lastData = make(map[int64]int64, len(l.producers.producers))
		for id, e := range l.producers.producers {
			if off := e.lastOffset(); off >= 0 {
				p.lastData[id] = off
			}
		}
	}
	return p
}

// release drops the plan's segment references.
func (p *cleanPlan) release() {
	if p.acquired {
		for _, s := range p.segs {
			s.release()
		}
		p.acquired = false
	}
	p.segs, p.ends = nil, nil
}

// ratio is Kafka's cleanable ratio: dirty / (clean + dirty) bytes of the
// plan's segments.
func (p *cleanPlan) ratio() float64 {
	if total := p.cleanBytes + p.dirtyBytes; total > 0 {
		return float64(p.dirtyBytes) / float64(total)
	}
	return 0
}

// firstDirtyIndex is the index of the first segment holding dirty records.
func (p *cleanPlan) firstDirtyIndex() int {
	for i, end := range p.ends {
		if end > p.firstDirty {
			return i
		}
	}
	return len(p.ends)
}

// overdue reports whether the oldest dirty segment of the plan starts with
// a batch older than MaxCompactionLagMs (KIP-354): such a log is compacted
// whatever its dirty ratio. It reads the first batch header of each dirty
// segment (only when the lag is set). The plan must hold its segments.
func (p *cleanPlan) overdue(now int64) bool {
	if p.cfg.MaxCompactionLagMs == math.MaxInt64 || p.dirtyBytes == 0 {
		return false
	}
	var buf [record.HeaderSize]byte
	for i := p.firstDirtyIndex(); i < len(p.segs); i++ {
		s := p.segs[i]
		h, err := s.headerAt(&buf, 0, s.size.Load())
		if err != nil {
			continue
		}
		if h.MaxTimestamp >= 0 && h.MaxTimestamp < now-p.cfg.MaxCompactionLagMs {
			return true
		}
	}
	return false
}
