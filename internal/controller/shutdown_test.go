package controller

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

func TestControlledShutdownDrainsLeadership(t *testing.T) {
	ctx := context.Background()
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2, 3}, []int32{2, 1, 3}, []int32{1})
	h.heartbeat(2)
	h.heartbeat(3)

	resp := h.heartbeat(1, wantShutdown)
	if resp.ShouldShutdown {
		t.Fatal("told to shut down before the other brokers applied the leader moves")
	}
	if b := h.broker(1); !b.InControlledShutdown || b.Fenced {
		t.Fatalf("broker 1: in controlled shutdown %v, fenced %v", b.InControlledShutdown, b.Fenced)
	}
	h.wantPartition("t", 0, 2, 2, 3) // led by 1: moved to the next live ISR member
	h.wantPartition("t", 1, 2, 2, 3) // followed by 1: left the ISR
	h.wantPartition("t", 2, 1, 1)    // nobody else can lead it: 1 keeps it

	// A broker in controlled shutdown gets no new replicas and cannot join
	// an ISR.
	if rt := ok(h.c.CreateTopics(ctx, createReq("new", 1, 3))).Topics[0]; rt.ErrorCode != kerr.InvalidReplicationFactor.Code {
		t.Fatalf("placement used a broker in controlled shutdown: %v", kerr.ErrorForCode(rt.ErrorCode))
	}
	p := h.part("t", 0)
	ap := h.alterPartition(2, 3, "t", 0, p.LeaderEpoch, p.PartitionEpoch, 2, 3, 1)
	if code := ap.Topics[0].Partitions[0].ErrorCode; code != kerr.IneligibleReplica.Code {
		t.Fatalf("a broker in controlled shutdown rejoined the ISR: %v", kerr.ErrorForCode(code))
	}

	// Once the others have applied the moves it may stop, and is fenced:
	// the partition only it could lead is left without a leader.
	h.heartbeat(2)
	if h.heartbeat(1, wantShutdown).ShouldShutdown {
		t.Fatal("told to shut down before broker 3 applied the leader moves")
	}
	h.heartbeat(3)
	resp = h.heartbeat(1, wantShutdown)
	if !resp.ShouldShutdown || !resp.IsFenced || !h.broker(1).Fenced {
		t.Fatalf("should shut down %v, fenced %v", resp.ShouldShutdown, resp.IsFenced)
	}
	h.wantPartition("t", 2, metadata.NoLeader, 1)
	if !h.heartbeat(1, wantShutdown).ShouldShutdown {
		t.Fatal("a repeated shutdown heartbeat was not answered ShouldShutdown")
	}

	// A plain heartbeat of the stopping incarnation does not bring it back;
	// a new registration does, out of controlled shutdown.
	h.heartbeat(1)
	if !h.broker(1).Fenced {
		t.Fatal("a broker that shut down was unfenced without registering again")
	}
	reg := kmsg.NewPtrBrokerRegistrationRequest()
	reg.BrokerID, reg.ClusterID, reg.IncarnationID = 1, "c", [16]byte{2}
	ok(h.c.RegisterBroker(ctx, reg))
	if h.broker(1).InControlledShutdown {
		t.Fatal("a new registration kept the controlled shutdown")
	}
	h.heartbeat(1)
	h.wantPartition("t", 2, 1, 1)
}

func TestControlledShutdownOfABrokerLeadingNothingIsImmediate(t *testing.T) {
	h := newTestCluster(t, nil, "", "")
	h.createTopic("t", []int32{1, 2})
	resp := h.heartbeat(2, wantShutdown) // broker 1 never reported an offset
	if !resp.ShouldShutdown {
		t.Fatal("a follower had to wait to stop")
	}
	h.wantPartition("t", 0, 1, 1)
}

func TestControlledShutdownOfTheOnlyBroker(t *testing.T) {
	h := newTestCluster(t, nil, "")
	h.createTopic("t", []int32{1})
	resp := h.heartbeat(1, wantShutdown)
	if !resp.ShouldShutdown {
		t.Fatal("a lone broker must be allowed to stop at once")
	}
	h.wantPartition("t", 0, metadata.NoLeader, 1)
}

func TestControlledShutdownNeverElectsUncleanly(t *testing.T) {
	h := newTestCluster(t, map[string]string{"unclean.leader.election.enable": "true"}, "", "")
	h.createTopic("a", []int32{1, 2})
	h.createTopic("b", []int32{1, 2})
	h.shrinkISR("b", 0, 1)
	if h.heartbeat(1, wantShutdown).ShouldShutdown {
		t.Fatal("told to stop before broker 2 applied the move of a-0")
	}
	h.wantPartition("a", 0, 2, 2)
	// Broker 2 is live but out of b-0's ISR: 1 keeps leading it while it runs.
	h.wantPartition("b", 0, 1, 1)
	// Once it stops it is fenced, and the topic's setting allows the
	// unclean election.
	h.heartbeat(2)
	if !h.heartbeat(1, wantShutdown).ShouldShutdown {
		t.Fatal("not told to stop")
	}
	h.wantPartition("b", 0, 2, 2)
}
