package api

// ElectLeaders, versions 0–2 (KIP-183; KIP-460 adds the election type in
// v1).
//
// Forwarded to the active controller. A preferred election (type 0, the
// only one in v0) moves leadership to the first replica when it is live and
// in the ISR: ELECTION_NOT_NEEDED when it already leads,
// PREFERRED_LEADER_NOT_AVAILABLE when it cannot. An unclean election (type
// 1) gives a leaderless partition a leader, from outside the ISR if it must,
// whatever the topic's unclean.leader.election.enable:
// ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live. A null topic list
// means every partition; partitions that needed no election are then left
// out, as Kafka does. kafka-leader-election.sh and kadm use it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) electLeaders(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ElectLeadersRequest)
	if resp := h.forward(ctx, req, req.TimeoutMillis); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrElectLeadersResponse()
	resp.ErrorCode = errTimedOut.Code // v1+; v0 clients see the partitions'
	for _, t := range req.Topics {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewElectLeadersResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, errTimedOut.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
