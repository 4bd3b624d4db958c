package config

import (
	"slices"
	"strings"
)

// Broker is one node's resolved configuration. Load and FromMap build it;
// it is immutable afterwards and safe for concurrent reads. Fields hold
// effective values (set value, else samsa's default); units are in the
// field comments. Settings not given a field here are still readable with
// Value and ListenerConfig.
type Broker struct {
	NodeID int32    // node.id (alias broker.id)
	Roles  []string // process.roles: "broker", "controller" or both
	Rack   string   // broker.rack; "" when unset

	// Listeners is what this node binds, in the order written, with the
	// controller listener samsa adds when a controller's listeners name none.
	Listeners []Listener
	// AdvertisedListeners is advertised.listeners, or Listeners when unset.
	// It may contain controller listeners (the controller's advertised
	// address); AdvertisedBrokerListeners leaves them out.
	AdvertisedListeners     []Listener
	ControllerListenerNames []string          // controller.listener.names, upper-cased
	InterBrokerListenerName string            // inter.broker.listener.name, else the security.inter.broker.protocol name
	SecurityProtocolMap     map[string]string // listener name -> protocol, with implied CONTROLLER:PLAINTEXT

	// LogDirs are the data directories: log.dirs, else log.dir.
	LogDirs []string

	Quorum      Quorum
	Network     Network
	Topics      TopicPolicy
	Log         Log
	Replication Replication
	Group       Group
	Txn         Txn
	Security    Security

	// TopicDefaults are the topic configs a topic without overrides gets
	// from the static settings (the log.* synonyms) and defaults, before any
	// dynamic broker default; ResolveTopic applies overrides and those.
	TopicDefaults Topic

	// ImpliedQuorum is true when this node has the controller role and
	// neither controller.quorum.voters nor controller.quorum.bootstrap.servers
	// is set: the node is then the single voter of its own one-node cluster,
	// node.id defaults to 1, and the internal topics default to replication
	// factor 1 (min ISR 1) so that groups and transactions work on one node.
	// A cluster of several nodes sets controller.quorum.voters on every node,
	// which restores Kafka's defaults (3 replicas, min ISR 2).
	ImpliedQuorum bool

	static   map[string]string // set in the file, environment or --override; raw
	defaults map[string]string // samsa's defaults, including implied ones; raw; null defaults absent
}

// Quorum configures the Raft metadata quorum and the metadata log.
type Quorum struct {
	Voters                       []Voter    // controller.quorum.voters (possibly implied)
	BootstrapServers             []HostPort // controller.quorum.bootstrap.servers
	ElectionTimeoutMs            int32      // controller.quorum.election.timeout.ms
	FetchTimeoutMs               int32      // controller.quorum.fetch.timeout.ms
	ElectionBackoffMaxMs         int32      // controller.quorum.election.backoff.max.ms
	AppendLingerMs               int32      // controller.quorum.append.linger.ms
	RequestTimeoutMs             int32      // controller.quorum.request.timeout.ms
	RetryBackoffMs               int32      // controller.quorum.retry.backoff.ms
	BrokerSessionTimeoutMs       int32      // broker.session.timeout.ms
	BrokerHeartbeatIntervalMs    int32      // broker.heartbeat.interval.ms
	InitialRegistrationTimeoutMs int32      // initial.broker.registration.timeout.ms
	MetadataLogDir               string     // metadata.log.dir, else the first of LogDirs
	MetadataLogSegmentBytes      int32      // metadata.log.segment.bytes
	MetadataLogSegmentMs         int64      // metadata.log.segment.ms
	MetadataMaxRetentionBytes    int64      // metadata.max.retention.bytes; -1 unlimited
	MetadataMaxRetentionMs       int64      // metadata.max.retention.ms; -1 unlimited
	SnapshotMaxNewRecordBytes    int64      // metadata.log.max.record.bytes.between.snapshots
	SnapshotMaxIntervalMs        int64      // metadata.log.max.snapshot.interval.ms; 0 disables
	MetadataMaxIdleIntervalMs    int32      // metadata.max.idle.interval.ms; 0 disables
}

// Network configures listeners' sockets, request limits and connection caps.
type Network struct {
	SocketSendBufferBytes                int32            // socket.send.buffer.bytes; -1 OS default
	SocketReceiveBufferBytes             int32            // socket.receive.buffer.bytes; -1 OS default
	SocketRequestMaxBytes                int32            // socket.request.max.bytes: largest request frame
	SocketListenBacklogSize              int32            // socket.listen.backlog.size
	MetricsListener                      string           // metrics.listener: host:port of the metrics endpoint; "" none
	ConnectionsMaxIdleMs                 int64            // connections.max.idle.ms; -1 never
	RequestTimeoutMs                     int32            // request.timeout.ms: deadline for a whole frame once its first byte arrived
	QueuedMaxRequests                    int32            // queued.max.requests
	QueuedMaxRequestBytes                int64            // queued.max.request.bytes; -1 unlimited
	MaxConnections                       int32            // max.connections
	MaxConnectionsPerIP                  int32            // max.connections.per.ip
	MaxConnectionsPerIPOverrides         map[string]int32 // max.connections.per.ip.overrides: host or IP -> cap
	MaxConnectionCreationRate            int32            // max.connection.creation.rate, per second
	FetchMaxBytes                        int32            // fetch.max.bytes: cap of one Fetch response
	MaxIncrementalFetchSessionCacheSlots int32            // max.incremental.fetch.session.cache.slots
	MaxRequestPartitionSizeLimit         int32            // max.request.partition.size.limit
	NumNetworkThreads                    int32            // num.network.threads (ignored by samsa)
	NumIOThreads                         int32            // num.io.threads (ignored by samsa)
	BackgroundThreads                    int32            // background.threads (ignored by samsa)
}

