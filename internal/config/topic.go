package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Topic is a topic's resolved configuration: its overrides, else the
// cluster-wide dynamic broker defaults, else server.properties (the log.*
// synonyms), else the default. storage and partition read it; it is a
// value, safe to copy and share.
type Topic struct {
	SegmentBytes                int32    // segment.bytes: roll a segment at this size
	SegmentMs                   int64    // segment.ms: roll a segment this old
	SegmentJitterMs             int64    // segment.jitter.ms: most random time subtracted from SegmentMs
	SegmentIndexBytes           int32    // segment.index.bytes: offset and time index size cap
	FlushMessages               int64    // flush.messages: fsync once this many messages are unflushed; 1 = before every ack
	FlushMs                     int64    // flush.ms: fsync when the oldest unflushed message is this old
	RetentionBytes              int64    // retention.bytes per partition; -1 unlimited
	RetentionMs                 int64    // retention.ms; -1 unlimited
	MaxMessageBytes             int32    // max.message.bytes: largest record batch accepted
	IndexIntervalBytes          int32    // index.interval.bytes between offset index entries
	DeleteRetentionMs           int64    // delete.retention.ms: tombstone lifetime after compaction
	MinCompactionLagMs          int64    // min.compaction.lag.ms
	MaxCompactionLagMs          int64    // max.compaction.lag.ms
	FileDeleteDelayMs           int64    // file.delete.delay.ms: wait before unlinking deleted segments
	MinCleanableDirtyRatio      float64  // min.cleanable.dirty.ratio, 0..1
	CleanupPolicy               []string // cleanup.policy: "delete", "compact" or both
	UncleanLeaderElectionEnable bool     // unclean.leader.election.enable
	MinInSyncReplicas           int32    // min.insync.replicas
	CompressionType             string   // compression.type: producer, uncompressed, gzip, snappy, lz4 or zstd
	GzipLevel                   int32    // compression.gzip.level; -1 is the codec default
	LZ4Level                    int32    // compression.lz4.level
	ZstdLevel                   int32    // compression.zstd.level
	Preallocate                 bool     // preallocate segment files
	TimestampType               string   // message.timestamp.type: CreateTime or LogAppendTime
	TimestampBeforeMaxMs        int64    // message.timestamp.before.max.ms: how far in the past a CreateTime may be
	TimestampAfterMaxMs         int64    // message.timestamp.after.max.ms: how far in the future a CreateTime may be
	LeaderThrottledReplicas     []string // leader.replication.throttled.replicas (accepted; samsa does not throttle)
	FollowerThrottledReplicas   []string // follower.replication.throttled.replicas (accepted; samsa does not throttle)
	LocalRetentionMs            int64    // local.retention.ms (tiered storage; no effect)
	LocalRetentionBytes         int64    // local.retention.bytes (tiered storage; no effect)
}

// Compact reports whether cleanup.policy contains compact.
func (t Topic) Compact() bool { return slices.Contains(t.CleanupPolicy, "compact") }

// Delete reports whether cleanup.policy contains delete.
func (t Topic) Delete() bool { return slices.Contains(t.CleanupPolicy, "delete") }

// FsyncBeforeAck reports whether a write must be fsynced before it is
// acknowledged: flush.messages=1, samsa's default. Larger values select
// Kafka's page-cache behaviour, where replication provides durability and
// flush.messages and flush.ms only bound how much is unsynced.
func (t Topic) FsyncBeforeAck() bool { return t.FlushMessages <= 1 }

// LogAppendTime reports whether the broker stamps batches with its clock.
func (t Topic) LogAppendTime() bool { return t.TimestampType == "LogAppendTime" }

// topicDef is a topic config: its definition, its broker synonyms (highest
// priority first) and whether samsa accepts it only for compatibility.
type topicDef struct {
	Def
	synonyms []string
	legacy   bool // removed from Kafka 4; accepted, stored nowhere, never described
}

var throttledReplicas = funcValidator{fn: checkThrottled, text: "[partitionId]:[brokerId],[partitionId]:[brokerId],..."}

