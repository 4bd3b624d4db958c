package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOneMemberJoinsSyncsAndHeartbeats(t *testing.T) {
	h := newHarness(t)
	j := h.join()
	if j.done() {
		t.Fatal("join answered before the initial delay ran out")
	}
	h.wantState(statePreparingRebalance)
	h.advance(0)
	if !j.done() {
		t.Fatal("join not answered")
	}
	r := j.resp
	wantCode[int16](t, "join", r.ErrorCode, nil)
	if r.Generation != 1 || r.LeaderID != r.MemberID || r.Protocol == nil || *r.Protocol != "range" ||
		r.ProtocolType == nil || *r.ProtocolType != "consumer" {
		t.Fatalf("join response %+v", r)
	}
	if len(r.Members) != 1 || r.Members[0].MemberID != r.MemberID || string(r.Members[0].ProtocolMetadata) != string(subMeta("t")) {
		t.Fatalf("leader's members %+v", r.Members)
	}
	h.wantState(stateCompletingRebalance)

	wantCode[int16](t, "commit before sync", code(h.commitNow(r.MemberID, 1)), kerr.RebalanceInProgress)
	wantCode[int16](t, "heartbeat before sync", code(h.heartbeat(r.MemberID, 1)), nil)

	s := h.sync(r.MemberID, 1, map[string][]byte{r.MemberID: []byte("mine")})
	if s.done() {
		t.Fatal("sync answered before the assignment is durable")
	}
	if n := h.flush(nil); n != 1 {
		t.Fatalf("wrote %d records, want the group metadata", n)
	}
	wantCode[int16](t, "sync", s.resp.ErrorCode, nil)
	if string(s.resp.MemberAssignment) != "mine" || *s.resp.Protocol != "range" {
		t.Fatalf("sync response %+v", s.resp)
	}
	h.wantState(stateStable)
	wantCode[int16](t, "heartbeat", code(h.heartbeat(r.MemberID, 1)), nil)
	wantCode[int16](t, "heartbeat old generation", code(h.heartbeat(r.MemberID, 0)), kerr.IllegalGeneration)
	wantCode[int16](t, "heartbeat stranger", code(h.heartbeat("nobody", 1)), kerr.UnknownMemberID)
	// A sync in a stable group returns the assignment at once.
	again := h.sync(r.MemberID, 1, nil)
	if !again.done() || string(again.resp.MemberAssignment) != "mine" {
		t.Fatalf("stable sync %+v", again.resp)
	}
}

// commitNow commits one partition and flushes, returning the verdict.
func (h *harness) commitNow(id string, gen int32) *kerr.Error {
	c := h.commit(id, gen, tp{"t", 0})
	h.flush(nil)
	if !c.done() {
		h.t.Fatal("commit not answered")
	}
	return c.resp
}

func TestNMembersOnlyLeaderGetsMembers(t *testing.T) {
	h := newHarness(t)
	calls := []*call[*kmsg.JoinGroupResponse]{h.join(), h.join(), h.join()}
	h.advance(0)
	h.advance(0)
	leader := calls[0].resp.LeaderID
	for i, c := range calls {
		if !c.done() || c.resp.Generation != 1 || c.resp.LeaderID != leader {
			t.Fatalf("member %d: %+v", i, c.resp)
		}
		if (c.resp.MemberID == leader) != (len(c.resp.Members) == 3) {
			t.Fatalf("member %d got %d members (leader %v)", i, len(c.resp.Members), c.resp.MemberID == leader)
		}
	}
	ids, gen := []string{calls[0].resp.MemberID, calls[1].resp.MemberID, calls[2].resp.MemberID}, int32(1)
	follower := h.sync(ids[1], gen, nil)
	lead := h.sync(ids[0], gen, map[string][]byte{ids[0]: []byte("0"), ids[1]: []byte("1")}) // ids[2] left out
	third := h.sync(ids[2], gen, nil)
	h.flush(nil)
	if string(follower.resp.MemberAssignment) != "1" || string(lead.resp.MemberAssignment) != "0" ||
		third.resp.ErrorCode != 0 || len(third.resp.MemberAssignment) != 0 {
		t.Fatalf("assignments %q %q %+v", follower.resp.MemberAssignment, lead.resp.MemberAssignment, third.resp)
	}
}

