package api

// ListPartitionReassignments, version 0 (KIP-455).
//
// Forwarded to the active controller, whose state is the freshest: the
// reassignments in progress, each with its replicas (target plus the ones
// being removed), adding and removing replicas. A null topic list means
// every partition; named partitions that do not exist or are not being
// reassigned are left out, as Kafka does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) listPartitionReassignments(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ListPartitionReassignmentsRequest)
	if resp := h.forward(ctx, req, req.TimeoutMillis); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrListPartitionReassignmentsResponse()
	resp.ErrorCode = errTimedOut.Code
	return c.respond(resp), nil
}
