package controller

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// ProducerIDBlockSize is how many producer ids one AllocateProducerIDs
// hands out, as in Kafka.
const ProducerIDBlockSize = 1000

// AllocateProducerIDs hands a broker the next block of producer ids. The
// block is recorded in the metadata log before it is returned, so no id is
// ever handed out twice, across restarts and controller changes alike.
func (c *Controller) AllocateProducerIDs(ctx context.Context, req *kmsg.AllocateProducerIDsRequest) (*kmsg.AllocateProducerIDsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrAllocateProducerIDsResponse()
	resp.Version = req.Version
	img := c.image()
	if b, ok := img.Broker(req.BrokerID); !ok || b.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp, nil
	}
	start := img.NextProducerID()
	rec := metadata.ProducerIDsRecord{BrokerID: req.BrokerID, BrokerEpoch: req.BrokerEpoch, NextProducerID: start + ProducerIDBlockSize}
	if err := c.propose(ctx, []metadata.Record{rec}); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		c.log.Warn("allocate producer ids failed", "err", err)
		resp.ErrorCode = kerr.RequestTimedOut.Code
		return resp, nil
	}
	resp.ProducerIDStart, resp.ProducerIDLen = start, ProducerIDBlockSize
	return resp, nil
}
