package api

// CreateTopics, versions 0–7.
//
// Forwarded to the active controller, which validates names (Kafka's rules
// and the '.'/'_' collision check), partition counts, replication factor
// against the registered brokers (INVALID_REPLICATION_FACTOR when larger),
// explicit assignments and configs, honours validate_only, and answers
// with the resulting configs (v5+) and topic id (v7+). The response comes
// after the topic is applied on this broker, so a produce sent right after
// finds its partitions.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) createTopics(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.CreateTopicsRequest)
	if resp := h.forward(ctx, req, req.TimeoutMillis); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrCreateTopicsResponse()
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic, rt.ErrorCode = t.Topic, errTimedOut.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
