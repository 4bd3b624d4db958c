package group

import (
	"encoding/binary"
	"log/slog"
	"math"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness drives one group's state machine directly: the test is the
// driver. Time is h.now (ms); writes stay pending until flush.
type harness struct {
	t   *testing.T
	g   *group
	now int64
	ids int
}

func testRules() *rules {
	return &rules{
		minSessionMs: 1,
		maxSessionMs: 1 << 30,
		maxSize:      math.MaxInt32,
		retentionMs:  7 * 24 * 3600 * 1000,
		metadataMax:  4096,
		newMemberID:  randomMemberID,
		log:          slog.New(slog.DiscardHandler),
	}
}

func newHarness(t *testing.T, edit ...func(*rules)) *harness {
	h := &harness{t: t, now: 1_000_000}
	r := testRules()
	r.newMemberID = func(prefix string) string {
		h.ids++
		return prefix + "-" + strconv.Itoa(h.ids)
	}
	for _, e := range edit {
		e(r)
	}
	h.g = newGroup("g", r, h.now)
	return h
}

// joinOpt edits a JoinGroup.
type joinOpt func(*joinRequest)

func withID(id string) joinOpt { return func(r *joinRequest) { r.memberID = id } }
func withInstance(id string) joinOpt {
	return func(r *joinRequest) { r.instanceID = &id }
}
func withProtocols(ps ...protocol) joinOpt { return func(r *joinRequest) { r.protocols = ps } }
func withType(t string) joinOpt            { return func(r *joinRequest) { r.protocolType = t } }
func withSession(ms int32) joinOpt         { return func(r *joinRequest) { r.sessionMs = ms } }
func withRebalance(ms int32) joinOpt       { return func(r *joinRequest) { r.rebalanceMs = ms } }
func withKIP394() joinOpt                  { return func(r *joinRequest) { r.requireKnownMemberID = true } }
func withSkip() joinOpt                    { return func(r *joinRequest) { r.canSkipAssignment = true } }

// subMeta is a consumer protocol subscription (v0) to topics.
func subMeta(topics ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(topics)))
	for _, t := range topics {
		b = binary.BigEndian.AppendUint16(b, uint16(len(t)))
		b = append(b, t...)
	}
	return binary.BigEndian.AppendUint32(b, math.MaxUint32) // null user data
}

// call records the one answer to a parked request.
type call[T any] struct {
	t    *testing.T
	resp T
	n    int
}

func (c *call[T]) reply(r T) {
	c.n++
	if c.n > 1 {
		c.t.Errorf("request answered %d times", c.n)
	}
	c.resp = r
}

func (c *call[T]) done() bool { return c.n > 0 }

func (h *harness) join(opts ...joinOpt) *call[*kmsg.JoinGroupResponse] {
	h.t.Helper()
	r := &joinRequest{
		clientID:     "c",
		clientHost:   "/127.0.0.1",
		sessionMs:    10_000,
		rebalanceMs:  30_000,
		protocolType: "consumer",
		protocols:    []protocol{{name: "range", metadata: subMeta("t")}},
	}
	for _, o := range opts {
		o(r)
	}
	c := &call[*kmsg.JoinGroupResponse]{t: h.t}
	h.g.join(h.now, r, c.reply)
	return c
}

func (h *harness) sync(id string, gen int32, assign map[string][]byte) *call[*kmsg.SyncGroupResponse] {
	h.t.Helper()
	r := &syncRequest{memberID: id, generation: gen}
	for m, a := range assign {
		r.assignments = append(r.assignments, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: a})
	}
	c := &call[*kmsg.SyncGroupResponse]{t: h.t}
	h.g.sync(h.now, r, c.reply)
	return c
}

func (h *harness) syncStatic(id, instance string, gen int32) *call[*kmsg.SyncGroupResponse] {
	r := &syncRequest{memberID: id, instanceID: &instance, generation: gen}
	c := &call[*kmsg.SyncGroupResponse]{t: h.t}
	h.g.sync(h.now, r, c.reply)
	return c
}

func (h *harness) heartbeat(id string, gen int32) *kerr.Error {
	return h.g.heartbeat(h.now, id, nil, gen)
}

func (h *harness) commit(id string, gen int32, tps ...tp) *call[*kerr.Error] {
	r := &commitRequest{memberID: id, generation: gen, retentionMs: -1}
	for i, t := range tps {
		r.entries = append(r.entries, commitEntry{tp: t, o: offset{offset: int64(100 + i), leaderEpoch: 3, metadata: "m", expireTime: -1}})
	}
	c := &call[*kerr.Error]{t: h.t}
	h.g.commit(h.now, r, c.reply)
	return c
}

// advance moves time forward and fires what is due.
func (h *harness) advance(ms int64) {
	h.now += ms
	h.g.tick(h.now)
}

// flush completes every pending write (and the writes their completions
// emit) with err, returning how many records were written.
func (h *harness) flush(err error) int {
	n := 0
	for {
		ws := h.g.takeWrites()
		if len(ws) == 0 {
			return n
		}
		for _, w := range ws {
			n += len(w.recs)
			h.g.complete(h.now, w, err)
		}
	}
}

// pendingWrites returns the writes emitted and not yet taken.
func (h *harness) pendingWrites() []*write { return h.g.out }

func (h *harness) wantState(s state) {
	h.t.Helper()
	if h.g.state != s {
		h.t.Fatalf("state %v, want %v", h.g.state, s)
	}
}

func wantCode[T any](t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	if got != code(want) {
		t.Fatalf("%s: error %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

// stable brings n dynamic members into a Stable group and returns their
// ids and the generation; the first is the leader.
func (h *harness) stable(n int, opts ...joinOpt) ([]string, int32) {
	h.t.Helper()
	calls := make([]*call[*kmsg.JoinGroupResponse], n)
	for i := range calls {
		calls[i] = h.join(opts...)
	}
	for i := 0; i < 3 && !calls[n-1].done(); i++ {
		h.advance(0) // the initial delay is 0 in tests unless set; each arrival extends it once
	}
	ids := make([]string, n)
	for i, c := range calls {
		if !c.done() || c.resp.ErrorCode != 0 {
			h.t.Fatalf("join %d: done %v resp %+v", i, c.done(), c.resp)
		}
		ids[i] = c.resp.MemberID
	}
	gen := calls[0].resp.Generation
	assign := map[string][]byte{}
	for _, id := range ids {
		assign[id] = []byte("a-" + id)
	}
	syncs := make([]*call[*kmsg.SyncGroupResponse], n)
	for i := 1; i < n; i++ {
		syncs[i] = h.sync(ids[i], gen, nil)
	}
	syncs[0] = h.sync(ids[0], gen, assign)
	h.flush(nil)
	for i, s := range syncs {
		if !s.done() || s.resp.ErrorCode != 0 {
			h.t.Fatalf("sync %d: %+v", i, s.resp)
		}
	}
	h.wantState(stateStable)
	return ids, gen
}
