// Package partition owns the replicas this broker hosts: for each, its log,
// its role (leader or follower) and leader epoch, its high watermark, and the
// produce and fetch requests waiting on it. Manager keeps the set of replicas
// in step with the metadata image.
//
// Terms, as Kafka uses them:
//   - log end offset: the offset the next appended record gets;
//   - durable offset: everything below it survives a crash under the topic's
//     flush policy (fsynced in fsync mode, written in page-cache mode);
//   - high watermark: everything below it is on every in-sync replica,
//     durably; consumers read only below it, and acks=all waits for it;
//   - leader epoch: the number of the current leadership, stamped on every
//     batch the leader appends and checked against what clients believe
//     (KIP-320).
//
// Concurrency: appends to one partition are serialized by the storage log;
// reads run concurrently with appends and with each other. The role fields
// are guarded by mu, held only briefly and never across I/O. The high
// watermark is an atomic that only moves forward while the leadership lasts.
// Waiters (acks, long-polling fetches) are woken through notify channels,
// never by holding a lock.
package partition

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

// Partition is one replica of a partition on this broker.
type Partition struct {
	Topic   string        // immutable
	ID      int32         // immutable
	TopicID metadata.UUID // immutable

	nodeID int32
	log    *storage.Log
	logger *slog.Logger
	cfg    atomic.Pointer[settings] // the topic's resolved configuration

	alter func(p *Partition, isr []int32) // proposes an ISR change to the controller (Manager.alterISR)
	// cutOff is the manager's flag, set while the broker has lost contact
	// with the controller for longer than its session: then it leads
	// nothing, whatever the metadata it last saw says.
	cutOff *atomic.Bool
	lease  func() bool // nil: always held
	// now is the clock follower fetches and ISR checks are timed by: the
	// manager's (Manager.Config.Now), so that both use the same one.
	now func() time.Time

	// writeMu serializes every write to the log with role changes: an
	// append as leader, or a follower's write, runs wholly under the role
	// it was checked against (Kafka's leaderIsrUpdateLock).
	writeMu sync.Mutex

	mu             sync.Mutex // guards the role fields below; never held across I/O
	leader         bool
	leaderID       int32 // the partition's leader, -1 when none
	leaderEpoch    int32
	partitionEpoch int32
	replicas       []int32
	adding         int       // how many of replicas a reassignment is adding
	isr            []int32   // as the controller last committed it
	pendingISR     []int32   // proposed to the controller and not answered yet; nil when none
	alterRetry     time.Time // no ISR change is proposed before this (after a refusal)
	followers      map[int32]*follower
	epochStart     int64 // log end offset when this leadership began
	stopped        bool  // removed or shutting down: no role any more
	// lastTerm is how this replica's last leadership ended (endTerm):
	// produce requests still waiting under it are answered from it.
	lastTerm termEnd

	hw atomic.Int64 // high watermark
	// leaderHW is, on a follower, the high watermark in the leader's last
	// fetch answer of this leadership; -1 before one.
	leaderHW atomic.Int64

	notifyMu sync.Mutex    // guards advanced and the waiter sets
	advanced chan struct{} // closed, then replaced, whenever hw or the durable offset moves
	// waiters are long-polling fetches watching this partition: consumers,
	// which only the high watermark, the durable offset or a role change can
	// give news, and followers (appendWaiters), which every append can.
	waiters       map[*Waiter]struct{}
	appendWaiters map[*Waiter]struct{}
}

func newPartition(topic string, id int32, topicID metadata.UUID, nodeID int32, cutOff *atomic.Bool, lease func() bool, logger *slog.Logger) *Partition {
	p := &Partition{
		cutOff: cutOff, lease: lease,
		Topic: topic, ID: id, TopicID: topicID, nodeID: nodeID,
		leaderID: -1, leaderEpoch: -1,
		lastTerm:      termEnd{epoch: -1},
		logger:        logger.With("topic", topic, "partition", id),
		advanced:      make(chan struct{}),
		waiters:       map[*Waiter]struct{}{},
		appendWaiters: map[*Waiter]struct{}{},
		now:           time.Now,
	}
	p.leaderHW.Store(-1)
	return p
}

// Log returns the partition's log.
func (p *Partition) Log() *storage.Log { return p.log }