// TopicPolicy configures topic creation and deletion.
type TopicPolicy struct {
	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int32 // default.replication.factor
	AutoCreateEnable         bool  // auto.create.topics.enable
	DeleteEnable             bool  // delete.topic.enable
}

// Log configures log maintenance on this broker.
type Log struct {
	RetentionCheckIntervalMs             int64   // log.retention.check.interval.ms
	FlushSchedulerIntervalMs             int64   // log.flush.scheduler.interval.ms
	FlushOffsetCheckpointIntervalMs      int32   // log.flush.offset.checkpoint.interval.ms
	FlushStartOffsetCheckpointIntervalMs int32   // log.flush.start.offset.checkpoint.interval.ms
	RecoveryThreadsPerDataDir            int32   // num.recovery.threads.per.data.dir
	DirFailureTimeoutMs                  int64   // log.dir.failure.timeout.ms
	CleanerEnable                        bool    // log.cleaner.enable
	CleanerThreads                       int32   // log.cleaner.threads
	CleanerDedupeBufferSize              int64   // log.cleaner.dedupe.buffer.size, bytes
	CleanerIOBufferSize                  int32   // log.cleaner.io.buffer.size, bytes
	CleanerIOBufferLoadFactor            float64 // log.cleaner.io.buffer.load.factor
	CleanerIOMaxBytesPerSecond           float64 // log.cleaner.io.max.bytes.per.second
	CleanerBackoffMs                     int64   // log.cleaner.backoff.ms
}

// Replication configures followers and leader balancing.
type Replication struct {
	LagTimeMaxMs                      int64 // replica.lag.time.max.ms
	SocketTimeoutMs                   int32 // replica.socket.timeout.ms
	SocketReceiveBufferBytes          int32 // replica.socket.receive.buffer.bytes
	FetchMaxBytes                     int32 // replica.fetch.max.bytes, per partition
	FetchWaitMaxMs                    int32 // replica.fetch.wait.max.ms
	FetchMinBytes                     int32 // replica.fetch.min.bytes
	FetchBackoffMs                    int32 // replica.fetch.backoff.ms
	FetchResponseMaxBytes             int32 // replica.fetch.response.max.bytes
	NumFetchers                       int32 // num.replica.fetchers
	HighWatermarkCheckpointIntervalMs int64 // replica.high.watermark.checkpoint.interval.ms
	AutoLeaderRebalanceEnable         bool  // auto.leader.rebalance.enable
	LeaderImbalanceCheckIntervalSec   int64 // leader.imbalance.check.interval.seconds
	LeaderImbalancePerBrokerPercent   int32 // leader.imbalance.per.broker.percentage
}

// Group configures the group coordinator and __consumer_offsets.
type Group struct {
	MinSessionTimeoutMs             int32    // group.min.session.timeout.ms
	MaxSessionTimeoutMs             int32    // group.max.session.timeout.ms
	InitialRebalanceDelayMs         int32    // group.initial.rebalance.delay.ms
	MaxSize                         int32    // group.max.size
	RebalanceProtocols              []string // group.coordinator.rebalance.protocols
	ConsumerSessionTimeoutMs        int32    // group.consumer.session.timeout.ms
	ConsumerMinSessionTimeoutMs     int32    // group.consumer.min.session.timeout.ms
	ConsumerMaxSessionTimeoutMs     int32    // group.consumer.max.session.timeout.ms
	ConsumerHeartbeatIntervalMs     int32    // group.consumer.heartbeat.interval.ms
	ConsumerMinHeartbeatIntervalMs  int32    // group.consumer.min.heartbeat.interval.ms
	ConsumerMaxHeartbeatIntervalMs  int32    // group.consumer.max.heartbeat.interval.ms
	ConsumerMaxSize                 int32    // group.consumer.max.size
	OffsetsTopicPartitions          int32    // offsets.topic.num.partitions
	OffsetsTopicReplicationFactor   int16    // offsets.topic.replication.factor
	OffsetsTopicSegmentBytes        int32    // offsets.topic.segment.bytes
	OffsetsTopicCompressionCodec    int32    // offsets.topic.compression.codec
	OffsetsRetentionMinutes         int32    // offsets.retention.minutes
	OffsetsRetentionCheckIntervalMs int64    // offsets.retention.check.interval.ms
	OffsetCommitTimeoutMs           int32    // offsets.commit.timeout.ms
	OffsetsLoadBufferSize           int32    // offsets.load.buffer.size, bytes
	OffsetMetadataMaxBytes          int32    // offset.metadata.max.bytes
}

