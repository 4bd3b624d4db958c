package controller

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// AlterPartition changes ISRs at the request of partition leaders (KIP-497,
// KIP-704 v2 topic ids, KIP-903 v3 broker epochs of ISR members).
//
// The request's broker epoch must be the leader's current one
// (STALE_BROKER_EPOCH on the whole response otherwise). Each partition is
// then checked in Kafka's order:
//
//   - unknown topic: UNKNOWN_TOPIC_OR_PARTITION (v0–v1, by name) or
//     UNKNOWN_TOPIC_ID (v2+); unknown partition: UNKNOWN_TOPIC_OR_PARTITION;
//   - a leader or partition epoch above the controller's: NOT_CONTROLLER
//     (this controller is behind; the leader retries, maybe elsewhere);
//   - an older leader epoch: FENCED_LEADER_EPOCH;
//   - the requester is not the leader: NOT_LEADER_OR_FOLLOWER;
//   - an older partition epoch: INVALID_UPDATE_VERSION;
//   - the new ISR names a broker twice or leaves the leader out:
//     INVALID_REQUEST;
//   - a member that is not a replica, not registered, fenced, in controlled
//     shutdown, or (v3) of another broker epoch: INELIGIBLE_REPLICA
//     (OPERATION_NOT_ATTEMPTED before v2).
//
// Accepted changes are proposed in one entry; each answer carries the
// leader, leader epoch, ISR and partition epoch as applied. An ISR change
// keeps the leader and its epoch. When the new ISR completes a
// reassignment, the same record completes it; if that moves leadership off
// the requester, the answer is NEW_LEADER_ELECTED (FENCED_LEADER_EPOCH
// before v2) and the leader learns its fate from the metadata.
func (c *Controller) AlterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) (*kmsg.AlterPartitionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrAlterPartitionResponse()
	resp.Version = req.Version
	img := c.image()
	if b, ok := img.Broker(req.BrokerID); !ok || b.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp, nil
	}
	type accepted struct {
		out   *kmsg.AlterPartitionResponseTopicPartition
		topic metadata.UUID
		moved bool // leadership left the requester
	}
	var recs []metadata.Record
	var done []accepted
	changed := map[*metadata.Partition]bool{}
	for _, rt := range req.Topics {
		out := kmsg.NewAlterPartitionResponseTopic()
		out.Topic, out.TopidID = rt.Topic, rt.TopicID
		var topic *metadata.Topic
		unknown := kerr.UnknownTopicOrPartition
		if req.Version >= 2 {
			topic, _ = img.TopicByID(rt.TopicID)
			unknown = kerr.UnknownTopicID
		} else {
			topic, _ = img.Topic(rt.Topic)
		}
		out.Partitions = make([]kmsg.AlterPartitionResponseTopicPartition, len(rt.Partitions))
		for i, rp := range rt.Partitions {
			op := &out.Partitions[i]
			op.Default()
			op.Partition = rp.Partition
			if topic == nil {
				op.ErrorCode = unknown.Code
				continue
			}
			if rp.Partition < 0 || int(rp.Partition) >= len(topic.Partitions) {
				op.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			p := topic.Partitions[rp.Partition]
			if changed[p] {
				// Named twice: the first change moved the partition epoch.
				op.ErrorCode = kerr.InvalidUpdateVersion.Code
				continue
			}
			if e := checkAlterPartition(img, req, p, rp); e != nil {
				op.ErrorCode = e.Code
				continue
			}
			res := partitionChange{p: p, isr: requestedISR(req.Version, rp), canLead: func(r int32) bool { return active(img, r) }}.build()
			if res.changed {
				changed[p] = true
				recs = append(recs, res.rec)
				c.logElection(p, res, "ISR change completed a reassignment")
			}
			op.LeaderRecoveryState = rp.LeaderRecoveryState
			done = append(done, accepted{out: op, topic: topic.ID, moved: res.leader != req.BrokerID})
		}
		resp.Topics = append(resp.Topics, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		c.log.Warn("alter partition failed", "broker_id", req.BrokerID, "err", err)
		for _, a := range done {
			a.out.ErrorCode = kerr.RequestTimedOut.Code
		}
		return resp, nil
	}
	img = c.image()
	for _, a := range done {
		if a.moved {
			a.out.ErrorCode = kerr.NewLeaderElected.Code
			if req.Version < 2 {
				a.out.ErrorCode = kerr.FencedLeaderEpoch.Code
			}
			continue
		}
		t, _ := img.TopicByID(a.topic)
		p := t.Partitions[a.out.Partition]
		a.out.LeaderID, a.out.LeaderEpoch, a.out.PartitionEpoch = p.Leader, p.LeaderEpoch, p.PartitionEpoch
		a.out.ISR = slices.Clone(p.ISR)
	}
	return resp, nil
}

// requestedISR returns the new ISR of a request partition, by broker id.
func requestedISR(version int16, rp kmsg.AlterPartitionRequestTopicPartition) []int32 {
	if version < 3 {
		return slices.Clone(rp.NewISR)
	}
	isr := make([]int32, len(rp.NewEpochISR))
	for i, m := range rp.NewEpochISR {
		isr[i] = m.BrokerID
	}
	return isr
}

// checkAlterPartition validates one partition of an AlterPartition request
// (see AlterPartition for the order and the codes).
func checkAlterPartition(img *metadata.Image, req *kmsg.AlterPartitionRequest, p *metadata.Partition, rp kmsg.AlterPartitionRequestTopicPartition) *kerr.Error {
	switch {
	case rp.LeaderEpoch > p.LeaderEpoch || rp.PartitionEpoch > p.PartitionEpoch:
		return kerr.NotController
	case rp.LeaderEpoch < p.LeaderEpoch:
		return kerr.FencedLeaderEpoch
	case req.BrokerID != p.Leader:
		return kerr.NotLeaderForPartition
	case rp.PartitionEpoch < p.PartitionEpoch:
		return kerr.InvalidUpdateVersion
	}
	type member struct {
		id    int32
		epoch int64 // -1: not given
	}
	var members []member
	if req.Version < 3 {
		for _, id := range rp.NewISR {
			members = append(members, member{id, -1})
		}
	} else {
		for _, m := range rp.NewEpochISR {
			members = append(members, member{m.BrokerID, m.BrokerEpoch})
		}
	}
	seen := map[int32]bool{}
	for _, m := range members {
		if seen[m.id] {
			return kerr.InvalidRequest
		}
		seen[m.id] = true
	}
	if !seen[p.Leader] {
		return kerr.InvalidRequest
	}
	for _, m := range members {
		b, ok := img.Broker(m.id)
		if !slices.Contains(p.Replicas, m.id) || !ok || b.Fenced || b.InControlledShutdown || (m.epoch != -1 && m.epoch != b.Epoch) {
			if req.Version < 2 {
				return kerr.OperationNotAttempted
			}
			return kerr.IneligibleReplica
		}
	}
	return nil
}
