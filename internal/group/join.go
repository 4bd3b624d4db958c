package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// joinRequest is a JoinGroup as the state machine sees it: checked for
// group id and session timeout, protocols deduplicated.
type joinRequest struct {
	memberID             string
	instanceID           *string
	clientID, clientHost string
	sessionMs            int32
	rebalanceMs          int32
	protocolType         string
	protocols            []protocol
	requireKnownMemberID bool // JoinGroup v4+ (KIP-394)
	canSkipAssignment    bool // JoinGroup v9+ (KIP-814)
}

// join handles a JoinGroup. reply is called exactly once: now, or when the
// join phase of the rebalance ends.
func (g *group) join(now int64, r *joinRequest, reply joinWaiter) {
	if !g.acceptJoiningMember(r.memberID) {
		if m, ok := g.members[r.memberID]; ok {
			g.answerSync(m, syncError(kerr.GroupMaxSizeReached))
		}
		g.remove(r.memberID)
		reply(joinError("", kerr.GroupMaxSizeReached))
		g.maybeCompleteJoinPhase(now)
		return
	}
	if r.memberID == "" {
		g.joinNew(now, r, reply)
	} else {
		g.joinExisting(now, r, reply)
	}
}

// acceptJoiningMember is Kafka's group.max.size check. While the group
// prepares a rebalance it counts members that have rejoined, so that when
// the limit was lowered the last to rejoin are the ones turned away.
func (g *group) acceptJoiningMember(id string) bool {
	switch g.state {
	case statePreparingRebalance:
		if m, ok := g.members[id]; ok && m.join != nil {
			return true
		}
		return g.awaitJoin < int(g.rules.maxSize)
	case stateCompletingRebalance, stateStable:
		if _, ok := g.members[id]; ok {
			return true
		}
		return len(g.members) < int(g.rules.maxSize)
	}
	return true
}

func (g *group) joinNew(now int64, r *joinRequest, reply joinWaiter) {
	switch {
	case g.state == stateDead:
		reply(joinError("", kerr.CoordinatorNotAvailable))
		return
	case !g.supportsProtocols(r.protocolType, r.protocols):
		reply(joinError("", kerr.InconsistentGroupProtocol))
		return
	}
	prefix := r.clientID
	if r.instanceID != nil {
		prefix = *r.instanceID
	}
	id := g.rules.newMemberID(prefix)
	switch {
	case r.instanceID != nil:
		if old, ok := g.static[*r.instanceID]; ok {
			g.replaceStaticAndRejoin(now, r, old, id, reply)
			return
		}
		g.addMemberAndRebalance(now, r, id, reply)
	case r.requireKnownMemberID:
		// KIP-394: hand out the id and wait for the member to come back
		// with it; the id expires after one session timeout.
		g.pending[id] = now + int64(r.sessionMs)
		reply(joinError(id, kerr.MemberIDRequired))
	default:
		g.addMemberAndRebalance(now, r, id, reply)
	}
}

func (g *group) joinExisting(now int64, r *joinRequest, reply joinWaiter) {
	switch {
	case g.state == stateDead:
		reply(joinError(r.memberID, kerr.CoordinatorNotAvailable))
		return
	case !g.supportsProtocols(r.protocolType, r.protocols):
		reply(joinError(r.memberID, kerr.InconsistentGroupProtocol))
		return
	}
	if _, ok := g.pending[r.memberID]; ok {
		if r.instanceID != nil {
			// Pending ids are only handed to dynamic members; Kafka fails
			// the request with an internal error here.
			reply(joinError(r.memberID, kerr.UnknownMemberID))
			return
		}
		g.addMemberAndRebalance(now, r, r.memberID, reply)
		return
	}
	if e := g.validateMember(r.memberID, r.instanceID); e != nil {
		reply(joinError(r.memberID, e))
		return
	}
	m := g.members[r.memberID]
	switch g.state {
	case statePreparingRebalance:
		g.updateMember(m, r, reply)
		g.maybePrepareRebalanceOrCompleteJoin(now)
	case stateCompletingRebalance:
		if m.matches(r.protocols) {
			// The member lost our JoinGroup response; send it again.
			reply(g.joinResponse(m, g.leader == m.id, g.leader, false))
			return
		}
		g.updateMember(m, r, reply)
		g.maybePrepareRebalanceOrCompleteJoin(now)
	case stateStable:
		if g.leader == m.id || !m.matches(r.protocols) {
			// A leader's JoinGroup always rebalances: it is how clients
			// react to changes the member metadata does not show (new
			// partitions of subscribed topics).
			g.updateMember(m, r, reply)
			g.maybePrepareRebalanceOrCompleteJoin(now)
			return
		}
		reply(g.joinResponse(m, false, g.leader, false))
	default:
		reply(joinError(r.memberID, kerr.UnknownMemberID))
	}
}

// validateMember checks that memberID is a member and, for a static
// member, that it is the member currently holding its instance id.
func (g *group) validateMember(memberID string, instanceID *string) *kerr.Error {
	if instanceID != nil {
		cur, ok := g.static[*instanceID]
		if !ok {
			return kerr.UnknownMemberID
		}
		if cur != memberID {
			return kerr.FencedInstanceID
		}
	}
	if _, ok := g.members[memberID]; !ok {
		return kerr.UnknownMemberID
	}
	return nil
}

