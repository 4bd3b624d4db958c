package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// The controller's own tests cover the decisions; these check that a
// broker serves the APIs and forwards them to the active controller.

func TestElectLeadersThroughABroker(t *testing.T) {
	c := clustertest.Start(t)
	if _, err := c.Admin(t).CreateTopic(ctxT(t), 2, 1, nil, "e"); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrElectLeadersRequest()
	for name, parts := range map[string][]int32{"e": {0, 1}, "nope": {0}} {
		rt := kmsg.NewElectLeadersRequestTopic()
		rt.Topic, rt.Partitions = name, parts
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctxT(t), c.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*kerr.Error{"e": kerr.ElectionNotNeeded, "nope": kerr.UnknownTopicOrPartition}
	n := 0
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			n++
			if p.ErrorCode != want[rt.Topic].Code {
				t.Errorf("%s-%d: %v, want %v", rt.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode), want[rt.Topic])
			}
		}
	}
	if resp.ErrorCode != 0 || n != 3 {
		t.Fatalf("top-level %v, %d partitions answered", kerr.ErrorForCode(resp.ErrorCode), n)
	}
}

func TestReassignmentsThroughABroker(t *testing.T) {
	c := clustertest.Start(t)
	id := c.Node(0).ID
	if _, err := c.Admin(t).CreateTopic(ctxT(t), 1, 1, nil, "r"); err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t)
	alter := func(replicas []int32) *kerr.Error {
		t.Helper()
		req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
		rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		rt.Topic = "r"
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = 0, replicas
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			return kerr.ErrorForCode(code).(*kerr.Error)
		}
		return nil
	}
	if err := alter([]int32{id}); err != nil {
		t.Fatalf("reassigning to the current replicas: %v", err)
	}
	if err := alter(nil); err != kerr.NoReassignmentInProgress {
		t.Fatalf("cancel: %v", err)
	}
	if err := alter([]int32{id, id + 100}); err != kerr.InvalidReplicaAssignment {
		t.Fatalf("unregistered broker: %v", err)
	}
	list, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctxT(t), cl)
	if err != nil || list.ErrorCode != 0 || len(list.Topics) != 0 {
		t.Fatalf("list: %v %+v", err, list)
	}
}

func TestDescribeQuorumThroughABroker(t *testing.T) {
	c := clustertest.Start(t)
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = append(rt.Partitions, kmsg.NewDescribeQuorumRequestTopicPartition())
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), c.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("response: %v %+v", kerr.ErrorForCode(resp.ErrorCode), resp)
	}
	p := resp.Topics[0].Partitions[0]
	id := c.Node(0).ID
	if p.ErrorCode != 0 || p.LeaderID != id || p.LeaderEpoch < 1 || p.HighWatermark < 1 ||
		len(p.CurrentVoters) != 1 || p.CurrentVoters[0].ReplicaID != id || p.CurrentVoters[0].LogEndOffset < p.HighWatermark {
		t.Fatalf("partition %+v", p)
	}
}
