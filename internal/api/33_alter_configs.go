package api

// AlterConfigs, versions 0–2 (the legacy, replace-all form).
//
// Forwarded to the active controller. The configs given replace the
// resource's dynamic configs; those not given are removed. Topic configs
// are validated as Kafka does (INVALID_CONFIG); broker configs must be
// dynamically updatable at the level named (a broker id, or "" for the
// cluster-wide defaults), otherwise INVALID_REQUEST. A broker id other than
// this broker's is refused here (INVALID_REQUEST, as Kafka's brokers
// answer), each resource on its own.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) alterConfigs(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.AlterConfigsRequest)
	// Resources refused here are answered here; the rest go to the
	// controller, and the answers are merged back in request order.
	local := map[int]kmsg.AlterConfigsResponseResource{}
	fwd := *req
	fwd.Resources = nil
	var tlsDynamic map[string]string
	tlsAt := -1 // the index in fwd.Resources of the resource changing this broker's TLS
	for i := range req.Resources {
		r := &req.Resources[i]
		code, msg := h.otherBroker(r.ResourceType, r.ResourceName)
		if code == nil && h.ownBroker(r.ResourceType, r.ResourceName) {
			// The configs given replace this broker's dynamic ones: check
			// the TLS settings they would leave before anything is
			// committed.
			set, remove := replacedConfigs(r, h.image().Configs(metadata.BrokerResource(h.cfg.NodeID)))
			var ch map[string]string
			if ch, code, msg = h.checkTLSChange(set, remove, true); ch != nil {
				tlsDynamic, tlsAt = ch, len(fwd.Resources)
			}
		}
		if code != nil {
			out := kmsg.NewAlterConfigsResponseResource()
			out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
			out.ErrorCode, out.ErrorMessage = code.Code, kmsg.StringPtr(msg)
			local[i] = out
			continue
		}
		fwd.Resources = append(fwd.Resources, *r)
	}
	var remote []kmsg.AlterConfigsResponseResource
	if len(fwd.Resources) > 0 {
		if resp := h.forward(ctx, &fwd, 0); resp != nil {
			remote = resp.(*kmsg.AlterConfigsResponse).Resources
			if tlsAt >= 0 && tlsAt < len(remote) && remote[tlsAt].ErrorCode == 0 && !req.ValidateOnly {
				h.applyTLSChange(ctx, tlsDynamic)
			}
		} else {
			for _, r := range fwd.Resources {
				out := kmsg.NewAlterConfigsResponseResource()
				out.ResourceType, out.ResourceName, out.ErrorCode = r.ResourceType, r.ResourceName, errTimedOut.Code
				remote = append(remote, out)
			}
		}
	}
	resp := kmsg.NewPtrAlterConfigsResponse()
	resp.Resources = inRequestOrder(len(req.Resources), local, remote)
	return c.respond(resp), nil
}

// replacedConfigs is what a legacy AlterConfigs of a resource whose dynamic
// configs are now current sets, and what it removes: every config not
// given.
func replacedConfigs(r *kmsg.AlterConfigsRequestResource, current map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for _, cfg := range r.Configs {
		if cfg.Value != nil {
			set[cfg.Name] = *cfg.Value
		}
	}
	for k := range current {
		if _, kept := set[k]; !kept {
			remove = append(remove, k)
		}
	}
	return set, remove
}
