package controller

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// elect runs ElectLeaders of a type over topic -> partitions (nil: all) and
// returns each answered partition's error by "topic-partition".
func (h *testCluster) elect(typ int8, topics map[string][]int32) (map[string]error, *kmsg.ElectLeadersResponse) {
	h.t.Helper()
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType = 2, typ
	if topics != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		for name, parts := range topics {
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic, rt.Partitions = name, parts
			req.Topics = append(req.Topics, rt)
		}
	}
	resp := ok(h.c.ElectLeaders(context.Background(), req))
	out := map[string]error{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[t.Topic+"-"+string(rune('0'+p.Partition))] = kerr.ErrorForCode(p.ErrorCode)
		}
	}
	return out, resp
}

// displacePreferredLeader fences and unfences broker id, then has the new
// leaders take it back into their ISRs: it is live and in sync but leads
// nothing.
func (h *testCluster) displacePreferredLeader(id int32, topic string) {
	h.t.Helper()
	h.heartbeat(id, wantFence)
	h.heartbeat(id)
	t, _ := h.l.Image().Topic(topic)
	for _, p := range t.Partitions {
		p = h.part(topic, p.ID)
		h.shrinkISR(topic, p.ID, append(p.ISR, id)...)
	}
}

func TestPreferredElectionOnDemand(t *testing.T) {
	h := newTestCluster(t, nil, "", "")
	h.createTopic("t", []int32{1, 2}, []int32{2, 1})
	h.heartbeat(1, wantFence)
	h.heartbeat(1)
	h.wantPartition("t", 0, 2, 2) // 1 is back but out of the ISR

	got, _ := h.elect(electionPreferred, map[string][]int32{"t": {0, 1, 5}, "nope": {0}})
	if got["t-0"] != kerr.PreferredLeaderNotAvailable || got["t-1"] != kerr.ElectionNotNeeded ||
		got["t-5"] != kerr.UnknownTopicOrPartition || got["nope-0"] != kerr.UnknownTopicOrPartition {
		t.Fatalf("got %v", got)
	}
	h.wantPartition("t", 0, 2, 2)

	h.shrinkISR("t", 0, 2, 1)
	before := h.part("t", 0)
	if got, _ := h.elect(electionPreferred, map[string][]int32{"t": {0}}); got["t-0"] != nil {
		t.Fatalf("got %v", got)
	}
	if p := h.wantPartition("t", 0, 1, 2, 1); p.LeaderEpoch != before.LeaderEpoch+1 {
		t.Fatalf("leader epoch %d -> %d", before.LeaderEpoch, p.LeaderEpoch)
	}
	if got, _ := h.elect(electionPreferred, map[string][]int32{"t": {0}}); got["t-0"] != kerr.ElectionNotNeeded {
		t.Fatalf("again: %v", got)
	}
}

func TestElectLeadersForAllPartitionsAnswersOnlyThoseThatNeededOne(t *testing.T) {
	h := newTestCluster(t, nil, "", "")
	h.createTopic("a", []int32{1, 2}, []int32{2, 1})
	h.createTopic("b", []int32{1, 2})
	h.createTopic("c", []int32{1, 2})
	h.heartbeat(1, wantFence)
	h.heartbeat(1)
	h.shrinkISR("a", 0, 2, 1)
	h.shrinkISR("a", 1, 2, 1)
	h.shrinkISR("b", 0, 2, 1)
	got, _ := h.elect(electionPreferred, nil)
	if len(got) != 3 || got["a-0"] != nil || got["b-0"] != nil || got["c-0"] != kerr.PreferredLeaderNotAvailable {
		t.Fatalf("got %v", got)
	}
	h.wantPartition("a", 0, 1, 2, 1)
	h.wantPartition("a", 1, 2, 2, 1)
	h.wantPartition("b", 0, 1, 2, 1)
	h.wantPartition("c", 0, 2, 2)
}

func TestUncleanElectionOnDemand(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2}, []int32{1, 3}, []int32{3})
	h.shrinkISR("t", 0, 1)
	h.heartbeat(3, wantFence)
	h.heartbeat(1, wantFence)
	// t-0: leaderless, ISR {1}, replica 2 live. t-1: led by nobody, no live
	// replica. t-2: leaderless, only 3.
	h.wantPartition("t", 0, metadata.NoLeader, 1)
	h.wantPartition("t", 1, metadata.NoLeader, 1)
	h.heartbeat(2)

	got, _ := h.elect(electionUnclean, map[string][]int32{"t": {0, 1}})
	if got["t-0"] != nil || got["t-1"] != kerr.EligibleLeadersNotAvailable {
		t.Fatalf("got %v", got)
	}
	h.wantPartition("t", 0, 2, 2) // elected outside the ISR although the topic does not allow it by itself
	if got, _ := h.elect(electionUnclean, map[string][]int32{"t": {0}}); got["t-0"] != kerr.ElectionNotNeeded {
		t.Fatalf("again: %v", got)
	}

	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType = 2, 7
	if code := ok(h.c.ElectLeaders(context.Background(), req)).ErrorCode; code != kerr.InvalidRequest.Code {
		t.Fatalf("unknown election type: %v", kerr.ErrorForCode(code))
	}
}

func TestAutomaticLeaderRebalance(t *testing.T) {
	props := map[string]string{"leader.imbalance.per.broker.percentage": "50", "leader.imbalance.check.interval.seconds": "60"}
	h := newTestCluster(t, props, "", "")
	h.createTopic("t", []int32{1, 2}, []int32{1, 2}, []int32{2, 1})
	h.tick()
	h.displacePreferredLeader(1, "t")
	h.wantPartition("t", 0, 2, 2, 1)
	h.wantPartition("t", 1, 2, 2, 1)

	keepAlive := func() {
		h.heartbeat(1)
		h.heartbeat(2)
	}
	h.clk.advance(59 * time.Second / 2)
	keepAlive()
	h.clk.advance(59 * time.Second / 2)
	keepAlive()
	h.tick()
	if h.part("t", 0).Leader != 2 {
		t.Fatal("rebalanced before leader.imbalance.check.interval.seconds")
	}
	h.clk.advance(time.Second)
	keepAlive()
	h.tick()
	h.wantPartition("t", 0, 1, 2, 1)
	h.wantPartition("t", 1, 1, 2, 1)
	h.wantPartition("t", 2, 2, 2, 1)

	// One of broker 1's two partitions not led by it is 50%: not above the
	// threshold, so it stays.
	h.heartbeat(1, wantFence)
	h.heartbeat(1)
	h.shrinkISR("t", 0, 2, 1)
	h.shrinkISR("t", 1, 2, 1)
	h.elect(electionPreferred, map[string][]int32{"t": {0}})
	for range 2 {
		h.clk.advance(30 * time.Second)
		keepAlive()
	}
	h.tick()
	h.wantPartition("t", 1, 2, 2, 1)
}

func TestAutomaticLeaderRebalanceCanBeTurnedOff(t *testing.T) {
	h := newTestCluster(t, map[string]string{"auto.leader.rebalance.enable": "false", "leader.imbalance.check.interval.seconds": "1"}, "", "")
	h.createTopic("t", []int32{1, 2})
	h.tick()
	h.displacePreferredLeader(1, "t")
	h.clk.advance(2 * time.Second)
	h.heartbeat(1)
	h.heartbeat(2)
	h.tick()
	h.wantPartition("t", 0, 2, 2, 1)
}
