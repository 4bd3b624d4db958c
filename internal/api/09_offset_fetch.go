package api

// OffsetFetch, versions 0–10 (several groups per request from v8, topic ids
// from v10).
//
// Served by the group coordinator. Null topics (v2+) return every committed
// offset of the group; require_stable (v7+) answers UNSTABLE_OFFSET_COMMIT
// while a commit for the partition is still being made durable.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) offsetFetch(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.OffsetFetchRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.OffsetFetch(ctx, req)
	}), nil
}
