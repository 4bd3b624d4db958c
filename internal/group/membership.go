package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup handles JoinGroup v0–v9. It blocks until the join phase of the
// rebalance ends for this member (or ctx is done): a member id handed out
// (KIP-394, v4+), a new generation, or an error. The response's version is
// the request's.
func (c *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, client Client) *kmsg.JoinGroupResponse {
	fail := func(e *kerr.Error) *kmsg.JoinGroupResponse {
		r := joinError(req.MemberID, e)
		r.Version = req.Version
		return r
	}
	if req.Group == "" {
		return fail(kerr.InvalidGroupID)
	}
	if _, e := c.route(req.Group); e != nil {
		return fail(e)
	}
	if req.SessionTimeoutMillis < c.rules.minSessionMs || req.SessionTimeoutMillis > c.rules.maxSessionMs {
		return fail(kerr.InvalidSessionTimeout)
	}
	r := &joinRequest{
		memberID:             req.MemberID,
		clientID:             client.ID,
		clientHost:           client.Host,
		sessionMs:            req.SessionTimeoutMillis,
		rebalanceMs:          req.RebalanceTimeoutMillis,
		protocolType:         req.ProtocolType,
		protocols:            copyProtocols(req.Protocols),
		requireKnownMemberID: req.Version >= 4,
		canSkipAssignment:    req.Version >= 9,
	}
	if req.Version == 0 {
		r.rebalanceMs = r.sessionMs // v0 has no rebalance timeout; Kafka uses the session timeout
	}
	if req.Version >= 5 && req.InstanceID != nil {
		id := *req.InstanceID
		r.instanceID = &id
	}
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	found, e := c.do(req.Group, req.MemberID == "", func(g *group, now int64) { g.join(now, r, replyTo(ch)) })
	switch {
	case e != nil:
		return fail(e)
	case !found:
		return fail(kerr.UnknownMemberID)
	}
	select {
	case resp := <-ch:
		resp.Version = req.Version
		return resp
	case <-ctx.Done():
		return fail(kerr.RebalanceInProgress)
	}
}

// copyProtocols copies a JoinGroup's protocols, which the member keeps
// beyond the request, into one allocation, keeping the first of repeated
// names (a protocol counts once per member).
func copyProtocols(in []kmsg.JoinGroupRequestProtocol) []protocol {
	size := 0
	for i := range in {
		size += len(in[i].Metadata)
	}
	arena := make([]byte, 0, size)
	out := make([]protocol, 0, len(in))
	var seen map[string]struct{}
	if len(in) > 8 {
		seen = make(map[string]struct{}, len(in))
	}
	for i := range in {
		name := in[i].Name
		if seen != nil {
			if _, dup := seen[name]; dup {
				continue
			}
			seen[name] = struct{}{}
		} else if containsProtocol(out, name) {
			continue
		}
		start := len(arena)
		arena = append(arena, in[i].Metadata...)
		out = append(out, protocol{name: name, metadata: arena[start:len(arena):len(arena)]})
	}
	return out
}

func containsProtocol(ps []protocol, name string) bool {
	for i := range ps {
		if ps[i].name == name {
			return true
		}
	}
	return false
}

// SyncGroup handles SyncGroup v0–v5. A follower's SyncGroup blocks until
// the leader's assignment is durable (or a new rebalance starts, or ctx is
// done); the leader's until its own write is.
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest, _ Client) *kmsg.SyncGroupResponse {
	fail := func(e *kerr.Error) *kmsg.SyncGroupResponse {
		r := syncError(e)
		r.Version = req.Version
		return r
	}
	if req.Group == "" {
		return fail(kerr.InvalidGroupID)
	}
	r := &syncRequest{
		memberID:    req.MemberID,
		generation:  req.Generation,
		assignments: copyAssignments(req.GroupAssignment),
	}
	if req.Version >= 3 {
		r.instanceID = req.InstanceID
	}
	if req.Version >= 5 {
		r.protocolType, r.protocol = req.ProtocolType, req.Protocol
	}
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	found, e := c.do(req.Group, false, func(g *group, now int64) { g.sync(now, r, replyTo(ch)) })
	switch {
	case e == kerr.CoordinatorLoadInProgress:
		// The rebalance in progress was lost with the old coordinator;
		// older clients do not expect COORDINATOR_LOAD_IN_PROGRESS here.
		return fail(kerr.RebalanceInProgress)
	case e != nil:
		return fail(e)
	case !found:
		return fail(kerr.UnknownMemberID)
	}
	select {
	case resp := <-ch:
		resp.Version = req.Version
		return resp
	case <-ctx.Done():
		return fail(kerr.RebalanceInProgress)
	}
}

