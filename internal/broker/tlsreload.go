package broker

import (
	"errors"
	"fmt"
	"maps"

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
// before a restart apply when the broker starts serving.
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
// (log.cleaner.threads, say) does not re-read the keystores.
func (b *Broker) followTLSConfigs(d *metadata.Delta, img *metadata.Image) {
	if d.ChangedConfigs[metadata.BrokerResource(b.cfg.NodeID)] {
		b.applyCommittedTLS(img, false)
	}
}

// applyCommittedTLS applies this broker's committed dynamic TLS settings:
// always when the broker starts serving, afterwards when they differ from
// those last applied from the metadata.
func (b *Broker) applyCommittedTLS(img *metadata.Image, always bool) {
	if !b.anyTLS() {
		return
	}
	dynamic := img.Configs(metadata.BrokerResource(b.cfg.NodeID))
	tlsKeys := maps.Collect(func(yield func(string, string) bool) {
		for k, v := range dynamic {
			if _, ok := config.ListenerTLSKey(k); ok && !yield(k, v) {
				return
			}
		}
	})
	b.committedTLSMu.Lock()
	defer b.committedTLSMu.Unlock()
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
