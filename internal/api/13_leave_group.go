package api

// LeaveGroup, versions 0–5 (batched members from v3, KIP-345).
//
// Served by the group coordinator: the members leave at once and the group
// rebalances without waiting for their sessions to expire.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) leaveGroup(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.LeaveGroupRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.LeaveGroup(ctx, req)
	}), nil
}