// topicDefs is every topic config in Kafka's definition order, which is also
// the order DescribeTopic returns them in.
var topicDefs = []*topicDef{
	{Def{Name: "segment.bytes", Type: TypeInt, Default: "1073741824", Valid: atLeast(1048576),
		Doc: "Size in bytes at which the active segment is closed and a new one started."}, []string{"log.segment.bytes"}, false},
	{Def{Name: "segment.ms", Type: TypeLong, Default: "604800000", Valid: atLeast(1),
		Doc: "Age in milliseconds at which the active segment is rolled even if not full, so retention and compaction can act on it."},
		[]string{"log.roll.ms", "log.roll.hours"}, false},
	{Def{Name: "segment.jitter.ms", Type: TypeLong, Default: "0", Valid: atLeast(0),
		Doc: "Most milliseconds randomly taken off segment.ms so partitions do not all roll at once."},
		[]string{"log.roll.jitter.ms", "log.roll.jitter.hours"}, false},
	{Def{Name: "segment.index.bytes", Type: TypeInt, Default: "10485760", Valid: atLeast(4),
		Doc: "Size in bytes of a segment's offset and time indexes; a full index also rolls the segment."},
		[]string{"log.index.size.max.bytes"}, false},
	{Def{Name: "flush.messages", Type: TypeLong, Default: "1", Valid: atLeast(1),
		Doc: "Messages written before an fsync. samsa's default 1 fsyncs every write before it is acknowledged (group commit: one fsync covers " +
			"every batch waiting for it); " + maxInt64 + ", Kafka's default, leaves durability to replication and the page cache."},
		[]string{"log.flush.interval.messages"}, false},
	{Def{Name: "flush.ms", Type: TypeLong, Default: maxInt64, Valid: atLeast(0),
		Doc: "Milliseconds after which unflushed data is fsynced in the background, in either durability mode."},
		[]string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}, false},
	{Def{Name: "retention.bytes", Type: TypeLong, Default: "-1",
		Doc: "Bytes a partition may hold before its oldest segments are deleted (delete policy); -1 is unlimited."},
		[]string{"log.retention.bytes"}, false},
	{Def{Name: "retention.ms", Type: TypeLong, Default: "604800000", Valid: atLeast(-1),
		Doc: "Milliseconds a segment is kept after its newest record before it is deleted (delete policy); -1 keeps data forever."},
		[]string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}, false},
	{Def{Name: "max.message.bytes", Type: TypeInt, Default: "1048588", Valid: atLeast(0),
		Doc: "Largest record batch in bytes (after compression) a producer may send; larger ones fail with MESSAGE_TOO_LARGE."},
		[]string{"message.max.bytes"}, false},
	{Def{Name: "index.interval.bytes", Type: TypeInt, Default: "4096", Valid: atLeast(0),
		Doc: "Bytes of log between two offset index entries."}, []string{"log.index.interval.bytes"}, false},
	{Def{Name: "delete.retention.ms", Type: TypeLong, Default: "86400000", Valid: atLeast(0),
		Doc: "Milliseconds tombstones survive in a compacted topic, the time a reader from offset 0 has to see them."},
		[]string{"log.cleaner.delete.retention.ms"}, false},
	{Def{Name: "min.compaction.lag.ms", Type: TypeLong, Default: "0", Valid: atLeast(0),
		Doc: "Milliseconds a record stays uncompacted at least."}, []string{"log.cleaner.min.compaction.lag.ms"}, false},
	{Def{Name: "max.compaction.lag.ms", Type: TypeLong, Default: maxInt64, Valid: atLeast(1),
		Doc: "Milliseconds after which a record becomes eligible for compaction whatever the dirty ratio."},
		[]string{"log.cleaner.max.compaction.lag.ms"}, false},
	{Def{Name: "file.delete.delay.ms", Type: TypeLong, Default: "60000", Valid: atLeast(0),
		Doc: "Milliseconds a deleted segment's files linger before they are removed from disk."},
		[]string{"log.segment.delete.delay.ms"}, false},
	{Def{Name: "min.cleanable.dirty.ratio", Type: TypeDouble, Default: "0.5", Valid: between(0, 1),
		Doc: "Share of the log not yet compacted above which the cleaner compacts it."},
		[]string{"log.cleaner.min.cleanable.ratio"}, false},
	{Def{Name: "cleanup.policy", Type: TypeList, Default: "delete", Valid: cleanupPolicies,
		Doc: "delete removes old segments by retention.ms and retention.bytes; compact keeps the newest record per key; both may be given."},
		[]string{"log.cleanup.policy"}, false},
	{Def{Name: "unclean.leader.election.enable", Type: TypeBoolean, Default: "false",
		Doc: "Let a replica outside the ISR become leader when no ISR member is available, at the cost of losing acknowledged records."},
		[]string{"unclean.leader.election.enable"}, false},
	{Def{Name: "min.insync.replicas", Type: TypeInt, Default: "1", Valid: atLeast(1),
		Doc: "ISR members that must have a write before an acks=all produce succeeds; fewer fail it with NOT_ENOUGH_REPLICAS."},
		[]string{"min.insync.replicas"}, false},
	{Def{Name: "compression.type", Type: TypeString, Default: "producer", Valid: compressionTypes,
		Doc: "Codec batches are stored with: producer keeps the producer's; uncompressed, gzip, snappy, lz4 or zstd recompress."},
		[]string{"compression.type"}, false},
	{Def{Name: "compression.gzip.level", Type: TypeInt, Default: "-1", Valid: levelOrDefault(1, 9, -1),
		Doc: "gzip level used when compression.type=gzip recompresses."}, []string{"compression.gzip.level"}, false},
	{Def{Name: "compression.lz4.level", Type: TypeInt, Default: "9", Valid: between(1, 17),
		Doc: "lz4 level used when compression.type=lz4 recompresses (samsa: LZ4 HC has 9 levels here, so level n is its (n+1)/2; 9, the default, is the fast compressor, as in Kafka)."}, []string{"compression.lz4.level"}, false},
	{Def{Name: "compression.zstd.level", Type: TypeInt, Default: "3", Valid: between(-131072, 22),
		Doc: "zstd level used when compression.type=zstd recompresses (samsa: mapped to the zstd library's four speeds)."}, []string{"compression.zstd.level"}, false},
	{Def{Name: "preallocate", Type: TypeBoolean, Default: "false",
		Doc: "Allocate a new segment's full size on disk when it is created."}, []string{"log.preallocate"}, false},
	{Def{Name: "message.timestamp.type", Type: TypeString, Default: "CreateTime", Valid: timestampTypes,
		Doc: "CreateTime keeps the producer's timestamps; LogAppendTime replaces them with the broker's clock."},
		[]string{"log.message.timestamp.type"}, false},
	{Def{Name: "message.timestamp.before.max.ms", Type: TypeLong, Default: maxInt64, Valid: atLeast(0),
		Doc: "With CreateTime, reject batches whose timestamp is more than this many milliseconds behind the broker's clock."},
		[]string{"log.message.timestamp.before.max.ms"}, false},
	{Def{Name: "message.timestamp.after.max.ms", Type: TypeLong, Default: "3600000", Valid: atLeast(0),
		Doc: "With CreateTime, reject batches whose timestamp is more than this many milliseconds ahead of the broker's clock."},
		[]string{"log.message.timestamp.after.max.ms"}, false},
	{Def{Name: "leader.replication.throttled.replicas", Type: TypeList, Default: "", Valid: throttledReplicas,
		Doc: "Replicas whose leader-side replication is throttled during reassignment (accepted; samsa does not throttle replication)."}, nil, false},
	{Def{Name: "follower.replication.throttled.replicas", Type: TypeList, Default: "", Valid: throttledReplicas,
		Doc: "Replicas whose follower-side replication is throttled during reassignment (accepted; samsa does not throttle replication)."}, nil, false},
	{Def{Name: "remote.storage.enable", Type: TypeBoolean, Default: "false",
		Doc: "Tiered storage; samsa has none, so only false is accepted."}, nil, false},
	{Def{Name: "local.retention.ms", Type: TypeLong, Default: "-2", Valid: atLeast(-2),
		Doc: "Tiered storage local retention; accepted, no effect in samsa."}, []string{"log.local.retention.ms"}, false},
	{Def{Name: "local.retention.bytes", Type: TypeLong, Default: "-2", Valid: atLeast(-2),
		Doc: "Tiered storage local retention; accepted, no effect in samsa."}, []string{"log.local.retention.bytes"}, false},
	{Def{Name: "remote.log.copy.disable", Type: TypeBoolean, Default: "false",
		Doc: "Tiered storage; accepted, no effect in samsa."}, nil, false},
	{Def{Name: "remote.log.delete.on.disable", Type: TypeBoolean, Default: "false",
		Doc: "Tiered storage; accepted, no effect in samsa."}, nil, false},

	{Def{Name: "message.format.version", Type: TypeString, Default: "3.0-IV1", Importance: Medium,
		Doc: "Removed in Kafka 4.0; accepted and ignored (samsa stores message format v2 only)."}, nil, true},
	{Def{Name: "message.downconversion.enable", Type: TypeBoolean, Default: "true", Importance: Low,
		Doc: "Removed in Kafka 4.0; accepted and ignored (samsa never down-converts)."}, nil, true},
}

