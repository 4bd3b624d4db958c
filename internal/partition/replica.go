package partition

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Replication, the leader's side (DESIGN.md decision 4). The leader tracks,
// per follower, the offset it fetches from (its log end offset, durable on
// the follower under the fsync policy, which fsyncs before fetching on) and
// when it was last caught up. From that:
//
//   - high watermark: the smallest offset every in-sync replica has, the
//     leader counting its own durable offset. It advances only once every
//     ISR follower has fetched under this leadership: a new leader exposes
//     nothing it cannot prove committed. min.insync.replicas does not hold
//     it back (that is KIP-966's rule, which needs its eligible leader
//     replicas to be safe); it refuses acks=all writes instead;
//   - ISR expansion: a follower outside the ISR joins once it has reached
//     the high watermark and the start of this leader epoch;
//   - ISR shrinking: a follower not caught up for replica.lag.time.max.ms
//     leaves (Manager's periodic check).
//
// ISR changes go to the controller (AlterPartition) one at a time; while one
// is in flight the high watermark counts the proposed additions too (the
// larger, safer set), as Kafka's "maximal ISR" does.

// alterRetryBackoff is how long a leader waits after a refused or failed ISR
// change before it proposes another.
const alterRetryBackoff = 500 * time.Millisecond

// follower is what the leader knows of one follower.
type follower struct {
	logEndOffset   int64     // the offset of its last fetch; -1 until it fetches under this leadership
	lastFetch      time.Time // when that fetch arrived
	leoAtLastFetch int64     // the leader's log end offset then
	lastCaughtUp   time.Time // last time its log end offset reached the leader's
	brokerEpoch    int64     // the broker epoch its last fetch named (KIP-903); -1 when unknown
}

// setRole applies the role the metadata gives this replica and reports
// whether the leader or the leader epoch changed.
func (p *Partition) setRole(mp *metadata.Partition, now time.Time) bool {
	p.writeMu.Lock() // no follower write in progress across the change
	defer p.writeMu.Unlock()
	p.mu.Lock()
	ending := !p.staleLocked(mp) && p.leader && (mp.Leader != p.nodeID || mp.LeaderEpoch != p.leaderEpoch)
	p.mu.Unlock()
	if ending {
		// Settle only when no other replica takes over: one that did
		// while this leader was alone in the ISR was elected uncleanly,
		// and what this leader appended is lost to it.
		p.endTerm(mp.Leader < 0)
	}
	p.mu.Lock()
	if p.staleLocked(mp) {
		p.mu.Unlock() // an AlterPartition answer already applied something newer
		return false
	}
	wasLeader, oldLeader, oldEpoch := p.leader, p.leaderID, p.leaderEpoch
	leader := mp.Leader == p.nodeID
	if leader || oldEpoch != mp.LeaderEpoch {
		p.leaderHW.Store(-1)
	}
	p.leader, p.leaderID, p.leaderEpoch = leader, mp.Leader, mp.LeaderEpoch
	p.partitionEpoch, p.replicas, p.isr = mp.PartitionEpoch, mp.Replicas, mp.ISR
	p.adding = len(mp.AddingReplicas)
	p.pendingISR, p.alterRetry = nil, time.Time{}
	newLeadership := leader && (!wasLeader || oldEpoch != mp.LeaderEpoch)
	switch {
	case newLeadership:
		p.followers = map[int32]*follower{}
		p.epochStart = p.log.LogEndOffset()
	case !leader:
		p.followers = nil
	}
	if leader {
		for _, r := range mp.Replicas {
			if _, ok := p.followers[r]; !ok && r != p.nodeID {
				// Known ISR members get a full lag window to show up.
				p.followers[r] = &follower{logEndOffset: -1, lastCaughtUp: now, lastFetch: now, brokerEpoch: -1}
			}
		}
		for r := range p.followers {
			if !slices.Contains(mp.Replicas, r) {
				delete(p.followers, r) // reassigned away
			}
		}
	}
	p.mu.Unlock()

	switch {
	case newLeadership:
		if err := p.log.AssignLeaderEpoch(mp.LeaderEpoch); err != nil {
			p.logger.Error("cannot record the leader epoch", "leader_epoch", mp.LeaderEpoch, "err", err)
		}
		p.logger.Info("became leader", "leader_epoch", mp.LeaderEpoch, "log_end_offset", p.log.LogEndOffset(), "isr", mp.ISR)
	case !leader && wasLeader:
		p.logger.Info("stopped leading", "leader_epoch", mp.LeaderEpoch, "leader", mp.Leader)
	case !leader && (oldLeader != mp.Leader || oldEpoch != mp.LeaderEpoch):
		p.logger.Debug("following", "leader", mp.Leader, "leader_epoch", mp.LeaderEpoch)
	}
	p.maybeAdvanceHW()
	p.wake() // waiters re-check leadership
	return oldLeader != mp.Leader || oldEpoch != mp.LeaderEpoch || wasLeader != leader
}