// HighWatermark returns the high watermark.
func (p *Partition) HighWatermark() int64 { return p.hw.Load() }

// LeaderEpoch returns the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// IsLeader reports whether this replica leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leading()
}

// leading reports whether this replica serves as leader: the metadata says
// so, the broker is not cut off from the controller, and its lease holds (a
// broker paused past its session learns it at its first request, not at
// the next check). Called with mu held.
func (p *Partition) leading() bool {
	return p.leader && !p.cutOff.Load() && (p.lease == nil || p.lease())
}

// onDurable is the log's callback when more of it became durable. Fetches
// are woken only if that moved the high watermark (raiseHW).
func (p *Partition) onDurable(int64) {
	p.maybeAdvanceHW()
	p.wakeAcks() // acks=1 waiters wait on the durable offset itself
}

// wake tells everything waiting on this partition to look again.
func (p *Partition) wake() {
	p.notifyMu.Lock()
	close(p.advanced)
	p.advanced = make(chan struct{})
	signal(p.waiters)
	signal(p.appendWaiters)
	p.notifyMu.Unlock()
}

// wakeAcks tells the produce requests waiting for their acks to look again.
func (p *Partition) wakeAcks() {
	p.notifyMu.Lock()
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.notifyMu.Unlock()
}

// wakeAppend tells the fetches that read past the high watermark (the
// followers') that the log grew. A consumer cannot see the batch before the
// high watermark moves, which wakes it.
func (p *Partition) wakeAppend() {
	p.notifyMu.Lock()
	signal(p.appendWaiters)
	p.notifyMu.Unlock()
}

func signal(ws map[*Waiter]struct{}) {
	for w := range ws {
		select {
		case w.C <- struct{}{}:
		default:
		}
	}
}

func (p *Partition) advancedChan() <-chan struct{} {
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	return p.advanced
}

// Waiter lets one long-polling fetch wait on many partitions at once.
type Waiter struct {
	C chan struct{} // receives when a watched partition may have news
}

// NewWaiter returns a waiter.
func NewWaiter() *Waiter { return &Waiter{C: make(chan struct{}, 1)} }

// Watch makes the partition signal w when its high watermark or durable
// offset moves or its role changes, and with appends (a follower's fetch,
// which reads to the log end) also when the log grows.
func (p *Partition) Watch(w *Waiter, appends bool) {
	p.notifyMu.Lock()
	if appends {
		p.appendWaiters[w] = struct{}{}
	} else {
		p.waiters[w] = struct{}{}
	}
	p.notifyMu.Unlock()
}

// Unwatch undoes Watch.
func (p *Partition) Unwatch(w *Waiter) {
	p.notifyMu.Lock()
	delete(p.waiters, w)
	delete(p.appendWaiters, w)
	p.notifyMu.Unlock()
}

// AppendParams is one partition of a produce request.
type AppendParams struct {
	Records        []byte // the request's bytes; may be modified in place
	Acks           int16
	Now            int64 // ms since epoch
	ProduceVersion int16
}

// AppendResult is what a produce response reports for a partition.
type AppendResult struct {
	BaseOffset     int64
	LastOffset     int64
	LogAppendTime  int64 // -1 unless the topic uses LogAppendTime
	LogStartOffset int64
	LeaderEpoch    int32 // the leadership the batch was appended under, for Acked
}

// AppendError is a produce failure: a Kafka error code, its message, and the
// records at fault when the failure concerns individual records.
type AppendError struct {
	Code         *kerr.Error
	Message      string
	RecordErrors []RecordError
}

// RecordError is one record's failure (Produce v8+).
type RecordError struct {
	Index   int32
	Message string
}