// joinResponse is a successful JoinGroup response for m in the current
// generation.
func (g *group) joinResponse(m *member, withMembers bool, leader string, skip bool) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.MemberID, r.Generation, r.LeaderID, r.SkipAssignment = m.id, g.generation, leader, skip
	r.Protocol = g.protocol
	if g.protoType != "" {
		pt := g.protoType
		r.ProtocolType = &pt
	}
	if withMembers {
		r.Members = g.currentMembers()
	}
	return r
}

func (g *group) addMemberAndRebalance(now int64, r *joinRequest, id string, reply joinWaiter) {
	m := &member{
		id:           id,
		instanceID:   r.instanceID,
		clientID:     r.clientID,
		clientHost:   r.clientHost,
		rebalanceMs:  r.rebalanceMs,
		sessionMs:    r.sessionMs,
		protocolType: r.protocolType,
		protocols:    r.protocols,
		join:         reply,
		isNew:        true,
		deadline:     now + newMemberJoinTimeoutMs,
	}
	if g.state == statePreparingRebalance && g.prevState == stateEmpty {
		g.newMemberAdded = true // the initial rebalance may wait longer
	}
	g.add(m)
	g.maybePrepareRebalanceOrCompleteJoin(now)
}

// updateMember records a rejoining member's protocols and timeouts and
// parks its JoinGroup. A JoinGroup already parked for it is answered with
// REBALANCE_IN_PROGRESS, so no request waits forever (Kafka drops it).
func (g *group) updateMember(m *member, r *joinRequest, reply joinWaiter) {
	g.countProtocols(m, -1)
	m.protocols = r.protocols
	g.countProtocols(m, 1)
	m.rebalanceMs, m.sessionMs = r.rebalanceMs, r.sessionMs
	if m.join != nil && reply != nil {
		old := m.join
		m.join = reply
		old(joinError(m.id, kerr.RebalanceInProgress))
		return
	}
	g.setJoin(m, reply)
}

// replaceStaticAndRejoin handles a static member that joins without a
// member id while its instance id is known: a restart. The new member id
// takes over the old member, whose parked requests are fenced. A Stable
// group whose protocol would not change keeps its generation and
// assignment: the new id is persisted and the member goes straight to
// SyncGroup, without a rebalance (KIP-345).
func (g *group) replaceStaticAndRejoin(now int64, r *joinRequest, oldID, newID string, reply joinWaiter) {
	oldLeader := g.leader
	m := g.replaceStatic(*r.instanceID, oldID, newID)
	m.deadline = now + int64(m.sessionMs)
	oldProtocols, oldRebalance, oldSession := m.protocols, m.rebalanceMs, m.sessionMs
	g.updateMember(m, r, reply)
	switch g.state {
	case stateStable:
		if sel, ok := g.selectProtocol(); !ok || g.protocol == nil || sel != *g.protocol {
			g.maybePrepareRebalanceOrCompleteJoin(now)
			return
		}
		gen := g.generation
		g.storeMetadata(now, nil, func(now int64, err error) {
			if err != nil {
				g.rules.log.Warn("cannot persist a rejoining static member; reverting to its old member id",
					"group", g.id, "member", newID, "err", err)
				if cur, ok := g.members[newID]; ok && cur == m {
					g.countProtocols(m, -1)
					m.protocols, m.rebalanceMs, m.sessionMs = oldProtocols, oldRebalance, oldSession
					g.countProtocols(m, 1)
					w := m.join
					g.setJoin(m, nil)
					g.replaceStatic(*r.instanceID, newID, oldID)
					m.deadline = now + int64(m.sessionMs)
					if w != nil {
						resp := joinError("", appendCode(err))
						resp.Generation, resp.LeaderID = g.generation, oldLeader
						w(resp)
					}
				}
				return
			}
			if g.generation != gen || g.members[newID] != m {
				return // a rebalance took over; it answers the member
			}
			if r.canSkipAssignment {
				// KIP-814: a returning static leader learns it leads but
				// must not reassign a stable group.
				lead := g.leader == newID
				g.answerJoin(m, g.joinResponse(m, lead, g.leader, lead))
			} else {
				// Older clients get the old leader id, so a returning
				// leader does not believe it leads and reassign.
				g.answerJoin(m, g.joinResponse(m, false, oldLeader, false))
			}
		})
	case stateCompletingRebalance:
		// The leader may already be assigning the old member id.
		g.prepareRebalance(now)
	case statePreparingRebalance:
		g.maybeCompleteJoinPhase(now)
	}
}

// replaceStatic moves a static member to a new member id, fencing requests
// parked under the old one.
func (g *group) replaceStatic(instanceID, oldID, newID string) *member {
	m := g.members[oldID]
	g.answerJoin(m, joinError(oldID, kerr.FencedInstanceID))
	g.answerSync(m, syncError(kerr.FencedInstanceID))
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	if g.leader == oldID {
		g.leader = newID
	}
	g.static[instanceID] = newID
	return m
}
