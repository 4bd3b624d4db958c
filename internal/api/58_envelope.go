package api

// Envelope, version 0 (KIP-590), served on the controller listener only.
//
// Brokers forward controller-bound requests (admin requests from clients,
// and their own registration, heartbeats, producer-id allocation and ISR
// changes) to the active controller wrapped in an envelope: RequestData is
// the inner request with its header, ResponseData the inner response with
// its header. A node that is not the active controller answers
// NOT_CONTROLLER on the envelope, and the forwarding broker retries on the
// active one. The inner request goes through the same guard and decoder as
// any other request.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) envelope(_ context.Context, c *call) (wire.Reply, error) {
	env := c.msg.(*kmsg.EnvelopeRequest)
	inner, corr, err := decodeInner(env.RequestData)
	if err != nil {
		return wire.Reply{}, fmt.Errorf("envelope: %w", err)
	}
	return c.later(func(ctx context.Context) kmsg.Response {
		resp := kmsg.NewPtrEnvelopeResponse()
		if !h.cfg.ControllerActive() {
			resp.ErrorCode = kerr.NotController.Code
			return resp
		}
		out, err := h.cfg.LocalController.Serve(ctx, inner)
		switch {
		case errors.Is(err, controller.ErrNotActive):
			resp.ErrorCode = kerr.NotController.Code
		case err != nil:
			h.log.Warn("forwarded request failed", "api", kmsg.NameForKey(inner.Key()), "err", err)
			resp.ErrorCode = kerr.UnknownServerError.Code
		default:
			resp.ResponseData = controller.EncodeResponse(out, corr)
		}
		return resp
	}), nil
}

// decodeInner parses an enveloped request: its header, then its body.
func decodeInner(b []byte) (kmsg.Request, int32, error) {
	if len(b) < 10 {
		return nil, 0, errors.New("inner request too short")
	}
	key, version := int16(binary.BigEndian.Uint16(b)), int16(binary.BigEndian.Uint16(b[2:]))
	corr := int32(binary.BigEndian.Uint32(b[4:]))
	req := kmsg.RequestForKey(key)
	if req == nil || version < 0 || version > req.MaxVersion() {
		return nil, 0, fmt.Errorf("inner request key %d version %d not served", key, version)
	}
	req.SetVersion(version)
	p := 8
	n := int(int16(binary.BigEndian.Uint16(b[p:])))
	p += 2
	if n > 0 {
		if n > len(b)-p {
			return nil, 0, errors.New("inner client id longer than the request")
		}
		p += n
	}
	if req.IsFlexible() {
		if p >= len(b) || b[p] != 0 {
			return nil, 0, errors.New("inner request header tags are not supported")
		}
		p++
	}
	if err := decode(req, b[p:]); err != nil {
		return nil, 0, err
	}
	return req, corr, nil
}
