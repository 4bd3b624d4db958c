package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

func TestElectionRules(t *testing.T) {
	part := func(leader int32, replicas, isr []int32) *metadata.Partition {
		return &metadata.Partition{Topic: "t", Leader: leader, Replicas: replicas, ISR: isr}
	}
	live := func(ids ...int32) func(int32) bool {
		return func(r int32) bool { return slices.Contains(ids, r) }
	}
	yes := func() bool { return true }
	for _, tc := range []struct {
		name       string
		pc         partitionChange
		leader     int32
		isr        []int32 // nil: unchanged
		unclean    bool
		noChange   bool
		completion bool
	}{
		{
			name:     "the current leader stays while it can lead and is in the ISR",
			pc:       partitionChange{p: part(2, []int32{1, 2, 3}, []int32{1, 2, 3}), canLead: live(1, 2, 3)},
			leader:   2,
			noChange: true,
		},
		{
			name:   "a leader that cannot lead is replaced by the first live ISR member in replica order",
			pc:     partitionChange{p: part(1, []int32{1, 2, 3}, []int32{1, 3, 2}), canLead: live(2, 3)},
			leader: 2,
		},
		{
			name:   "a leader dropped from the ISR is replaced",
			pc:     partitionChange{p: part(1, []int32{1, 2, 3}, []int32{1, 2, 3}), isr: []int32{2, 3}, canLead: live(1, 2, 3)},
			leader: 2, isr: []int32{2, 3},
		},
		{
			name:   "a preferred election moves to the preferred replica when it is live and in the ISR",
			pc:     partitionChange{p: part(2, []int32{1, 2, 3}, []int32{2, 3, 1}), election: electPreferred, canLead: live(1, 2, 3)},
			leader: 1,
		},
		{
			name:     "a preferred election keeps the leader when the preferred replica is out of the ISR",
			pc:       partitionChange{p: part(2, []int32{1, 2, 3}, []int32{2, 3}), election: electPreferred, canLead: live(1, 2, 3)},
			leader:   2,
			noChange: true,
		},
		{
			name:   "with no live ISR member and unclean elections off there is no leader and the ISR is kept",
			pc:     partitionChange{p: part(1, []int32{1, 2}, []int32{1}), canLead: live(2), unclean: func() bool { return false }},
			leader: metadata.NoLeader,
		},
		{
			name:   "with no live ISR member and unclean elections on the first live replica leads alone",
			pc:     partitionChange{p: part(1, []int32{1, 2, 3}, []int32{1}), canLead: live(3, 2), unclean: yes},
			leader: 2, isr: []int32{2}, unclean: true,
		},
		{
			name:   "an unclean election needs a live replica",
			pc:     partitionChange{p: part(1, []int32{1, 2}, []int32{1}), canLead: live(), unclean: yes},
			leader: metadata.NoLeader,
		},
		{
			name:   "the ISR is never emptied",
			pc:     partitionChange{p: part(1, []int32{1, 2}, []int32{1}), isr: []int32{}, canLead: live(2)},
			leader: metadata.NoLeader,
		},
		{
			name:   "a partition created without a live replica gets its first live replica",
			pc:     partitionChange{p: part(metadata.NoLeader, []int32{1, 2}, []int32{}), canLead: live(2)},
			leader: 2, isr: []int32{2},
		},
		{
			name:     "controlled shutdown keeps a leader nobody else can replace",
			pc:       partitionChange{p: part(1, []int32{1, 2}, []int32{1}), isr: []int32{}, canLead: live(2), keepIfNone: true, unclean: yes},
			leader:   1,
			noChange: true,
		},
		{
			name: "a reassignment completes once every adding replica is in the ISR, electing a leader in the target",
			pc: partitionChange{
				p:       &metadata.Partition{Leader: 1, Replicas: []int32{2, 3, 1}, ISR: []int32{1, 2}, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1}},
				isr:     []int32{1, 2, 3},
				canLead: live(1, 2, 3),
			},
			leader: 2, isr: []int32{2, 3}, completion: true,
		},
		{
			name: "a reassignment waits for its adding replicas",
			pc: partitionChange{
				p:       &metadata.Partition{Leader: 1, Replicas: []int32{2, 3, 1}, ISR: []int32{1, 2}, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1}},
				canLead: live(1, 2, 3),
			},
			leader:   1,
			noChange: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.pc.build()
			if res.leader != tc.leader || res.unclean != tc.unclean || res.completed != tc.completion || res.changed == tc.noChange {
				t.Fatalf("leader %d unclean %v completed %v changed %v; want leader %d unclean %v completed %v changed %v",
					res.leader, res.unclean, res.completed, res.changed, tc.leader, tc.unclean, tc.completion, !tc.noChange)
			}
			if tc.isr != nil && !slices.Equal(res.rec.ISR, tc.isr) {
				t.Fatalf("isr %v, want %v", res.rec.ISR, tc.isr)
			}
			if tc.isr == nil && res.rec.ISR != nil {
				t.Fatalf("isr changed to %v", res.rec.ISR)
			}
			if wantRec := tc.leader; !tc.noChange && wantRec != tc.pc.p.Leader && res.rec.Leader != wantRec {
				t.Fatalf("record leader %d", res.rec.Leader)
			}
		})
	}
}

