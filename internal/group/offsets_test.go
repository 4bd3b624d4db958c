package group

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestCommitValidation(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(2)
	for _, tc := range []struct {
		name   string
		member string
		gen    int32
		want   *kerr.Error
	}{
		{"current member and generation", ids[1], gen, nil},
		{"stale generation", ids[1], gen - 1, kerr.IllegalGeneration},
		{"future generation", ids[1], gen + 1, kerr.IllegalGeneration},
		{"non-member with a generation", "stranger", gen, kerr.UnknownMemberID},
		{"non-member without a generation on a non-empty group", "", -1, kerr.UnknownMemberID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode[int16](t, "commit", code(h.commitNow(tc.member, tc.gen)), tc.want)
		})
	}
}

func TestSimpleCommitsOnEmptyGroup(t *testing.T) {
	h := newHarness(t)
	c := h.commit("", -1, tp{"b", 1}, tp{"a", 0}, tp{"b", 0})
	if c.done() {
		t.Fatal("commit answered before it is durable")
	}
	if n := h.flush(nil); n != 3 {
		t.Fatalf("wrote %d records, want 3", n)
	}
	wantCode[int16](t, "commit", code(c.resp), nil)
	all := h.g.fetch(nil, false)
	if len(all) != 3 || all[0].tp != (tp{"a", 0}) || all[1].tp != (tp{"b", 0}) || all[2].tp != (tp{"b", 1}) {
		t.Fatalf("fetch all: %+v", all)
	}
	if all[0].o.offset != 101 || all[0].o.metadata != "m" || all[0].o.leaderEpoch != 3 {
		t.Fatalf("offset %+v", all[0].o)
	}
	some := h.g.fetch([]tp{{"b", 1}, {"zz", 9}}, false)
	if some[0].o.offset != 100 || some[1].o.offset != -1 || some[1].o.leaderEpoch != -1 {
		t.Fatalf("fetch some: %+v", some)
	}
}

func TestRequireStableSeesCommitsInFlight(t *testing.T) {
	h := newHarness(t)
	h.commit("", -1, tp{"t", 0})
	h.flush(nil)
	c := h.commit("", -1, tp{"t", 0}, tp{"t", 1})
	stable := h.g.fetch([]tp{{"t", 0}, {"t", 1}, {"t", 2}}, true)
	if stable[0].err != kerr.UnstableOffsetCommit || stable[1].err != kerr.UnstableOffsetCommit || stable[2].err != nil {
		t.Fatalf("require_stable while in flight: %+v", stable)
	}
	plain := h.g.fetch([]tp{{"t", 0}}, false)
	if plain[0].err != nil || plain[0].o.offset != 100 {
		t.Fatalf("plain fetch sees %+v, want the durable 100", plain[0])
	}
	h.flush(nil)
	if !c.done() || h.g.fetch([]tp{{"t", 1}}, true)[0].o.offset != 101 {
		t.Fatal("the commit did not land")
	}
}

func TestFailedCommitChangesNothing(t *testing.T) {
	h := newHarness(t)
	c := h.commit("", -1, tp{"t", 0})
	h.flush(kerr.NotLeaderForPartition)
	wantCode[int16](t, "commit", code(c.resp), kerr.NotCoordinator)
	if len(h.g.offsets) != 0 || len(h.g.pendingCommits) != 0 {
		t.Fatalf("offsets %v pending %v after a failed commit", h.g.offsets, h.g.pendingCommits)
	}
	c = h.commit("", -1, tp{"t", 0})
	h.flush(errors.New("EIO"))
	if !kerr.IsRetriable(kerr.ErrorForCode(code(c.resp))) {
		t.Fatalf("storage failure answered %v, not retriable", c.resp)
	}
}

func TestDeleteGroups(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(1)
	h.commitNow(ids[0], gen)
	var got *kerr.Error
	h.g.deleteGroup(h.now, func(e *kerr.Error) { got = e })
	wantCode[int16](t, "delete a group with members", code(got), kerr.NonEmptyGroup)

	h.g.leave(h.now, []leaveMember{{memberID: ids[0]}})
	h.flush(nil)
	h.wantState(stateEmpty)
	got = kerr.UnknownServerError
	h.g.deleteGroup(h.now, func(e *kerr.Error) { got = e })
	h.wantState(stateDead)
	ws := h.pendingWrites()
	if len(ws) != 1 || len(ws[0].recs) != 2 || ws[0].recs[0].value != nil || ws[0].recs[1].value != nil {
		t.Fatalf("deletion writes %+v, want tombstones for the offset and the group", ws)
	}
	h.flush(nil)
	if got != nil || !h.g.gone() {
		t.Fatalf("delete: %v, gone %v", got, h.g.gone())
	}
}

