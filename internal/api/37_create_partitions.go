package api

// CreatePartitions, versions 0–3.
//
// Forwarded to the active controller: the count is the new total and must
// exceed the current one (INVALID_PARTITIONS otherwise); explicit
// assignments are checked against the registered brokers; validate_only
// is honoured. New partitions are placed like a new topic's.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) createPartitions(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.CreatePartitionsRequest)
	if resp := h.forward(ctx, req, req.TimeoutMillis); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrCreatePartitionsResponse()
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic, rt.ErrorCode = t.Topic, errTimedOut.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