// shrinkISR has the leader of a partition shrink its ISR to isr.
func (h *testCluster) shrinkISR(topic string, part int32, isr ...int32) {
	h.t.Helper()
	p := h.part(topic, part)
	resp := h.alterPartition(p.Leader, 3, topic, part, p.LeaderEpoch, p.PartitionEpoch, isr...)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		h.t.Fatalf("alter ISR of %s-%d to %v: error %d", topic, part, isr, code)
	}
}

func TestUncleanElectionOnlyWhenEnabled(t *testing.T) {
	ctx := context.Background()
	t.Run("off: no leader and the ISR is kept", func(t *testing.T) {
		h := newTestCluster(t, nil, "", "")
		h.createTopic("t", []int32{1, 2})
		h.shrinkISR("t", 0, 1)
		h.heartbeat(1, wantFence)
		h.wantPartition("t", 0, metadata.NoLeader, 1)
		// Turning it on for the topic lets the periodic sweep elect broker 2.
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Value = "unclean.leader.election.enable", kmsg.StringPtr("true")
		r.Configs = append(r.Configs, cfg)
		req.Resources = append(req.Resources, r)
		if code := ok(h.c.IncrementalAlterConfigs(ctx, req)).Resources[0].ErrorCode; code != 0 {
			t.Fatal(code)
		}
		h.tick()
		h.wantPartition("t", 0, metadata.NoLeader, 1)
		h.heartbeat(2)
		h.clk.advance(uncleanSweepInterval)
		h.heartbeat(2)
		h.tick()
		h.wantPartition("t", 0, 2, 2)
	})
	t.Run("on in the static config: fencing elects outside the ISR", func(t *testing.T) {
		h := newTestCluster(t, map[string]string{"unclean.leader.election.enable": "true"}, "", "")
		h.createTopic("t", []int32{1, 2})
		h.shrinkISR("t", 0, 1)
		h.heartbeat(1, wantFence)
		h.wantPartition("t", 0, 2, 2)
	})
	t.Run("off for the topic although on by default", func(t *testing.T) {
		h := newTestCluster(t, map[string]string{"unclean.leader.election.enable": "true"}, "", "")
		req := createReq("t", -1, -1)
		req.Topics[0].ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1, 2}}}
		req.Topics[0].Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "unclean.leader.election.enable", Value: kmsg.StringPtr("false")}}
		if code := ok(h.c.CreateTopics(ctx, req)).Topics[0].ErrorCode; code != 0 {
			t.Fatal(code)
		}
		h.shrinkISR("t", 0, 1)
		h.heartbeat(1, wantFence)
		h.wantPartition("t", 0, metadata.NoLeader, 1)
	})
	t.Run("a returning replica outside the ISR leads when unfenced", func(t *testing.T) {
		h := newTestCluster(t, map[string]string{"unclean.leader.election.enable": "true"}, "", "")
		h.createTopic("t", []int32{1, 2})
		h.heartbeat(2, wantFence) // 2 leaves the ISR
		h.heartbeat(1, wantFence) // 1 is the last member: kept, no live replica
		h.wantPartition("t", 0, metadata.NoLeader, 1)
		h.heartbeat(2) // unfenced: the only live replica
		h.wantPartition("t", 0, 2, 2)
	})
}

func TestUnfencingRestoresLeadershipFromTheISR(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	h.heartbeat(3, wantFence)
	h.heartbeat(2, wantFence)
	h.heartbeat(1, wantFence)
	h.wantPartition("t", 0, metadata.NoLeader, 1)
	// Broker 2 comes back but is not in the ISR: no clean leader.
	h.heartbeat(2)
	h.wantPartition("t", 0, metadata.NoLeader, 1)
	h.heartbeat(1)
	h.wantPartition("t", 0, 1, 1)
}

func TestPartitionCreatedOnFencedBrokersGetsALeaderWhenOneReturns(t *testing.T) {
	h := newTestCluster(t, nil, "", "")
	h.heartbeat(2, wantFence)
	h.createTopic("t", []int32{2})
	h.wantPartition("t", 0, metadata.NoLeader)
	h.heartbeat(2)
	h.wantPartition("t", 0, 2, 2)
}
