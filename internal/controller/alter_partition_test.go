package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// alterPartitionReq builds an AlterPartition request from broker for one
// partition, at the broker's current epoch; v3 names each ISR member's
// current broker epoch.
func (h *testCluster) alterPartitionReq(broker int32, version int16, topic string, part, leaderEpoch, partitionEpoch int32, isr ...int32) *kmsg.AlterPartitionRequest {
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = version
	req.BrokerID, req.BrokerEpoch = broker, h.broker(broker).Epoch
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.Topic = topic
	if t, found := h.l.Image().Topic(topic); found {
		rt.TopicID = t.ID
	}
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = part, leaderEpoch, partitionEpoch
	for _, id := range isr {
		if version < 3 {
			rp.NewISR = append(rp.NewISR, id)
			continue
		}
		m := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
		m.BrokerID = id
		if b, found := h.l.Image().Broker(id); found {
			m.BrokerEpoch = b.Epoch
		}
		rp.NewEpochISR = append(rp.NewEpochISR, m)
	}
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func (h *testCluster) alterPartition(broker int32, version int16, topic string, part, leaderEpoch, partitionEpoch int32, isr ...int32) *kmsg.AlterPartitionResponse {
	h.t.Helper()
	req := h.alterPartitionReq(broker, version, topic, part, leaderEpoch, partitionEpoch, isr...)
	return ok(h.c.AlterPartition(context.Background(), req))
}

func TestAlterPartitionShrinksAndExpandsTheISR(t *testing.T) {
	for version := int16(0); version <= 3; version++ {
		h := newTestCluster(t, nil, "", "", "")
		h.createTopic("t", []int32{1, 2, 3})
		before := h.part("t", 0)

		resp := h.alterPartition(1, version, "t", 0, before.LeaderEpoch, before.PartitionEpoch, 1, 3)
		p := h.wantPartition("t", 0, 1, 1, 3)
		if p.LeaderEpoch != before.LeaderEpoch || p.PartitionEpoch != before.PartitionEpoch+1 {
			t.Fatalf("v%d: epochs leader %d->%d partition %d->%d; an ISR change must keep the leader epoch",
				version, before.LeaderEpoch, p.LeaderEpoch, before.PartitionEpoch, p.PartitionEpoch)
		}
		if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d: response %+v", version, resp)
		}
		got := resp.Topics[0].Partitions[0]
		if got.ErrorCode != 0 || got.LeaderID != 1 || got.LeaderEpoch != p.LeaderEpoch || got.PartitionEpoch != p.PartitionEpoch || !slices.Equal(got.ISR, []int32{1, 3}) {
			t.Fatalf("v%d: answered %+v, image has leader %d epoch %d partition epoch %d isr %v", version, got, p.Leader, p.LeaderEpoch, p.PartitionEpoch, p.ISR)
		}
		if version >= 2 && resp.Topics[0].TopidID != p.TopicID {
			t.Fatalf("v%d: response topic id %v", version, resp.Topics[0].TopidID)
		}

		resp = h.alterPartition(1, version, "t", 0, p.LeaderEpoch, p.PartitionEpoch, 1, 3, 2)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("v%d: expand: %v", version, kerr.ErrorForCode(code))
		}
		h.wantPartition("t", 0, 1, 1, 3, 2)
	}
}