// staleLocked reports whether mp is older than what the replica applied,
// or the replica has stopped. Called with mu held.
func (p *Partition) staleLocked(mp *metadata.Partition) bool {
	return p.stopped || (mp.LeaderEpoch == p.leaderEpoch && mp.PartitionEpoch < p.partitionEpoch)
}

// termEnd is what a leadership had committed when it ended.
type termEnd struct {
	epoch int32 // -1: none ended yet
	hw    int64
	isr   int
}

// settleTimeout bounds the fsync endTerm waits for.
const settleTimeout = 2 * time.Second

// endTerm records what the leadership about to end committed, so that
// produce requests still waiting under it get their answer (Acked) rather
// than NOT_LEADER_FOR_PARTITION for records that are committed. With
// settle (the partition is left without a leader), a leader that is its
// only in-sync replica first makes its log durable and moves the high
// watermark to its end, as its flusher would have a moment later: every
// record it appended is then committed, and the replica that has them is
// the only one that can lead next cleanly. Without this, a SIGTERM of a
// one-node broker in fsync mode refused batches it had appended and kept,
// and a producer without idempotence wrote them twice on its retry. Called
// with writeMu held, so no append is in progress.
func (p *Partition) endTerm(settle bool) {
	p.mu.Lock()
	if !p.leader {
		p.mu.Unlock()
		return
	}
	epoch := p.leaderEpoch
	isr := p.isr
	if p.pendingISR != nil {
		isr = union(p.isr, p.pendingISR)
	}
	alone := len(isr) == 1 && isr[0] == p.nodeID
	p.mu.Unlock()
	if settle && alone {
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		err := p.log.WaitDurable(ctx, p.log.LogEndOffset())
		cancel()
		if err != nil {
			p.logger.Warn("cannot make the log durable as the leadership ends", "err", err)
		}
		p.maybeAdvanceHW()
	}
	p.mu.Lock()
	p.lastTerm = termEnd{epoch: epoch, hw: p.hw.Load(), isr: len(p.isr)}
	p.mu.Unlock()
}

// Role is the replica's role as the metadata last gave it.
type Role struct {
	Leading     bool
	Leader      int32 // -1 when the partition has no leader
	LeaderEpoch int32
	Replica     bool // this broker is a replica
}

// Role returns the replica's current role.
func (p *Partition) Role() Role {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Role{Leading: p.leader, Leader: p.leaderID, LeaderEpoch: p.leaderEpoch, Replica: slices.Contains(p.replicas, p.nodeID)}
}

// maybeAdvanceHW moves the high watermark as far as every in-sync replica
// has the log (see the file comment).
func (p *Partition) maybeAdvanceHW() {
	p.mu.Lock()
	target, ok := p.hwTargetLocked()
	p.mu.Unlock()
	if ok {
		p.raiseHW(target)
	}
}

// hwTargetLocked computes where the high watermark may move; ok is false
// when it may not move.
func (p *Partition) hwTargetLocked() (int64, bool) {
	if !p.leader {
		return 0, false
	}
	isr := p.isr
	if p.pendingISR != nil {
		isr = union(p.isr, p.pendingISR)
	}
	target := p.log.DurableOffset()
	for _, r := range isr {
		if r == p.nodeID {
			continue
		}
		f := p.followers[r]
		if f == nil || f.logEndOffset < 0 {
			return 0, false
		}
		target = min(target, f.logEndOffset)
	}
	return target, true
}