var topicIndex = func() map[string]*topicDef {
	m := make(map[string]*topicDef, len(topicDefs))
	for _, td := range topicDefs {
		if td.Importance == High && !td.legacy {
			td.Importance = Medium // every Kafka topic config is MEDIUM; High is the zero value
		}
		m[td.Name] = td
	}
	return m
}()

// TopicDefs returns the topic config definitions Kafka 4 has, in Kafka's
// order. The Defs must not be modified.
func TopicDefs() []*Def {
	var out []*Def
	for _, td := range topicDefs {
		if !td.legacy {
			out = append(out, &td.Def)
		}
	}
	return out
}

// IsLegacyTopicConfig reports whether name is a topic config Kafka 4 removed
// that samsa still accepts (message.format.version,
// message.downconversion.enable). Such configs validate but have no effect;
// the controller should drop them rather than store them.
func IsLegacyTopicConfig(name string) bool {
	td, ok := topicIndex[name]
	return ok && td.legacy
}

// TopicSynonyms returns the broker settings that supply the default of
// topic config name, highest priority first (retention.ms: log.retention.ms,
// log.retention.minutes, log.retention.hours); nil if it has none.
func TopicSynonyms(name string) []string {
	if td, ok := topicIndex[name]; ok {
		return slices.Clone(td.synonyms)
	}
	return nil
}

