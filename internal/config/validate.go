package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Validate checks the rules that span several settings, the ones Kafka
// enforces at startup in KRaft mode. It returns every broken rule, joined;
// each error is an *Error naming its keys. Load calls it; call it again
// after changing a Broker by hand (tests, clustertest).
func (b *Broker) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(b.validateRoles())
	add(b.validateIdentity())
	add(b.validateListenerSet("listeners", b.Listeners, true))
	add(b.validateListenerSet("advertised.listeners", b.AdvertisedListeners, false))
	if b.HasRole("broker") {
		add(b.validateBrokerListeners())
	}
	add(b.validateAdvertisedHosts())
	add(b.validateLimits())
	add(b.validateSecurity())
	return errors.Join(errs...)
}

// validateSecurity refuses listeners samsa cannot secure as asked: SASL is
// not served yet, and starting such a listener as plain, unauthenticated
// TCP would open what the operator meant to close. The same goes for the
// controller listener a broker-only node connects to, which it does not
// serve itself. (An SSL listener's keys are checked when it is bound; the
// authorizer is refused by its own check.)
func (b *Broker) validateSecurity() error {
	refuse := func(name, protocol string) error {
		return conflict(fmt.Sprintf("listeners: %s uses the security protocol %s, but samsa serves PLAINTEXT and SSL only for now (no SASL); "+
			"it will not serve or connect to that listener unauthenticated", name, protocol),
			"listeners", "listener.security.protocol.map")
	}
	for _, l := range b.Listeners {
		if l.SecurityProtocol != "PLAINTEXT" && l.SecurityProtocol != "SSL" {
			return refuse(l.Name, l.SecurityProtocol)
		}
	}
	for _, name := range b.ControllerListenerNames {
		p, ok := b.SecurityProtocolMap[name]
		if !ok {
			// Only an explicit map can lack it (fill maps the controller
			// listeners to PLAINTEXT otherwise), and a broker-only node
			// must not guess how to reach its controllers, as Kafka's
			// check says.
			return conflict(fmt.Sprintf("controller.listener.names: the controller listener %s is not in listener.security.protocol.map; "+
				"an explicit map must give each controller listener its security protocol (add %s:PLAINTEXT or %s:SSL)", name, name, name),
				"controller.listener.names", "listener.security.protocol.map")
		}
		if p != "PLAINTEXT" && p != "SSL" {
			return refuse(name, p)
		}
	}
	return nil
}

func (b *Broker) validateIdentity() error {
	if b.NodeID < 0 {
		return conflict("node.id (or broker.id) must be set to a non-negative integer unique in the cluster; "+
			"it defaults to 1 only when no controller.quorum.voters or controller.quorum.bootstrap.servers is set",
			"node.id", "broker.id")
	}
	if len(b.LogDirs) == 0 {
		return conflict("at least one data directory must be set with log.dirs or log.dir", "log.dirs", "log.dir")
	}
	seen := map[string]bool{}
	for _, d := range b.LogDirs {
		if seen[d] {
			return conflict("log.dirs lists "+d+" twice", "log.dirs")
		}
		seen[d] = true
	}
	return nil
}

