package api

// IncrementalAlterConfigs, versions 0–1.
//
// Forwarded to the active controller: SET, DELETE, and APPEND/SUBTRACT for
// list configs (INVALID_CONFIG for others), applied to the resource's
// dynamic configs, then validated as a whole like AlterConfigs. This is the
// API kafka-configs.sh, kadm and UIs use.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) incrementalAlterConfigs(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.IncrementalAlterConfigsRequest)
	if resp := h.forward(ctx, req, 0); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	for _, r := range req.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName, out.ErrorCode = r.ResourceType, r.ResourceName, errTimedOut.Code
		resp.Resources = append(resp.Resources, out)
	}
	return c.respond(resp), nil
}