func TestFailedDeleteKeepsTheGroup(t *testing.T) {
	h := newHarness(t)
	h.commitNow("", -1)
	var got *kerr.Error
	h.g.deleteGroup(h.now, func(e *kerr.Error) { got = e })
	h.flush(kerr.NotEnoughReplicas)
	wantCode[int16](t, "delete", code(got), kerr.CoordinatorNotAvailable)
	h.wantState(stateEmpty)
	if len(h.g.offsets) != 1 || h.g.gone() {
		t.Fatal("a failed delete lost the group")
	}
}

func TestOffsetDelete(t *testing.T) {
	h := newHarness(t)
	ids, gen := h.stable(1) // subscribed to topic "t"
	h.commit(ids[0], gen, tp{"t", 0}, tp{"old", 0})
	h.flush(nil)
	var ge *kerr.Error
	var errs []*kerr.Error
	h.g.deleteOffsets(h.now, []tp{{"t", 0}, {"old", 0}, {"never", 0}}, func(g *kerr.Error, e []*kerr.Error) { ge, errs = g, e })
	h.flush(nil)
	if ge != nil || errs[0] != kerr.GroupSubscribedToTopic || errs[1] != nil || errs[2] != nil {
		t.Fatalf("offset delete: %v %v", ge, errs)
	}
	if h.g.offsets[tp{"old", 0}] != nil || h.g.offsets[tp{"t", 0}] == nil {
		t.Fatal("wrong offsets deleted")
	}

	connect := newHarness(t)
	connect.stable(1, withType("connect"))
	connect.g.deleteOffsets(connect.now, []tp{{"t", 0}}, func(g *kerr.Error, _ []*kerr.Error) { ge = g })
	wantCode[int16](t, "non-consumer group with members", code(ge), kerr.NonEmptyGroup)
}

func TestExpiryOfEmptyGroupCountsFromWhenItBecameEmpty(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.retentionMs = 60_000 })
	ids, gen := h.stable(1)
	h.commitNow(ids[0], gen)
	h.advance(50_000)
	h.heartbeat(ids[0], gen)
	h.g.leave(h.now, []leaveMember{{memberID: ids[0]}})
	h.flush(nil)
	emptiedAt := h.now
	h.now = emptiedAt + 59_999
	h.g.expire(h.now)
	if len(h.pendingWrites()) != 0 {
		t.Fatal("expired before retention since the group emptied")
	}
	h.now = emptiedAt + 60_000
	h.g.expire(h.now)
	ws := h.pendingWrites()
	if len(ws) != 1 || len(ws[0].recs) != 2 {
		t.Fatalf("expiry writes %+v, want the offset's and the group's tombstones", ws)
	}
	h.flush(nil)
	if !h.g.gone() {
		t.Fatal("an empty group without offsets survived expiry")
	}
}

func TestExpiryOfStableConsumerGroupSparesSubscribedTopics(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.retentionMs = 60_000 })
	ids, gen := h.stable(1) // subscribed to "t"
	h.commit(ids[0], gen, tp{"t", 0}, tp{"gone", 0})
	h.flush(nil)
	h.now += 60_000
	h.g.expire(h.now)
	h.flush(nil)
	if h.g.offsets[tp{"gone", 0}] != nil || h.g.offsets[tp{"t", 0}] == nil {
		t.Fatalf("offsets after expiry: %v", h.g.offsets)
	}
}

func TestExpiryOfSimpleGroupPerCommitAndNeverInFlight(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.retentionMs = 60_000 })
	h.commit("", -1, tp{"t", 0})
	h.flush(nil)
	h.now += 30_000
	h.commit("", -1, tp{"t", 1})
	h.flush(nil)
	h.now += 30_000
	h.commit("", -1, tp{"t", 1}) // in flight at expiry time
	h.g.expire(h.now)
	ws := h.g.takeWrites()
	// ws[0] is the commit, ws[1] the expiry of t-0 only.
	if len(ws) != 2 || len(ws[1].recs) != 1 {
		t.Fatalf("writes %+v", ws)
	}
	for _, w := range ws {
		h.g.complete(h.now, w, nil)
	}
	if h.g.offsets[tp{"t", 0}] != nil || h.g.offsets[tp{"t", 1}] == nil {
		t.Fatalf("offsets %v", h.g.offsets)
	}
}

func TestExplicitRetentionOfOldClients(t *testing.T) {
	h := newHarness(t, func(r *rules) { r.retentionMs = 1 << 40 })
	c := &call[*kerr.Error]{t: t}
	h.g.commit(h.now, &commitRequest{generation: -1, retentionMs: 1000,
		entries: []commitEntry{{tp: tp{"t", 0}, o: offset{offset: 5, expireTime: -1}}}}, c.reply)
	ws := h.pendingWrites()
	o, err := decodeOffsetValue(ws[0].recs[0].value)
	if err != nil || o.expireTime != h.now+1000 || ws[0].recs[0].value[1] != 1 {
		t.Fatalf("value %+v (version %d), %v", o, ws[0].recs[0].value[1], err)
	}
	h.flush(nil)
	h.now += 1000
	h.g.expire(h.now)
	h.flush(nil)
	if len(h.g.offsets) != 0 {
		t.Fatal("offset with an explicit retention did not expire")
	}
}
