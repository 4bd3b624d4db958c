package group

import (
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMemberWithTenThousandProtocols(t *testing.T) {
	h := newHarness(t)
	many := make([]kmsg.JoinGroupRequestProtocol, 10_000)
	for i := range many {
		many[i] = kmsg.JoinGroupRequestProtocol{Name: "p" + strconv.Itoa(i), Metadata: []byte("0123456789")}
	}
	many = append(many, many[:100]...) // repeated names count once
	ps := copyProtocols(many)
	if len(ps) != 10_000 {
		t.Fatalf("%d protocols after dedup, want 10000", len(ps))
	}
	a := h.join(withProtocols(ps...), withType("anything"))
	// A second member supporting only the last protocol forces that choice.
	b := h.join(withProtocols(protocol{name: "p9999", metadata: []byte("x")}), withType("anything"))
	h.advance(0)
	h.advance(0)
	if !a.done() || !b.done() || *a.resp.Protocol != "p9999" {
		t.Fatalf("join with 10000 protocols: %+v", a.resp)
	}
	if len(h.g.protoCount) != 10_000 {
		t.Fatalf("%d protocol counts", len(h.g.protoCount))
	}
	// The leader's response carries one protocol's metadata per member, not
	// the member's whole list.
	for _, m := range a.resp.Members {
		if len(m.ProtocolMetadata) > 10 {
			t.Fatalf("member metadata of %d bytes", len(m.ProtocolMetadata))
		}
	}
	h.g.leave(h.now, []leaveMember{{memberID: a.resp.MemberID}})
	if len(h.g.protoCount) != 1 {
		t.Fatalf("%d protocol counts after the big member left", len(h.g.protoCount))
	}
}

// TestThousandMembersCostLinearMemory runs a 1,000-member group through a
// rebalance, with 1 KiB of metadata per member. Everything the coordinator
// keeps or sends per member is shared, not copied per member: the leader's
// JoinGroup response and the group's record reference each member's
// metadata once. A quadratic copy would allocate on the order of a
// gigabyte here.
func TestThousandMembersCostLinearMemory(t *testing.T) {
	const n, metaSize = 1000, 1024
	h := newHarness(t)
	metas := make([][]byte, n)
	for i := range metas {
		metas[i] = make([]byte, metaSize)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	calls := make([]*call[*kmsg.JoinGroupResponse], n)
	for i := range calls {
		calls[i] = h.join(withProtocols(protocol{name: "range", metadata: metas[i]}))
	}
	h.advance(0)
	h.advance(0)
	leader := calls[0].resp
	if len(leader.Members) != n {
		t.Fatalf("leader sees %d members", len(leader.Members))
	}
	for i, m := range leader.Members {
		if unsafe.SliceData(m.ProtocolMetadata) != unsafe.SliceData(h.g.members[m.MemberID].protocols[0].metadata) {
			t.Fatalf("member %d's metadata was copied into the response", i)
		}
	}
	assign := map[string][]byte{}
	for _, c := range calls {
		assign[c.resp.MemberID] = make([]byte, 64)
	}
	for i, c := range calls {
		if i > 0 {
			h.sync(c.resp.MemberID, 1, nil)
		}
	}
	h.sync(leader.MemberID, 1, assign)
	h.flush(nil)
	h.wantState(stateStable)
	// Every member heartbeats; the timer math is linear per heartbeat.
	for _, c := range calls {
		h.heartbeat(c.resp.MemberID, 1)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(64 * n * metaSize); allocated > limit {
		t.Fatalf("a %d-member rebalance allocated %d bytes, more than %d", n, allocated, limit)
	}
	t.Logf("1000-member rebalance allocated %d KiB", allocated>>10)
}

func TestThousandMembersThroughTheAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := testCoordinator(&memLog{})
		defer c.Stop()
		synctest.Wait()
		joins := stableGroup(t, c, "big", 1000)
		if len(joins[0].Members) != 1000 {
			t.Fatalf("leader saw %d members", len(joins[0].Members))
		}
		d := describe(c, "big").Groups[0]
		if d.State != "Stable" || len(d.Members) != 1000 {
			t.Fatalf("%s with %d members", d.State, len(d.Members))
		}
	})
}
