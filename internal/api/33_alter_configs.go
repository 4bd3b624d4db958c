package api

// AlterConfigs, versions 0–2 (the legacy, replace-all form).
//
// Forwarded to the active controller. The configs given replace the
// resource's dynamic configs; those not given are removed. Topic configs
// are validated as Kafka does (INVALID_CONFIG); broker configs must be
// dynamically updatable at the level named (a broker id, or "" for the
// cluster-wide defaults), otherwise INVALID_REQUEST.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) alterConfigs(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.AlterConfigsRequest)
	if resp := h.forward(ctx, req, 0); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrAlterConfigsResponse()
	for _, r := range req.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName, out.ErrorCode = r.ResourceType, r.ResourceName, errTimedOut.Code
		resp.Resources = append(resp.Resources, out)
	}
	return c.respond(resp), nil
}
