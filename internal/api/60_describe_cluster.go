package api

// DescribeCluster, versions 0–2 (KIP-700, KIP-919, KIP-1073).
//
// Endpoint type 1 (brokers) is served; type 2 (controllers) is for
// connections to a controller listener and gets MISMATCHED_ENDPOINT_TYPE
// here, as Kafka answers. v2 can include fenced brokers.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeCluster(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeClusterRequest)
	resp := kmsg.NewPtrDescribeClusterResponse()
	img := h.image()
	resp.EndpointType = 1
	if c.Version >= 1 && req.EndpointType != 1 {
		resp.EndpointType = req.EndpointType
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		if req.EndpointType == 2 {
			resp.ErrorCode = kerr.MismatchedEndpointType.Code
		}
		return c.respond(resp), nil
	}
	resp.ClusterID = img.ClusterID()
	resp.ControllerID = h.advertisedControllerID(img)
	resp.ClusterAuthorizedOperations = authorizedOpsUnset
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = allClusterOps
	}
	for _, b := range img.Brokers() {
		if b.Fenced && !req.IncludeFencedBrokers {
			continue
		}
		e, ok := b.Endpoint(c.Conn.Listener)
		if !ok {
			continue
		}
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.IsFenced = b.ID, e.Host, e.Port, b.Fenced
		if b.Rack != "" {
			rb.Rack = kmsg.StringPtr(b.Rack)
		}
		resp.Brokers = append(resp.Brokers, rb)
	}
	return c.respond(resp), nil
}
