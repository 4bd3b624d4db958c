package api

// SyncGroup, versions 0–5.
//
// Served by the group coordinator: the leader's assignment is made durable,
// then every member gets its part. Followers wait for the leader, in the
// connection's writer.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) syncGroup(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.SyncGroupRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.SyncGroup(ctx, req, groupClient(c))
	}), nil
}
