package controller

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// RegisterBroker registers a broker incarnation (BrokerRegistration,
// KIP-631). The broker starts fenced: it leads nothing until a heartbeat
// says it has caught up with the metadata log. A new incarnation of a known
// broker id replaces the old registration (clearing a controlled shutdown
// it was in), and the partitions the old one led lose it as leader, so the
// leader epoch moves on when it comes back. Registering starts a session.
func (c *Controller) RegisterBroker(ctx context.Context, req *kmsg.BrokerRegistrationRequest) (*kmsg.BrokerRegistrationResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clockLocked()
	resp := kmsg.NewPtrBrokerRegistrationResponse()
	resp.Version = req.Version
	img := c.image()
	// A node that does not know the cluster id yet is joining: it learns the
	// id from the metadata log once it follows it.
	if req.ClusterID != "" && req.ClusterID != img.ClusterID() {
		resp.ErrorCode = kerr.InconsistentClusterID.Code
		return resp, nil
	}
	c.ensureLearner(ctx, req)
	if old, ok := img.Broker(req.BrokerID); ok && old.IncarnationID == req.IncarnationID {
		// The same incarnation retrying: answer with its epoch.
		s := c.sessionLocked(old, now)
		s.lastContact, s.heard = now, true
		resp.BrokerEpoch = old.Epoch
		return resp, nil
	}
	if old, ok := img.Broker(req.BrokerID); ok && !old.Fenced {
		// Another incarnation that is alive (it heartbeated within its
		// session) holds the id: two processes claim one node id. Kafka
		// refuses the newcomer the same way; a restart after a crash gets
		// in once the crashed incarnation's session runs out.
		if s := c.live.sessions[old.ID]; s != nil && s.epoch == old.Epoch && s.heard && now.Sub(s.lastContact) <= c.sessionTimeout() {
			if s.refused != req.IncarnationID { // it retries until the session ends: say it once
				s.refused = req.IncarnationID
				c.log.Warn("refused a registration: another live broker has this id", "broker_id", req.BrokerID)
			}
			resp.ErrorCode = kerr.DuplicateBrokerRegistration.Code
			return resp, nil
		}
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
	recs = append(recs, c.fenceChanges(img, req.BrokerID, "new broker incarnation")...)
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		c.log.Warn("broker registration failed", "broker_id", req.BrokerID, "err", err)
		resp.ErrorCode = kerr.RequestTimedOut.Code
		return resp, nil
	}
	c.log.Info("registered broker", "broker_id", req.BrokerID, "broker_epoch", reg.BrokerEpoch)
	c.live.sessions[req.BrokerID] = &session{epoch: reg.BrokerEpoch, lastContact: now, heard: true, metadataOffset: -1}
	resp.BrokerEpoch = reg.BrokerEpoch
	return resp, nil
}

// ensureLearner adds a broker-only node to the metadata quorum as a learner,
// at the address of its inter-broker listener, so it can follow the log.
func (c *Controller) ensureLearner(ctx context.Context, req *kmsg.BrokerRegistrationRequest) {
	if c.cfg.AddLearner == nil {
		return
	}
	for _, v := range c.cfg.Broker.Quorum.Voters {
		if v.ID == req.BrokerID {
			return
		}
	}
	for _, l := range req.Listeners {
		if strings.EqualFold(l.Name, c.cfg.Broker.InterBrokerListenerName) {
			addr := net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
			if err := c.cfg.AddLearner(ctx, req.BrokerID, addr); err != nil {
				c.log.Warn("cannot add broker as a learner of the metadata quorum", "broker_id", req.BrokerID, "addr", addr, "err", err)
			}
			return
		}
	}
	c.log.Warn("broker registered without an inter-broker listener; it cannot follow the metadata log", "broker_id", req.BrokerID)
}

// BrokerHeartbeat records that a broker is alive and moves it between
// states as it asks (Kafka's broker heartbeat state machine):
//
//   - fenced, caught up with the log up to its own registration, and not
//     asking to stay fenced: unfenced, and leaderless partitions it can lead
//     get it as leader;
//   - unfenced and asking to be fenced: fenced, its leaderships move;
//   - asking to shut down: controlled shutdown (see controlledShutdownLocked).
//
// A fenced broker that was in controlled shutdown stays fenced until it
// registers again. An unknown broker or a stale broker epoch gets
// STALE_BROKER_EPOCH, and the broker registers again.
func (c *Controller) BrokerHeartbeat(ctx context.Context, req *kmsg.BrokerHeartbeatRequest) (*kmsg.BrokerHeartbeatResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clockLocked()
	resp := kmsg.NewPtrBrokerHeartbeatResponse()
	resp.Version = req.Version
	img := c.image()
	b, ok := img.Broker(req.BrokerID)
	if !ok || b.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp, nil
	}
	s := c.sessionLocked(b, now)
	s.lastContact, s.heard, s.metadataOffset = now, true, req.CurrentMetadataOffset
	// A broker is caught up once it has applied its own registration.
	resp.IsCaughtUp = req.CurrentMetadataOffset >= b.Epoch
	if req.WantShutdown {
		if err := c.controlledShutdownLocked(ctx, b, s, resp); err != nil {
			if errors.Is(err, ErrNotActive) {
				return nil, err
			}
			resp.ErrorCode = kerr.RequestTimedOut.Code
		}
		return resp, nil
	}
	var recs []metadata.Record
	switch {
	case b.Fenced && !req.WantFence && resp.IsCaughtUp && !b.InControlledShutdown:
		recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: 0, InControlledShutdown: -1})
		recs = append(recs, c.unfenceChanges(img, b.ID)...)
	case !b.Fenced && req.WantFence:
		recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: 1, InControlledShutdown: -1})
		recs = append(recs, c.fenceChanges(img, b.ID, "broker asked to be fenced")...)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		resp.ErrorCode = kerr.RequestTimedOut.Code
		return resp, nil
	}
	resp.IsFenced = c.fenced(b.ID)
	if len(recs) > 0 {
		c.log.Info("broker fencing changed", "broker_id", b.ID, "fenced", resp.IsFenced, "partitions_changed", len(recs)-1)
	}
	return resp, nil
}

