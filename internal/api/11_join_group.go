package api

// JoinGroup, versions 0–9.
//
// Served by the group coordinator: member ids are assigned by the broker
// (KIP-394: MEMBER_ID_REQUIRED on a first join from v4), static members keep
// their identity by group.instance.id (KIP-345), the first rebalance of an
// empty group waits group.initial.rebalance.delay.ms. The response waits
// until the join phase ends, in the connection's writer.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) joinGroup(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.JoinGroupRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		return h.cfg.Groups.JoinGroup(ctx, req, groupClient(c))
	}), nil
}