// Append validates and appends one partition's records as leader.
func (p *Partition) Append(ap AppendParams) (AppendResult, *AppendError) {
	st := p.cfg.Load()
	p.mu.Lock()
	leader, epoch, isrLen, replicated := p.leading(), p.leaderEpoch, len(p.isr), len(p.replicas) > 1
	p.mu.Unlock()
	if !leader {
		return AppendResult{}, &AppendError{Code: kerr.NotLeaderForPartition}
	}
	if ap.Acks == -1 && int32(isrLen) < st.minInsyncReplicas {
		return AppendResult{}, &AppendError{Code: kerr.NotEnoughReplicas,
			Message: "The size of the current ISR is insufficient to satisfy the min.isr requirement"}
	}
	batch, info, err := p.prepare(ap, st)
	if err != nil {
		ae := &AppendError{Code: record.ErrorCode(err), Message: err.Error()}
		for _, re := range record.RecordErrors(err) {
			ae.RecordErrors = append(ae.RecordErrors, RecordError{Index: re.BatchIndex, Message: re.Msg})
		}
		return AppendResult{}, ae
	}
	if info.Header.Transactional() {
		return AppendResult{}, &AppendError{Code: kerr.InvalidTxnState, Message: "transactions are not supported by this broker yet"}
	}
	res, err := p.appendAsLeader(batch, epoch, ap.Now)
	if errors.Is(err, errLeadershipChanged) {
		return AppendResult{}, &AppendError{Code: kerr.NotLeaderForPartition}
	}
	if err != nil {
		var ke *kerr.Error
		if errors.As(err, &ke) {
			return AppendResult{}, &AppendError{Code: ke, Message: err.Error()}
		}
		p.logger.Error("append failed", "err", err)
		return AppendResult{}, &AppendError{Code: kerr.KafkaStorageError, Message: "the broker could not write to its log"}
	}
	// In page-cache mode the append itself made the data durable.
	p.maybeAdvanceHW()
	if replicated {
		p.wakeAppend() // followers long-polling for new data
	}
	return AppendResult{
		BaseOffset: res.BaseOffset, LastOffset: res.LastOffset,
		LogAppendTime: res.LogAppendTime, LogStartOffset: res.LogStartOffset,
		LeaderEpoch: epoch,
	}, nil
}

// errLeadershipChanged: the replica stopped leading under the epoch an
// append was checked against before the append could start.
var errLeadershipChanged = errors.New("partition: leadership changed")

// appendAsLeader appends batch under leader epoch epoch, holding writeMu so
// that no role change (and no follower truncation after one) overlaps it.
func (p *Partition) appendAsLeader(batch []byte, epoch int32, now int64) (storage.AppendResult, error) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	still := p.leading() && p.leaderEpoch == epoch
	p.mu.Unlock()
	if !still {
		return storage.AppendResult{}, errLeadershipChanged
	}
	return p.log.AppendAsLeader(batch, epoch, now)
}

// prepare converts, validates and (when the topic asks for another codec)
// recompresses the records into the batch to append.
func (p *Partition) prepare(ap AppendParams, st *settings) ([]byte, record.Info, error) {
	opts := st.validate
	opts.Now = ap.Now
	opts.NoZstd = ap.ProduceVersion < 7
	batch := ap.Records
	if ap.ProduceVersion < 3 {
		converted, err := record.ConvertLegacy(batch, opts)
		if err != nil {
			return nil, record.Info{}, err
		}
		batch = converted
	}
	info, err := record.Validate(batch, opts)
	if err != nil {
		return nil, info, err
	}
	if st.recompress && info.Codec != st.codec {
		batch, err = record.Recompress(batch, st.codec, st.level, opts.DecompressLimit)
		if err != nil {
			return nil, info, err
		}
		if info, err = record.Validate(batch, opts); err != nil {
			return nil, info, err
		}
	}
	return batch, info, nil
}

