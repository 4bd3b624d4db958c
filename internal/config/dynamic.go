package config

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// ConnectionLimits are the connection limits a broker applies, as they
// stand with its dynamic configs: max.connections, max.connections.per.ip,
// max.connections.per.ip.overrides and max.connection.creation.rate, and
// the listener-prefixed listener.name.<l>.max.connections and
// listener.name.<l>.max.connection.creation.rate. Each value comes from
// the first of this broker's dynamic value, the cluster-wide dynamic
// default, server.properties and the default, as Kafka reads them.
type ConnectionLimits struct {
	MaxConnections            int32
	MaxConnectionsPerIP       int32
	MaxConnectionsPerIPByHost map[string]int32 // host name or address -> cap
	MaxConnectionCreationRate int32
	// Listeners has the listeners with a limit of their own, by name;
	// -1 is no limit.
	Listeners map[string]ListenerConnectionLimits
}

// ListenerConnectionLimits are one listener's own limits; -1 is none.
type ListenerConnectionLimits struct {
	MaxConnections            int32
	MaxConnectionCreationRate int32
}

// ConnectionLimits resolves the connection limits with dyn.
func (b *Broker) ConnectionLimits(dyn Dynamic) ConnectionLimits {
	n := b.Network
	out := ConnectionLimits{
		MaxConnections:            b.dynamicInt32("max.connections", dyn, n.MaxConnections),
		MaxConnectionsPerIP:       b.dynamicInt32("max.connections.per.ip", dyn, n.MaxConnectionsPerIP),
		MaxConnectionsPerIPByHost: n.MaxConnectionsPerIPOverrides,
		MaxConnectionCreationRate: b.dynamicInt32("max.connection.creation.rate", dyn, n.MaxConnectionCreationRate),
	}
	if v, ok := b.dynamicValue("max.connections.per.ip.overrides", dyn); ok {
		if m, err := parseIPOverrides(v); err == nil {
			out.MaxConnectionsPerIPByHost = m
		}
	}
	for _, l := range b.Listeners {
		prefix := "listener.name." + strings.ToLower(l.Name) + "."
		ll := ListenerConnectionLimits{
			MaxConnections:            b.dynamicInt32(prefix+"max.connections", dyn, -1),
			MaxConnectionCreationRate: b.dynamicInt32(prefix+"max.connection.creation.rate", dyn, -1),
		}
		if ll != (ListenerConnectionLimits{-1, -1}) {
			if out.Listeners == nil {
				out.Listeners = map[string]ListenerConnectionLimits{}
			}
			out.Listeners[l.Name] = ll
		}
	}
	return out
}

// dynamicValue is name's raw value from the first level that sets it
// (brokerLevels: this broker's dynamic configs, the cluster-wide ones, the
// static ones, the defaults).
func (b *Broker) dynamicValue(name string, dyn Dynamic) (string, bool) {
	for _, l := range b.brokerLevels(dyn) {
		if v, ok := l.props[name]; ok {
			return v, true
		}
	}
	return "", false
}

// dynamicInt32 is name's int value by dynamicValue, else def. Dynamic
// values were validated before they were committed.
func (b *Broker) dynamicInt32(name string, dyn Dynamic, def int32) int32 {
	if v, ok := b.dynamicValue(name, dyn); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil {
			return int32(n)
		}
	}
	return def
}

// ProducerIDExpirationMs is producer.id.expiration.ms as it stands with
// dyn: Kafka lets it change at run time, cluster-wide or for one broker.
func (b *Broker) ProducerIDExpirationMs(dyn Dynamic) int64 {
	return int64(b.dynamicInt32("producer.id.expiration.ms", dyn, b.Txn.ProducerIDExpirationMs))
}

// Millis converts a setting in milliseconds to a duration, saturating
// instead of overflowing: Kafka's long settings take Long.MaxValue for
// "never". A negative value is zero.
func Millis(ms int64) time.Duration {
	switch {
	case ms <= 0:
		return 0
	case ms > math.MaxInt64/int64(time.Millisecond):
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// CleanerIOMaxBytesPerSecond is log.cleaner.io.max.bytes.per.second as it
// stands with dyn.
func (b *Broker) CleanerIOMaxBytesPerSecond(dyn Dynamic) float64 {
	if v, ok := b.dynamicValue("log.cleaner.io.max.bytes.per.second", dyn); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
	}
	return b.Log.CleanerIOMaxBytesPerSecond
}

// RecoveryThreadsPerDataDir is num.recovery.threads.per.data.dir as it
// stands with dyn: a run-time change applies to the next start, as in
// Kafka.
func (b *Broker) RecoveryThreadsPerDataDir(dyn Dynamic) int {
	return int(max(b.dynamicInt32("num.recovery.threads.per.data.dir", dyn, b.Log.RecoveryThreadsPerDataDir), 1))
}
