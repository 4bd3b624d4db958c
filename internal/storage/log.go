package storage

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// Log is one partition's log: its segments, indexes, leader-epoch cache and
// producer state, in one partition directory. Obtain it from Dir.OpenLog.
//
// Appends (AppendAsLeader, AppendAsFollower) and structural changes (roll,
// truncation, retention) are serialized by mu. Readers (Read, ReadBytes,
// ScanHeaders, offset queries) run concurrently with them and with each
// other; they see an atomically published segment list, reference-count the
// segment they read, and find recent batches in a small ring.
type Log struct {
	tp      TopicPartition // immutable
	topicID [16]byte       // immutable
	dir     string         // partition directory; immutable
	logger  *slog.Logger   // immutable
	parent  *Dir           // immutable; persists log start offset moves

	cfg atomic.Pointer[LogConfig]

	mu         sync.Mutex
	segs       []*segment     // ascending base offsets; the last is active. Guarded by mu; published copies in segList
	nextOffset int64          // log end offset; guarded by mu
	producers  *producerState // guarded by mu
	failed     error          // guarded by mu; set once, refuses appends
	closed     bool           // guarded by mu
	snapBuf    []byte         // guarded by mu
	pending    []*segment     // guarded by mu: rolled segments not yet fsync'd
	dirDirty   bool           // guarded by mu: files created since the last directory fsync
	lastFlush  int64          // guarded by mu: ms of the last full flush (page-cache mode)
	truncGen   uint64         // guarded by mu: bumped when the log end moves down
	epochs     *epochCache    // mutated with mu held
	closedFlag atomic.Bool    // mirrors closed for lock-free readers
	clean      logCleanState  // compaction (clean_log.go); its mu comes before mu

	// Published state for readers.
	segList       atomic.Pointer[[]*segment]
	leo           atomic.Int64
	logStart      atomic.Int64
	durable       atomic.Int64 // every offset below is durable under the flush policy
	recoveryPoint atomic.Int64 // every offset below is fsync'd
	hwCheckpoint  atomic.Int64 // the partition's high watermark, as last set; persisted by Dir.Checkpoint

	tailMu sync.RWMutex
	tail   tailState // guarded by tailMu
	ring   batchRing // guarded by tailMu

	// Flusher.
	flushMu     sync.Mutex
	waiters     []*waiter // guarded by flushMu
	waitErr     error     // guarded by flushMu: set once closed or failed
	nWaiters    atomic.Int32
	kick        chan struct{}
	stop        chan struct{}
	done        chan struct{}
	notified    int64                  // flusher goroutine only: last OnDurable value
	notifiedGen uint64                 // flusher goroutine only: truncGen of notified
	runways     sync.WaitGroup         // runway extensions in progress (runway.go)
	fsyncs      atomic.Int64           // data fsyncs of the active segment, for tests
	syncHook    atomic.Pointer[func()] // tests: runs before each active-segment fsync
}

// tailState is the log end as readers see it: the log end offset and the
// active segment's size that belongs to it.
type tailState struct {
	leo  int64
	seg  *segment
	size int64
}

// AppendResult describes a completed (or deduplicated) append.
type AppendResult struct {
	BaseOffset     int64 // first offset of the batch
	LastOffset     int64 // last offset of the batch
	LogAppendTime  int64 // the batch's timestamp when it uses LogAppendTime, else -1
	LogStartOffset int64 // log start offset after the append
	// Duplicate is set when the batch was a retry of one already in the
	// log: nothing was written and the offsets are the original ones.
	Duplicate bool
}

// TopicPartition returns the partition the log belongs to.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// TopicID returns the topic id recorded in partition.metadata.
func (l *Log) TopicID() [16]byte { return l.topicID }

// Config returns the current configuration.
func (l *Log) Config() LogConfig { return *l.cfg.Load() }

// SetConfig applies a configuration change (retention, segment size, flush
// policy, ...). New segment and index sizes apply from the next roll. An
// invalid config is refused.
func (l *Log) SetConfig(cfg LogConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	l.cfg.Store(&cfg)
	if !cfg.fsyncMode() {
		l.durable.Store(l.nextOffset) // written is durable in page-cache mode
	}
	l.mu.Unlock()
	l.kickFlusher()
	return nil
}

// LogStartOffset returns the first offset a reader may ask for.
func (l *Log) LogStartOffset() int64 { return l.logStart.Load() }

// LogEndOffset returns the offset the next appended record will get.
func (l *Log) LogEndOffset() int64 { return l.leo.Load() }

// DurableOffset returns the offset below which everything is durable under
// the flush policy.
func (l *Log) DurableOffset() int64 { return l.durable.Load() }

// RecoveryPoint returns the offset below which everything is known
// fsync'd; recovery after a crash starts from the segment holding it.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// Size returns the bytes of batches on disk, over all segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range *l.segList.Load() {
		n += s.size.Load()
	}
	return n
}

// NumSegments returns the number of segments.
func (l *Log) NumSegments() int { return len(*l.segList.Load()) }

// LatestEpoch returns the newest leader epoch in the log, or
// UndefinedEpoch.
func (l *Log) LatestEpoch() int32 {
	if e, ok := l.epochs.latest(); ok {
		return e.epoch
	}
	return UndefinedEpoch
}

// EarliestEpoch is the leader epoch of the log start offset as Kafka
// answers ListOffsets for the earliest offset: the oldest epoch entry's
// epoch when it starts at or before the log start, else UndefinedEpoch.
func (l *Log) EarliestEpoch() int32 {
	if e, ok := l.epochs.earliest(); ok && e.startOffset <= l.LogStartOffset() {
		return e.epoch
	}
	return UndefinedEpoch
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch (KIP-101/279): the largest
// epoch ≤ epoch known to the log and the offset where it ended (the start
// of the next epoch, or the log end offset for the latest epoch);
// (UndefinedEpoch, UndefinedEpochOffset) when epoch is undefined or newer
// than every epoch in the log.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.epochs.endOffsetFor(epoch, l.leo.Load())
}

// AssignLeaderEpoch records that leader epoch epoch starts at the current
// log end offset, as a replica that becomes leader does before its first
// append (so OffsetForLeaderEpoch answers for the new epoch at once). An
// epoch not above the latest one is ignored.
func (l *Log) AssignLeaderEpoch(epoch int32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if latest, ok := l.epochs.latest(); ok && latest.epoch >= epoch {
		return nil
	}
	if l.epochs.assign(epoch, l.nextOffset) {
		return l.epochs.flush()
	}
	return nil
}

// SetHighWatermark records the partition's high watermark, which
// Dir.Checkpoint persists (Kafka's replication-offset-checkpoint) so that a
// restarted replica starts from it.
func (l *Log) SetHighWatermark(hw int64) { l.hwCheckpoint.Store(hw) }

// CheckpointedHighWatermark is the high watermark recorded when the log was
// opened (from the checkpoint) or last set; never above the log end offset.
func (l *Log) CheckpointedHighWatermark() int64 {
	return min(l.hwCheckpoint.Load(), l.leo.Load())
}

func (l *Log) activeLocked() *segment { return l.segs[len(l.segs)-1] }

// publishSegmentsLocked makes the current segment list visible to readers.
func (l *Log) publishSegmentsLocked() {
	list := l.segs[:len(l.segs):len(l.segs)] // appends to l.segs must copy
	l.segs = list
	l.segList.Store(&list)
}

// kickFlusher wakes the flusher without blocking.
func (l *Log) kickFlusher() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}
