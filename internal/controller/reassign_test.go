package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// reassign asks for one partition's target replicas (nil cancels) and
// returns the partition's error.
func (h *testCluster) reassign(topic string, part int32, target []int32, edit ...func(*kmsg.AlterPartitionAssignmentsRequest)) error {
	h.t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.Version = 1
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = part, target
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	for _, e := range edit {
		e(req)
	}
	resp := ok(h.c.AlterPartitionReassignments(context.Background(), req))
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// reassigning lists the reassignments in progress as topic-partition ->
// replicas, adding, removing.
func (h *testCluster) reassigning() map[string][3][]int32 {
	h.t.Helper()
	resp := ok(h.c.ListPartitionReassignments(context.Background(), kmsg.NewPtrListPartitionReassignmentsRequest()))
	out := map[string][3][]int32{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[t.Topic+"-"+string(rune('0'+p.Partition))] = [3][]int32{p.Replicas, p.AddingReplicas, p.RemovingReplicas}
		}
	}
	return out
}

func TestReassignmentAddsThenCompletesMovingTheLeader(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	if err := h.reassign("t", 0, []int32{2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	p := h.wantPartition("t", 0, 1, 1, 2, 3) // the leader stays while 4 catches up
	if !slices.Equal(p.Replicas, []int32{2, 3, 4, 1}) || !slices.Equal(p.AddingReplicas, []int32{4}) || !slices.Equal(p.RemovingReplicas, []int32{1}) {
		t.Fatalf("replicas %v adding %v removing %v", p.Replicas, p.AddingReplicas, p.RemovingReplicas)
	}
	if got := h.reassigning()["t-0"]; !slices.Equal(got[0], []int32{2, 3, 4, 1}) || !slices.Equal(got[1], []int32{4}) || !slices.Equal(got[2], []int32{1}) {
		t.Fatalf("listed %v", got)
	}

	// The leader adds 4 to the ISR: the reassignment completes in the same
	// record, and leadership moves to the preferred replica of the target.
	resp := h.alterPartition(1, 3, "t", 0, p.LeaderEpoch, p.PartitionEpoch, 1, 2, 3, 4)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.NewLeaderElected.Code {
		t.Fatalf("completing ISR change answered %v, want NEW_LEADER_ELECTED", kerr.ErrorForCode(code))
	}
	done := h.wantPartition("t", 0, 2, 2, 3, 4)
	if !slices.Equal(done.Replicas, []int32{2, 3, 4}) || len(done.AddingReplicas) != 0 || len(done.RemovingReplicas) != 0 {
		t.Fatalf("after completion: replicas %v adding %v removing %v", done.Replicas, done.AddingReplicas, done.RemovingReplicas)
	}
	if done.LeaderEpoch != p.LeaderEpoch+1 {
		t.Fatalf("leader epoch %d -> %d", p.LeaderEpoch, done.LeaderEpoch)
	}
	if len(h.reassigning()) != 0 {
		t.Fatalf("still listed: %v", h.reassigning())
	}
}

func TestReassignmentCompletionKeepsALeaderInTheTarget(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	if err := h.reassign("t", 0, []int32{1, 2, 4}); err != nil {
		t.Fatal(err)
	}
	p := h.part("t", 0)
	// An ISR change that does not include the adding replica completes nothing.
	h.shrinkISR("t", 0, 1, 3)
	if p = h.part("t", 0); len(p.AddingReplicas) != 1 {
		t.Fatalf("completed without the adding replica: replicas %v isr %v", p.Replicas, p.ISR)
	}
	resp := h.alterPartition(1, 3, "t", 0, p.LeaderEpoch, p.PartitionEpoch, 1, 3, 4)
	got := resp.Topics[0].Partitions[0]
	if got.ErrorCode != 0 || got.LeaderID != 1 || !slices.Equal(got.ISR, []int32{1, 4}) {
		t.Fatalf("answer %+v", got)
	}
	done := h.wantPartition("t", 0, 1, 1, 4)
	if !slices.Equal(done.Replicas, []int32{1, 2, 4}) || done.LeaderEpoch != p.LeaderEpoch {
		t.Fatalf("replicas %v leader epoch %d", done.Replicas, done.LeaderEpoch)
	}
}

func TestReassignmentThatOnlyRemovesCompletesAtOnce(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	if err := h.reassign("t", 0, []int32{3, 2}); err != nil {
		t.Fatal(err)
	}
	// The leader was removed: the target's preferred replica leads.
	p := h.wantPartition("t", 0, 3, 2, 3)
	if !slices.Equal(p.Replicas, []int32{3, 2}) || len(p.RemovingReplicas) != 0 {
		t.Fatalf("replicas %v removing %v", p.Replicas, p.RemovingReplicas)
	}
}

func TestReassignmentCancel(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	if err := h.reassign("t", 0, nil); err != kerr.NoReassignmentInProgress {
		t.Fatalf("cancel with none: %v", err)
	}
	before := h.part("t", 0)
	if err := h.reassign("t", 0, []int32{1, 2, 4}); err != nil {
		t.Fatal(err)
	}
	if err := h.reassign("t", 0, nil); err != nil {
		t.Fatal(err)
	}
	p := h.wantPartition("t", 0, 1, 1, 2, 3)
	if !slices.Equal(p.Replicas, before.Replicas) || len(p.AddingReplicas) != 0 || len(p.RemovingReplicas) != 0 {
		t.Fatalf("after cancel: replicas %v adding %v removing %v", p.Replicas, p.AddingReplicas, p.RemovingReplicas)
	}
}

func TestReassignmentCancelNeedingAnUncleanElectionIsRefused(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "", "")
	h.createTopic("t", []int32{1, 2})
	if err := h.reassign("t", 0, []int32{3, 4}); err != nil {
		t.Fatal(err)
	}
	// 3 catches up, 2 falls behind, then the leader is fenced: only a
	// replica being added is left in the ISR.
	h.shrinkISR("t", 0, 1, 3)
	h.heartbeat(1, wantFence)
	h.wantPartition("t", 0, 3, 3)
	if err := h.reassign("t", 0, nil); err != kerr.InvalidReplicaAssignment {
		t.Fatalf("cancel: %v", err)
	}
}

func TestReassignmentErrors(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "")
	h.createTopic("t", []int32{1, 2})
	for _, tc := range []struct {
		name   string
		topic  string
		part   int32
		target []int32
		edit   func(*kmsg.AlterPartitionAssignmentsRequest)
		want   *kerr.Error
	}{
		{"an unknown topic", "nope", 0, []int32{1}, nil, kerr.UnknownTopicOrPartition},
		{"an unknown partition", "t", 3, []int32{1}, nil, kerr.UnknownTopicOrPartition},
		{"an empty target", "t", 0, []int32{}, nil, kerr.InvalidReplicaAssignment},
		{"a broker named twice", "t", 0, []int32{1, 1}, nil, kerr.InvalidReplicaAssignment},
		{"an unregistered broker", "t", 0, []int32{1, 9}, nil, kerr.InvalidReplicaAssignment},
		{"a new replication factor when it may not change", "t", 0, []int32{1, 2, 3},
			func(r *kmsg.AlterPartitionAssignmentsRequest) { r.AllowReplicationFactorChange = false }, kerr.InvalidReplicationFactor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*kmsg.AlterPartitionAssignmentsRequest)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			if err := h.reassign(tc.topic, tc.part, tc.target, edits...); err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if p := h.part("t", 0); !slices.Equal(p.Replicas, []int32{1, 2}) || p.PartitionEpoch != 0 {
		t.Fatalf("rejected requests changed the partition: replicas %v epoch %d", p.Replicas, p.PartitionEpoch)
	}
}

func TestNewTargetReplacesAReassignmentInProgress(t *testing.T) {
	h := newTestCluster(t, nil, "", "", "", "", "")
	h.createTopic("t", []int32{1, 2, 3})
	if err := h.reassign("t", 0, []int32{1, 2, 4}); err != nil {
		t.Fatal(err)
	}
	// 4 has not caught up when the target changes: it is still being added.
	if err := h.reassign("t", 0, []int32{1, 4, 5}); err != nil {
		t.Fatal(err)
	}
	p := h.part("t", 0)
	if !slices.Equal(p.Replicas, []int32{1, 4, 5, 2, 3}) || !slices.Equal(p.AddingReplicas, []int32{4, 5}) || !slices.Equal(p.RemovingReplicas, []int32{2, 3}) {
		t.Fatalf("replicas %v adding %v removing %v", p.Replicas, p.AddingReplicas, p.RemovingReplicas)
	}
	h.shrinkISR("t", 0, 1, 2, 3, 5)
	if p = h.part("t", 0); len(p.AddingReplicas) == 0 {
		t.Fatal("completed while 4 was out of the ISR")
	}
	h.shrinkISR("t", 0, 1, 2, 3, 5, 4)
	done := h.wantPartition("t", 0, 1, 1, 5, 4)
	if !slices.Equal(done.Replicas, []int32{1, 4, 5}) {
		t.Fatalf("replicas %v", done.Replicas)
	}
}
