// Package config owns samsa's configuration: the one table of Kafka property
// names with their types, defaults, validation, documentation and dynamic
// update modes, the parsing of server.properties, and the topic-config half
// of the same table that CreateTopics, DescribeConfigs and
// IncrementalAlterConfigs use. Other packages receive the typed structs
// (Broker and its parts, Topic); only cmd/ and this package read files,
// flags and the environment. It imports the standard library only.
//
// # Precedence
//
// A broker setting takes the first value found in
//
//	--override key=value   (Load's overrides; the last one given wins)
//	SAMSA_* environment    (SAMSA_LOG_DIRS=/d sets log.dirs; "__" stands for "_")
//	server.properties      (Java .properties syntax, see ParseProperties)
//	samsa's default        (Kafka 4.0's, except where a Def's Doc says "samsa:")
//
// node.id and broker.id are one setting: a source that sets either sets
// both. Among synonyms the most specific unit wins whatever its source:
// log.retention.ms over log.retention.minutes over log.retention.hours (and
// likewise log.roll.*, log.roll.jitter.*, log.flush.interval.ms over
// log.flush.scheduler.interval.ms), as in Kafka.
//
// A topic config takes its override, else the cluster-wide dynamic broker
// default of its synonym, else the static setting, else the default; see
// resolve.go and Broker.DescribeTopic.
//
// # samsa's defaults
//
// With nothing configured, `samsa server` is a one-node cluster: node.id=1,
// process.roles=broker,controller, listeners=PLAINTEXT://localhost:9092 and
// CONTROLLER://localhost:9093, controller.quorum.voters=1@localhost:9093,
// log.dir=./data. The same rule applies to any configuration that names no
// quorum (no controller.quorum.voters, no controller.quorum.bootstrap.servers),
// such as a ZooKeeper-era server.properties: the node is the single voter of
// its own cluster (Broker.ImpliedQuorum), and since no other broker can ever
// host replicas, the internal topics default to replication factor 1 and
// min ISR 1. A controller node whose listeners name no controller listener
// gets one on the port of its own voter entry, or the first free port above
// its first listener's. Joining nodes into a larger cluster takes one line,
// the same on every node: controller.quorum.voters=1@host1:9093,2@host2:9093,...
//
// Durability: flush.messages (log.flush.interval.messages) defaults to 1,
// so every acknowledged write has been fsynced (group commit makes one fsync
// cover many batches). Kafka's default 9223372036854775807 selects the
// classic page-cache mode; see Topic.FsyncBeforeAck.
//
// # Where to start reading
//
// load.go (Load, FromMap, layering and implied defaults), then broker.go
// (the Broker struct) and validate.go (cross-field rules). The table is in
// defs_*.go; topic.go and resolve.go hold the topic half; describe.go builds
// DescribeConfigs entries. Everything here is immutable once built and safe
// for concurrent use.
package config
