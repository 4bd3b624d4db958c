package api

// AlterPartitionReassignments, versions 0–1 (KIP-455; KIP-860 adds
// allow_replication_factor_change in v1).
//
// Forwarded to the active controller. A target replica list starts (or
// replaces) a reassignment: the partition's replicas become the target plus
// the replicas being removed, and the reassignment completes when every new
// replica has joined the ISR; a null list cancels one
// (NO_REASSIGNMENT_IN_PROGRESS when there is none). Targets with an empty,
// repeated or unregistered broker, and cancels that would need an unclean
// election, are INVALID_REPLICA_ASSIGNMENT. kafka-reassign-partitions.sh
// and kadm use it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) alterPartitionReassignments(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.AlterPartitionAssignmentsRequest)
	if resp := h.forward(ctx, req, req.TimeoutMillis); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrAlterPartitionAssignmentsResponse()
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	for _, t := range req.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, errTimedOut.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
