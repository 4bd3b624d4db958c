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

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) alterConfigs(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.AlterConfigsRequest)
	// The configs given replace this broker's dynamic ones: check the TLS
	// settings they would leave before anything is committed.
	var tlsDynamic map[string]string
	for _, r := range req.Resources {
		if !h.ownBroker(r.ResourceType, r.ResourceName) {
			continue
		}
		set := map[string]string{}
		for _, cfg := range r.Configs {
			if cfg.Value != nil {
				set[cfg.Name] = *cfg.Value
			}
		}
		var remove []string
		for k := range h.image().Configs(metadata.BrokerResource(h.cfg.NodeID)) {
			if _, kept := set[k]; !kept {
				remove = append(remove, k)
			}
		}
		ch, code, msg := h.checkTLSChange(set, remove, true)
		if code != nil {
			resp := kmsg.NewPtrAlterConfigsResponse()
			for _, rr := range req.Resources {
				out := kmsg.NewAlterConfigsResponseResource()
				out.ResourceType, out.ResourceName = rr.ResourceType, rr.ResourceName
				out.ErrorCode, out.ErrorMessage = code.Code, kmsg.StringPtr(msg)
				resp.Resources = append(resp.Resources, out)
			}
			return c.respond(resp), nil
		}
		tlsDynamic = ch
	}
	if resp := h.forward(ctx, req, 0); resp != nil {
		if !req.ValidateOnly {
			for _, out := range resp.(*kmsg.AlterConfigsResponse).Resources {
				if h.ownBroker(out.ResourceType, out.ResourceName) && out.ErrorCode == 0 {
					h.applyTLSChange(tlsDynamic)
				}
			}
		}
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
