package api

// Heartbeat, versions 0–4.
//
// Served by the group coordinator: keeps a member's session alive and tells
// it when a rebalance is in progress (REBALANCE_IN_PROGRESS).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) heartbeat(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.HeartbeatRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.Heartbeat(ctx, req)
	}), nil
}
