package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/samsa-io/samsa/internal/auth"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
)

// Run-time changes of an SSL listener's TLS settings, as Kafka makes them:
// kafka-configs.sh --alter --entity-type brokers --entity-name 1
// --add-config listener.name.ssl.ssl.keystore.location=/new.pem. The broker
// named checks the new settings before the change is committed (api), and
// applies them once committed, to connections that start afterwards. Setting
// a location to the value it has re-reads the file: that is how a
// certificate renewed in place is picked up. Dynamic values committed
// before a restart apply when the broker starts serving. An unprefixed
// ssl.* value (ssl.client.auth=required) applies to every listener without
// a prefixed value of its own.
// The connections this broker opens to other nodes' SSL listeners follow
// the same settings of those listeners, as Kafka's inter-broker client does.

// CheckTLS reports whether every SSL listener could be set up with dynamic
// as this broker's dynamic configs.
func (b *Broker) CheckTLS(dynamic map[string]string) error {
	for k := range dynamic {
		if name, ok := config.ListenerTLSKey(k); ok && !b.usesTLS(name) {
			return fmt.Errorf("%s: %s is not an SSL listener of broker %d", k, name, b.cfg.NodeID)
		}
	}
	for name, r := range b.tlsListeners {
		cfg, err := auth.ServerTLSWith(b.cfg, dynamic, name)
		if err != nil {
			return err
		}
		if err := auth.CheckIdentity(b.cfg, dynamic, name, r.Current(), cfg); err != nil {
			return err
		}
	}
	for _, name := range []string{b.cfg.InterBrokerListenerName, controllerListenerName(b.cfg)} {
		if _, err := peerTLS(b.cfg, dynamic, name); err != nil {
			return err
		}
	}
	return nil
}

// ApplyTLS sets every SSL listener up again with dynamic as this broker's
// dynamic configs, re-reading its files, and the connections this node
// opens to other nodes' SSL listeners (new ones; open ones keep their
// settings). A listener that cannot be set up keeps serving as it did; the
// errors are returned.
func (b *Broker) ApplyTLS(dynamic map[string]string) error {
	var errs []error
	for name, r := range b.tlsListeners {
		cfg, err := auth.ServerTLSWith(b.cfg, dynamic, name)
		if err == nil {
			// Checked again here: the files may have changed since the
			// change was checked, or the reload is of files renewed in
			// place.
			err = auth.CheckIdentity(b.cfg, dynamic, name, r.Current(), cfg)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Store(cfg)
	}
	if err := b.setPeerTLS(dynamic); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// followTLSConfigs applies this broker's committed dynamic configs to its SSL
// listeners when their TLS settings change; a change of other configs
// (log.retention.ms, say) does not re-read the keystores.
func (b *Broker) followTLSConfigs(d *metadata.Delta, _ *metadata.Image) {
	if d.ChangedConfigs[metadata.BrokerResource(b.cfg.NodeID)] {
		b.applyCommittedTLS(false)
	}
}

// tlsSettleWait bounds how long ReloadTLS waits for a committed change to
// reach this broker's metadata.
const tlsSettleWait = 5 * time.Second

// ReloadTLS makes a change of this broker's TLS settings live once the
// controller committed it: when this node's metadata shows it (shown
// reports that, given the broker's dynamic configs; waited for at most
// tlsSettleWait), every SSL listener is set up again from the committed
// settings, re-reading its files, so that setting a location to the value
// it has picks up a file renewed in place. Both this and the
// metadata-driven apply set the listeners up from the newest metadata, one
// at a time, so concurrent changes end in the last one committed.
func (b *Broker) ReloadTLS(ctx context.Context, shown func(dynamic map[string]string) bool) {
	timer := time.NewTimer(tlsSettleWait)
	defer timer.Stop()
	for {
		img := b.meta.Image()
		if shown(img.Configs(metadata.BrokerResource(b.cfg.NodeID))) {
			break
		}
		select {
		case <-b.meta.WaitFor(img.Offset() + 1):
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		break
	}
	b.applyCommittedTLS(true)
}

// applyCommittedTLS applies this broker's committed dynamic TLS settings, as
// the newest metadata has them: always when the broker starts serving or a
// change is made through it (ReloadTLS), otherwise when they differ from
// those last applied.
func (b *Broker) applyCommittedTLS(always bool) {
	if !b.anyTLS() {
		return
	}
	b.committedTLSMu.Lock()
	defer b.committedTLSMu.Unlock()
	dynamic := b.meta.Image().Configs(metadata.BrokerResource(b.cfg.NodeID))
	tlsKeys := config.ListenerTLSSettings(dynamic)
	if !always && maps.Equal(tlsKeys, b.committedTLS) {
		return
	}
	b.committedTLS = tlsKeys
	if err := b.ApplyTLS(dynamic); err != nil {
		b.log.Error("cannot apply the TLS settings committed for this broker; its listeners keep the previous ones", "err", err)
	}
}

// anyTLS reports whether the node serves or connects with TLS.
func (b *Broker) anyTLS() bool {
	return len(b.tlsListeners) > 0 || b.interTLS.Load() != nil || b.ctrlTLS.Load() != nil
}

// usesTLS reports whether the node serves listener over SSL, or connects to
// other nodes' listener of that name over SSL.
func (b *Broker) usesTLS(listener string) bool {
	if _, ok := b.tlsListeners[listener]; ok {
		return true
	}
	peer := listener == b.cfg.InterBrokerListenerName || listener == controllerListenerName(b.cfg)
	return peer && b.cfg.SecurityProtocolMap[listener] == "SSL"
}
