package config

import (
	"strconv"
	"strings"
)

// A topic config's value comes from the first of these that has it:
//
//	1. the topic's override                        (DYNAMIC_TOPIC_CONFIG)
//	2. this broker's dynamic value                 (DYNAMIC_BROKER_CONFIG)
//	3. a cluster-wide dynamic broker default       (DYNAMIC_DEFAULT_BROKER_CONFIG)
//	4. server.properties, environment, --override  (STATIC_BROKER_CONFIG)
//	5. samsa's default                             (DEFAULT_CONFIG)
//
// Within levels 2-5 the broker synonyms are tried in priority order first
// (log.retention.ms, then log.retention.minutes, then log.retention.hours),
// and each level in turn for each synonym, which is what Kafka's merged
// broker properties amount to: only the first synonym of each group is
// dynamic, so a lower synonym can never sit at a higher level.
//
// Levels 2 and 4 belong to the broker resolving the config, so as in Kafka
// the replicas of one partition may resolve it differently: each applies
// its own retention, segment size and flush policy, while what only the
// leader decides (min.insync.replicas, max.message.bytes, the timestamp
// type, recompression) follows the leader's.

// Dynamic is the dynamic broker configuration topic configs default to:
// the values set on this broker's own BROKER resource and those set on the
// default (cluster-wide) one. Either may be nil.
type Dynamic struct {
	PerBroker, ClusterDefault map[string]string
}

// ClusterDynamic is the cluster-wide level alone, for whoever resolves a
// topic config for no broker in particular (the controller).
func ClusterDynamic(clusterDefault map[string]string) Dynamic {
	return Dynamic{ClusterDefault: clusterDefault}
}

// brokerLevel is one of levels 2-5 above.
type brokerLevel struct {
	props  map[string]string
	source ConfigSource
}

func (b *Broker) brokerLevels(dyn Dynamic) []brokerLevel {
	return []brokerLevel{
		{dyn.PerBroker, DynamicBrokerConfig},
		{dyn.ClusterDefault, DynamicDefaultBrokerConfig},
		{b.static, StaticBrokerConfig},
		{b.defaults, DefaultConfig},
	}
}

// toTopicUnits converts a broker synonym's raw value to the topic config's
// unit (hours and minutes to milliseconds).
func toTopicUnits(synonym, raw string) string {
	var scale int64
	switch {
	case strings.HasSuffix(synonym, ".hours"):
		scale = 3_600_000
	case strings.HasSuffix(synonym, ".minutes"):
		scale = 60_000
	default:
		return raw
	}
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil {
		return raw
	}
	return strconv.FormatInt(n*scale, 10)
}

// resolveTopicConfig returns td's typed value and, in Kafka's order, the
// synonyms that contributed or could have. A value at a level that fails
// the topic validation is an error naming the key it came from.
func (b *Broker) resolveTopicConfig(td *topicDef, overrides map[string]string, dyn Dynamic) (any, []Synonym, error) {
	var syns []Synonym
	var value any
	if raw, ok := overrides[td.Name]; ok {
		v, err := td.parseValue(raw)
		if err != nil {
			return nil, nil, err
		}
		value = v
		s := format(v)
		syns = append(syns, Synonym{Name: td.Name, Value: &s, Source: DynamicTopicConfig})
	}
	levels := b.brokerLevels(dyn)
	for _, l := range levels {
		for _, name := range td.synonyms {
			if raw, ok := l.props[name]; ok {
				raw := raw
				syns = append(syns, Synonym{Name: name, Value: &raw, Source: l.source})
			}
		}
	}
	if value != nil {
		return value, syns, nil
	}
	for _, name := range td.synonyms {
		for _, l := range levels {
			raw, ok := l.props[name]
			if !ok {
				continue
			}
			v, reason := parse(td.Type, toTopicUnits(name, raw))
			if reason == "" && td.Name == "retention.ms" {
				if n := v.(int64); n < 0 {
					v = int64(-1) // Kafka treats any negative broker retention as unlimited
				}
			}
			if reason == "" && td.Valid != nil {
				reason = td.Valid.check(v)
			}
			if reason != "" {
				return nil, nil, invalid(name, raw, reason)
			}
			return v, syns, nil
		}
	}
	return td.defaultValue(), syns, nil
}

