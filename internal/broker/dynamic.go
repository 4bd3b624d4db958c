package broker

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/server"
)

// Broker settings that change at run time outside the topic defaults and
// TLS: the connection limits (max.connections, max.connections.per.ip and
// its overrides, max.connection.creation.rate, and their
// listener.name.<l>. forms) and the log cleaner's I/O bound
// (log.cleaner.io.max.bytes.per.second). They apply from server.properties
// at startup, and again whenever kafka-configs.sh changes them on this
// broker or cluster-wide, as Kafka's do. Each of the node's two servers
// (client listeners, and the controller listener) counts its own
// connections, as Kafka's broker and controller socket servers do.

// dynamicConfigs are this broker's dynamic configs in img.
func (b *Broker) dynamicConfigs(img *metadata.Image) config.Dynamic {
	return config.Dynamic{
		PerBroker:      img.Configs(metadata.BrokerResource(b.cfg.NodeID)),
		ClusterDefault: img.Configs(metadata.DefaultBrokerResource),
	}
}

// serverLimits are the limits of a server of this node whose listener
// protected, if any, is exempt from the broker-wide count and rate.
func (b *Broker) serverLimits(dyn config.Dynamic, protected string) server.Limits {
	cl := b.cfg.ConnectionLimits(dyn)
	l := server.Limits{
		MaxConnections:      int(cl.MaxConnections),
		MaxConnectionsPerIP: int(cl.MaxConnectionsPerIP),
		PerIP:               b.resolveHosts(cl.MaxConnectionsPerIPByHost),
		CreationRate:        int(cl.MaxConnectionCreationRate),
		Listeners:           map[string]server.ListenerLimits{},
		Protected:           protected,
	}
	for name, ll := range cl.Listeners {
		l.Listeners[name] = server.ListenerLimits{MaxConnections: int(ll.MaxConnections), CreationRate: int(ll.MaxConnectionCreationRate)}
	}
	return l
}

// protectedListener is Kafka's: the inter-broker listener, when the node
// has other client listeners, keeps replication connected whatever the
// clients do.
func (b *Broker) protectedListener() string {
	if len(b.cfg.BrokerListeners()) > 1 {
		return b.cfg.InterBrokerListenerName
	}
	return ""
}

// hostLookupTimeout bounds the resolution of one host name of
// max.connections.per.ip.overrides.
const hostLookupTimeout = 2 * time.Second

// resolveHosts keys per-host caps by address, as Kafka resolves the host
// names of max.connections.per.ip.overrides. A name that does not resolve
// is logged and left out.
func (b *Broker) resolveHosts(byHost map[string]int32) map[string]int {
	out := make(map[string]int, len(byHost))
	for host, n := range byHost {
		host = strings.Trim(host, "[]") // an IPv6 address may come bracketed
		if ip := server.NormalizeIP(host); ip != "" {
			out[ip] = int(n)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		cancel()
		if err != nil {
			b.log.Warn("max.connections.per.ip.overrides: cannot resolve a host; its override does not apply", "host", host, "err", err)
			continue
		}
		for _, a := range addrs {
			if ip := server.NormalizeIP(a); ip != "" {
				out[ip] = int(n)
			}
		}
	}
	return out
}

// followBrokerConfigs applies changed dynamic broker settings.
func (b *Broker) followBrokerConfigs(d *metadata.Delta, _ *metadata.Image) {
	if d.ChangedConfigs[metadata.BrokerResource(b.cfg.NodeID)] || d.ChangedConfigs[metadata.DefaultBrokerResource] {
		b.applyBrokerConfigs()
	}
}

// applyBrokerConfigs applies this broker's dynamic settings as the newest
// metadata has them.
func (b *Broker) applyBrokerConfigs() {
	b.applyConnectionLimits()
	b.cleaner.SetIOMaxBytesPerSecond(b.cfg.CleanerIOMaxBytesPerSecond(b.dynamicConfigs(b.meta.Image())))
}

// applyConnectionLimits sets the limits of both servers from the newest
// metadata; one apply at a time, so the last one applied is the newest.
func (b *Broker) applyConnectionLimits() {
	b.connLimitsMu.Lock()
	defer b.connLimitsMu.Unlock()
	dyn := b.dynamicConfigs(b.meta.Image())
	b.server.SetLimits(b.serverLimits(dyn, b.protectedListener()))
	if b.ctrlServer != nil {
		b.ctrlServer.SetLimits(b.serverLimits(dyn, ""))
	}
}