func (b *Broker) validateRoles() error {
	if len(b.Roles) == 0 {
		return conflict("process.roles must contain broker, controller or both", "process.roles")
	}
	seen := map[string]bool{}
	for _, r := range b.Roles {
		if seen[r] {
			return conflict("process.roles lists "+r+" twice", "process.roles")
		}
		seen[r] = true
	}
	if len(b.Quorum.Voters) == 0 && len(b.Quorum.BootstrapServers) == 0 {
		return conflict("process.roles="+strings.Join(b.Roles, ",")+" needs the metadata quorum: set controller.quorum.voters "+
			"(id@host:port,...) or controller.quorum.bootstrap.servers",
			"controller.quorum.voters", "controller.quorum.bootstrap.servers", "process.roles")
	}
	if len(b.ControllerListenerNames) == 0 {
		return conflict("controller.listener.names must name at least one listener", "controller.listener.names")
	}
	voter := slices.ContainsFunc(b.Quorum.Voters, func(v Voter) bool { return v.ID == b.NodeID })
	if b.HasRole("controller") {
		if len(b.Quorum.Voters) > 0 && !voter && b.NodeID >= 0 {
			return conflict(fmt.Sprintf("node.id %d must be one of controller.quorum.voters (%s) because process.roles contains controller",
				b.NodeID, b.votersString()), "node.id", "controller.quorum.voters", "process.roles")
		}
		names := map[string]bool{}
		for _, l := range b.Listeners {
			names[l.Name] = true
		}
		for _, n := range b.ControllerListenerNames {
			if !names[n] {
				return conflict("controller.listener.names contains "+n+", which is not in listeners; a controller must listen on its controller listeners",
					"controller.listener.names", "listeners")
			}
		}
		if !b.HasRole("broker") && len(b.BrokerListeners()) > 0 {
			return conflict("listeners must contain only controller.listener.names listeners when process.roles=controller",
				"listeners", "controller.listener.names", "process.roles")
		}
		return nil
	}
	if voter {
		return conflict(fmt.Sprintf("node.id %d is in controller.quorum.voters, but process.roles=broker has no controller role",
			b.NodeID), "node.id", "controller.quorum.voters", "process.roles")
	}
	if len(b.ControllerListeners()) > 0 {
		return conflict("listeners must not contain a controller.listener.names listener when process.roles=broker",
			"listeners", "controller.listener.names", "process.roles")
	}
	return nil
}

func (b *Broker) votersString() string {
	s := make([]string, len(b.Quorum.Voters))
	for i, v := range b.Quorum.Voters {
		s[i] = v.String()
	}
	return strings.Join(s, ",")
}

// validateListenerSet checks names are unique and, for listeners, that two
// listeners share a port only when one is IPv4 and the other IPv6 (port 0,
// "any free port", is exempt), as Kafka does.
func (b *Broker) validateListenerSet(key string, ls []Listener, distinctPorts bool) error {
	names := map[string]bool{}
	for _, l := range ls {
		if names[l.Name] {
			return conflict(key+": each listener must have a different name; "+l.Name+" appears twice", key)
		}
		names[l.Name] = true
	}
	if !distinctPorts {
		return nil
	}
	for i, x := range ls {
		for _, y := range ls[i+1:] {
			if x.Port == 0 || x.Port != y.Port || oneV4OneV6(x.Host, y.Host) {
				continue
			}
			return conflict(fmt.Sprintf("%s: %s and %s use the same port %d; listeners need different ports unless one is IPv4 and the other IPv6",
				key, x.Name, y.Name, x.Port), key)
		}
	}
	return nil
}

func oneV4OneV6(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x.Is4() != y.Is4()
}

func (b *Broker) validateBrokerListeners() error {
	adv := b.AdvertisedBrokerListeners()
	if len(adv) == 0 {
		return conflict("there must be at least one broker listener in advertised.listeners (or listeners); "+
			"perhaps every listener is named in controller.listener.names?",
			"listeners", "advertised.listeners", "controller.listener.names")
	}
	if b.isSet("inter.broker.listener.name") && b.isSet("security.inter.broker.protocol") {
		return conflict("only one of inter.broker.listener.name and security.inter.broker.protocol may be set",
			"inter.broker.listener.name", "security.inter.broker.protocol")
	}
	if b.IsControllerListener(b.InterBrokerListenerName) {
		return conflict("inter.broker.listener.name "+b.InterBrokerListenerName+" is a controller listener; brokers replicate over a broker listener",
			"inter.broker.listener.name", "controller.listener.names")
	}
	if _, ok := b.InterBrokerListener(); !ok {
		return conflict(fmt.Sprintf("inter.broker.listener.name %s must be one of the advertised broker listeners (%s); "+
			"set inter.broker.listener.name or security.inter.broker.protocol to one of them",
			b.InterBrokerListenerName, listenerNames(adv)), "inter.broker.listener.name", "advertised.listeners")
	}
	bound := map[string]bool{}
	for _, l := range b.Listeners {
		bound[l.Name] = true
	}
	for _, l := range adv {
		if !bound[l.Name] {
			return conflict("advertised.listeners names "+l.Name+", which is not in listeners", "advertised.listeners", "listeners")
		}
	}
	return nil
}

func listenerNames(ls []Listener) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = l.Name
	}
	return strings.Join(s, ",")
}

