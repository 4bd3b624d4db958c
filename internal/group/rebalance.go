package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A rebalance has two phases. The join phase (PreparingRebalance) parks
// every member's JoinGroup until all known members have rejoined or the
// rebalance timeout (the largest of the members') passes; members that did
// not rejoin are removed, the generation is bumped, a protocol chosen, and
// every parked JoinGroup answered, the leader's with all members' metadata.
// The sync phase (CompletingRebalance) parks SyncGroups until the leader
// sends the assignment, which is written to the log; once durable, the
// group is Stable and every member gets its share. Members that do not send
// SyncGroup within the rebalance timeout are removed and a new rebalance
// starts.
//
// An Empty group's first rebalance waits group.initial.rebalance.delay.ms
// (and again, up to the rebalance timeout, each time a new member arrives
// during the wait) so that a group starting many members at once does not
// rebalance once per member.

// maybePrepareRebalanceOrCompleteJoin starts a rebalance if the state allows
// one, or else ends the join phase if everyone is in.
func (g *group) maybePrepareRebalanceOrCompleteJoin(now int64) {
	if g.canRebalance() {
		g.prepareRebalance(now)
		return
	}
	g.maybeCompleteJoinPhase(now)
}

// maybeCompleteJoinPhase ends the join phase once every member has
// rejoined, except during the initial delay, which always runs out.
func (g *group) maybeCompleteJoinPhase(now int64) {
	if g.state == statePreparingRebalance && g.allJoined() && !g.initial {
		g.completeJoin(now)
	}
}

func (g *group) prepareRebalance(now int64) {
	if g.state == stateCompletingRebalance {
		g.resetAndPropagateAssignmentError(now, kerr.RebalanceInProgress)
	}
	g.syncAt = 0
	clear(g.pendingSync)
	initial := g.state == stateEmpty
	g.transition(now, statePreparingRebalance)
	if initial {
		g.initial = true
		g.initialDelay = g.rules.initialDelayMs
		g.initialRemain = maxI32(g.rebalanceTimeoutMs()-g.rules.initialDelayMs, 0)
		g.newMemberAdded = false
		g.joinAt = now + int64(g.initialDelay)
		return
	}
	if g.allJoined() {
		g.completeJoin(now)
		return
	}
	g.joinAt = now + int64(g.rebalanceTimeoutMs())
}

// onJoinTimer runs when joinAt passes: the initial delay either extends
// (a member arrived meanwhile and rebalance time is left) or the join phase
// ends.
func (g *group) onJoinTimer(now int64) {
	if g.initial && g.newMemberAdded && g.initialRemain != 0 {
		g.newMemberAdded = false
		delay := min(g.rules.initialDelayMs, g.initialRemain)
		g.initialRemain = maxI32(g.initialRemain-g.initialDelay, 0)
		g.initialDelay = delay
		g.joinAt = now + int64(delay)
		return
	}
	g.completeJoin(now)
}

// completeJoin ends the join phase.
func (g *group) completeJoin(now int64) {
	g.joinAt, g.initial = 0, false
	// Dynamic members that did not rejoin are gone; static members keep
	// their place (they may be restarting) until their session expires.
	for _, m := range append([]*member(nil), g.order...) {
		if m.join == nil && m.instanceID == nil {
			g.answerSync(m, syncError(kerr.UnknownMemberID))
			g.remove(m.id)
		}
	}
	if g.state == stateDead {
		return
	}
	if !g.electJoinedLeader() && len(g.members) > 0 {
		// Only static members that have not rejoined are left: wait for
		// them, or for their sessions to expire.
		g.joinAt = now + int64(g.rebalanceTimeoutMs())
		return
	}
	g.initNextGeneration(now)
	if g.state == stateEmpty {
		g.storeMetadata(now, nil, func(_ int64, err error) {
			if err != nil {
				// Harmless: the previous generation in the log has no live
				// members either and times out after a reload.
				g.rules.log.Warn("cannot persist that the group is empty", "group", g.id, "err", err)
			}
		})
		return
	}
	var all []kmsg.JoinGroupResponseMember
	for _, m := range g.order {
		resp := g.joinResponse(m, false, g.leader, false)
		if m.id == g.leader {
			if all == nil {
				all = g.currentMembers()
			}
			resp.Members = all
		}
		g.answerJoin(m, resp)
		m.deadline = now + int64(m.sessionMs)
		m.isNew = false
		g.pendingSync[m.id] = struct{}{}
	}
	g.syncAt = now + int64(g.rebalanceTimeoutMs())
}

// electJoinedLeader keeps the leader if it rejoined, or else makes the first
// member that rejoined the leader. It reports false when nobody rejoined.
func (g *group) electJoinedLeader() bool {
	if g.leader == "" {
		return false
	}
	if l := g.members[g.leader]; l != nil && l.join != nil {
		return true
	}
	for _, m := range g.order {
		if m.join != nil {
			g.leader = m.id
			return true
		}
	}
	return false
}

func (g *group) initNextGeneration(now int64) {
	g.generation++
	if len(g.members) > 0 {
		if name, ok := g.selectProtocol(); ok {
			g.protocol = &name
		} else { // unreachable while joins are admitted with supportsProtocols
			name := g.order[0].protocols[0].name
			g.protocol = &name
		}
		g.computeSubscribed()
		g.transition(now, stateCompletingRebalance)
	} else {
		g.protocol = nil
		g.computeSubscribed()
		g.transition(now, stateEmpty)
	}
	clear(g.pendingSync)
	g.syncAt = 0
}

// resetAndPropagateAssignmentError fails every parked SyncGroup of the
// generation with e and forgets the assignment.
func (g *group) resetAndPropagateAssignmentError(now int64, e *kerr.Error) {
	for _, m := range g.order {
		m.assignment = nil
	}
	g.propagateAssignment(now, e)
}

// propagateAssignment answers every parked SyncGroup with the member's
// assignment (or e) and restarts those members' sessions.
func (g *group) propagateAssignment(now int64, e *kerr.Error) {
	for _, m := range g.order {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = code(e)
		if e == nil {
			resp.Protocol = g.protocol
			if g.protoType != "" {
				pt := g.protoType
				resp.ProtocolType = &pt
			}
			resp.MemberAssignment = m.assignment
		}
		if g.answerSync(m, resp) {
			m.deadline = now + int64(m.sessionMs)
		}
	}
}

// expirePendingSync removes the members of the generation that never sent
// SyncGroup, and rebalances without them.
func (g *group) expirePendingSync(now int64) {
	g.syncAt = 0
	if len(g.pendingSync) == 0 || (g.state != stateCompletingRebalance && g.state != stateStable) {
		return
	}
	for _, m := range append([]*member(nil), g.order...) {
		if _, ok := g.pendingSync[m.id]; ok {
			g.answerJoin(m, joinError(m.id, kerr.UnknownMemberID))
			g.answerSync(m, syncError(kerr.UnknownMemberID))
			g.remove(m.id)
		}
	}
	clear(g.pendingSync)
	g.prepareRebalance(now)
}
