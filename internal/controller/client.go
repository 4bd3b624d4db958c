package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/kclient"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Local is this node's controller, nil on broker-only nodes.
	Local *Controller
	// Active reports whether Local is the active controller now.
	Active func() bool
	// Leader returns the controller listener address of the active
	// controller, when one is known.
	Leader func() (addr string, ok bool)
	// LocalIP, when set, binds outgoing connections (tests run nodes on
	// 127.0.0.x so address-based faults mean something).
	LocalIP net.IP
	// TLS, when set, gives how the client connects to controllers now (the
	// controller listener is SSL).
	TLS func() *tls.Config
	// ClientID names this node in forwarded requests.
	ClientID string
	Logger   *slog.Logger
}

// Client is how a broker reaches the active controller: in-process when
// this node is it, otherwise over the controller listener in an envelope.
// Requests are retried, on whichever node is active, until they are
// answered or ctx ends. It is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	pool *kclient.Pool
}

// NewClient returns a client.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Active == nil {
		cfg.Active = func() bool { return cfg.Local != nil }
	}
	if cfg.Leader == nil {
		cfg.Leader = func() (string, bool) { return "", false }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, pool: kclient.NewPool(cfg.ClientID, cfg.LocalIP, cfg.TLS)}
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.pool.Close() }

// Request sends one controller-bound request and returns its response. An
// error means no controller answered before ctx ended; the caller answers
// its own client with a retriable error.
func (c *Client) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	backoff := 20 * time.Millisecond
	var last error
	for {
		if c.cfg.Local != nil && c.cfg.Active() {
			resp, err := c.cfg.Local.Serve(ctx, req)
			if err == nil || !errors.Is(err, ErrNotActive) {
				return resp, err
			}
			last = err
		} else if addr, ok := c.cfg.Leader(); ok {
			resp, err := forward(ctx, c.pool, c.cfg.ClientID, addr, req)
			if err == nil {
				return resp, nil
			}
			last = err
			c.cfg.Logger.Debug("forwarding to the controller failed", "addr", addr, "api", kmsg.NameForKey(req.Key()), "err", err)
		} else {
			last = errors.New("no active controller is known")
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// Serve runs one controller-bound request on this controller. ErrNotActive
// means this node is not the active controller and nothing was changed.
func (c *Controller) Serve(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		return nilIfErr(c.CreateTopics(ctx, r))
	case *kmsg.DeleteTopicsRequest:
		return nilIfErr(c.DeleteTopics(ctx, r))
	case *kmsg.CreatePartitionsRequest:
		return nilIfErr(c.CreatePartitions(ctx, r))
	case *kmsg.AlterConfigsRequest:
		return nilIfErr(c.AlterConfigs(ctx, r))
	case *kmsg.IncrementalAlterConfigsRequest:
		return nilIfErr(c.IncrementalAlterConfigs(ctx, r))
	case *kmsg.AlterClientQuotasRequest:
		return nilIfErr(c.AlterClientQuotas(ctx, r))
	case *kmsg.AllocateProducerIDsRequest:
		return nilIfErr(c.AllocateProducerIDs(ctx, r))
	case *kmsg.BrokerRegistrationRequest:
		return nilIfErr(c.RegisterBroker(ctx, r))
	case *kmsg.BrokerHeartbeatRequest:
		return nilIfErr(c.BrokerHeartbeat(ctx, r))
	case *kmsg.AlterPartitionRequest:
		return nilIfErr(c.AlterPartition(ctx, r))
	case *kmsg.ElectLeadersRequest:
		return nilIfErr(c.ElectLeaders(ctx, r))
	case *kmsg.AlterPartitionAssignmentsRequest:
		return nilIfErr(c.AlterPartitionReassignments(ctx, r))
	case *kmsg.ListPartitionReassignmentsRequest:
		return nilIfErr(c.ListPartitionReassignments(ctx, r))
	case *kmsg.DescribeQuorumRequest:
		return nilIfErr(c.DescribeQuorum(ctx, r))
	}
	return nil, fmt.Errorf("controller does not serve %s", kmsg.NameForKey(req.Key()))
}

// nilIfErr turns a typed response into the interface, keeping a nil
// response nil (a nil *T in an interface would not compare equal to nil).
func nilIfErr[R kmsg.Response](resp R, err error) (kmsg.Response, error) {
	if err != nil {
		return nil, err
	}
	return resp, nil
}
