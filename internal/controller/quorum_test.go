package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/quorum"
)

func describeQuorumReq(version int16, topic string, part int32) *kmsg.DescribeQuorumRequest {
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = version
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDescribeQuorumRequestTopicPartition()
	rp.Partition = part
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func TestDescribeQuorumMapsTheQuorumStatus(t *testing.T) {
	h := newTestCluster(t, map[string]string{
		"process.roles": "broker,controller", "node.id": "1",
		"controller.quorum.voters": "1@c1:9093,2@c2:9093,3@c3:9093",
		"listeners":                "PLAINTEXT://:9092,CONTROLLER://:9093", "controller.listener.names": "CONTROLLER",
	}, "", "", "")
	now := h.clk.Now()
	h.status = quorum.Status{
		NodeID: 1, Role: quorum.RoleLeader, Leader: 1, Term: 7, HighWatermark: 42,
		Voters: []quorum.ReplicaStatus{
			{ID: 1, Addr: "c1:9093", LogEnd: 43, LastContact: now, LastCaughtUp: now},
			{ID: 2, Addr: "c2:9093", LogEnd: 40, LastContact: now.Add(-time.Second), LastCaughtUp: now.Add(-2 * time.Second)},
			{ID: 3}, // never heard from
		},
		Learners: []quorum.ReplicaStatus{{ID: 4, Addr: "b4:9092", LogEnd: 41, LastContact: now}},
	}
	resp := ok(h.c.DescribeQuorum(context.Background(), describeQuorumReq(2, MetadataTopic, 0)))
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || resp.Topics[0].Topic != "__cluster_metadata" || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("response %+v", resp)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.LeaderID != 1 || p.LeaderEpoch != 7 || p.HighWatermark != 42 || len(p.CurrentVoters) != 3 || len(p.Observers) != 1 {
		t.Fatalf("partition %+v", p)
	}
	ms := now.UnixMilli()
	for i, want := range []struct {
		id           int32
		leo          int64
		fetch, caugh int64
	}{{1, 43, ms, ms}, {2, 40, ms - 1000, ms - 2000}, {3, -1, -1, -1}} {
		v := p.CurrentVoters[i]
		if v.ReplicaID != want.id || v.LogEndOffset != want.leo || v.LastFetchTimestamp != want.fetch || v.LastCaughtUpTimestamp != want.caugh {
			t.Errorf("voter %d: %+v, want %+v", i, v, want)
		}
	}
	if o := p.Observers[0]; o.ReplicaID != 4 || o.LogEndOffset != 41 || o.LastFetchTimestamp != ms || o.LastCaughtUpTimestamp != -1 {
		t.Errorf("observer %+v", o)
	}
	if len(resp.Nodes) != 3 || resp.Nodes[1].NodeID != 2 || len(resp.Nodes[1].Listeners) != 1 {
		t.Fatalf("nodes %+v", resp.Nodes)
	}
	if l := resp.Nodes[1].Listeners[0]; l.Name != "CONTROLLER" || l.Host != "c2" || l.Port != 9093 {
		t.Fatalf("node 2 listener %+v", l)
	}

	// Anything but __cluster_metadata-0 is unknown.
	bad := ok(h.c.DescribeQuorum(context.Background(), describeQuorumReq(0, MetadataTopic, 1)))
	if code := bad.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("partition 1: %v", kerr.ErrorForCode(code))
	}

	// A node that is not the quorum leader does not answer: the request goes
	// to the active controller.
	h.status.Role = quorum.RoleFollower
	if _, err := h.c.DescribeQuorum(context.Background(), describeQuorumReq(2, MetadataTopic, 0)); !errors.Is(err, ErrNotActive) {
		t.Fatalf("follower answered: %v", err)
	}
}

func TestServeDispatchesEveryControllerRequest(t *testing.T) {
	h := newTestCluster(t, nil, "")
	h.status = quorum.Status{Role: quorum.RoleLeader, Leader: 1}
	for _, req := range []kmsg.Request{
		kmsg.NewPtrAlterPartitionRequest(),
		kmsg.NewPtrElectLeadersRequest(),
		kmsg.NewPtrAlterPartitionAssignmentsRequest(),
		kmsg.NewPtrListPartitionReassignmentsRequest(),
		describeQuorumReq(0, MetadataTopic, 0),
	} {
		resp, err := h.c.Serve(context.Background(), req)
		if err != nil || resp == nil || resp.Key() != req.Key() {
			t.Errorf("%s: %v %v", kmsg.NameForKey(req.Key()), resp, err)
		}
	}
}
