package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRebalanceTimeoutRemovesMembersThatDoNotRejoin(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(3, withRebalance(20_000))
	a := h.join(withID(ids[0]), withRebalance(20_000)) // the leader rejoins: rebalance
	b := h.join(withID(ids[1]), withRebalance(20_000))
	for range 9 { // ids[2] keeps its session alive but never rejoins
		h.advance(2000)
		h.heartbeat(ids[2], gen)
	}
	if a.done() {
		t.Fatal("completed before the rebalance timeout")
	}
	h.advance(2000)
	if !a.done() || !b.done() || a.resp.Generation != gen+1 || len(a.resp.Members) != 2 {
		t.Fatalf("after the rebalance timeout: %+v", a.resp)
	}
	wantCode[int16](t, "heartbeat of the dropped member", code(h.heartbeat(ids[2], gen+1)), kerr.UnknownMemberID)
}

func TestMembersThatNeverSyncAreRemoved(t *testing.T) {
	h := newHarness(t)
	calls := []*call[*kmsg.JoinGroupResponse]{h.join(withRebalance(5000)), h.join(withRebalance(5000))}
	h.advance(0)
	h.advance(0)
	leader, lazy := calls[0].resp.MemberID, calls[1].resp.MemberID
	s := h.sync(leader, 1, map[string][]byte{leader: []byte("x")})
	h.flush(nil)
	if s.resp.ErrorCode != 0 {
		t.Fatalf("leader sync %+v", s.resp)
	}
	h.wantState(stateStable)
	h.advance(4999)
	h.wantState(stateStable)
	h.advance(1)
	h.wantState(statePreparingRebalance)
	if _, ok := h.g.members[lazy]; ok {
		t.Fatal("member that never sent SyncGroup still there")
	}
}

func TestInitialRebalanceDelay(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.initialDelayMs = 3000 })
	start := h.now
	a := h.join(withRebalance(60_000))
	h.advance(1000)
	b := h.join(withRebalance(60_000))
	h.advance(1999)
	if a.done() {
		t.Fatal("answered inside the initial delay")
	}
	h.advance(1) // the delay ran out, but a member arrived during it: wait again
	if a.done() {
		t.Fatal("a member arriving during the delay did not extend it")
	}
	h.advance(2999)
	if a.done() {
		t.Fatal("answered inside the extension")
	}
	h.advance(1)
	if !a.done() || !b.done() || len(a.resp.Members) != 2 || h.now-start != 6000 {
		t.Fatalf("after %d ms: %v %v", h.now-start, a.done(), b.done())
	}
}

func TestInitialDelayIsBoundedByTheRebalanceTimeout(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.initialDelayMs = 3000 })
	start := h.now
	first := h.join(withRebalance(5000))
	for !first.done() {
		h.advance(500)
		if !first.done() {
			h.join(withRebalance(5000)) // members keep coming
		}
		if h.now-start > 60_000 {
			t.Fatal("the initial rebalance never ends")
		}
	}
	if got := h.now - start; got != 5000 {
		t.Fatalf("initial rebalance took %d ms, want the 5000 ms rebalance timeout", got)
	}
}

// TestCooperativeRebalanceTakesTwoRounds follows an incremental
// (cooperative-sticky) rebalance: the leader first revokes the partitions
// that move, members that keep theirs go on consuming, and the member that
// lost partitions rejoins at once so a second round hands them out.
func TestCooperativeRebalanceTakesTwoRounds(t *testing.T) {
	h := newHarness(t)
	owned := func(s string) joinOpt {
		return withProtocols(protocol{name: "cooperative-sticky", metadata: []byte("owns " + s)})
	}
	a := h.join(owned(""))
	b := h.join(owned(""))
	h.advance(0)
	h.advance(0)
	A, B := a.resp.MemberID, b.resp.MemberID
	sa := h.sync(A, 1, map[string][]byte{A: []byte("p0 p1"), B: []byte("p2 p3")})
	sb := h.sync(B, 1, nil)
	h.flush(nil)
	_, _ = sa, sb

	// C arrives: round one.
	c := h.join(owned(""))
	a2 := h.join(withID(A), owned("p0 p1"))
	b2 := h.join(withID(B), owned("p2 p3"))
	if !c.done() || !a2.done() || !b2.done() || a2.resp.Generation != 2 {
		t.Fatal("round one did not complete")
	}
	C := c.resp.MemberID
	// The leader revokes p1 from A and gives C nothing yet.
	s1 := []*call[*kmsg.SyncGroupResponse]{
		h.sync(A, 2, map[string][]byte{A: []byte("p0"), B: []byte("p2 p3"), C: {}}),
		h.sync(B, 2, nil), h.sync(C, 2, nil),
	}
	h.flush(nil)
	for _, s := range s1 {
		wantCode[int16](t, "round one sync", s.resp.ErrorCode, nil)
	}
	wantCode[int16](t, "B commits its partitions", code(h.commitNow(B, 2)), nil)

	// A revoked p1 and rejoins at once: round two.
	a3 := h.join(withID(A), owned("p0"))
	wantCode[int16](t, "B still commits while preparing", code(h.commitNow(B, 2)), nil)
	wantCode[int16](t, "B learns of round two", code(h.heartbeat(B, 2)), kerr.RebalanceInProgress)
	b3 := h.join(withID(B), owned("p2 p3"))
	c3 := h.join(withID(C), owned(""))
	if !a3.done() || !b3.done() || !c3.done() || a3.resp.Generation != 3 {
		t.Fatal("round two did not complete")
	}
	h.sync(A, 3, map[string][]byte{A: []byte("p0"), B: []byte("p2 p3"), C: []byte("p1")})
	h.sync(B, 3, nil)
	sc := h.sync(C, 3, nil)
	h.flush(nil)
	if string(sc.resp.MemberAssignment) != "p1" {
		t.Fatalf("C got %q", sc.resp.MemberAssignment)
	}
	h.wantState(stateStable)
}