func TestJoinOfNewMemberRebalances(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(2)
	newcomer := h.join()
	h.wantState(statePreparingRebalance)
	for _, id := range ids {
		wantCode[int16](t, "heartbeat", code(h.heartbeat(id, gen)), kerr.RebalanceInProgress)
	}
	// Commits of the current generation still count while preparing.
	wantCode[int16](t, "commit while preparing", code(h.commitNow(ids[1], gen)), nil)
	a := h.join(withID(ids[0]))
	if newcomer.done() {
		t.Fatal("rebalance completed before every member rejoined")
	}
	b := h.join(withID(ids[1]))
	for _, c := range []*call[*kmsg.JoinGroupResponse]{newcomer, a, b} {
		if !c.done() || c.resp.Generation != gen+1 {
			t.Fatalf("join %+v", c.resp)
		}
	}
	if len(a.resp.Members) != 3 {
		t.Fatalf("leader sees %d members", len(a.resp.Members))
	}
	wantCode[int16](t, "sync old generation", h.sync(ids[1], gen, nil).resp.ErrorCode, kerr.IllegalGeneration)
}

func TestLeaveRebalances(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(3)
	top, errs := h.g.leave(h.now, []leaveMember{{memberID: ids[2]}, {memberID: "stranger"}})
	if top != nil || errs[0] != nil || errs[1] != kerr.UnknownMemberID {
		t.Fatalf("leave: %v %v", top, errs)
	}
	h.wantState(statePreparingRebalance)
	wantCode[int16](t, "heartbeat of the one who left", code(h.heartbeat(ids[2], gen)), kerr.UnknownMemberID)
	a, b := h.join(withID(ids[0])), h.join(withID(ids[1]))
	if !a.done() || !b.done() || a.resp.Generation != gen+1 || len(a.resp.Members) != 2 {
		t.Fatalf("rejoin %+v %+v", a.resp, b.resp)
	}
}

func TestLastMemberLeavingEmptiesTheGroup(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(1)
	h.g.leave(h.now, []leaveMember{{memberID: ids[0]}})
	h.wantState(stateEmpty)
	if h.g.generation != gen+1 {
		t.Fatalf("generation %d, want %d", h.g.generation, gen+1)
	}
	ws := h.pendingWrites()
	if len(ws) != 1 {
		t.Fatalf("%d writes, want the empty group's metadata", len(ws))
	}
	v, err := decodeGroupValue(ws[0].recs[0].value)
	if err != nil || len(v.Members) != 0 || v.Generation != gen+1 || v.Protocol != nil || v.CurrentStateTimestamp != h.now {
		t.Fatalf("empty group record %+v, %v", v, err)
	}
}

func TestSessionTimeoutRemovesSilentMember(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(2, withSession(6000))
	for range 2 {
		h.advance(2000)
		wantCode[int16](t, "heartbeat", code(h.heartbeat(ids[0], gen)), nil)
	}
	h.advance(1999)
	h.wantState(stateStable)
	h.advance(1)
	h.wantState(statePreparingRebalance) // ids[1] expired at 6000
	if _, ok := h.g.members[ids[1]]; ok {
		t.Fatal("silent member still in the group")
	}
	if next := h.g.nextDeadline(); next == 0 {
		t.Fatal("no timer armed while preparing a rebalance")
	}
}

func TestMemberIDRequired(t *testing.T) {
	h := newHarness(t)
	first := h.join(withKIP394())
	wantCode[int16](t, "first join", first.resp.ErrorCode, kerr.MemberIDRequired)
	id := first.resp.MemberID
	if id == "" {
		t.Fatal("no member id handed out")
	}
	h.wantState(stateEmpty)
	second := h.join(withKIP394(), withID(id))
	h.advance(0)
	if !second.done() || second.resp.MemberID != id || second.resp.Generation != 1 {
		t.Fatalf("second join %+v", second.resp)
	}
}

