package api

// DescribeQuorum, versions 0–2 (KIP-595; KIP-836 adds fetch and caught-up
// timestamps in v1, KIP-853 nodes and directory ids in v2).
//
// Forwarded to the active controller, the metadata quorum's leader, which
// alone knows every replica's log end: leader, leader epoch (the Raft
// term), high watermark, voters and observers (broker-only nodes, the
// quorum's learners) with their log end offsets and last fetch and
// caught-up times, and in v2 the voters' controller endpoints. Only
// __cluster_metadata-0 exists (UNKNOWN_TOPIC_OR_PARTITION otherwise).
// kafka-metadata-quorum.sh and kadm call it through a broker; samsa does
// not serve it on the controller listener (--bootstrap-controller).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

const describeQuorumTimeoutMs = 30000

func (h *Handler) describeQuorum(ctx context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeQuorumRequest)
	// The request carries no timeout: bound the wait for a controller by
	// the client default of request.timeout.ms.
	if resp := h.forward(ctx, req, describeQuorumTimeoutMs); resp != nil {
		return c.respond(resp), nil
	}
	resp := kmsg.NewPtrDescribeQuorumResponse()
	resp.ErrorCode = errTimedOut.Code
	return c.respond(resp), nil
}
