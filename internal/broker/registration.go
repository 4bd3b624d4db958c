package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

	mu    sync.Mutex // guards epoch
	epoch int64      // broker epoch; 0 until registered

	unfenced     chan struct{} // closed the first time the broker is unfenced
	unfencedOnce sync.Once
}

func newRegistration(b *Broker) *registration {
	return &registration{b: b, incarnation: metadata.NewUUID(), unfenced: make(chan struct{})}
}

func (r *registration) brokerEpoch() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// run registers and heartbeats until ctx is done.
func (r *registration) run(ctx context.Context) {
	interval := time.Duration(r.b.cfg.Quorum.BrokerHeartbeatIntervalMs) * time.Millisecond
	retry := time.Duration(r.b.cfg.Quorum.RetryBackoffMs) * time.Millisecond
	// Ask often until unfenced, then at the configured interval.
	wait := 50 * time.Millisecond
	for {
		if err := r.step(ctx); err != nil && ctx.Err() == nil {
			r.b.log.Debug("controller not reached yet", "err", err)
			wait = retry
		} else {
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

// step registers if needed, then sends one heartbeat.
func (r *registration) step(ctx context.Context) error {
	img := r.b.meta.Image()
	if img.ClusterID() == "" {
		return errors.New("no cluster id yet")
	}
	if r.brokerEpoch() == 0 {
		if err := r.register(ctx, img.ClusterID()); err != nil {
			return err
		}
	}
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = r.b.cfg.NodeID, r.brokerEpoch()
	req.CurrentMetadataOffset = int64(r.b.meta.Image().Offset())
	resp, err := r.b.client.Request(ctx, req)
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
	}
	return nil
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

// shutdown tells the controller the broker is going away (controlled
// shutdown).
func (r *registration) shutdown(ctx context.Context) {
	epoch := r.brokerEpoch()
	if epoch == 0 {
		return
	}
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch, req.WantShutdown = r.b.cfg.NodeID, epoch, true
	req.CurrentMetadataOffset = int64(r.b.meta.Image().Offset())
	if _, err := r.b.client.Request(ctx, req); err != nil {
		r.b.log.Debug("controlled shutdown request failed", "err", err)
	}
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
