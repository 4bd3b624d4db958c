package api

// OffsetDelete, version 0.
//
// Served by the group coordinator: removes a group's committed offsets for
// the partitions named, unless the group is active and subscribed to the
// topic (GROUP_SUBSCRIBED_TO_TOPIC).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) offsetDelete(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.OffsetDeleteRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.OffsetDelete(ctx, req)
	}), nil
}
