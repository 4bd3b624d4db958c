package controller

import (
	"context"
	"errors"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Broker liveness (Kafka's BrokerHeartbeatManager): the active controller
// remembers when it last heard from each broker and fences a broker whose
// session (broker.session.timeout.ms) ran out. This state is not in the
// metadata log: a controller that becomes active starts every registered
// broker with a full session, so a change of controller fences nobody by
// itself.

// session is the active controller's view of one broker incarnation.
type session struct {
	epoch          int64     // the broker epoch it belongs to
	lastContact    time.Time // last registration or heartbeat (or activation)
	heard          bool      // the broker itself was in contact during this activation
	metadataOffset int64     // metadata offset of its last heartbeat; -1 unknown
	// shutdownOffset is, for a broker in controlled shutdown, the image
	// offset at which its leaderships had moved; it may stop once every
	// other active broker has applied that far. 0 when not shutting down.
	shutdownOffset uint64
	// refused is the last other incarnation refused this broker id while
	// this one lived, so that its retries are logged once.
	refused metadata.UUID
}

// liveness is the controller's per-activation state, guarded by mu.
type liveness struct {
	generation    uint64 // the value of Controller.activations it belongs to
	sessions      map[int32]*session
	nextUnclean   time.Time // next sweep for unclean elections
	nextRebalance time.Time // next automatic leader rebalance check
}

// uncleanSweepInterval is how often Tick looks for leaderless partitions
// that unclean.leader.election.enable lets it give a leader (Kafka's
// internal unclean.leader.election.interval.ms is 5 minutes; a topic whose
// setting was just turned on should not wait that long).
const uncleanSweepInterval = 10 * time.Second

// clockLocked reads the clock and, when Activate or Deactivate ran since
// the last operation, starts the per-activation state afresh.
func (c *Controller) clockLocked() time.Time {
	now := c.now()
	if gen := c.activations.Load(); c.live.sessions == nil || c.live.generation != gen {
		c.live = liveness{
			generation:    gen,
			sessions:      map[int32]*session{},
			nextUnclean:   now.Add(uncleanSweepInterval),
			nextRebalance: now.Add(c.rebalanceInterval()),
		}
	}
	return now
}

// sessionLocked returns the session of a registered broker, starting a full
// one when none is known for its current epoch.
func (c *Controller) sessionLocked(b *metadata.Broker, now time.Time) *session {
	s := c.live.sessions[b.ID]
	if s == nil || s.epoch != b.Epoch {
		s = &session{epoch: b.Epoch, lastContact: now, metadataOffset: -1}
		c.live.sessions[b.ID] = s
	}
	return s
}

func (c *Controller) sessionTimeout() time.Duration {
	return time.Duration(c.cfg.Broker.Quorum.BrokerSessionTimeoutMs) * time.Millisecond
}

func (c *Controller) rebalanceInterval() time.Duration {
	return time.Duration(c.cfg.Broker.Replication.LeaderImbalanceCheckIntervalSec) * time.Second
}

// TickInterval is how often Run calls Tick: an eighth of the broker session
// timeout, and at most maxTickInterval, so a silent broker is fenced at most
// 250 ms after its session ran out (9.25 s with the default 9 s session) and
// its leaderships move as soon as Kafka's would.
func (c *Controller) TickInterval() time.Duration {
	return min(max(c.sessionTimeout()/8, 10*time.Millisecond), maxTickInterval)
}

const maxTickInterval = 250 * time.Millisecond

// Run calls Tick every TickInterval until ctx ends. Run it for the node's
// lifetime on every node with the controller role; Tick does nothing while
// the node is not the active controller.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.TickInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Tick(ctx); err != nil && ctx.Err() == nil {
				if errors.Is(err, ErrNotActive) {
					c.log.Debug("periodic controller check skipped", "err", err)
				} else {
					c.log.Warn("periodic controller check failed", "err", err)
				}
			}
		}
	}
}

// Tick runs the periodic checks of the active controller, once: it fences
// at most one broker whose session expired (one at a time, as Kafka does,
// so each fencing's leader moves are in effect before the next), gives
// leaderless partitions a leader where unclean.leader.election.enable
// allows it, and rebalances leaders when auto.leader.rebalance.enable is
// on and leader.imbalance.check.interval.seconds has passed. It does
// nothing unless Activate was called more recently than Deactivate.
func (c *Controller) Tick(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clockLocked()
	if !c.active.Load() {
		return nil
	}
	if err := c.fenceStaleLocked(ctx, now); err != nil {
		return err
	}
	if !now.Before(c.live.nextUnclean) {
		c.live.nextUnclean = now.Add(uncleanSweepInterval)
		if err := c.electLeaderlessLocked(ctx); err != nil {
			return err
		}
	}
	if c.cfg.Broker.Replication.AutoLeaderRebalanceEnable && !now.Before(c.live.nextRebalance) {
		c.live.nextRebalance = now.Add(c.rebalanceInterval())
		if err := c.rebalanceLocked(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fenceStaleLocked fences the unfenced broker that has been silent longest,
// when its silence exceeds the session timeout.
func (c *Controller) fenceStaleLocked(ctx context.Context, now time.Time) error {
	img := c.image()
	timeout := c.sessionTimeout()
	var stale *metadata.Broker
	var staleSince time.Time
	for _, b := range img.LiveBrokers() {
		s := c.sessionLocked(b, now)
		if now.Sub(s.lastContact) > timeout && (stale == nil || s.lastContact.Before(staleSince)) {
			stale, staleSince = b, s.lastContact
		}
	}
	if stale == nil {
		return nil
	}
	recs := []metadata.Record{metadata.BrokerRegistrationChangeRecord{BrokerID: stale.ID, BrokerEpoch: stale.Epoch, Fenced: 1, InControlledShutdown: -1}}
	recs = append(recs, c.fenceChanges(img, stale.ID, "session expired")...)
	if err := c.propose(ctx, recs); err != nil {
		return err
	}
	c.log.Info("fenced broker: its session expired", "broker_id", stale.ID, "silent_ms", now.Sub(staleSince).Milliseconds(), "partitions_changed", len(recs)-1)
	return nil
}

// electLeaderlessLocked gives leaderless partitions a leader: from the ISR
// when a member can lead (a safety net; unfencing normally does it), else
// from outside it when the topic allows unclean elections.
func (c *Controller) electLeaderlessLocked(ctx context.Context) error {
	img := c.image()
	canLead := func(r int32) bool { return active(img, r) }
	unclean := map[string]func() bool{}
	var recs []metadata.Record
	eachPartition(img, func(p *metadata.Partition) {
		if p.Leader != metadata.NoLeader {
			return
		}
		u, ok := unclean[p.Topic]
		if !ok {
			u = memo(c.uncleanFor(img, p.Topic))
			unclean[p.Topic] = u
		}
		res := partitionChange{p: p, canLead: canLead, unclean: u}.build()
		if res.changed {
			c.logElection(p, res, "leaderless partition")
			recs = append(recs, res.rec)
		}
	})
	return c.propose(ctx, recs)
}

// memo returns f, evaluated at most once.
func memo(f func() bool) func() bool {
	var done, v bool
	return func() bool {
		if !done {
			v, done = f(), true
		}
		return v
	}
}