// raiseHW moves the high watermark up to target (never down).
func (p *Partition) raiseHW(target int64) {
	for {
		cur := p.hw.Load()
		if target <= cur {
			return
		}
		if p.hw.CompareAndSwap(cur, target) {
			p.log.SetHighWatermark(target)
			// The cleaner compacts only what every replica has.
			p.log.SetCompactionLimit(target)
			p.wake()
			return
		}
	}
}

// lowerHW sets the high watermark to at most end, after a truncation.
func (p *Partition) lowerHW(end int64) {
	for {
		cur := p.hw.Load()
		if cur <= end || p.hw.CompareAndSwap(cur, end) {
			p.log.SetHighWatermark(min(cur, end))
			return
		}
	}
}

// FetchForFollower serves a follower's fetch: it records how far the
// follower has the log, which moves the high watermark and may add the
// follower to the ISR, and reads up to the log end offset (followers copy
// what is not committed yet).
func (p *Partition) FetchForFollower(replica int32, brokerEpoch int64, fp FetchParams) (FetchResult, *kerr.Error) {
	if _, err := p.checkLeader(fp.CurrentLeaderEpoch); err != nil {
		return FetchResult{HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1}, err
	}
	res := FetchResult{HighWatermark: p.hw.Load(), LastStableOffset: p.lastStableOffset(), LogStartOffset: p.log.LogStartOffset()}
	if fp.LastFetchedEpoch >= 0 {
		epoch, end := p.log.EndOffsetForEpoch(fp.LastFetchedEpoch)
		if epoch < 0 {
			// Newer than every epoch here: no common history to point at.
			return res, kerr.OffsetOutOfRange
		}
		if epoch != fp.LastFetchedEpoch || end < fp.Offset {
			res.Diverging, res.DivergingEpoch, res.DivergingEndOffset = true, epoch, end
			return res, nil
		}
	}
	leo := p.log.LogEndOffset()
	if fp.Offset < res.LogStartOffset || fp.Offset > leo {
		return res, kerr.OffsetOutOfRange
	}
	expand, ok := p.recordFollower(replica, brokerEpoch, fp.Offset, leo, p.now())
	if !ok {
		return FetchResult{HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1}, kerr.NotLeaderForPartition
	}
	p.maybeAdvanceHW()
	if expand != nil {
		p.alter(p, expand)
	}
	res.HighWatermark = p.hw.Load()
	if fp.Offset >= leo {
		return res, nil
	}
	slice, err := p.log.Read(fp.Offset, leo, fp.MaxBytes, fp.MinOneBatch)
	if err != nil {
		return res, p.readError(err)
	}
	res.Records = slice
	return res, nil
}

// recordFollower notes a follower's fetch at offset while the leader's log
// ends at leo, and returns the ISR to propose when the follower should join
// it. ok is false when replica is not a follower of this partition.
func (p *Partition) recordFollower(replica int32, brokerEpoch, offset, leo int64, now time.Time) (expand []int32, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.followers[replica]
	if f == nil || !p.leader {
		return nil, false
	}
	switch {
	case offset >= leo:
		f.lastCaughtUp = now
	case offset >= f.leoAtLastFetch:
		// It has everything the leader had when it asked last time.
		f.lastCaughtUp = f.lastFetch
	}
	f.logEndOffset, f.leoAtLastFetch, f.lastFetch, f.brokerEpoch = offset, leo, now, brokerEpoch
	if !slices.Contains(p.isr, replica) && p.pendingISR == nil && !now.Before(p.alterRetry) &&
		offset >= p.hw.Load() && offset >= p.epochStart {
		expand = append(slices.Clone(p.isr), replica)
		p.pendingISR = expand
	}
	return expand, true
}

// laggingISR returns the ISR without the followers that have not been caught
// up for lagMax, when there are any and no ISR change is in flight.
func (p *Partition) laggingISR(now time.Time, lagMax time.Duration) []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leading() || p.pendingISR != nil || now.Before(p.alterRetry) {
		return nil
	}
	var keep []int32
	shrink := false
	for _, r := range p.isr {
		if f := p.followers[r]; r != p.nodeID && f != nil && now.Sub(f.lastCaughtUp) > lagMax {
			shrink = true
			continue
		}
		keep = append(keep, r)
	}
	if !shrink {
		return nil
	}
	p.pendingISR = keep
	return keep
}

