package api

// InitProducerId, versions 0–5.
//
// Idempotent producers (no transactional id) get a fresh producer id with
// epoch 0, as Kafka gives them, whatever id and epoch a v3+ request carries
// (KIP-360 epoch bumps only matter with a transactional id). Ids come from a
// block the controller recorded in the metadata log, so none is ever handed
// out twice.
//
// Transactional ids are not supported yet: the request gets
// UNSUPPORTED_VERSION, which clients report as the broker not supporting
// the operation, rather than an error they would retry forever.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) initProducerID(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.InitProducerIDRequest)
	resp := kmsg.NewPtrInitProducerIDResponse()
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		h.log.Info("refusing transactional producer: transactions are not supported yet", "txn_id", *req.TransactionalID)
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		return c.respond(resp), nil
	}
	id, err := h.cfg.ProducerIDs.Next(ctx)
	if err != nil {
		h.log.Warn("cannot allocate a producer id", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return c.respond(resp), nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return c.respond(resp), nil
}