func TestUnusedMemberIDExpiresAndStopsBlockingTheRebalance(t *testing.T) {
	h := newHarness(t)
	ids, _ := h.stable(1, withSession(5000))
	got := h.join(withKIP394(), withSession(5000)) // a client that gets an id and vanishes
	wantCode[int16](t, "join", got.resp.ErrorCode, kerr.MemberIDRequired)
	rejoin := h.join(withID(ids[0]), withSession(5000)) // the leader rejoins
	if rejoin.done() {
		t.Fatal("completed while a handed-out member id is outstanding")
	}
	h.advance(5000)
	if !rejoin.done() || len(rejoin.resp.Members) != 1 {
		t.Fatalf("after the id expired: %+v", rejoin.resp)
	}
}

func TestProtocolSelection(t *testing.T) {
	p := func(names ...string) joinOpt {
		var ps []protocol
		for _, n := range names {
			ps = append(ps, protocol{name: n, metadata: subMeta("t")})
		}
		return withProtocols(ps...)
	}
	for _, tc := range []struct {
		name    string
		members [][]string
		want    string
	}{
		{"only the protocol everyone supports", [][]string{{"rr", "range"}, {"range", "rr"}, {"range"}}, "range"},
		{"the most votes", [][]string{{"rr", "range"}, {"rr", "range"}, {"range", "rr"}}, "rr"},
		{"a tie goes to the leader's preference", [][]string{{"x", "y"}, {"y", "x"}}, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var first *call[*kmsg.JoinGroupResponse]
			for i, m := range tc.members {
				c := h.join(p(m...))
				if i == 0 {
					first = c
				}
			}
			h.advance(0)
			h.advance(0)
			if !first.done() || *first.resp.Protocol != tc.want {
				t.Fatalf("selected %v, want %s", first.resp.Protocol, tc.want)
			}
		})
	}
}

func TestInconsistentGroupProtocol(t *testing.T) {
	h := newHarness(t)
	wantCode[int16](t, "no protocols", h.join(withProtocols()).resp.ErrorCode, kerr.InconsistentGroupProtocol)
	wantCode[int16](t, "no type", h.join(withType("")).resp.ErrorCode, kerr.InconsistentGroupProtocol)
	h.stable(1)
	wantCode[int16](t, "no common protocol",
		h.join(withProtocols(protocol{name: "rr"})).resp.ErrorCode, kerr.InconsistentGroupProtocol)
	wantCode[int16](t, "other type", h.join(withType("connect")).resp.ErrorCode, kerr.InconsistentGroupProtocol)
	h.wantState(stateStable)
}

func TestGroupMaxSize(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.maxSize = 2 })
	a, b, c := h.join(), h.join(), h.join()
	wantCode[int16](t, "third join while preparing", c.resp.ErrorCode, kerr.GroupMaxSizeReached)
	h.advance(0)
	h.advance(0)
	if !a.done() || !b.done() || len(a.resp.Members) != 2 {
		t.Fatal("the two admitted members did not form the group")
	}
	d := h.join()
	wantCode[int16](t, "join of a full group", d.resp.ErrorCode, kerr.GroupMaxSizeReached)
	if d.resp.MemberID != "" {
		t.Fatalf("member id %q handed to a rejected member", d.resp.MemberID)
	}
}

func TestStableFollowerRejoinWithSameMetadataDoesNotRebalance(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(2)
	j := h.join(withID(ids[1]))
	if !j.done() || j.resp.Generation != gen || len(j.resp.Members) != 0 {
		t.Fatalf("rejoin %+v", j.resp)
	}
	h.wantState(stateStable)
	h.join(withID(ids[0])) // the leader rejoining always rebalances
	h.wantState(statePreparingRebalance)
}

func TestLostJoinResponseIsResent(t *testing.T) {
	h := newHarness(t)
	a, b := h.join(), h.join()
	h.advance(0)
	h.advance(0)
	h.wantState(stateCompletingRebalance)
	again := h.join(withID(b.resp.MemberID))
	if !again.done() || again.resp.Generation != a.resp.Generation || again.resp.LeaderID != a.resp.MemberID {
		t.Fatalf("resent join %+v", again.resp)
	}
	h.wantState(stateCompletingRebalance)
}
