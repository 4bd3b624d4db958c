package controller

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

func TestSilentBrokerIsFencedAfterItsSession(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2, 3}, []int32{2, 3, 1}, []int32{3, 1, 2})
	before := h.part("t", 0)
	h.tick() // sessions start now

	// Brokers 2 and 3 keep heartbeating; broker 1 goes silent.
	for range 3 {
		h.clk.advance(3 * time.Second)
		h.heartbeat(2)
		h.heartbeat(3)
		h.tick()
	}
	if h.broker(1).Fenced {
		t.Fatal("broker 1 fenced after exactly one session without heartbeats")
	}
	h.clk.advance(time.Millisecond)
	h.tick()
	if !h.broker(1).Fenced || h.broker(2).Fenced || h.broker(3).Fenced {
		t.Fatalf("fenced: 1=%v 2=%v 3=%v, want only broker 1", h.broker(1).Fenced, h.broker(2).Fenced, h.broker(3).Fenced)
	}
	// Its leadership moved to the next ISR member in replica order, with a
	// new leader epoch, and it left every ISR.
	p0 := h.wantPartition("t", 0, 2, 2, 3)
	if p0.LeaderEpoch != before.LeaderEpoch+1 {
		t.Fatalf("leader epoch %d -> %d", before.LeaderEpoch, p0.LeaderEpoch)
	}
	h.wantPartition("t", 1, 2, 2, 3)
	h.wantPartition("t", 2, 3, 3, 2)
	if p1 := h.part("t", 1); p1.LeaderEpoch != 0 {
		t.Fatalf("t-1 kept its leader but its leader epoch moved to %d", p1.LeaderEpoch)
	}
}

func TestStaleBrokersAreFencedOneTickAtATime(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	h.tick()
	h.clk.advance(5 * time.Second)
	h.heartbeat(1) // broker 1 was heard from later than 2
	h.clk.advance(10 * time.Second)
	h.heartbeat(3)
	h.tick()
	if !h.broker(2).Fenced || h.broker(1).Fenced {
		t.Fatalf("first tick: fenced 1=%v 2=%v, want the longest silent (2) only", h.broker(1).Fenced, h.broker(2).Fenced)
	}
	h.tick()
	if !h.broker(1).Fenced || h.broker(3).Fenced {
		t.Fatalf("second tick: fenced 1=%v 3=%v", h.broker(1).Fenced, h.broker(3).Fenced)
	}
	h.wantPartition("t", 0, 3, 3)
}

func TestNewActiveControllerGivesEveryBrokerAFullSession(t *testing.T) {
	h := newTestCluster(t, nil, "", "")
	h.createTopic("t", []int32{1, 2})
	h.tick()

	// Another node becomes the active controller long after the brokers
	// last heartbeated to the old one.
	h.c.Deactivate()
	h.clk.advance(time.Hour)
	h.tick() // the old controller is inactive: it fences nobody
	if h.broker(1).Fenced || h.broker(2).Fenced {
		t.Fatal("an inactive controller fenced a broker")
	}
	next := h.newController()
	next.Activate()
	h.c = next
	h.tick()
	h.clk.advance(9 * time.Second)
	h.heartbeat(2)
	h.tick()
	if h.broker(1).Fenced {
		t.Fatal("broker 1 fenced within its first session under the new controller")
	}
	h.clk.advance(time.Millisecond)
	h.tick()
	if !h.broker(1).Fenced || h.broker(2).Fenced {
		t.Fatalf("fenced 1=%v 2=%v after the session under the new controller", h.broker(1).Fenced, h.broker(2).Fenced)
	}

	// Reactivating a controller starts sessions afresh too.
	h.clk.advance(time.Hour)
	h.c.Deactivate()
	h.c.Activate()
	h.tick()
	if h.broker(2).Fenced {
		t.Fatal("a reactivated controller fenced a broker at once")
	}
}

func TestRegistrationStartsASession(t *testing.T) {
	h := newTestCluster(t, nil, "", "")
	h.tick()
	h.clk.advance(8 * time.Second)
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID, reg.ClusterID, reg.IncarnationID = 1, "c", [16]byte{1}
	if r := ok(h.c.RegisterBroker(context.Background(), reg)); r.ErrorCode != 0 {
		t.Fatal(r.ErrorCode)
	}
	h.heartbeat(1) // unfenced, on a new epoch
	h.heartbeat(2)
	h.clk.advance(8 * time.Second)
	h.heartbeat(2)
	h.tick()
	if h.broker(1).Fenced {
		t.Fatal("a broker registered 8s ago was fenced")
	}
	h.clk.advance(2 * time.Second)
	h.tick()
	if !h.broker(1).Fenced {
		t.Fatal("the new incarnation was not fenced after its session")
	}
}

func TestRunTicksUntilCancelled(t *testing.T) {
	h := newTestCluster(t, map[string]string{"broker.session.timeout.ms": "800", "broker.heartbeat.interval.ms": "200"}, "")
	if got := h.c.TickInterval(); got != 100*time.Millisecond {
		t.Fatalf("tick interval %v, want a session/8", got)
	}
	long := newTestCluster(t, map[string]string{"broker.session.timeout.ms": "9000"}, "")
	if got := long.c.TickInterval(); got != maxTickInterval {
		t.Fatalf("tick interval %v with a 9 s session, want %v", got, maxTickInterval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { h.c.Run(ctx); close(done) }()
	<-done // returns once ctx ends
}

// Two processes configured with one node id: while the registered one
// heartbeats, a second incarnation is refused (DUPLICATE_BROKER_REGISTRATION)
// and nothing changes; once the first one's session runs out, a restart
// with a new incarnation gets in.
func TestSecondBrokerWithTheSameIDIsRefused(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	register := func() *kmsg.BrokerRegistrationResponse {
		req := kmsg.NewPtrBrokerRegistrationRequest()
		req.BrokerID, req.ClusterID, req.IncarnationID = 1, "c", metadata.NewUUID()
		return ok(h.c.RegisterBroker(context.Background(), req))
	}
	h.heartbeat(1) // the first incarnation is alive
	before := h.part("t", 0)
	if resp := register(); resp.ErrorCode != kerr.DuplicateBrokerRegistration.Code {
		t.Fatalf("second incarnation while the first heartbeats: %v, want DUPLICATE_BROKER_REGISTRATION", kerr.ErrorForCode(resp.ErrorCode))
	}
	if after := h.part("t", 0); after.LeaderEpoch != before.LeaderEpoch || after.Leader != 1 {
		t.Fatalf("a refused registration changed the partition: %+v -> %+v", before, after)
	}
	h.clk.advance(h.c.sessionTimeout() + time.Millisecond)
	if resp := register(); resp.ErrorCode != 0 {
		t.Fatalf("new incarnation after the old session ran out: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if p := h.part("t", 0); p.Leader == 1 {
		t.Fatal("the replaced incarnation still leads")
	}
}

// A controller that just became active has heard from nobody: a broker that
// restarts at once (the single-node case, where the controller restarted
// with it) registers without waiting out a session.
func TestRestartRightAfterAControllerChangeRegisters(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	c2 := h.newController()
	c2.Activate()
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID, req.ClusterID, req.IncarnationID = 2, "c", metadata.NewUUID()
	if resp := ok(c2.RegisterBroker(context.Background(), req)); resp.ErrorCode != 0 {
		t.Fatalf("registration: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}
