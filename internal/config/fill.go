package config

import (
	"fmt"
	"strconv"
	"strings"
)

// reader returns typed effective values. Every value it reads has already
// been validated, so a type mismatch is a bug in this package.
type reader struct{ b *Broker }

func (r reader) get(name string) any {
	d, ok := brokerIndex[name]
	if !ok {
		panic("config: no definition for " + name)
	}
	raw, ok := r.b.Value(name)
	if !ok {
		return nil
	}
	v, reason := parse(d.Type, raw)
	if reason != "" {
		panic("config: unvalidated value for " + name + ": " + reason)
	}
	return v
}

func (r reader) i16(name string) int16   { v, _ := r.get(name).(int16); return v }
func (r reader) i32(name string) int32   { v, _ := r.get(name).(int32); return v }
func (r reader) i64(name string) int64   { v, _ := r.get(name).(int64); return v }
func (r reader) f64(name string) float64 { v, _ := r.get(name).(float64); return v }
func (r reader) on(name string) bool     { v, _ := r.get(name).(bool); return v }
func (r reader) str(name string) string  { v, _ := r.get(name).(string); return v }
func (r reader) list(name string) []string {
	v, _ := r.get(name).([]string)
	return v
}

// fill derives every typed field from the effective raw values.
func (b *Broker) fill() error {
	r := reader{b}
	b.NodeID = r.i32("node.id")
	b.Roles = r.list("process.roles")
	b.Rack = r.str("broker.rack")
	if b.isSet("log.dirs") {
		b.LogDirs = nonEmpty(r.list("log.dirs"))
	} else {
		b.LogDirs = nonEmpty(r.list("log.dir"))
	}
	if err := b.fillListeners(r); err != nil {
		return err
	}
	if err := b.fillQuorum(r); err != nil {
		return err
	}
	overrides, err := parseIPOverrides(r.str("max.connections.per.ip.overrides"))
	if err != nil {
		return err
	}
	b.Network = Network{
		SocketSendBufferBytes:                r.i32("socket.send.buffer.bytes"),
		SocketReceiveBufferBytes:             r.i32("socket.receive.buffer.bytes"),
		SocketRequestMaxBytes:                r.i32("socket.request.max.bytes"),
		SocketListenBacklogSize:              r.i32("socket.listen.backlog.size"),
		MetricsListener:                      r.str("metrics.listener"),
		ConnectionsMaxIdleMs:                 r.i64("connections.max.idle.ms"),
		RequestTimeoutMs:                     r.i32("request.timeout.ms"),
		QueuedMaxRequests:                    r.i32("queued.max.requests"),
		QueuedMaxRequestBytes:                r.i64("queued.max.request.bytes"),
		MaxConnections:                       r.i32("max.connections"),
		MaxConnectionsPerIP:                  r.i32("max.connections.per.ip"),
		MaxConnectionsPerIPOverrides:         overrides,
		MaxConnectionCreationRate:            r.i32("max.connection.creation.rate"),
		FetchMaxBytes:                        r.i32("fetch.max.bytes"),
		MaxIncrementalFetchSessionCacheSlots: r.i32("max.incremental.fetch.session.cache.slots"),
		MaxRequestPartitionSizeLimit:         r.i32("max.request.partition.size.limit"),
		NumNetworkThreads:                    r.i32("num.network.threads"),
		NumIOThreads:                         r.i32("num.io.threads"),
		BackgroundThreads:                    r.i32("background.threads"),
	}
	b.Topics = TopicPolicy{
		NumPartitions:            r.i32("num.partitions"),
		DefaultReplicationFactor: r.i32("default.replication.factor"),
		AutoCreateEnable:         r.on("auto.create.topics.enable"),
		DeleteEnable:             r.on("delete.topic.enable"),
	}
	b.Log = Log{
		RetentionCheckIntervalMs:             r.i64("log.retention.check.interval.ms"),
		FlushSchedulerIntervalMs:             r.i64("log.flush.scheduler.interval.ms"),
		FlushOffsetCheckpointIntervalMs:      r.i32("log.flush.offset.checkpoint.interval.ms"),
		FlushStartOffsetCheckpointIntervalMs: r.i32("log.flush.start.offset.checkpoint.interval.ms"),
		RecoveryThreadsPerDataDir:            r.i32("num.recovery.threads.per.data.dir"),
		DirFailureTimeoutMs:                  r.i64("log.dir.failure.timeout.ms"),
		CleanerEnable:                        r.on("log.cleaner.enable"),
		CleanerThreads:                       r.i32("log.cleaner.threads"),
		CleanerDedupeBufferSize:              r.i64("log.cleaner.dedupe.buffer.size"),
		CleanerIOBufferSize:                  r.i32("log.cleaner.io.buffer.size"),
		CleanerIOBufferLoadFactor:            r.f64("log.cleaner.io.buffer.load.factor"),
		CleanerIOMaxBytesPerSecond:           r.f64("log.cleaner.io.max.bytes.per.second"),
		CleanerBackoffMs:                     r.i64("log.cleaner.backoff.ms"),
	}
	b.Replication = Replication{
		LagTimeMaxMs:                      r.i64("replica.lag.time.max.ms"),
		SocketTimeoutMs:                   r.i32("replica.socket.timeout.ms"),
		SocketReceiveBufferBytes:          r.i32("replica.socket.receive.buffer.bytes"),
		FetchMaxBytes:                     r.i32("replica.fetch.max.bytes"),
		FetchWaitMaxMs:                    r.i32("replica.fetch.wait.max.ms"),
		FetchMinBytes:                     r.i32("replica.fetch.min.bytes"),
		FetchBackoffMs:                    r.i32("replica.fetch.backoff.ms"),
		FetchResponseMaxBytes:             r.i32("replica.fetch.response.max.bytes"),
		NumFetchers:                       r.i32("num.replica.fetchers"),
		HighWatermarkCheckpointIntervalMs: r.i64("replica.high.watermark.checkpoint.interval.ms"),
		AutoLeaderRebalanceEnable:         r.on("auto.leader.rebalance.enable"),
		LeaderImbalanceCheckIntervalSec:   r.i64("leader.imbalance.check.interval.seconds"),
		LeaderImbalancePerBrokerPercent:   r.i32("leader.imbalance.per.broker.percentage"),
	}
	b.Group = Group{
		MinSessionTimeoutMs:             r.i32("group.min.session.timeout.ms"),
		MaxSessionTimeoutMs:             r.i32("group.max.session.timeout.ms"),
		InitialRebalanceDelayMs:         r.i32("group.initial.rebalance.delay.ms"),
		MaxSize:                         r.i32("group.max.size"),
		RebalanceProtocols:              r.list("group.coordinator.rebalance.protocols"),
		ConsumerSessionTimeoutMs:        r.i32("group.consumer.session.timeout.ms"),
		ConsumerMinSessionTimeoutMs:     r.i32("group.consumer.min.session.timeout.ms"),
		ConsumerMaxSessionTimeoutMs:     r.i32("group.consumer.max.session.timeout.ms"),
		ConsumerHeartbeatIntervalMs:     r.i32("group.consumer.heartbeat.interval.ms"),
		ConsumerMinHeartbeatIntervalMs:  r.i32("group.consumer.min.heartbeat.interval.ms"),
		ConsumerMaxHeartbeatIntervalMs:  r.i32("group.consumer.max.heartbeat.interval.ms"),
		ConsumerMaxSize:                 r.i32("group.consumer.max.size"),
		OffsetsTopicPartitions:          r.i32("offsets.topic.num.partitions"),
		OffsetsTopicReplicationFactor:   r.i16("offsets.topic.replication.factor"),
		OffsetsTopicSegmentBytes:        r.i32("offsets.topic.segment.bytes"),
		OffsetsTopicCompressionCodec:    r.i32("offsets.topic.compression.codec"),
		OffsetsRetentionMinutes:         r.i32("offsets.retention.minutes"),
		OffsetsRetentionCheckIntervalMs: r.i64("offsets.retention.check.interval.ms"),
		OffsetCommitTimeoutMs:           r.i32("offsets.commit.timeout.ms"),
		OffsetsLoadBufferSize:           r.i32("offsets.load.buffer.size"),
		OffsetMetadataMaxBytes:          r.i32("offset.metadata.max.bytes"),
	}
	b.Txn = Txn{
		StateLogPartitions:             r.i32("transaction.state.log.num.partitions"),
		StateLogReplicationFactor:      r.i16("transaction.state.log.replication.factor"),
		StateLogMinISR:                 r.i32("transaction.state.log.min.isr"),
		StateLogSegmentBytes:           r.i32("transaction.state.log.segment.bytes"),
		StateLogLoadBufferSize:         r.i32("transaction.state.log.load.buffer.size"),
		TransactionalIDExpirationMs:    r.i32("transactional.id.expiration.ms"),
		MaxTimeoutMs:                   r.i32("transaction.max.timeout.ms"),
		AbortTimedOutCleanupIntervalMs: r.i32("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
		RemoveExpiredCleanupIntervalMs: r.i32("transaction.remove.expired.transaction.cleanup.interval.ms"),
		PartitionVerificationEnable:    r.on("transaction.partition.verification.enable"),
		ProducerIDExpirationMs:         r.i32("producer.id.expiration.ms"),
	}
	b.Security = Security{
		SuperUsers:                       splitSuperUsers(r.str("super.users")),
		AllowEveryoneIfNoACLFound:        r.on("allow.everyone.if.no.acl.found"),
		SASLMechanismInterBrokerProtocol: r.str("sasl.mechanism.inter.broker.protocol"),
		SASLMechanismControllerProtocol:  r.str("sasl.mechanism.controller.protocol"),
		SASLServerMaxReceiveSize:         r.i32("sasl.server.max.receive.size"),
		ConnectionsMaxReauthMs:           r.i64("connections.max.reauth.ms"),
		FailedAuthenticationDelayMs:      r.i32("connection.failed.authentication.delay.ms"),
		PrincipalMappingRules:            r.str("ssl.principal.mapping.rules"),
		QuotaWindowNum:                   r.i32("quota.window.num"),
		QuotaWindowSizeSeconds:           r.i32("quota.window.size.seconds"),
	}
	t, err := b.resolveTopic(nil, Dynamic{})
	if err != nil {
		return err
	}
	b.TopicDefaults = t
	return nil
}

// fillListeners resolves the protocol map, listeners and advertised
// listeners, adding the controller listener a controller node needs when
// its listeners name none (and controller.listener.names was left alone).
func (b *Broker) fillListeners(r reader) error {
	b.ControllerListenerNames = nil
	for _, n := range splitList(r.str("controller.listener.names")) {
		if n != "" {
			b.ControllerListenerNames = append(b.ControllerListenerNames, strings.ToUpper(n))
		}
	}
	protos, err := parseProtocolMap(r.str("listener.security.protocol.map"))
	if err != nil {
		return err
	}
	if !b.isSet("listener.security.protocol.map") {
		for _, n := range b.ControllerListenerNames {
			if _, ok := protos[n]; !ok {
				protos[n] = "PLAINTEXT"
			}
		}
	}
	b.SecurityProtocolMap = protos
	if b.Listeners, err = parseListenerList("listeners", r.str("listeners"), protos); err != nil {
		return err
	}
	if b.HasRole("controller") && len(b.ControllerListeners()) == 0 &&
		!b.isSet("controller.listener.names") && len(b.ControllerListenerNames) > 0 {
		b.Listeners = append(b.Listeners, b.impliedControllerListener(r))
	}
	if raw := r.str("advertised.listeners"); b.isSet("advertised.listeners") && strings.TrimSpace(raw) != "" {
		if b.AdvertisedListeners, err = parseListenerList("advertised.listeners", raw, protos); err != nil {
			return err
		}
	} else {
		b.AdvertisedListeners = append([]Listener(nil), b.Listeners...)
	}
	b.InterBrokerListenerName = strings.ToUpper(r.str("inter.broker.listener.name"))
	if b.InterBrokerListenerName == "" {
		b.InterBrokerListenerName = r.str("security.inter.broker.protocol")
	}
	return nil
}

// impliedControllerListener binds the first listener's host; its port is
// this node's port in controller.quorum.voters, or else the first port above
// the first listener's that no listener uses (9093 next to 9092).
func (b *Broker) impliedControllerListener(r reader) Listener {
	name := b.ControllerListenerNames[0]
	proto, ok := b.SecurityProtocolMap[name]
	if !ok {
		proto = "PLAINTEXT"
		b.SecurityProtocolMap[name] = proto
	}
	l := Listener{Name: name, Port: 9093, SecurityProtocol: proto}
	if len(b.Listeners) > 0 {
		l.Host, l.Port = b.Listeners[0].Host, b.Listeners[0].Port+1
	}
	if voters, err := parseVoters(nonEmpty(r.list("controller.quorum.voters"))); err == nil {
		for _, v := range voters {
			if v.ID == b.NodeID {
				return Listener{Name: name, Host: l.Host, Port: v.Port, SecurityProtocol: proto}
			}
		}
	}
	for taken := true; taken; {
		taken = false
		for _, o := range b.Listeners {
			if o.Port == l.Port {
				l.Port++
				taken = true
			}
		}
	}
	return l
}

func (b *Broker) fillQuorum(r reader) error {
	voters, err := parseVoters(nonEmpty(r.list("controller.quorum.voters")))
	if err != nil {
		return invalid("controller.quorum.voters", r.str("controller.quorum.voters"), err.Error())
	}
	if b.ImpliedQuorum {
		voters = nil
		if cl := b.advertisedController(); cl != nil {
			host := cl.Host
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "localhost"
			}
			voters = []Voter{{ID: b.NodeID, Host: host, Port: cl.Port}}
			b.defaults["controller.quorum.voters"] = voters[0].String()
		}
	}
	servers, err := parseHostPorts(nonEmpty(r.list("controller.quorum.bootstrap.servers")))
	if err != nil {
		return invalid("controller.quorum.bootstrap.servers", r.str("controller.quorum.bootstrap.servers"), err.Error())
	}
	metaDir := r.str("metadata.log.dir")
	if metaDir == "" && len(b.LogDirs) > 0 {
		metaDir = b.LogDirs[0]
	}
	b.Quorum = Quorum{
		Voters:                       voters,
		BootstrapServers:             servers,
		ElectionTimeoutMs:            r.i32("controller.quorum.election.timeout.ms"),
		FetchTimeoutMs:               r.i32("controller.quorum.fetch.timeout.ms"),
		ElectionBackoffMaxMs:         r.i32("controller.quorum.election.backoff.max.ms"),
		AppendLingerMs:               r.i32("controller.quorum.append.linger.ms"),
		RequestTimeoutMs:             r.i32("controller.quorum.request.timeout.ms"),
		RetryBackoffMs:               r.i32("controller.quorum.retry.backoff.ms"),
		BrokerSessionTimeoutMs:       r.i32("broker.session.timeout.ms"),
		BrokerHeartbeatIntervalMs:    r.i32("broker.heartbeat.interval.ms"),
		InitialRegistrationTimeoutMs: r.i32("initial.broker.registration.timeout.ms"),
		MetadataLogDir:               metaDir,
		MetadataLogSegmentBytes:      r.i32("metadata.log.segment.bytes"),
		MetadataLogSegmentMs:         r.i64("metadata.log.segment.ms"),
		MetadataMaxRetentionBytes:    r.i64("metadata.max.retention.bytes"),
		MetadataMaxRetentionMs:       r.i64("metadata.max.retention.ms"),
		SnapshotMaxNewRecordBytes:    r.i64("metadata.log.max.record.bytes.between.snapshots"),
		SnapshotMaxIntervalMs:        r.i64("metadata.log.max.snapshot.interval.ms"),
		MetadataMaxIdleIntervalMs:    r.i32("metadata.max.idle.interval.ms"),
	}
	return nil
}

