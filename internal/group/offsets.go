package group

import (
	"cmp"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// commitEntry is one partition of an OffsetCommit that passed the checks
// that do not need the group (topic exists, metadata size).
type commitEntry struct {
	tp tp
	o  offset
}

// commitRequest is an OffsetCommit as the state machine sees it.
type commitRequest struct {
	memberID   string
	instanceID *string
	generation int32
	entries    []commitEntry
	// retentionMs is the retention an OffsetCommit v2–v4 asked for, -1 none:
	// such offsets expire at commit time plus retention (value version 1).
	retentionMs int64
}

// commit handles an OffsetCommit: it validates the committer, writes one
// OffsetCommit record per entry (all in one batch), and applies them and
// calls reply(nil) once they are durable, or reply(error) and changes
// nothing if the write fails. Until then the partitions count as pending,
// which is what require_stable fetches see.
func (g *group) commit(now int64, r *commitRequest, reply func(*kerr.Error)) {
	if e := g.validateCommit(r); e != nil {
		reply(e)
		return
	}
	if m, ok := g.members[r.memberID]; ok && (g.state == stateStable || g.state == statePreparingRebalance) {
		m.deadline = now + int64(m.sessionMs) // a commit is as good as a heartbeat
	}
	recs := make([]rec, len(r.entries))
	for i := range r.entries {
		e := &r.entries[i]
		e.o.commitTime = now
		if r.retentionMs >= 0 {
			e.o.expireTime = now + r.retentionMs
		}
		recs[i] = rec{key: offsetKey(g.id, e.tp), value: offsetValue(&e.o)}
		g.pendingCommits[e.tp]++
	}
	g.emit(now, recs, func(_ int64, err error) {
		for i := range r.entries {
			t := r.entries[i].tp
			if g.pendingCommits[t]--; g.pendingCommits[t] <= 0 {
				delete(g.pendingCommits, t)
			}
		}
		if err != nil {
			reply(commitAppendCode(err))
			return
		}
		for i := range r.entries {
			o := r.entries[i].o
			g.offsets[r.entries[i].tp] = &o
		}
		reply(nil)
	})
}

// validateCommit is Kafka's check of who may commit: anyone while the group
// is Empty and the commit carries no generation (simple consumers, admin
// tools); otherwise a current member, in the current generation, and not
// between JoinGroup and SyncGroup.
func (g *group) validateCommit(r *commitRequest) *kerr.Error {
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable
	}
	if r.generation < 0 && g.state == stateEmpty {
		return nil
	}
	if r.generation >= 0 || r.memberID != "" || r.instanceID != nil {
		if e := g.validateMember(r.memberID, r.instanceID); e != nil {
			return e
		}
		if r.generation != g.generation {
			return kerr.IllegalGeneration
		}
	} else if g.state != stateEmpty {
		return kerr.UnknownMemberID
	}
	if g.state == stateCompletingRebalance {
		return kerr.RebalanceInProgress
	}
	return nil
}

// fetched is one partition's answer to an OffsetFetch.
type fetched struct {
	tp  tp
	o   offset // offset -1 when none is committed
	err *kerr.Error
}

// fetch answers an OffsetFetch for tps, or for every committed partition
// when tps is nil. With requireStable, partitions with a commit not yet
// durable answer UNSTABLE_OFFSET_COMMIT (KIP-447).
func (g *group) fetch(tps []tp, requireStable bool) []fetched {
	if tps == nil {
		if g.state == stateDead {
			return nil
		}
		tps = slices.SortedFunc(maps.Keys(g.offsets), compareTP)
	}
	out := make([]fetched, len(tps))
	for i, t := range tps {
		out[i] = fetched{tp: t, o: offset{offset: -1, leaderEpoch: -1}}
		switch o := g.offsets[t]; {
		case g.state == stateDead:
		case requireStable && g.pendingCommits[t] > 0:
			out[i].err = kerr.UnstableOffsetCommit
		case o != nil:
			out[i].o = *o
		}
	}
	return out
}

func compareTP(a, b tp) int {
	if c := cmp.Compare(a.topic, b.topic); c != 0 {
		return c
	}
	return cmp.Compare(a.partition, b.partition)
}

// tombstones returns the records deleting the offsets of tps.
func (g *group) tombstones(tps []tp) []rec {
	recs := make([]rec, 0, len(tps)+1)
	for _, t := range tps {
		recs = append(recs, rec{key: offsetKey(g.id, t)})
	}
	return recs
}