// controlledShutdownLocked handles a heartbeat asking to shut down. The
// first one marks the broker in controlled shutdown; every one moves the
// leaderships it has to another live ISR member and takes it out of the
// ISRs where others remain. It may stop (ShouldShutdown) once it leads
// nothing another replica could lead and, if leaderships moved, every other
// active broker has applied the metadata up to those moves, so the new
// leaders know before the old one goes (Kafka's lowest active offset); it
// is then fenced, as Kafka does, and what it still led (partitions no
// other replica could take) is left without a leader.
func (c *Controller) controlledShutdownLocked(ctx context.Context, b *metadata.Broker, s *session, resp *kmsg.BrokerHeartbeatResponse) error {
	if b.Fenced {
		resp.IsFenced, resp.ShouldShutdown = true, true
		return nil
	}
	img := c.image()
	var recs []metadata.Record
	if !b.InControlledShutdown {
		recs = append(recs, metadata.BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: -1, InControlledShutdown: 1})
	}
	changes, movedLeader := c.shutdownChanges(img, b.ID)
	recs = append(recs, changes...)
	if err := c.propose(ctx, recs); err != nil {
		return err
	}
	if movedLeader {
		s.shutdownOffset = c.image().Offset()
	}
	if !b.InControlledShutdown {
		c.log.Info("broker in controlled shutdown", "broker_id", b.ID, "partitions_changed", len(recs)-1)
	}
	img = c.image()
	if !c.mayStopLocked(img, b.ID, s.shutdownOffset) {
		return nil
	}
	recs = []metadata.Record{metadata.BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: 1, InControlledShutdown: -1}}
	recs = append(recs, c.fenceChanges(img, b.ID, "controlled shutdown")...)
	if err := c.propose(ctx, recs); err != nil {
		return err
	}
	c.log.Info("broker may shut down; fenced it", "broker_id", b.ID, "partitions_changed", len(recs)-1)
	resp.IsFenced, resp.ShouldShutdown = true, true
	return nil
}

// mayStopLocked reports whether a broker in controlled shutdown may stop,
// called right after shutdownChanges moved every leadership another
// replica could take: once every other active broker has reported a
// metadata offset of at least offset (0: no wait).
func (c *Controller) mayStopLocked(img *metadata.Image, id int32, offset uint64) bool {
	if offset == 0 {
		return true
	}
	for _, o := range img.Brokers() {
		if o.ID == id || o.Fenced || o.InControlledShutdown {
			continue
		}
		s := c.live.sessions[o.ID]
		if s == nil || s.epoch != o.Epoch || s.metadataOffset < int64(offset) {
			return false
		}
	}
	return true
}

func (c *Controller) fenced(id int32) bool {
	b, ok := c.image().Broker(id)
	return !ok || b.Fenced
}

// fenceChanges moves leadership away from a broker that stops being able to
// lead (fenced, or replaced by a new incarnation) and takes it out of the
// ISRs. A partition it led gets the next ISR member that can lead, or,
// when none can, a replica outside the ISR if the topic allows unclean
// elections, or no leader. The ISR keeps the broker when it is the last
// member, so it can lead again without losing acknowledged records.
func (c *Controller) fenceChanges(img *metadata.Image, id int32, why string) []metadata.Record {
	var out []metadata.Record
	canLead := activeExcept(img, id)
	eachPartition(img, func(p *metadata.Partition) {
		if !slices.Contains(p.ISR, id) && p.Leader != id {
			return
		}
		res := partitionChange{p: p, isr: without(p.ISR, id), canLead: canLead, unclean: c.uncleanFor(img, p.Topic)}.build()
		if res.changed {
			c.logElection(p, res, why)
			out = append(out, res.rec)
		}
	})
	return out
}

// unfenceChanges gives the leaderless partitions among a broker's replicas
// a leader, now that it can lead: from the ISR, or from outside it where
// the topic allows unclean elections.
func (c *Controller) unfenceChanges(img *metadata.Image, id int32) []metadata.Record {
	var out []metadata.Record
	canLead := func(r int32) bool { return r == id || active(img, r) }
	eachPartition(img, func(p *metadata.Partition) {
		if p.Leader != metadata.NoLeader || !slices.Contains(p.Replicas, id) {
			return
		}
		res := partitionChange{p: p, canLead: canLead, unclean: c.uncleanFor(img, p.Topic)}.build()
		if res.changed {
			c.logElection(p, res, "broker unfenced")
			out = append(out, res.rec)
		}
	})
	return out
}

// shutdownChanges moves a broker in controlled shutdown out of leaderships
// and ISRs where another member can take over, and says whether a
// leadership moved. It never elects uncleanly: the broker is still alive,
// and keeps leading what nobody else can.
func (c *Controller) shutdownChanges(img *metadata.Image, id int32) (out []metadata.Record, movedLeader bool) {
	canLead := activeExcept(img, id)
	eachPartition(img, func(p *metadata.Partition) {
		if !slices.Contains(p.ISR, id) {
			return
		}
		res := partitionChange{p: p, isr: without(p.ISR, id), canLead: canLead, keepIfNone: true}.build()
		if res.changed {
			c.logElection(p, res, "controlled shutdown")
			out = append(out, res.rec)
			movedLeader = movedLeader || p.Leader == id && res.leader != id
		}
	})
	return out, movedLeader
}
