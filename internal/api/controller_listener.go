package api

// What the controller listener answers besides Envelope (KIP-919): Kafka's
// admin clients can bootstrap from the controllers
// (`kafka-metadata-quorum.sh --bootstrap-controller`), learning the voters
// and the active one from DescribeCluster with endpoint type 2 and then
// asking the active one DescribeQuorum.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/wire"
)

// describeControllers is DescribeCluster on the controller listener:
// endpoint type 2 lists the voters at their controller listener addresses
// (controller.quorum.voters) and names the active one; type 1 gets
// MISMATCHED_ENDPOINT_TYPE, as Kafka answers.
func (h *Handler) describeControllers(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeClusterRequest)
	resp := kmsg.NewPtrDescribeClusterResponse()
	resp.EndpointType = req.EndpointType
	switch req.EndpointType {
	case 2:
	case 1:
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		return c.respond(resp), nil
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		return c.respond(resp), nil
	}
	resp.ClusterID = h.image().ClusterID()
	resp.ControllerID = h.cfg.ControllerID()
	resp.ClusterAuthorizedOperations = authorizedOpsUnset
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = allClusterOps
	}
	for _, v := range h.cfg.Broker.Quorum.Voters {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port = v.ID, v.Host, int32(v.Port)
		resp.Brokers = append(resp.Brokers, rb)
	}
	return c.respond(resp), nil
}

// describeQuorumHere is DescribeQuorum on the controller listener: the
// active controller answers it; any other voter answers
// NOT_LEADER_OR_FOLLOWER for each partition asked about, as Kafka's Raft
// client does, and the admin client asks the active one.
func (h *Handler) describeQuorumHere(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeQuorumRequest)
	return c.later(func(ctx context.Context) kmsg.Response {
		if h.cfg.ControllerActive() {
			resp, err := h.cfg.LocalController.DescribeQuorum(ctx, req)
			if err == nil {
				return resp
			}
			if !errors.Is(err, controller.ErrNotActive) {
				h.log.Warn("DescribeQuorum failed", "err", err)
			}
		}
		return controller.QuorumErrorResponse(req, kerr.NotLeaderForPartition)
	}), nil
}