// advertisedController is the address other nodes should use for this
// node's controller: its advertised controller entry, else its controller
// listener.
func (b *Broker) advertisedController() *Listener {
	for _, name := range b.ControllerListenerNames {
		for _, set := range [][]Listener{b.AdvertisedListeners, b.Listeners} {
			for i := range set {
				if set[i].Name == name {
					return &set[i]
				}
			}
		}
	}
	return nil
}

// parseIPOverrides parses max.connections.per.ip.overrides (host:count,...).
func parseIPOverrides(s string) (map[string]int32, error) {
	const key = "max.connections.per.ip.overrides"
	m := map[string]int32{}
	for _, e := range splitList(s) {
		if e == "" {
			continue
		}
		i := strings.LastIndexByte(e, ':')
		if i <= 0 {
			return nil, invalid(key, s, fmt.Sprintf("entry %q is not host:count", e))
		}
		n, err := strconv.ParseInt(strings.TrimSpace(e[i+1:]), 10, 32)
		if err != nil || n < 0 {
			return nil, invalid(key, s, fmt.Sprintf("entry %q: count must be a non-negative integer", e))
		}
		m[strings.TrimSpace(e[:i])] = int32(n)
	}
	return m, nil
}

func splitSuperUsers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// nonEmpty drops empty elements ("a,,b" and a trailing comma are common in
// hand-written lists of directories and voters).
func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