func TestAlterPartitionRejections(t *testing.T) {
	type setup func(h *testCluster, req *kmsg.AlterPartitionRequest)
	rp := func(req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionRequestTopicPartition {
		return &req.Topics[0].Partitions[0]
	}
	for _, tc := range []struct {
		name     string
		version  int16
		isr      []int32
		edit     setup
		want     *kerr.Error
		topLevel bool
	}{
		{name: "a stale broker epoch", version: 3, isr: []int32{1, 2}, topLevel: true, want: kerr.StaleBrokerEpoch,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { r.BrokerEpoch = 99 }},
		{name: "an unknown topic name", version: 1, isr: []int32{1, 2}, want: kerr.UnknownTopicOrPartition,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { r.Topics[0].Topic = "nope" }},
		{name: "an unknown topic id", version: 2, isr: []int32{1, 2}, want: kerr.UnknownTopicID,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { r.Topics[0].TopicID = [16]byte{9} }},
		{name: "an unknown partition", version: 3, isr: []int32{1, 2}, want: kerr.UnknownTopicOrPartition,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { rp(r).Partition = 7 }},
		{name: "an old leader epoch", version: 3, isr: []int32{1, 2}, want: kerr.FencedLeaderEpoch,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { rp(r).LeaderEpoch = -1 }},
		{name: "a leader epoch ahead of the controller", version: 3, isr: []int32{1, 2}, want: kerr.NotController,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { rp(r).LeaderEpoch++ }},
		{name: "a request from a follower", version: 3, isr: []int32{1, 2}, want: kerr.NotLeaderForPartition,
			edit: func(h *testCluster, r *kmsg.AlterPartitionRequest) { r.BrokerID, r.BrokerEpoch = 2, h.broker(2).Epoch }},
		{name: "an old partition epoch", version: 3, isr: []int32{1, 2}, want: kerr.InvalidUpdateVersion,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { rp(r).PartitionEpoch = -1 }},
		{name: "an ISR without the leader", version: 3, isr: []int32{2, 3}, want: kerr.InvalidRequest},
		{name: "a broker named twice", version: 3, isr: []int32{1, 2, 2}, want: kerr.InvalidRequest},
		{name: "a member that is not a replica", version: 3, isr: []int32{1, 4}, want: kerr.IneligibleReplica},
		{name: "a fenced member", version: 3, isr: []int32{1, 2, 3},
			edit: func(h *testCluster, _ *kmsg.AlterPartitionRequest) {
				h.apply(metadata.BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 1, Fenced: 1, InControlledShutdown: -1})
			},
			want: kerr.IneligibleReplica},
		{name: "a member in controlled shutdown", version: 3, isr: []int32{1, 2, 3},
			edit: func(h *testCluster, _ *kmsg.AlterPartitionRequest) {
				h.apply(metadata.BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 1, Fenced: -1, InControlledShutdown: 1})
			},
			want: kerr.IneligibleReplica},
		{name: "a member of another broker epoch", version: 3, isr: []int32{1, 2, 3}, want: kerr.IneligibleReplica,
			edit: func(_ *testCluster, r *kmsg.AlterPartitionRequest) { rp(r).NewEpochISR[2].BrokerEpoch = 7 }},
		{name: "an ineligible member before v2", version: 1, isr: []int32{1, 2, 3}, want: kerr.OperationNotAttempted,
			edit: func(h *testCluster, _ *kmsg.AlterPartitionRequest) {
				h.apply(metadata.BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 1, Fenced: 1, InControlledShutdown: -1})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestCluster(t, nil, "", "", "", "")
			h.createTopic("t", []int32{1, 2, 3})
			h.shrinkISR("t", 0, 1, 2)
			before := h.part("t", 0)
			req := h.alterPartitionReq(1, tc.version, "t", 0, before.LeaderEpoch, before.PartitionEpoch, tc.isr...)
			if tc.edit != nil {
				tc.edit(h, req)
			}
			before = h.part("t", 0)
			resp := ok(h.c.AlterPartition(context.Background(), req))
			got := resp.ErrorCode
			if !tc.topLevel {
				got = resp.Topics[0].Partitions[0].ErrorCode
			}
			if got != tc.want.Code {
				t.Fatalf("got %v, want %v", kerr.ErrorForCode(got), tc.want)
			}
			if after := h.part("t", 0); after.PartitionEpoch != before.PartitionEpoch || !slices.Equal(after.ISR, before.ISR) {
				t.Fatalf("a rejected request changed the partition: isr %v -> %v", before.ISR, after.ISR)
			}
		})
	}
}
