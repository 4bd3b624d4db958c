package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// syncRequest is a SyncGroup as the state machine sees it.
type syncRequest struct {
	memberID     string
	instanceID   *string
	generation   int32
	protocolType *string // v5+
	protocol     *string // v5+
	assignments  []kmsg.SyncGroupRequestGroupAssignment
}

// sync handles a SyncGroup. reply is called exactly once: now, or when the
// leader's assignment is durable (or fails, or a new rebalance starts).
func (g *group) sync(now int64, r *syncRequest, reply syncWaiter) {
	if e := g.validateSync(r); e != nil {
		reply(syncError(e))
		return
	}
	m := g.members[r.memberID]
	switch g.state {
	case stateEmpty:
		reply(syncError(kerr.UnknownMemberID))
	case statePreparingRebalance:
		reply(syncError(kerr.RebalanceInProgress))
	case stateCompletingRebalance:
		if m.sync != nil {
			old := m.sync
			m.sync = nil
			old(syncError(kerr.RebalanceInProgress))
		}
		m.sync = reply
		g.removePendingSync(r.memberID)
		if g.leader == m.id {
			g.storeAssignment(now, r)
		}
	case stateStable:
		g.removePendingSync(r.memberID)
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.Protocol, resp.MemberAssignment = g.protocol, m.assignment
		if g.protoType != "" {
			pt := g.protoType
			resp.ProtocolType = &pt
		}
		m.deadline = now + int64(m.sessionMs)
		reply(resp)
	}
}

func (g *group) validateSync(r *syncRequest) *kerr.Error {
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable
	}
	if e := g.validateMember(r.memberID, r.instanceID); e != nil {
		return e
	}
	if r.generation != g.generation {
		return kerr.IllegalGeneration
	}
	if r.protocolType != nil && g.protoType != "" && *r.protocolType != g.protoType {
		return kerr.InconsistentGroupProtocol
	}
	if r.protocol != nil && g.protocol != nil && *r.protocol != *g.protocol {
		return kerr.InconsistentGroupProtocol
	}
	return nil
}

func (g *group) removePendingSync(id string) {
	delete(g.pendingSync, id)
	if len(g.pendingSync) == 0 {
		g.syncAt = 0
	}
}

// storeAssignment writes the leader's assignment (members it left out get an
// empty one; ids that are not members are ignored) and, once durable, makes
// the group Stable and answers every parked SyncGroup.
func (g *group) storeAssignment(now int64, r *syncRequest) {
	assignment := make(map[string][]byte, len(g.members))
	for i := range r.assignments {
		a := &r.assignments[i]
		if _, ok := g.members[a.MemberID]; ok {
			assignment[a.MemberID] = a.MemberAssignment
		}
	}
	for _, m := range g.order {
		if _, ok := assignment[m.id]; !ok {
			assignment[m.id] = []byte{}
		}
	}
	gen := g.generation
	g.storeMetadata(now, assignment, func(now int64, err error) {
		if g.state != stateCompletingRebalance || g.generation != gen {
			return // a new rebalance started meanwhile and answered everyone
		}
		if err != nil {
			g.rules.log.Warn("cannot persist the group's assignment; rebalancing again",
				"group", g.id, "generation", gen, "err", err)
			g.resetAndPropagateAssignmentError(now, appendCode(err))
			g.maybePrepareRebalanceOrCompleteJoin(now)
			return
		}
		for _, m := range g.order {
			m.assignment = assignment[m.id]
		}
		g.propagateAssignment(now, nil)
		g.transition(now, stateStable)
	})
}

// heartbeat handles a Heartbeat and returns its error code.
func (g *group) heartbeat(now int64, memberID string, instanceID *string, generation int32) *kerr.Error {
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable
	}
	if e := g.validateMember(memberID, instanceID); e != nil {
		return e
	}
	if generation != g.generation {
		return kerr.IllegalGeneration
	}
	m := g.members[memberID]
	switch g.state {
	case stateEmpty:
		return kerr.UnknownMemberID
	case statePreparingRebalance:
		m.deadline = now + int64(m.sessionMs)
		return kerr.RebalanceInProgress
	default: // members may heartbeat between JoinGroup and SyncGroup
		m.deadline = now + int64(m.sessionMs)
		return nil
	}
}

// leaveMember is one member of a LeaveGroup.
type leaveMember struct {
	memberID   string
	instanceID *string
}

// leave handles a LeaveGroup: the group-level error, or each member's.
func (g *group) leave(now int64, members []leaveMember) (*kerr.Error, []*kerr.Error) {
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable, nil
	}
	errs := make([]*kerr.Error, len(members))
	for i, lm := range members {
		switch {
		case lm.memberID == "":
			// Admin removal of a static member by instance id (KIP-345).
			id, ok := "", false
			if lm.instanceID != nil {
				id, ok = g.static[*lm.instanceID]
			}
			if !ok {
				errs[i] = kerr.UnknownMemberID
				continue
			}
			g.removeMemberAndUpdate(now, g.members[id])
		case g.isPending(lm.memberID):
			g.removePending(now, lm.memberID)
		default:
			if e := g.validateMember(lm.memberID, lm.instanceID); e != nil {
				errs[i] = e
				continue
			}
			g.removeMemberAndUpdate(now, g.members[lm.memberID])
		}
	}
	return nil, errs
}

// removeMemberAndUpdate removes a member that left or failed, answering its
// parked requests, and moves the group on: a Stable or syncing group
// rebalances; a group in its join phase may now have everyone.
func (g *group) removeMemberAndUpdate(now int64, m *member) {
	g.answerJoin(m, joinError("", kerr.UnknownMemberID))
	g.answerSync(m, syncError(kerr.UnknownMemberID))
	g.remove(m.id)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		g.maybePrepareRebalanceOrCompleteJoin(now)
	case statePreparingRebalance:
		if g.allJoined() {
			g.completeJoin(now)
		}
	}
}

func (g *group) isPending(id string) bool {
	_, ok := g.pending[id]
	return ok
}

func (g *group) removePending(now int64, id string) {
	delete(g.pending, id)
	if g.state == statePreparingRebalance && g.allJoined() {
		g.completeJoin(now)
	}
}

// tick fires every timer that is due at now: KIP-394 ids not used in time,
// sessions that expired, the end of the join phase, the sync deadline.
func (g *group) tick(now int64) {
	if g.state == stateDead {
		return
	}
	for id, at := range g.pending {
		if now >= at {
			g.removePending(now, id)
		}
	}
	for _, m := range append([]*member(nil), g.order...) {
		if g.members[m.id] == m && now >= m.deadline && !m.awaiting() {
			g.rules.log.Info("member session expired", "group", g.id, "member", m.id)
			g.removeMemberAndUpdate(now, m)
		}
	}
	if g.joinAt != 0 && now >= g.joinAt && g.state == statePreparingRebalance {
		g.onJoinTimer(now)
	}
	if g.syncAt != 0 && now >= g.syncAt {
		g.expirePendingSync(now)
	}
}

// nextDeadline is when tick next has something to do, ms since epoch; 0
// for never. Members whose session is suspended by a parked request have no
// deadline until the request is answered (which restarts their session).
func (g *group) nextDeadline() int64 {
	if g.state == stateDead {
		return 0
	}
	var next int64
	at := func(t int64) {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	for _, t := range g.pending {
		at(t)
	}
	for _, m := range g.order {
		if !m.awaiting() {
			at(m.deadline)
		}
	}
	if g.state == statePreparingRebalance {
		at(g.joinAt)
	}
	at(g.syncAt)
	return next
}