// validateAdvertisedHosts rejects the wildcard addresses, which clients
// cannot connect to. Kafka rejects 0.0.0.0; samsa also rejects "::".
func (b *Broker) validateAdvertisedHosts() error {
	for _, l := range b.AdvertisedListeners {
		if l.Host == "0.0.0.0" || l.Host == "::" {
			key := "advertised.listeners"
			if !b.isSet(key) {
				key = "listeners"
			}
			return conflict(key+": "+l.String()+" advertises the non-routable address "+l.Host+
				"; set advertised.listeners to an address clients can reach", "advertised.listeners", "listeners")
		}
	}
	return nil
}

// validateLimits holds Kafka's numeric cross-checks.
func (b *Broker) validateLimits() error {
	var errs []error
	check := func(ok bool, msg string, keys ...string) {
		if !ok {
			errs = append(errs, conflict(msg, keys...))
		}
	}
	// Kafka logs an error when a heartbeat interval exceeds half the
	// session; one as long as the session fences every broker between
	// two heartbeats, so samsa refuses it.
	check(b.Quorum.BrokerHeartbeatIntervalMs < b.Quorum.BrokerSessionTimeoutMs,
		"broker.heartbeat.interval.ms must be less than broker.session.timeout.ms, or the controller fences every broker between two heartbeats",
		"broker.heartbeat.interval.ms", "broker.session.timeout.ms")
	rt := b.TopicDefaults
	check(rt.SegmentMs >= 1, "log.roll.ms (or log.roll.hours) must be at least 1 ms", "log.roll.ms", "log.roll.hours")
	check(rt.SegmentJitterMs >= 0, "log.roll.jitter.ms (or log.roll.jitter.hours) must not be negative", "log.roll.jitter.ms", "log.roll.jitter.hours")
	check(rt.RetentionMs >= 1 || rt.RetentionMs == -1,
		"log.retention.ms (or log.retention.minutes, log.retention.hours) must be unlimited (-1) or at least 1 ms",
		"log.retention.ms", "log.retention.minutes", "log.retention.hours")
	if b.Log.CleanerThreads > 0 {
		check(b.Log.CleanerDedupeBufferSize/int64(b.Log.CleanerThreads) > 1<<20,
			"log.cleaner.dedupe.buffer.size must be at least 1 MiB per log.cleaner.threads thread",
			"log.cleaner.dedupe.buffer.size", "log.cleaner.threads")
	}
	check(b.Replication.FetchWaitMaxMs <= b.Replication.SocketTimeoutMs,
		"replica.socket.timeout.ms must be at least replica.fetch.wait.max.ms",
		"replica.socket.timeout.ms", "replica.fetch.wait.max.ms")
	check(int64(b.Replication.FetchWaitMaxMs) <= b.Replication.LagTimeMaxMs,
		"replica.fetch.wait.max.ms must be at most replica.lag.time.max.ms",
		"replica.fetch.wait.max.ms", "replica.lag.time.max.ms")
	check(b.Network.QueuedMaxRequestBytes <= 0 || b.Network.QueuedMaxRequestBytes >= int64(b.Network.SocketRequestMaxBytes),
		"queued.max.request.bytes must be at least socket.request.max.bytes (or -1)",
		"queued.max.request.bytes", "socket.request.max.bytes")
	check(b.Network.MaxConnectionsPerIP != 0 || len(b.Network.MaxConnectionsPerIPOverrides) > 0,
		"max.connections.per.ip may be 0 only when max.connections.per.ip.overrides is set",
		"max.connections.per.ip", "max.connections.per.ip.overrides")
	check(b.Network.ConnectionsMaxIdleMs < 0 || int64(b.Security.FailedAuthenticationDelayMs) < b.Network.ConnectionsMaxIdleMs,
		"connection.failed.authentication.delay.ms must be less than connections.max.idle.ms",
		"connection.failed.authentication.delay.ms", "connections.max.idle.ms")
	check(rt.MinCompactionLagMs <= rt.MaxCompactionLagMs,
		fmt.Sprintf("log.cleaner.min.compaction.lag.ms (%d) must not exceed log.cleaner.max.compaction.lag.ms (%d)",
			rt.MinCompactionLagMs, rt.MaxCompactionLagMs),
		"log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms")
	return errors.Join(errs...)
}
