package controller

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client is how brokers reach the active controller. Requests are Kafka's
// controller-bound requests; when the active controller is this node they
// are served in-process.
type Client struct {
	local *Controller
}

// NewClient returns a client that serves requests with local.
func NewClient(local *Controller) *Client { return &Client{local: local} }

// Request sends one controller-bound request and returns its response. An
// error means the controller could not be reached; the caller answers its
// own client with a retriable error.
func (c *Client) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	return c.local.Serve(ctx, req)
}

// Serve runs one controller-bound request on this controller.
func (c *Controller) Serve(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		return c.CreateTopics(ctx, r), nil
	case *kmsg.DeleteTopicsRequest:
		return c.DeleteTopics(ctx, r), nil
	case *kmsg.CreatePartitionsRequest:
		return c.CreatePartitions(ctx, r), nil
	case *kmsg.AlterConfigsRequest:
		return c.AlterConfigs(ctx, r), nil
	case *kmsg.IncrementalAlterConfigsRequest:
		return c.IncrementalAlterConfigs(ctx, r), nil
	case *kmsg.AllocateProducerIDsRequest:
		return c.AllocateProducerIDs(ctx, r), nil
	case *kmsg.BrokerRegistrationRequest:
		return c.RegisterBroker(ctx, r), nil
	case *kmsg.BrokerHeartbeatRequest:
		return c.BrokerHeartbeat(ctx, r), nil
	}
	return nil, fmt.Errorf("controller does not serve %s", kmsg.NameForKey(req.Key()))
}
