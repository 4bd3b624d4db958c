package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// write is a set of records that must reach __consumer_offsets together
// (they go into one batch) before the change they describe takes effect.
// The group hands writes to its driver with takeWrites; the driver appends
// them and reports back with complete.
type write struct {
	recs []rec
	ts   int64 // ms since epoch, the records' timestamp
	// done applies the outcome on the group's actor: the change when err is
	// nil, a rollback and error answers otherwise.
	done func(now int64, err error)
}

// size is the write's encoded weight in a batch, roughly.
func (w *write) size() int {
	n := 0
	for i := range w.recs {
		n += len(w.recs[i].key) + len(w.recs[i].value) + 24 // record framing, generously
	}
	return n
}

// emit queues a write for the driver.
func (g *group) emit(now int64, recs []rec, done func(now int64, err error)) {
	w := &write{recs: recs, ts: now, done: done}
	g.writes[w] = struct{}{}
	g.out = append(g.out, w)
}

// takeWrites hands the writes emitted since the last call to the driver, in
// the order they must reach the log.
func (g *group) takeWrites() []*write {
	out := g.out
	g.out = nil
	return out
}

// complete applies the outcome of a write. A write completes once; later
// reports (after unload) are ignored.
func (g *group) complete(now int64, w *write, err error) {
	if _, ok := g.writes[w]; !ok {
		return
	}
	delete(g.writes, w)
	w.done(now, err)
}

// unload ends the group on this broker: outstanding writes fail (their
// requests get NOT_COORDINATOR; the records may or may not be in the log,
// and the next leader's load decides), every parked JoinGroup and SyncGroup
// gets NOT_COORDINATOR, and the group is Dead.
func (g *group) unload(now int64) {
	for w := range g.writes {
		g.complete(now, w, errUnloaded)
	}
	g.out = nil
	for _, m := range g.order {
		g.answerJoin(m, joinError(m.id, kerr.NotCoordinator))
		g.answerSync(m, syncError(kerr.NotCoordinator))
	}
	g.joinAt, g.syncAt = 0, 0
	g.transition(now, stateDead)
}

// metadataRecord is the group's GroupMetadata record (value version 3, as
// Kafka 2.3 through 4.x writes it): generation, protocol, leader, the time
// of the last state change, and every member with its subscription for the
// chosen protocol and its assignment. assignment overrides the members'
// current assignments when not nil (the leader's SyncGroup, before it is
// durable).
func (g *group) metadataRecord(assignment map[string][]byte) rec {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protoType
	v.Generation = g.generation
	v.Protocol = g.protocol
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateTime
	if g.protocol != nil {
		v.Members = make([]kmsg.GroupMetadataValueMember, 0, len(g.order))
		for _, m := range g.order {
			vm := kmsg.NewGroupMetadataValueMember()
			vm.MemberID, vm.InstanceID, vm.ClientID, vm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
			vm.RebalanceTimeoutMillis, vm.SessionTimeoutMillis = m.rebalanceMs, m.sessionMs
			vm.Subscription = m.metadataFor(*g.protocol)
			vm.Assignment = m.assignment
			if assignment != nil {
				vm.Assignment = assignment[m.id]
			}
			if vm.Assignment == nil {
				vm.Assignment = []byte{}
			}
			v.Members = append(v.Members, vm)
		}
	}
	size := 64 + len(g.protoType) + len(g.leader)
	for i := range v.Members {
		vm := &v.Members[i]
		size += 64 + len(vm.MemberID) + len(vm.ClientID) + len(vm.ClientHost) + len(vm.Subscription) + len(vm.Assignment)
		if vm.InstanceID != nil {
			size += len(*vm.InstanceID)
		}
	}
	return rec{key: groupKey(g.id), value: v.AppendTo(make([]byte, 0, size))}
}

// storeMetadata writes the group's metadata record; done runs when it is
// durable or failed.
func (g *group) storeMetadata(now int64, assignment map[string][]byte, done func(now int64, err error)) {
	g.persisted = true
	g.emit(now, []rec{g.metadataRecord(assignment)}, done)
}

// gone reports whether the group no longer exists and its actor can go: it
// was deleted durably, or it never held anything worth keeping (an id that
// only saw a rejected JoinGroup, or lookups).
func (g *group) gone() bool {
	if len(g.writes) > 0 || len(g.out) > 0 {
		return false
	}
	if g.deleted {
		return true
	}
	return g.state == stateEmpty && !g.persisted && len(g.members) == 0 && len(g.pending) == 0 &&
		len(g.offsets) == 0 && len(g.pendingCommits) == 0
}

// describe is the group as DescribeGroups shows it. Member metadata and
// assignments are shown only when the group is Stable, as in Kafka.
func (g *group) describe() kmsg.DescribeGroupsResponseGroup {
	d := kmsg.NewDescribeGroupsResponseGroup()
	d.Group, d.State, d.ProtocolType = g.id, g.state.String(), g.protoType
	stable := g.state == stateStable && g.protocol != nil
	if stable {
		d.Protocol = *g.protocol
	}
	d.Members = make([]kmsg.DescribeGroupsResponseGroupMember, 0, len(g.order))
	for _, m := range g.order {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		if stable {
			dm.ProtocolMetadata, dm.MemberAssignment = m.metadataFor(*g.protocol), m.assignment
		}
		d.Members = append(d.Members, dm)
	}
	return d
}

func joinError(memberID string, e *kerr.Error) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.ErrorCode, r.MemberID, r.Generation = e.Code, memberID, -1
	return r
}

func syncError(e *kerr.Error) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.ErrorCode = e.Code
	return r
}