// Acked reports whether a produce whose batch was appended under leader
// epoch epoch and ends before next is answered under acks: acks=-1 needs
// the high watermark, acks=1 this replica's durable offset. An acks=-1
// produce covered by the high watermark while the ISR has shrunk below
// min.insync.replicas fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND, as in
// Kafka: fewer replicas than the topic demands have it.
//
// Once this replica no longer leads under epoch, the live offsets say
// nothing about the batch: as a follower it may have truncated the batch
// away and copied the new leader's records past next. What the leadership
// had committed when it ended (lastTerm: its high watermark) still
// answers: a batch it covered succeeds, for acks=1 too, any other gets
// NOT_LEADER_FOR_PARTITION, and the client retries on the new leader. The live offsets are read before the role: a leader
// never truncates its own log, and a leadership never comes back under the
// same epoch, so a role still unchanged afterwards was unchanged when they
// were read.
func (p *Partition) Acked(next int64, epoch int32, acks int16) (bool, *kerr.Error) {
	hw, durable := p.hw.Load(), p.log.DurableOffset()
	p.mu.Lock()
	sameTerm := p.leader && p.leaderEpoch == epoch
	isr := len(p.isr)
	ended := p.lastTerm
	p.mu.Unlock()
	if !sameTerm {
		if ended.epoch != epoch {
			return true, kerr.NotLeaderForPartition
		}
		// Only committed records outlive the leadership, whatever acks
		// asked for: the next leader may lack the rest.
		hw, durable, isr = ended.hw, ended.hw, ended.isr
	}
	covered := durable >= next
	if acks == -1 {
		covered = hw >= next
	}
	switch {
	case !covered && !sameTerm:
		return true, kerr.NotLeaderForPartition
	case !covered:
		return false, nil
	case acks == -1 && int32(isr) < p.cfg.Load().minInsyncReplicas:
		return true, kerr.NotEnoughReplicasAfterAppend
	}
	return true, nil
}

// WaitAcked waits until Acked(next, epoch, acks), the leadership is lost,
// or ctx ends (REQUEST_TIMED_OUT).
func (p *Partition) WaitAcked(ctx context.Context, next int64, epoch int32, acks int16) *kerr.Error {
	for {
		ch := p.advancedChan()
		if done, err := p.Acked(next, epoch, acks); done {
			return err
		}
		if !p.IsLeader() {
			return kerr.NotLeaderForPartition
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return kerr.RequestTimedOut
		}
	}
}

// stop makes the replica serve nothing more: it no longer leads, and every
// waiter wakes to find that out. It reports whether it was leading.
func (p *Partition) stop() bool {
	p.writeMu.Lock() // and follows no more: a follower write in progress ends first
	defer p.writeMu.Unlock()
	p.endTerm(false)
	p.mu.Lock()
	was := p.leader
	p.leader, p.stopped = false, true
	p.mu.Unlock()
	p.wake()
	return was
}

// AppendInternal appends a batch the broker built itself (a coordinator's
// records on an internal topic) as leader, and returns once the high
// watermark covers it: durable on every in-sync replica. On error the batch
// may or may not be in the log.
func (p *Partition) AppendInternal(ctx context.Context, batch []byte) error {
	p.mu.Lock()
	leader, epoch := p.leading(), p.leaderEpoch
	p.mu.Unlock()
	if !leader {
		return kerr.NotLeaderForPartition
	}
	res, err := p.appendAsLeader(batch, epoch, time.Now().UnixMilli())
	if errors.Is(err, errLeadershipChanged) {
		return kerr.NotLeaderForPartition
	}
	if err != nil {
		return err
	}
	p.maybeAdvanceHW()
	p.wakeAppend() // followers long-polling for new data
	if kerrCode := p.WaitAcked(ctx, res.LastOffset+1, epoch, -1); kerrCode != nil {
		return kerrCode
	}
	return nil
}

// Health is how a partition's replication stands, as this broker sees it.
type Health struct {
	// Leader: the metadata names this broker the leader. A leader cut off
	// from the controller still counts, as Kafka's does until it learns
	// otherwise: its partitions are the ones in trouble.
	Leader bool
	// Replicas is the replication factor: during a reassignment, the
	// replicas before it (Kafka's), not those it is adding. ISR is how
	// many replicas are in sync.
	Replicas, ISR     int
	MinInsyncReplicas int // the topic's min.insync.replicas
	// Lag, on a follower, is how many records its log ends short of the
	// high watermark the leader last answered it with (Kafka's
	// FetcherLagMetrics ConsumerLag); 0 on a leader and before a fetch.
	Lag int64
}

// Health returns how the partition's replication stands now.
func (p *Partition) Health() Health {
	var h Health
	if st := p.cfg.Load(); st != nil {
		h.MinInsyncReplicas = int(st.minInsyncReplicas)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	h.Leader, h.Replicas, h.ISR = p.leader, len(p.replicas)-p.adding, len(p.isr)
	if hw := p.leaderHW.Load(); !p.leader && hw >= 0 {
		h.Lag = max(0, hw-p.log.LogEndOffset())
	}
	return h
}
