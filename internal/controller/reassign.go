package controller

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Partition reassignment (KIP-455), as Kafka's KRaft controller does it:
//
//  1. AlterPartitionReassignments names the target replicas. The partition's
//     replicas become the target followed by the replicas being removed;
//     AddingReplicas and RemovingReplicas say which are which. The leader
//     stays; the new replicas start following.
//  2. When the ISR without the removing replicas is not empty and holds
//     every adding replica (normally when the leader's AlterPartition adds
//     the last of them), the reassignment completes in the same record:
//     replicas = target, ISR = ISR minus the removing replicas, and if the
//     leader was being removed a new one is elected by the usual rules.
//     A reassignment that adds nothing completes at once.
//  3. A null target cancels: replicas and ISR lose the adding replicas and
//     the removed ones stay. When only adding replicas were in the ISR, the
//     first original replica becomes the ISR, which is an unclean election
//     and is refused unless the topic allows them.
//
// A new target while a reassignment is in progress replaces it: adding is
// measured against the original replicas (so a replica still catching up
// stays "adding"), removing against all current ones.

// AlterPartitionReassignments starts or cancels reassignments (v0–v1).
// Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT
// (empty, repeated or unregistered brokers; a cancel that would need an
// unclean election), NO_REASSIGNMENT_IN_PROGRESS (cancel with none), and
// with v1's allow_replication_factor_change=false INVALID_REPLICATION_FACTOR
// for a target of another size (KIP-860). All changes go in one entry.
func (c *Controller) AlterPartitionReassignments(ctx context.Context, req *kmsg.AlterPartitionAssignmentsRequest) (*kmsg.AlterPartitionAssignmentsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrAlterPartitionAssignmentsResponse()
	resp.Version = req.Version
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	allowRF := req.Version < 1 || req.AllowReplicationFactorChange
	img := c.image()
	var recs []metadata.Record
	seen := map[*metadata.Partition]bool{}
	for _, rt := range req.Topics {
		out := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		out.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			op.Partition = rp.Partition
			rec, err := c.decideReassignment(img, rt.Topic, rp, allowRF, seen)
			if err != nil {
				setKerr(&op.ErrorCode, &op.ErrorMessage, err)
			} else if rec != nil {
				recs = append(recs, rec)
			}
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if op := &resp.Topics[i].Partitions[j]; op.ErrorCode == 0 {
					setErr(&op.ErrorCode, &op.ErrorMessage, kerr.RequestTimedOut, err.Error())
				}
			}
		}
		return resp, nil
	}
	if len(recs) > 0 {
		c.log.Info("altered partition reassignments", "partitions", len(recs))
	}
	return resp, nil
}

// decideReassignment validates one partition of a request and returns its
// record, or nil when nothing changes.
func (c *Controller) decideReassignment(img *metadata.Image, topic string, rp kmsg.AlterPartitionAssignmentsRequestTopicPartition, allowRF bool, seen map[*metadata.Partition]bool) (metadata.Record, error) {
	if _, ok := img.Topic(topic); !ok {
		return nil, kerrf(kerr.UnknownTopicOrPartition, "Unable to find a topic named %s.", topic)
	}
	p, ok := img.Partition(topic, rp.Partition)
	if !ok {
		return nil, kerrf(kerr.UnknownTopicOrPartition, "Unable to find partition %s:%d.", topic, rp.Partition)
	}
	if seen[p] {
		return nil, kerrf(kerr.InvalidRequest, "Partition %s:%d is named more than once.", topic, rp.Partition)
	}
	seen[p] = true
	var res changeResult
	if rp.Replicas == nil {
		var err error
		if res, err = c.revertReassignment(img, p); err != nil {
			return nil, err
		}
	} else {
		target := rp.Replicas
		if err := checkReplicas(img, target); err != nil {
			return nil, err
		}
		original := without(p.Replicas, p.AddingReplicas...)
		if !allowRF && len(target) != len(original) {
			return nil, kerrf(kerr.InvalidReplicationFactor, "The replication factor is changed from %d to %d", len(original), len(target))
		}
		removing := without(p.Replicas, target...)
		res = partitionChange{
			p:        p,
			replicas: append(slices.Clone(target), removing...),
			adding:   without(target, original...),
			removing: removing,
			canLead:  func(r int32) bool { return active(img, r) },
		}.build()
	}
	if !res.changed {
		return nil, nil
	}
	c.logElection(p, res, "reassignment")
	return res.rec, nil
}

// revertReassignment cancels the reassignment of a partition.
func (c *Controller) revertReassignment(img *metadata.Image, p *metadata.Partition) (changeResult, error) {
	if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
		return changeResult{}, kerrf(kerr.NoReassignmentInProgress, "No partition reassignment is in progress.")
	}
	unclean := c.uncleanFor(img, p.Topic)
	replicas := without(p.Replicas, p.AddingReplicas...)
	isr := without(p.ISR, p.AddingReplicas...)
	if len(isr) == 0 {
		if !unclean() {
			return changeResult{}, kerrf(kerr.InvalidReplicaAssignment,
				"Unable to revert partition assignment for %s:%d because it would require an unclean leader election.", p.Topic, p.ID)
		}
		isr = replicas[:1]
		c.log.Warn("UNCLEAN reassignment revert: only replicas being added were in the ISR; the first original replica becomes the ISR",
			"topic", p.Topic, "partition", p.ID, "isr", isr, "old_isr", p.ISR)
	}
	return partitionChange{
		p:        p,
		replicas: replicas,
		isr:      slices.Clone(isr),
		adding:   []int32{},
		removing: []int32{},
		canLead:  func(r int32) bool { return active(img, r) },
		unclean:  unclean,
	}.build(), nil
}

// ListPartitionReassignments lists the reassignments in progress: all of
// them for a null topic list, else those among the named partitions
// (unknown ones are left out, as Kafka does).
func (c *Controller) ListPartitionReassignments(_ context.Context, req *kmsg.ListPartitionReassignmentsRequest) (*kmsg.ListPartitionReassignmentsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrListPartitionReassignmentsResponse()
	resp.Version = req.Version
	img := c.image()
	list := func(t *metadata.Topic, parts []int32) {
		out := kmsg.NewListPartitionReassignmentsResponseTopic()
		out.Topic = t.Name
		for _, id := range parts {
			if id < 0 || int(id) >= len(t.Partitions) {
				continue
			}
			p := t.Partitions[id]
			if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
				continue
			}
			op := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			op.Partition = p.ID
			op.Replicas = slices.Clone(p.Replicas)
			op.AddingReplicas = nonNil(p.AddingReplicas)
			op.RemovingReplicas = nonNil(p.RemovingReplicas)
			out.Partitions = append(out.Partitions, op)
		}
		if len(out.Partitions) > 0 {
			resp.Topics = append(resp.Topics, out)
		}
	}
	if req.Topics == nil {
		for _, name := range img.TopicNames() {
			t, _ := img.Topic(name)
			all := make([]int32, len(t.Partitions))
			for i := range all {
				all[i] = int32(i)
			}
			list(t, all)
		}
		return resp, nil
	}
	for _, rt := range req.Topics {
		if t, ok := img.Topic(rt.Topic); ok {
			list(t, rt.Partitions)
		}
	}
	return resp, nil
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return slices.Clone(s)
}
