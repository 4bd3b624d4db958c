package api

// IncrementalAlterConfigs, versions 0–1.
//
// Forwarded to the active controller: SET, DELETE, and APPEND/SUBTRACT for
// list configs (INVALID_CONFIG for others), applied to the resource's
// dynamic configs, then validated as a whole like AlterConfigs. This is the
// API kafka-configs.sh, kadm and UIs use. Broker loggers are changed here,
// on the broker named (broker_logger.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) incrementalAlterConfigs(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.IncrementalAlterConfigsRequest)
	// Broker loggers are this broker's own business; the rest goes to the
	// controller, and the answers are merged back in request order.
	local := map[int]kmsg.IncrementalAlterConfigsResponseResource{}
	fwd := *req
	fwd.Resources = nil
	var tlsDynamic map[string]string
	tlsAt := -1 // the index in fwd.Resources of the resource changing this broker's TLS
	for i := range req.Resources {
		r := &req.Resources[i]
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		if r.ResourceType == kmsg.ConfigResourceTypeBrokerLogger {
			if code, msg := h.alterLoggers(r, req.ValidateOnly); code != nil {
				out.ErrorCode, out.ErrorMessage = code.Code, kmsg.StringPtr(msg)
			}
			local[i] = out
			continue
		}
		if code, msg := h.otherBroker(r.ResourceType, r.ResourceName); code != nil {
			out.ErrorCode, out.ErrorMessage = code.Code, kmsg.StringPtr(msg)
			local[i] = out
			continue
		}
		if h.ownBroker(r.ResourceType, r.ResourceName) {
			ch, code, msg := h.checkIncrementalTLS(r)
			if code != nil {
				out.ErrorCode, out.ErrorMessage = code.Code, kmsg.StringPtr(msg)
				local[i] = out
				continue
			}
			if ch != nil {
				tlsDynamic, tlsAt = ch, len(fwd.Resources)
			}
		}
		fwd.Resources = append(fwd.Resources, *r)
	}
	var remote []kmsg.IncrementalAlterConfigsResponseResource
	if len(fwd.Resources) > 0 {
		if resp := h.forward(ctx, &fwd, 0); resp != nil {
			remote = resp.(*kmsg.IncrementalAlterConfigsResponse).Resources
			if tlsAt >= 0 && tlsAt < len(remote) && remote[tlsAt].ErrorCode == 0 && !req.ValidateOnly {
				h.applyTLSChange(ctx, tlsDynamic)
			}
		} else {
			for _, r := range fwd.Resources {
				out := kmsg.NewIncrementalAlterConfigsResponseResource()
				out.ResourceType, out.ResourceName, out.ErrorCode = r.ResourceType, r.ResourceName, errTimedOut.Code
				remote = append(remote, out)
			}
		}
	}
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	resp.Resources = inRequestOrder(len(req.Resources), local, remote)
	return c.respond(resp), nil
}

// checkIncrementalTLS checks the TLS settings an IncrementalAlterConfigs of
// this broker's resource changes. APPEND and SUBTRACT of a TLS setting are
// refused: the lists it has (ssl.enabled.protocols, ssl.cipher.suites) are
// set whole.
func (h *Handler) checkIncrementalTLS(r *kmsg.IncrementalAlterConfigsRequestResource) (map[string]string, *kerr.Error, string) {
	set := map[string]string{}
	var remove []string
	for _, cfg := range r.Configs {
		switch {
		case cfg.Op == kmsg.IncrementalAlterConfigOpDelete:
			remove = append(remove, cfg.Name)
		case cfg.Op == kmsg.IncrementalAlterConfigOpSet && cfg.Value != nil:
			set[cfg.Name] = *cfg.Value
		case config.IsTLSSetting(cfg.Name):
			return nil, kerr.InvalidRequest, "set " + cfg.Name + " whole (SET), not with APPEND or SUBTRACT"
		}
	}
	return h.checkTLSChange(set, remove, false)
}
