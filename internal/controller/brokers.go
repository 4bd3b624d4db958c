package controller

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// RegisterBroker registers a broker incarnation (BrokerRegistration,
// KIP-631). The broker starts fenced: it leads nothing until a heartbeat
// says it has caught up with the metadata log. A new incarnation of a known
// broker id replaces the old registration, and the partitions the old one
// led lose it as leader, so the leader epoch moves on when it comes back.
func (c *Controller) RegisterBroker(ctx context.Context, req *kmsg.BrokerRegistrationRequest) *kmsg.BrokerRegistrationResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrBrokerRegistrationResponse()
	resp.Version = req.Version
	img := c.image()
	if req.ClusterID != img.ClusterID() {
		resp.ErrorCode = kerr.InconsistentClusterID.Code
		return resp
	}
	if old, ok := img.Broker(req.BrokerID); ok && old.IncarnationID == req.IncarnationID {
		// The same incarnation retrying: answer with its epoch.
		resp.BrokerEpoch = old.Epoch
		return resp
	}
	reg := metadata.RegisterBrokerRecord{
		BrokerID:      req.BrokerID,
		IncarnationID: req.IncarnationID,
		BrokerEpoch:   int64(img.Offset()) + 1, // unique and increasing, as Kafka's offset-based epochs
		Fenced:        true,
	}
	if req.Rack != nil {
		reg.Rack = *req.Rack
	}
	for _, l := range req.Listeners {
		reg.Endpoints = append(reg.Endpoints, metadata.Endpoint{Listener: l.Name, Host: l.Host, Port: int32(l.Port), SecurityProtocol: l.SecurityProtocol})
	}
	recs := []metadata.Record{reg}
	for _, pc := range fenceChanges(img, req.BrokerID) {
		recs = append(recs, pc)
	}
	if err := c.propose(ctx, recs); err != nil {
		c.log.Warn("broker registration failed", "broker_id", req.BrokerID, "err", err)
		resp.ErrorCode = kerr.RequestTimedOut.Code
		return resp
	}
	c.log.Info("registered broker", "broker_id", req.BrokerID, "broker_epoch", reg.BrokerEpoch)
	resp.BrokerEpoch = reg.BrokerEpoch
	return resp
}

// BrokerHeartbeat records that a broker is alive and moves it in or out of
// the fenced state as it asks.
func (c *Controller) BrokerHeartbeat(ctx context.Context, req *kmsg.BrokerHeartbeatRequest) *kmsg.BrokerHeartbeatResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrBrokerHeartbeatResponse()
	resp.Version = req.Version
	img := c.image()
	b, ok := img.Broker(req.BrokerID)
	if !ok || b.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	// A broker is caught up once it has applied its own registration.
	resp.IsCaughtUp = req.CurrentMetadataOffset >= b.Epoch
	resp.IsFenced = b.Fenced
	var recs []metadata.Record
	switch {
	case b.Fenced && !req.WantFence && resp.IsCaughtUp:
		recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: 0, InControlledShutdown: -1})
		for _, pc := range unfenceChanges(img, b.ID) {
			recs = append(recs, pc)
		}
	case !b.Fenced && req.WantFence:
		recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: 1, InControlledShutdown: -1})
		for _, pc := range fenceChanges(img, b.ID) {
			recs = append(recs, pc)
		}
	}
	if err := c.propose(ctx, recs); err != nil {
		resp.ErrorCode = kerr.RequestTimedOut.Code
		return resp
	}
	if len(recs) > 0 {
		resp.IsFenced = !b.Fenced
		c.log.Info("broker fencing changed", "broker_id", b.ID, "fenced", resp.IsFenced)
	}
	resp.ShouldShutdown = req.WantShutdown
	return resp
}

// fenceChanges moves leadership away from a broker that stops being able to
// lead: each partition it leads gets the next live ISR member as leader, or
// no leader when none is left. The ISR keeps the broker when it is the last
// member, so it can lead again without losing acknowledged records.
func fenceChanges(img *metadata.Image, broker int32) []metadata.PartitionChangeRecord {
	var out []metadata.PartitionChangeRecord
	for _, name := range img.TopicNames() {
		t, _ := img.Topic(name)
		for _, p := range t.Partitions {
			if !slices.Contains(p.ISR, broker) {
				continue
			}
			pc := metadata.PartitionChangeRecord{TopicID: p.TopicID, Partition: p.ID, Leader: metadata.NoChange}
			if len(p.ISR) > 1 {
				pc.ISR = slices.DeleteFunc(slices.Clone(p.ISR), func(r int32) bool { return r == broker })
			}
			if p.Leader == broker {
				pc.Leader = metadata.NoLeader
				isr := p.ISR
				if pc.ISR != nil {
					isr = pc.ISR
				}
				if next, ok := liveMember(img, isr, broker); ok {
					pc.Leader = next
				}
			}
			if pc.ISR != nil || pc.Leader != metadata.NoChange {
				out = append(out, pc)
			}
		}
	}
	return out
}

// unfenceChanges gives leaderless partitions whose ISR holds the broker a
// leader again.
func unfenceChanges(img *metadata.Image, broker int32) []metadata.PartitionChangeRecord {
	var out []metadata.PartitionChangeRecord
	for _, name := range img.TopicNames() {
		t, _ := img.Topic(name)
		for _, p := range t.Partitions {
			if p.Leader == metadata.NoLeader && slices.Contains(p.ISR, broker) {
				out = append(out, metadata.PartitionChangeRecord{TopicID: p.TopicID, Partition: p.ID, Leader: broker})
			}
		}
	}
	return out
}

// liveMember returns the first member of isr, other than skip, that is a
// registered unfenced broker.
func liveMember(img *metadata.Image, isr []int32, skip int32) (int32, bool) {
	for _, r := range isr {
		if r == skip {
			continue
		}
		if b, ok := img.Broker(r); ok && !b.Fenced {
			return r, true
		}
	}
	return 0, false
}