// deleteOffsets handles an OffsetDelete: an Empty group may drop any
// offset; a consumer group with members only those of topics it does not
// consume (GROUP_SUBSCRIBED_TO_TOPIC for the others); other groups with
// members none (NON_EMPTY_GROUP). reply gets a group-level error, or one
// error per partition.
func (g *group) deleteOffsets(now int64, tps []tp, reply func(*kerr.Error, []*kerr.Error)) {
	errs := make([]*kerr.Error, len(tps))
	switch g.state {
	case stateDead:
		reply(kerr.GroupIDNotFound, nil)
		return
	case stateEmpty:
	default:
		if g.protoType != consumerProtocolType {
			reply(kerr.NonEmptyGroup, nil)
			return
		}
		for i, t := range tps {
			if g.subscribedTo(t.topic) {
				errs[i] = kerr.GroupSubscribedToTopic
			}
		}
	}
	var del []tp
	for i, t := range tps {
		if errs[i] == nil && (g.offsets[t] != nil || g.pendingCommits[t] > 0) {
			del = append(del, t)
		}
	}
	if len(del) == 0 {
		reply(nil, errs)
		return
	}
	g.emit(now, g.tombstones(del), func(_ int64, err error) {
		if err != nil {
			reply(appendCode(err), nil)
			return
		}
		for _, t := range del {
			delete(g.offsets, t)
		}
		reply(nil, errs)
	})
}

// deleteGroup handles one group of a DeleteGroups: only an Empty group can
// go. Its offsets (including commits still in flight, so that none
// survives a reload) and its metadata are tombstoned; the group is Dead
// while the tombstones are written, and gone once they are durable.
func (g *group) deleteGroup(now int64, reply func(*kerr.Error)) {
	switch g.state {
	case stateDead:
		reply(kerr.GroupIDNotFound)
		return
	case stateEmpty:
	default:
		reply(kerr.NonEmptyGroup)
		return
	}
	keys := maps.Clone(g.pendingCommits)
	for t := range g.offsets {
		keys[t] = 1
	}
	recs := g.tombstones(slices.SortedFunc(maps.Keys(keys), compareTP))
	recs = append(recs, rec{key: groupKey(g.id)})
	g.markDeleting(now, recs, reply)
}

// markDeleting makes the group Dead and writes recs, which delete it. When
// the write fails the group is back as it was.
func (g *group) markDeleting(now int64, recs []rec, reply func(*kerr.Error)) {
	prevState, prevTime := g.state, g.stateTime
	g.transition(now, stateDead)
	g.emit(now, recs, func(_ int64, err error) {
		if err != nil {
			if g.state == stateDead && !g.deleted {
				g.state, g.stateTime = prevState, prevTime
			}
			reply(appendCode(err))
			return
		}
		g.deleted = true
		clear(g.offsets)
		reply(nil)
	})
}

// expire drops offsets past offsets.retention.minutes, Kafka's KIP-211
// rules: in an Empty group every offset expires retention after the group
// became Empty; in a Stable consumer group whose subscriptions are known,
// offsets of topics nobody consumes expire retention after their commit; a
// group that only stores offsets (no protocol type) loses each offset
// retention after its commit; an offset committed with an explicit
// retention (OffsetCommit v1–v4) expires at its own time. Offsets with a
// commit in flight never expire. An Empty group left without offsets is
// deleted. Expiry is written as tombstones and applied once durable.
func (g *group) expire(now int64) {
	if g.state == stateDead {
		return
	}
	base := func(o *offset) int64 { return o.commitTime }
	skipSubscribed := false
	switch {
	case g.protoType == "":
	case g.state == stateEmpty:
		if g.stateTime >= 0 {
			base = func(*offset) int64 { return g.stateTime }
		}
	case g.protoType == consumerProtocolType && g.subscribed != nil && g.state == stateStable:
		skipSubscribed = true
	default:
		return
	}
	var expired []tp
	for t, o := range g.offsets {
		if g.pendingCommits[t] > 0 || (skipSubscribed && g.subscribedTo(t.topic)) {
			continue
		}
		if (o.expireTime >= 0 && now >= o.expireTime) || (o.expireTime < 0 && now-base(o) >= g.rules.retentionMs) {
			expired = append(expired, t)
		}
	}
	slices.SortFunc(expired, compareTP)
	deleteGroup := g.state == stateEmpty && len(g.offsets) == len(expired) && len(g.pendingCommits) == 0
	if len(expired) == 0 && !deleteGroup {
		return
	}
	recs := g.tombstones(expired)
	report := func(err error) {
		if err != nil {
			g.rules.log.Warn("cannot write expired offsets; retrying at the next check", "group", g.id, "err", err)
		}
	}
	if deleteGroup {
		recs = append(recs, rec{key: groupKey(g.id)})
		g.markDeleting(now, recs, func(e *kerr.Error) {
			if e != nil {
				report(e)
			}
		})
		return
	}
	g.emit(now, recs, func(_ int64, err error) {
		if err != nil {
			report(err)
			return
		}
		for _, t := range expired {
			delete(g.offsets, t)
		}
	})
}