// alterDone records the controller's answer to an ISR change: the new state
// when it was accepted, nothing otherwise (the metadata will tell).
func (p *Partition) alterDone(isr []int32, leaderEpoch, partitionEpoch int32, ok bool) {
	p.mu.Lock()
	p.pendingISR = nil
	if ok && leaderEpoch == p.leaderEpoch && partitionEpoch > p.partitionEpoch {
		p.isr, p.partitionEpoch = isr, partitionEpoch
	}
	if !ok {
		// Refused or unanswered: the metadata or the follower has to change
		// first, so do not propose again at once.
		p.alterRetry = p.now().Add(alterRetryBackoff)
	}
	p.mu.Unlock()
	p.maybeAdvanceHW()
}

// alterRequest returns what an AlterPartition for this partition names:
// the epochs it was proposed under and the broker epoch each follower last
// fetched with (-1 when unknown); and the size of the ISR it would replace.
func (p *Partition) alterRequest() (leaderEpoch, partitionEpoch int32, isrLen int, brokerEpoch func(int32) int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	epochs := map[int32]int64{}
	for id, f := range p.followers {
		epochs[id] = f.brokerEpoch
	}
	return p.leaderEpoch, p.partitionEpoch, len(p.isr), func(id int32) int64 {
		if e, ok := epochs[id]; ok {
			return e
		}
		return -1
	}
}

func union(a, b []int32) []int32 {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// The follower's side: the replication fetcher appends what the leader
// sends, truncates where the leader's history diverges, and takes the
// leader's high watermark as far as its own log goes. Each call names the
// leader epoch the fetcher follows; it is refused with ErrNotFollowing
// unless the replica still follows under that epoch, and role changes wait
// for a call in progress (writeMu), so nothing fetched under an old
// leadership lands in the log once the replica leads or follows anew.

// ErrNotFollowing means the replica no longer follows under the leader
// epoch a follower call named.
var ErrNotFollowing = errors.New("partition: not following under this leader epoch")

// following checks, with writeMu held, that the replica follows under
// epoch.
func (p *Partition) following(epoch int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.leader || p.leaderEpoch != epoch || !slices.Contains(p.replicas, p.nodeID) {
		return ErrNotFollowing
	}
	return nil
}

// AppendAsFollower appends batches fetched from the leader, which must start
// at this replica's log end offset.
func (p *Partition) AppendAsFollower(epoch int32, batches []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if err := p.following(epoch); err != nil {
		return err
	}
	return p.log.AppendAsFollower(batches)
}

// FollowLeader takes the leader's high watermark, bounded by this replica's
// log end offset, and moves the log start offset up to the leader's
// (retention and DeleteRecords on the leader), never past this replica's
// end.
func (p *Partition) FollowLeader(epoch int32, leaderHW, leaderStart int64) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if err := p.following(epoch); err != nil {
		return err
	}
	end := p.log.LogEndOffset()
	p.leaderHW.Store(leaderHW)
	p.raiseHW(min(leaderHW, end))
	if leaderStart > p.log.LogStartOffset() {
		if _, err := p.log.DeleteRecordsBefore(min(leaderStart, end)); err != nil {
			return err
		}
	}
	return nil
}

// TruncateTo removes everything from offset on (the leader's history
// diverges there) and lowers the high watermark with it.
func (p *Partition) TruncateTo(epoch int32, offset int64) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if err := p.following(epoch); err != nil {
		return err
	}
	before := p.log.LogEndOffset()
	if err := p.log.Truncate(offset); err != nil {
		return err
	}
	p.lowerHW(p.log.LogEndOffset())
	if after := p.log.LogEndOffset(); after < before {
		p.logger.Info("truncated to the leader's log", "offset", offset, "log_end_offset", after, "was", before)
	}
	return nil
}

// TruncateFullyAndStartAt empties the log so that it starts at offset (the
// leader's log starts beyond this replica's end).
func (p *Partition) TruncateFullyAndStartAt(epoch int32, offset int64) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if err := p.following(epoch); err != nil {
		return err
	}
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	p.lowerHW(offset)
	p.raiseHW(offset)
	p.logger.Info("truncated fully: the leader's log starts past this replica's end", "log_start_offset", offset)
	return nil
}
