package api

// AlterClientQuotas, versions 0–1 (KIP-546).
//
// Forwarded to the active controller, which validates each entry and
// commits the valid ones (controller/quotas.go). kafka-configs.sh --alter
// --entity-type users|clients sends this. samsa enforces producer_byte_rate
// and consumer_byte_rate; the other quota keys and ip entities are refused
// with INVALID_REQUEST rather than stored and ignored.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) alterClientQuotas(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.AlterClientQuotasRequest)
	if resp := h.forward(ctx, req, 0); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrAlterClientQuotasResponse()
	for _, e := range req.Entries {
		out := controller.QuotaResponseEntry(e)
		out.ErrorCode = errTimedOut.Code
		resp.Entries = append(resp.Entries, out)
	}
	return c.respond(resp), nil
}
