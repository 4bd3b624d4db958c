package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// registration is the broker's lifecycle towards the controller (KIP-631):
// register an incarnation, then heartbeat. The controller unfences the
// broker once a heartbeat shows it has applied the metadata log up to its
// own registration; only then does it lead partitions.
type registration struct {
	b           *Broker
	incarnation metadata.UUID

	mu      sync.Mutex // guards epoch, lastAck and cutOff
	epoch   int64      // broker epoch; 0 until registered
	lastAck time.Time  // when a heartbeat was last answered unfenced; zero before
	cutOff  bool       // leadership suspended: no answer for a whole session

	start   time.Time    // monotonic origin of ackSent
	ackSent atomic.Int64 // when (since start, ns) the last heartbeat answered unfenced was sent; 0 before

	unfenced     chan struct{} // closed the first time the broker is unfenced
	unfencedOnce sync.Once
}

func newRegistration(b *Broker) *registration {
	return &registration{b: b, incarnation: metadata.NewUUID(), unfenced: make(chan struct{}), start: time.Now()}
}

func (r *registration) brokerEpoch() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// run registers and heartbeats until ctx is done.
func (r *registration) run(ctx context.Context) {
	done := make(chan struct{})
	defer func() { <-done }()
	go func() { defer close(done); r.watch(ctx) }()
	interval := time.Duration(r.b.cfg.Quorum.BrokerHeartbeatIntervalMs) * time.Millisecond
	retry := time.Duration(r.b.cfg.Quorum.RetryBackoffMs) * time.Millisecond
	// Ask often until unfenced, then at the configured interval.
	wait := 50 * time.Millisecond
	refused := false // the controller refused this incarnation's node id
	for {
		if err := r.step(ctx); err != nil && ctx.Err() == nil {
			if errors.Is(err, kerr.DuplicateBrokerRegistration) {
				// Usually this node's previous process, killed before its
				// session (broker.session.timeout.ms) ran out: say so once,
				// and ask less often while it lasts.
				if !refused {
					refused = true
					r.b.log.Warn("another live broker is registered with this node.id; retrying until its session ends")
					wait = retry
				} else {
					wait = min(2*wait, max(retry, dupRegistrationMaxBackoff))
				}
			} else {
				r.b.log.Debug("controller not reached yet", "err", err)
				wait = retry
			}
		} else {
			if refused && r.brokerEpoch() != 0 {
				refused = false
				r.b.log.Info("registered: the other broker's session with this node.id has ended")
			}
			select {
			case <-r.unfenced:
				wait = interval
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// dupRegistrationMaxBackoff bounds the growing wait between registrations
// the controller refused because another incarnation holds the node id:
// the node gets in at most this long after that session ends.
const dupRegistrationMaxBackoff = 250 * time.Millisecond

// step registers if needed, then sends one heartbeat.
func (r *registration) step(ctx context.Context) error {
	if r.brokerEpoch() == 0 {
		if err := r.register(ctx, r.clusterID()); err != nil {
			return err
		}
	}
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = r.b.cfg.NodeID, r.brokerEpoch()
	req.CurrentMetadataOffset = int64(r.b.meta.Image().Offset())
	// Bounded, so that a request stuck on an unreachable controller gives
	// way to a fresh attempt at whichever controller is active by then.
	hctx, cancel := context.WithTimeout(ctx, time.Duration(r.b.cfg.Quorum.BrokerSessionTimeoutMs/3)*time.Millisecond)
	defer cancel()
	sent := time.Since(r.start)
	resp, err := r.b.client.Request(hctx, req)
	if err != nil {
		return err
	}
	hb := resp.(*kmsg.BrokerHeartbeatResponse)
	switch {
	case hb.ErrorCode == kerr.StaleBrokerEpoch.Code:
		r.mu.Lock()
		r.epoch = 0 // the controller lost our registration: register again
		r.mu.Unlock()
		return kerr.StaleBrokerEpoch
	case hb.ErrorCode != 0:
		return kerr.ErrorForCode(hb.ErrorCode)
	}
	if !hb.IsFenced {
		r.unfencedOnce.Do(func() {
			r.b.log.Info("broker unfenced", "broker_epoch", req.BrokerEpoch)
			close(r.unfenced)
		})
		r.ackSent.Store(max(int64(sent), 1))
		r.mu.Lock()
		r.lastAck = time.Now()
		r.mu.Unlock()
		r.check()
	}
	return nil
}

// leaseHeld reports whether the controller's session for this broker
// certainly still runs: a heartbeat sent less than a session ago was
// answered unfenced (the controller counts the session from when it
// received it, later). Before the first such answer the broker leads
// nothing anyway.
func (r *registration) leaseHeld() bool {
	sent := r.ackSent.Load()
	if sent == 0 {
		return true
	}
	session := time.Duration(r.b.cfg.Quorum.BrokerSessionTimeoutMs) * time.Millisecond
	return time.Since(r.start)-time.Duration(sent) <= session
}

// watch suspends leadership when the controller has not answered a
// heartbeat for a whole session (broker.session.timeout.ms): by then it
// has fenced this broker and moved its leaderships, and a leader that went
// on taking writes could lose them to the new leader. Durations here come
// from the monotonic clock, so a jump of the wall clock changes nothing.
func (r *registration) watch(ctx context.Context) {
	session := time.Duration(r.b.cfg.Quorum.BrokerSessionTimeoutMs) * time.Millisecond
	t := time.NewTicker(max(session/8, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.check()
		}
	}
}

// check applies the rule of watch. Leadership comes back once a heartbeat
// is answered unfenced and the local metadata shows this broker unfenced
// under its epoch: the record that unfenced it follows any that moved its
// leaderships while it was away, so the partitions have learned their new
// roles first.
func (r *registration) check() {
	session := time.Duration(r.b.cfg.Quorum.BrokerSessionTimeoutMs) * time.Millisecond
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastAck.IsZero() {
		return // not serving yet
	}
	silent := time.Since(r.lastAck)
	switch {
	case !r.cutOff && silent > session:
		r.cutOff = true
		r.b.log.Warn("no answer from the controller for a whole session; not leading any partition until it answers",
			"silent", silent.Round(time.Millisecond))
		r.b.partitions.SetCutOff(true)
	case r.cutOff && silent <= session:
		b, ok := r.b.meta.Image().Broker(r.b.cfg.NodeID)
		if !ok || b.Fenced || b.Epoch != r.epoch {
			return
		}
		r.cutOff = false
		r.b.log.Info("the controller answers again; leading the partitions the metadata gives")
		r.b.partitions.SetCutOff(false)
	}
}

// clusterID is the cluster this node believes it belongs to: the metadata
// log's, else its log directories', else none yet (a new node joining; the
// controller accepts it and the node learns the id from the log).
func (r *registration) clusterID() string {
	if id := r.b.meta.Image().ClusterID(); id != "" {
		return id
	}
	for _, d := range r.b.dirs {
		if m, ok := d.Meta(); ok && m.ClusterID != "" {
			return m.ClusterID
		}
	}
	return ""
}

func (r *registration) register(ctx context.Context, clusterID string) error {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID, req.ClusterID, req.IncarnationID = r.b.cfg.NodeID, clusterID, r.incarnation
	if r.b.cfg.Rack != "" {
		req.Rack = kmsg.StringPtr(r.b.cfg.Rack)
	}
	for _, l := range r.b.advertised() {
		rl := kmsg.NewBrokerRegistrationRequestListener()
		rl.Name, rl.Host, rl.Port = l.Name, l.Host, uint16(l.Port)
		rl.SecurityProtocol = securityProtocol(r.b.cfg.SecurityProtocolMap[l.Name])
		req.Listeners = append(req.Listeners, rl)
	}
	resp, err := r.b.client.Request(ctx, req)
	if err != nil {
		return err
	}
	reg := resp.(*kmsg.BrokerRegistrationResponse)
	if reg.ErrorCode != 0 {
		return fmt.Errorf("broker registration: %w", kerr.ErrorForCode(reg.ErrorCode))
	}
	r.mu.Lock()
	r.epoch = reg.BrokerEpoch
	r.mu.Unlock()
	for _, d := range r.b.dirs {
		d.SetBrokerEpoch(reg.BrokerEpoch)
	}
	return nil
}

// shutdown is the broker's side of a controlled shutdown: it asks the
// controller, heartbeat after heartbeat, to move its leaderships away, and
// returns once the controller says it may stop (every leadership that
// could move has moved and the other brokers know it) or ctx ends.
func (r *registration) shutdown(ctx context.Context) {
	epoch := r.brokerEpoch()
	if epoch == 0 {
		return
	}
	interval := 200 * time.Millisecond
	// Long enough for the quorum to elect a new controller (this node may
	// have been it); past that nobody could move the leaderships anyway.
	patience := max(3*time.Duration(r.b.cfg.Quorum.ElectionTimeoutMs)*time.Millisecond, 3*time.Second)
	for {
		req := kmsg.NewPtrBrokerHeartbeatRequest()
		req.BrokerID, req.BrokerEpoch, req.WantShutdown = r.b.cfg.NodeID, epoch, true
		req.CurrentMetadataOffset = int64(r.b.meta.Image().Offset())
		rctx, cancel := context.WithTimeout(ctx, patience)
		resp, err := r.b.client.Request(rctx, req)
		cancel()
		switch {
		case err != nil:
			r.b.log.Warn("controlled shutdown: no controller answered; stopping anyway", "err", err)
			return
		case resp.(*kmsg.BrokerHeartbeatResponse).ErrorCode == kerr.StaleBrokerEpoch.Code:
			return // no longer registered under this epoch: nothing to move
		case resp.(*kmsg.BrokerHeartbeatResponse).ShouldShutdown:
			r.b.log.Info("controlled shutdown complete")
			return
		}
		select {
		case <-ctx.Done():
			r.b.log.Warn("controlled shutdown did not complete in time; stopping anyway")
			return
		case <-time.After(interval):
		}
	}
}

// brokerEpoch is this broker's epoch, 0 before it registered.
func (b *Broker) brokerEpoch() int64 {
	if b.reg == nil {
		return 0
	}
	return b.reg.brokerEpoch()
}

// leaseHeld is the partitions' lease (registration.leaseHeld); true before
// the registration starts.
func (b *Broker) leaseHeld() bool {
	if b.reg == nil {
		return true
	}
	return b.reg.leaseHeld()
}

// alterPartition sends an ISR change to the active controller.
func (b *Broker) alterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) (*kmsg.AlterPartitionResponse, error) {
	req.SetVersion(req.MaxVersion())
	resp, err := b.client.Request(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.AlterPartitionResponse), nil
}

// allocateProducerIDs asks the controller for a block of producer ids.
func (r *registration) allocateProducerIDs(ctx context.Context) (int64, int32, error) {
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = r.b.cfg.NodeID, r.brokerEpoch()
	resp, err := r.b.client.Request(ctx, req)
	if err != nil {
		return 0, 0, err
	}
	a := resp.(*kmsg.AllocateProducerIDsResponse)
	if a.ErrorCode != 0 {
		return 0, 0, kerr.ErrorForCode(a.ErrorCode)
	}
	return a.ProducerIDStart, a.ProducerIDLen, nil
}

// securityProtocol maps a protocol name to Kafka's number.
func securityProtocol(name string) int16 {
	switch name {
	case "SSL":
		return metadata.SecurityProtocolSSL
	case "SASL_PLAINTEXT":
		return metadata.SecurityProtocolSASLPlaintext
	case "SASL_SSL":
		return metadata.SecurityProtocolSASLSSL
	}
	return metadata.SecurityProtocolPlaintext
}
