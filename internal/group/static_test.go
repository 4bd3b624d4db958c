package group

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// staticGroup forms a Stable group of static members "a" and "b" (a leads)
// and returns their member ids and the generation.
func staticGroup(t *testing.T, h *harness) (a, b string, gen int32) {
	t.Helper()
	ja, jb := h.join(withInstance("a")), h.join(withInstance("b"))
	h.advance(0)
	h.advance(0)
	a, b, gen = ja.resp.MemberID, jb.resp.MemberID, ja.resp.Generation
	h.sync(a, gen, map[string][]byte{a: []byte("A's"), b: []byte("B's")})
	h.sync(b, gen, nil)
	h.flush(nil)
	h.wantState(stateStable)
	return a, b, gen
}

func TestStaticMemberRestartKeepsAssignmentWithoutRebalance(t *testing.T) {
	h := newHarness(t)
	a, b, gen := staticGroup(t, h)
	j := h.join(withInstance("b")) // b restarts: no member id
	if j.done() {
		t.Fatal("answered before the new member id is durable")
	}
	if len(h.pendingWrites()) != 1 {
		t.Fatal("the new member id is not persisted")
	}
	h.flush(nil)
	h.wantState(stateStable)
	r := j.resp
	if r.ErrorCode != 0 || r.Generation != gen || r.MemberID == b || r.LeaderID != a || len(r.Members) != 0 {
		t.Fatalf("rejoin %+v", r)
	}
	s := h.syncStatic(r.MemberID, "b", gen)
	if !s.done() || string(s.resp.MemberAssignment) != "B's" {
		t.Fatalf("sync after restart %+v", s.resp)
	}
	if h.g.generation != gen {
		t.Fatal("the restart bumped the generation")
	}
}

func TestSecondInstanceFencesTheFirst(t *testing.T) {
	h := newHarness(t)
	a, _, gen := staticGroup(t, h)
	j := h.join(withInstance("a"))
	h.flush(nil)
	if j.resp.ErrorCode != 0 {
		t.Fatalf("new instance join %+v", j.resp)
	}
	inst := "a"
	wantCode[int16](t, "old instance heartbeat", code(h.g.heartbeat(h.now, a, &inst, gen)), kerr.FencedInstanceID)
	c := &call[*kerr.Error]{t: t}
	h.g.commit(h.now, &commitRequest{memberID: a, instanceID: &inst, generation: gen, retentionMs: -1,
		entries: []commitEntry{{tp: tp{"t", 0}, o: offset{offset: 1, expireTime: -1}}}}, c.reply)
	wantCode[int16](t, "old instance commit", code(c.resp), kerr.FencedInstanceID)
	old := h.join(withInstance("a"), withID(a))
	wantCode[int16](t, "old instance rejoin", old.resp.ErrorCode, kerr.FencedInstanceID)
	wantCode[int16](t, "old instance sync", h.syncStatic(a, "a", gen).resp.ErrorCode, kerr.FencedInstanceID)
}

func TestParkedJoinOfReplacedStaticMemberIsFenced(t *testing.T) {
	h := newHarness(t)
	a, _, _ := staticGroup(t, h)
	parked := h.join(withInstance("a"), withID(a)) // the leader rejoins: a rebalance; a waits for b
	if parked.done() {
		t.Fatal("rebalance completed without b")
	}
	h.join(withInstance("a")) // another process with instance a
	if !parked.done() || parked.resp.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("parked join %+v", parked.resp)
	}
}

func TestReturningStaticLeaderSkipsAssignment(t *testing.T) {
	h := newHarness(t)
	_, b, gen := staticGroup(t, h)
	j := h.join(withInstance("a"), withSkip()) // JoinGroup v9+
	h.flush(nil)
	r := j.resp
	if !r.SkipAssignment || r.LeaderID != r.MemberID || len(r.Members) != 2 || r.Generation != gen {
		t.Fatalf("v9 static leader rejoin %+v", r)
	}
	_ = b
}

func TestFailedPersistOfStaticRejoinRevertsToOldMemberID(t *testing.T) {
	h := newHarness(t)
	_, b, gen := staticGroup(t, h)
	j := h.join(withInstance("b"))
	h.flush(errors.New("disk on fire"))
	wantCode[int16](t, "rejoin", j.resp.ErrorCode, kerr.CoordinatorNotAvailable)
	inst := "b"
	wantCode[int16](t, "old id heartbeat", code(h.g.heartbeat(h.now, b, &inst, gen)), nil)
}

func TestStaticMemberThatDoesNotRejoinStaysUntilItsSessionEnds(t *testing.T) {
	h := newHarness(t)
	a, b, gen := staticGroup(t, h)
	j := h.join(withInstance("a"), withID(a), withSession(60_000))
	inst := "b"
	for range 15 { // b heartbeats (it is alive, say restarting slowly) but does not rejoin
		h.advance(2000)
		h.g.heartbeat(h.now, b, &inst, gen)
	}
	// The rebalance timeout (30 s) passed: b (static) did not rejoin but
	// keeps its place.
	if !j.done() {
		t.Fatal("join phase did not end at the rebalance timeout")
	}
	if j.resp.Generation != gen+1 || len(j.resp.Members) != 2 {
		t.Fatalf("join %+v", j.resp)
	}
}

func TestProtocolChangeOfRestartingStaticMemberRebalances(t *testing.T) {
	h := newHarness(t)
	staticGroup(t, h)
	// b comes back supporting only a protocol nobody else does? Refused.
	bad := h.join(withInstance("b"), withProtocols(protocol{name: "rr"}))
	wantCode[int16](t, "unsupported protocol", bad.resp.ErrorCode, kerr.InconsistentGroupProtocol)
	// b comes back preferring rr (also supported by... nobody else): still
	// range is the only common one, so no rebalance is needed.
	ok := h.join(withInstance("b"), withProtocols(protocol{name: "rr"}, protocol{name: "range", metadata: subMeta("t")}))
	h.flush(nil)
	wantCode[int16](t, "compatible restart", ok.resp.ErrorCode, nil)
	h.wantState(stateStable)
}

func TestLeaveByInstanceID(t *testing.T) {
	h := newHarness(t)
	_, b, _ := staticGroup(t, h)
	inst, ghost := "b", "ghost"
	top, errs := h.g.leave(h.now, []leaveMember{{instanceID: &inst}, {instanceID: &ghost}})
	if top != nil || errs[0] != nil || errs[1] != kerr.UnknownMemberID {
		t.Fatalf("leave %v %v", top, errs)
	}
	if _, ok := h.g.members[b]; ok {
		t.Fatal("b still a member")
	}
	h.wantState(statePreparingRebalance)
}
