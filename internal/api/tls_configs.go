package api

// Run-time changes of this broker's SSL listeners (Kafka's dynamic
// listener.name.<listener>.ssl.* configs, and ssl.* for every listener
// that does not set a value with its prefix). AlterConfigs and
// IncrementalAlterConfigs on this broker's own resource that touch them are
// checked here before they go to the controller, since only this broker can
// read its keystore files (INVALID_CONFIG otherwise, as Kafka answers), and
// applied before the answer once the controller committed them and this
// node's metadata shows them, so that the change is live when the client
// hears of it and setting a location to its current value re-reads the
// file. The metadata applies them as well when they change, and after a
// restart.

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
)

// ownBroker reports whether a broker resource names this broker.
func (h *Handler) ownBroker(typ kmsg.ConfigResourceType, name string) bool {
	return typ == kmsg.ConfigResourceTypeBroker && name == strconv.Itoa(int(h.cfg.NodeID))
}

// otherBroker refuses a broker resource that names a node other than this
// one, as Kafka's brokers do (INVALID_REQUEST): a broker's configs are
// changed through that broker, the only one that can check them against
// its own files before they are committed. "" (the cluster-wide defaults)
// is allowed.
func (h *Handler) otherBroker(typ kmsg.ConfigResourceType, name string) (*kerr.Error, string) {
	if typ != kmsg.ConfigResourceTypeBroker || name == "" {
		return nil, ""
	}
	if _, err := strconv.ParseInt(name, 10, 32); err != nil {
		return kerr.InvalidRequest, "Node id must be an integer, but it is: " + name
	}
	if !h.ownBroker(typ, name) {
		return kerr.InvalidRequest, fmt.Sprintf("Unexpected broker id, expected %d, but received %s", h.cfg.NodeID, name)
	}
	return nil, ""
}

// checkTLSChange checks a change of this broker's dynamic configs given as
// the configs it sets and removes. It returns the dynamic configs the
// broker would have, nil when the change touches no TLS setting, or an
// error when the listeners could not be set up with them.
func (h *Handler) checkTLSChange(set map[string]string, remove []string, replaceAll bool) (map[string]string, *kerr.Error, string) {
	touches := false
	for k := range set {
		touches = touches || config.IsTLSSetting(k)
	}
	for _, k := range remove {
		touches = touches || config.IsTLSSetting(k)
	}
	if !touches || h.cfg.TLS == nil {
		return nil, nil, ""
	}
	dynamic := map[string]string{}
	if !replaceAll {
		maps.Copy(dynamic, h.image().Configs(metadata.BrokerResource(h.cfg.NodeID)))
	}
	maps.Copy(dynamic, set)
	for _, k := range remove {
		delete(dynamic, k)
	}
	if err := h.cfg.TLS.CheckTLS(dynamic); err != nil {
		return nil, kerr.InvalidConfig, "Invalid dynamic TLS settings: " + err.Error()
	}
	return dynamic, nil, ""
}

// applyTLSChange makes live a change the controller committed, whose
// dynamic configs would be dynamic (nil: the change touched no TLS
// setting), once this node's metadata shows its TLS settings.
func (h *Handler) applyTLSChange(ctx context.Context, dynamic map[string]string) {
	if dynamic == nil {
		return
	}
	want := config.ListenerTLSSettings(dynamic)
	h.cfg.TLS.ReloadTLS(ctx, func(committed map[string]string) bool {
		return maps.Equal(config.ListenerTLSSettings(committed), want)
	})
}