// copyAssignments copies a leader's assignments, which members keep beyond
// the request, into one allocation.
func copyAssignments(in []kmsg.SyncGroupRequestGroupAssignment) []kmsg.SyncGroupRequestGroupAssignment {
	size := 0
	for i := range in {
		size += len(in[i].MemberAssignment)
	}
	arena := make([]byte, 0, size)
	out := make([]kmsg.SyncGroupRequestGroupAssignment, len(in))
	for i := range in {
		start := len(arena)
		arena = append(arena, in[i].MemberAssignment...)
		out[i].MemberID = in[i].MemberID
		out[i].MemberAssignment = arena[start:len(arena):len(arena)]
	}
	return out
}

// Heartbeat handles Heartbeat v0–v4.
func (c *Coordinator) Heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.Version = req.Version
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	var instanceID *string
	if req.Version >= 3 {
		instanceID = req.InstanceID
	}
	ch := make(chan *kerr.Error, 1)
	found, e := c.do(req.Group, false, func(g *group, now int64) {
		ch <- g.heartbeat(now, req.MemberID, instanceID, req.Generation)
	})
	switch {
	case e == kerr.CoordinatorLoadInProgress:
		return resp // Kafka answers blindly while loading
	case e != nil:
		resp.ErrorCode = e.Code
	case !found:
		resp.ErrorCode = kerr.UnknownMemberID.Code
	default:
		resp.ErrorCode = code(wait(ctx, ch, kerr.RequestTimedOut))
	}
	return resp
}

// LeaveGroup handles LeaveGroup v0–v5: one member (v0–v2) or many (v3+,
// KIP-345, where members may be named by instance id alone).
func (c *Coordinator) LeaveGroup(ctx context.Context, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := kmsg.NewPtrLeaveGroupResponse()
	resp.Version = req.Version
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	members := make([]leaveMember, 0, max(len(req.Members), 1))
	if req.Version < 3 {
		members = append(members, leaveMember{memberID: req.MemberID})
	} else {
		for _, m := range req.Members {
			members = append(members, leaveMember{memberID: m.MemberID, instanceID: m.InstanceID})
		}
	}
	type result struct {
		top  *kerr.Error
		errs []*kerr.Error
	}
	ch := make(chan result, 1)
	found, e := c.do(req.Group, false, func(g *group, now int64) {
		top, errs := g.leave(now, members)
		ch <- result{top, errs}
	})
	var res result
	switch {
	case e != nil:
		res.top = e
	case !found:
		res.errs = make([]*kerr.Error, len(members))
		for i := range res.errs {
			res.errs[i] = kerr.UnknownMemberID
		}
	default:
		res = wait(ctx, ch, result{top: kerr.RequestTimedOut})
	}
	resp.ErrorCode = code(res.top)
	if res.top != nil {
		return resp
	}
	if req.Version < 3 {
		resp.ErrorCode = code(res.errs[0])
		return resp
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, code(res.errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

// do runs f on the actor of groupID, creating the group when create is
// set. found is false when the group does not exist (and create is not
// set); e is the error the request answers with when the group cannot be
// served here.
func (c *Coordinator) do(groupID string, create bool, f op) (found bool, e *kerr.Error) {
	for {
		p, e := c.route(groupID)
		if e != nil {
			return false, e
		}
		a, ok := p.actor(groupID, create)
		switch {
		case !ok:
			return false, kerr.NotCoordinator
		case a == nil:
			return false, nil
		}
		switch a.post(f) {
		case open:
			return true, nil
		case unloaded:
			return false, kerr.NotCoordinator
		}
		// The group was just deleted and its actor retired: look again.
	}
}

// replyTo returns a waiter that hands its value to ch, which must have room
// for it; a second value would be dropped rather than block the actor.
func replyTo[T any](ch chan T) func(T) {
	return func(v T) {
		select {
		case ch <- v:
		default:
		}
	}
}

// wait returns the value from ch, or otherwise when ctx is done.
func wait[T any](ctx context.Context, ch chan T, otherwise T) T {
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		return otherwise
	}
}
