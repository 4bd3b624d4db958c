package api

// Run-time changes of this broker's SSL listeners (Kafka's dynamic
// listener.name.<listener>.ssl.* configs). AlterConfigs and
// IncrementalAlterConfigs on this broker's own resource that touch them are
// checked here before they go to the controller, since only this broker can
// read its keystore files (INVALID_CONFIG otherwise, as Kafka answers), and
// applied here once the controller committed them, so that setting a
// location to its current value re-reads the file. The metadata the
// controller commits applies them as well, on this broker and after a
// restart.

import (
	"maps"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// tlsChange is a pending change of this broker's TLS settings.
type tlsChange struct {
	dynamic map[string]string // the broker's dynamic configs as they would be
}

// isTLSKey reports whether a config is a listener's TLS setting.
func isTLSKey(name string) bool {
	rest, ok := strings.CutPrefix(name, "listener.name.")
	if !ok {
		return false
	}
	_, key, ok := strings.Cut(rest, ".")
	return ok && strings.HasPrefix(key, "ssl.")
}

// ownBroker reports whether a broker resource names this broker.
func (h *Handler) ownBroker(typ kmsg.ConfigResourceType, name string) bool {
	return typ == kmsg.ConfigResourceTypeBroker && name == strconv.Itoa(int(h.cfg.NodeID))
}

// checkTLSChange checks a change of this broker's dynamic configs given as
// the configs it sets and removes: nil when it touches no TLS setting; an
// error when the listeners could not be set up with it.
func (h *Handler) checkTLSChange(set map[string]string, remove []string, replaceAll bool) (*tlsChange, *kerr.Error, string) {
	touches := false
	for k := range set {
		touches = touches || isTLSKey(k)
	}
	for _, k := range remove {
		touches = touches || isTLSKey(k)
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
	return &tlsChange{dynamic: dynamic}, nil, ""
}

// applyTLSChange applies a change the controller committed.
func (h *Handler) applyTLSChange(ch *tlsChange) {
	if ch == nil {
		return
	}
	if err := h.cfg.TLS.ApplyTLS(ch.dynamic); err != nil {
		h.log.Error("cannot apply new TLS settings; the listeners keep the previous ones", "err", err)
	}
}
