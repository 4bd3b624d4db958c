package api

// DescribeGroups, versions 0–6.
//
// Served by the group coordinator: state, protocol type and protocol,
// members with their client id, host, metadata and assignment. An unknown
// group is Dead (and GROUP_ID_NOT_FOUND from v6), as in Kafka. From v3 a
// request may ask for the operations the caller may perform on each group.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeGroups(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeGroupsRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		resp := h.cfg.Groups.DescribeGroups(ctx, req)
		if req.IncludeAuthorizedOperations {
			for i := range resp.Groups {
				resp.Groups[i].AuthorizedOperations = allGroupOps
			}
		}
		return resp
	}), nil
}
