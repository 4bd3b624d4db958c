package api

// ListGroups, versions 0–5 (state filter from v4, type filter from v5).
//
// Served by the group coordinator over every __consumer_offsets partition
// this broker leads; clients ask every broker.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) listGroups(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ListGroupsRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.ListGroups(ctx, req)
	}), nil
}