// ResolveTopic returns the configuration of a topic with the given overrides
// (its DYNAMIC_TOPIC_CONFIG entries, may be nil) when dyn holds the dynamic
// broker defaults (AlterConfigs on this broker's resource and on the
// default one, e.g. log.retention.ms). Legacy configs in overrides are
// ignored. Errors are *Error with Kafka's INVALID_CONFIG wording.
func (b *Broker) ResolveTopic(overrides map[string]string, dyn Dynamic) (Topic, error) {
	if err := ValidateTopicConfigs(overrides); err != nil {
		return Topic{}, err
	}
	t, err := b.resolveTopic(overrides, dyn)
	if err != nil {
		return Topic{}, err
	}
	return t, checkCompactionLag(t.MinCompactionLagMs, t.MaxCompactionLagMs)
}

func (b *Broker) resolveTopic(overrides map[string]string, dyn Dynamic) (Topic, error) {
	vals := make(map[string]any, len(topicDefs))
	for _, td := range topicDefs {
		if td.legacy {
			continue
		}
		v, _, err := b.resolveTopicConfig(td, overrides, dyn)
		if err != nil {
			return Topic{}, err
		}
		vals[td.Name] = v
	}
	i32 := func(n string) int32 { return vals[n].(int32) }
	i64 := func(n string) int64 { return vals[n].(int64) }
	on := func(n string) bool { return vals[n].(bool) }
	str := func(n string) string { return vals[n].(string) }
	list := func(n string) []string { return vals[n].([]string) }
	return Topic{
		SegmentBytes:                i32("segment.bytes"),
		SegmentMs:                   i64("segment.ms"),
		SegmentJitterMs:             i64("segment.jitter.ms"),
		SegmentIndexBytes:           i32("segment.index.bytes"),
		FlushMessages:               i64("flush.messages"),
		FlushMs:                     i64("flush.ms"),
		RetentionBytes:              i64("retention.bytes"),
		RetentionMs:                 i64("retention.ms"),
		MaxMessageBytes:             i32("max.message.bytes"),
		IndexIntervalBytes:          i32("index.interval.bytes"),
		DeleteRetentionMs:           i64("delete.retention.ms"),
		MinCompactionLagMs:          i64("min.compaction.lag.ms"),
		MaxCompactionLagMs:          i64("max.compaction.lag.ms"),
		FileDeleteDelayMs:           i64("file.delete.delay.ms"),
		MinCleanableDirtyRatio:      vals["min.cleanable.dirty.ratio"].(float64),
		CleanupPolicy:               list("cleanup.policy"),
		UncleanLeaderElectionEnable: on("unclean.leader.election.enable"),
		MinInSyncReplicas:           i32("min.insync.replicas"),
		CompressionType:             str("compression.type"),
		GzipLevel:                   i32("compression.gzip.level"),
		LZ4Level:                    i32("compression.lz4.level"),
		ZstdLevel:                   i32("compression.zstd.level"),
		Preallocate:                 on("preallocate"),
		TimestampType:               str("message.timestamp.type"),
		TimestampBeforeMaxMs:        i64("message.timestamp.before.max.ms"),
		TimestampAfterMaxMs:         i64("message.timestamp.after.max.ms"),
		LeaderThrottledReplicas:     list("leader.replication.throttled.replicas"),
		FollowerThrottledReplicas:   list("follower.replication.throttled.replicas"),
		LocalRetentionMs:            i64("local.retention.ms"),
		LocalRetentionBytes:         i64("local.retention.bytes"),
	}, nil
}