// Txn configures the transaction coordinator, __transaction_state and
// producer-id expiry.
type Txn struct {
	StateLogPartitions             int32 // transaction.state.log.num.partitions
	StateLogReplicationFactor      int16 // transaction.state.log.replication.factor
	StateLogMinISR                 int32 // transaction.state.log.min.isr
	StateLogSegmentBytes           int32 // transaction.state.log.segment.bytes
	StateLogLoadBufferSize         int32 // transaction.state.log.load.buffer.size, bytes
	TransactionalIDExpirationMs    int32 // transactional.id.expiration.ms
	MaxTimeoutMs                   int32 // transaction.max.timeout.ms
	AbortTimedOutCleanupIntervalMs int32 // transaction.abort.timed.out.transaction.cleanup.interval.ms
	RemoveExpiredCleanupIntervalMs int32 // transaction.remove.expired.transaction.cleanup.interval.ms
	PartitionVerificationEnable    bool  // transaction.partition.verification.enable
	ProducerIDExpirationMs         int32 // producer.id.expiration.ms
}

// Security holds the broker-wide security settings; listener-scoped ones
// (ssl.*, sasl.jaas.config, sasl.enabled.mechanisms) are read with
// ListenerConfig.
type Security struct {
	SuperUsers                       []string // super.users, split on ';'
	AllowEveryoneIfNoACLFound        bool     // allow.everyone.if.no.acl.found
	SASLMechanismInterBrokerProtocol string   // sasl.mechanism.inter.broker.protocol
	SASLMechanismControllerProtocol  string   // sasl.mechanism.controller.protocol
	SASLServerMaxReceiveSize         int32    // sasl.server.max.receive.size, bytes
	ConnectionsMaxReauthMs           int64    // connections.max.reauth.ms; 0 never
	FailedAuthenticationDelayMs      int32    // connection.failed.authentication.delay.ms
	PrincipalMappingRules            string   // ssl.principal.mapping.rules
	QuotaWindowNum                   int32    // quota.window.num: samples of a client quota's rate
	QuotaWindowSizeSeconds           int32    // quota.window.size.seconds: each sample's span
}

// HasRole reports whether process.roles contains role ("broker" or "controller").
func (b *Broker) HasRole(role string) bool { return slices.Contains(b.Roles, role) }

// IsControllerListener reports whether name is one of controller.listener.names.
func (b *Broker) IsControllerListener(name string) bool {
	return slices.Contains(b.ControllerListenerNames, strings.ToUpper(name))
}

// BrokerListeners are the listeners that serve clients and replication
// (every listener but the controller ones).
func (b *Broker) BrokerListeners() []Listener {
	return b.filter(b.Listeners, false)
}

// ControllerListeners are the listeners that serve the metadata quorum.
func (b *Broker) ControllerListeners() []Listener {
	return b.filter(b.Listeners, true)
}

// AdvertisedBrokerListeners are the endpoints Metadata returns for this
// broker. A Host of "" means the caller substitutes this machine's host name,
// as Kafka does.
func (b *Broker) AdvertisedBrokerListeners() []Listener {
	return b.filter(b.AdvertisedListeners, false)
}

// InterBrokerListener returns the advertised endpoint other brokers use to
// replicate from this one.
func (b *Broker) InterBrokerListener() (Listener, bool) {
	for _, l := range b.AdvertisedBrokerListeners() {
		if l.Name == b.InterBrokerListenerName {
			return l, true
		}
	}
	return Listener{}, false
}

func (b *Broker) filter(ls []Listener, controller bool) []Listener {
	var out []Listener
	for _, l := range ls {
		if b.IsControllerListener(l.Name) == controller {
			out = append(out, l)
		}
	}
	return out
}

// Value returns the effective raw value of any broker setting as this node
// started with it (set, else default) and whether it has one; null defaults
// report false. Dynamic values from AlterConfigs are not included.
func (b *Broker) Value(name string) (string, bool) {
	if v, ok := b.static[name]; ok {
		return v, true
	}
	v, ok := b.defaults[name]
	return v, ok
}

// ListenerConfig returns a listener-scoped setting for listener: the value
// of listener.name.<listener>.<key> if set, else that of <key> (without a
// leading SASL mechanism segment, so "plain.sasl.jaas.config" falls back to
// sasl.jaas.config). Passwords are returned in clear; never log them.
func (b *Broker) ListenerConfig(listener, key string) (string, bool) {
	if v, ok := b.Value("listener.name." + strings.ToLower(listener) + "." + key); ok {
		return v, true
	}
	if _, ok := brokerIndex[key]; !ok {
		if _, base, cut := strings.Cut(key, "."); cut && strings.HasPrefix(base, "sasl.") {
			key = base
		}
	}
	return b.Value(key)
}

// isSet reports whether name was given in the file, environment or overrides.
func (b *Broker) isSet(name string) bool {
	_, ok := b.static[name]
	return ok
}
