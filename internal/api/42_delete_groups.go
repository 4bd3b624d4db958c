package api

// DeleteGroups, versions 0–2.
//
// Served by the group coordinator: only groups without members can be
// deleted (NON_EMPTY_GROUP otherwise); their offsets and metadata get
// tombstones, durable before the answer.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) deleteGroups(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DeleteGroupsRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.DeleteGroups(ctx, req)
	}), nil
}