// ValidateTopicConfig checks one topic config as CreateTopics and
// AlterConfigs must. The error is an *Error whose message is Kafka's for
// INVALID_CONFIG: "Unknown topic config name: x" or "Invalid value v for
// configuration x: reason".
func ValidateTopicConfig(name, value string) error {
	td, ok := topicIndex[name]
	if !ok {
		return &Error{Keys: []string{name}, Msg: "Unknown topic config name: " + name}
	}
	v, err := td.parseValue(value)
	if err != nil {
		return err
	}
	if name == "remote.storage.enable" && v == true {
		return &Error{Keys: []string{name},
			Msg: "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."}
	}
	return nil
}

// ValidateTopicConfigs checks a set of topic overrides: each one, then the
// rules between them (min.compaction.lag.ms <= max.compaction.lag.ms, the
// absent one taken at its default). Keys are checked in sorted order; the
// first failure is returned.
func ValidateTopicConfigs(configs map[string]string) error {
	for _, name := range sortedKeys(configs) {
		if err := ValidateTopicConfig(name, configs[name]); err != nil {
			return err
		}
	}
	lag := func(name string) int64 {
		raw, ok := configs[name]
		if !ok {
			raw = topicIndex[name].Default
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		return n
	}
	return checkCompactionLag(lag("min.compaction.lag.ms"), lag("max.compaction.lag.ms"))
}

func checkCompactionLag(min, max int64) error {
	if min > max {
		return &Error{Keys: []string{"min.compaction.lag.ms", "max.compaction.lag.ms"},
			Msg: fmt.Sprintf("conflict topic config setting min.compaction.lag.ms (%d) > max.compaction.lag.ms (%d)", min, max)}
	}
	return nil
}

func checkThrottled(v any) string {
	xs, _ := v.([]string)
	if len(xs) == 1 && xs[0] == "*" {
		return ""
	}
	for _, x := range xs {
		p, b, ok := strings.Cut(x, ":")
		if x == "" || ok && isDigits(p) && isDigits(b) {
			continue
		}
		return "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
