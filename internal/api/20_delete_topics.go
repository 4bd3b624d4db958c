package api

// DeleteTopics, versions 0–6.
//
// Forwarded to the active controller. v6 names topics by name or id
// (UNKNOWN_TOPIC_ID for an unknown id, INVALID_REQUEST when both are set).
// delete.topic.enable=false answers TOPIC_DELETION_DISABLED. Brokers remove
// the partition directories when they apply the deletion: the directory is
// renamed at once and its files removed in the background.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) deleteTopics(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DeleteTopicsRequest)
	if resp := h.forward(ctx, req, req.TimeoutMillis); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrDeleteTopicsResponse()
	for _, n := range req.TopicNames {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.ErrorCode = kmsg.StringPtr(n), errTimedOut.Code
		resp.Topics = append(resp.Topics, rt)
	}
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, errTimedOut.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
