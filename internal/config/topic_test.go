package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidateTopicConfig(t *testing.T) {
	tests := []struct {
		name, value string
		wantErr     string // "" means valid
	}{
		{"retention.ms", "-1", ""},
		{"retention.ms", "-2", "Invalid value -2 for configuration retention.ms: Value must be at least -1"},
		{"retention.ms", "1h", "Invalid value 1h for configuration retention.ms: Not a number of type LONG"},
		{"segment.bytes", "1048576", ""},
		{"segment.bytes", "1048575", "Invalid value 1048575 for configuration segment.bytes: Value must be at least 1048576"},
		{"cleanup.policy", "compact,delete", ""},
		{"cleanup.policy", "compact,archive", "Invalid value compact,archive for configuration cleanup.policy: String must be one of: compact, delete"},
		{"compression.type", "lz4", ""},
		{"compression.type", "brotli", "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"},
		{"message.timestamp.type", "LogAppendTime", ""},
		{"min.cleanable.dirty.ratio", "0.01", ""},
		{"min.cleanable.dirty.ratio", "2", "Value must be no more than 1"},
		{"min.insync.replicas", "0", "Value must be at least 1"},
		{"max.message.bytes", "-1", "Value must be at least 0"},
		{"preallocate", "maybe", "Expected value to be either true or false"},
		{"flush.messages", "0", "Value must be at least 1"},
		{"leader.replication.throttled.replicas", "*", ""},
		{"leader.replication.throttled.replicas", "0:1,1:2", ""},
		{"leader.replication.throttled.replicas", "0-1", "must be the literal '*'"},
		{"remote.storage.enable", "false", ""},
		{"remote.storage.enable", "true", "Tiered Storage functionality is disabled in the broker"},
		{"local.retention.ms", "-2", ""},
		{"message.format.version", "2.8", ""},
		{"message.downconversion.enable", "false", ""},
		{"message.downconversion.enable", "no", "Expected value to be either true or false"},
		{"retention.hours", "1", "Unknown topic config name: retention.hours"},
		{"log.retention.ms", "1", "Unknown topic config name: log.retention.ms"},
		{"message.timestamp.difference.max.ms", "1", "Unknown topic config name"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			err := ValidateTopicConfig(tc.name, tc.value)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("rejected: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Error(), tc.wantErr) || ce.Keys[0] != tc.name {
				t.Errorf("err = %v, want an *Error for %s containing %q", err, tc.name, tc.wantErr)
			}
		})
	}
}

func TestValidateTopicConfigsChecksCompactionLags(t *testing.T) {
	if err := ValidateTopicConfigs(map[string]string{"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "20"}); err != nil {
		t.Errorf("valid lags rejected: %v", err)
	}
	err := ValidateTopicConfigs(map[string]string{"min.compaction.lag.ms": "30", "max.compaction.lag.ms": "20"})
	if err == nil || err.Error() != "conflict topic config setting min.compaction.lag.ms (30) > max.compaction.lag.ms (20)" {
		t.Errorf("err = %v", err)
	}
	if err := ValidateTopicConfigs(map[string]string{"cleanup.policy": "compact", "bogus": "1"}); err == nil {
		t.Error("an unknown name among valid ones was accepted")
	}
}

func TestResolveTopicPrecedence(t *testing.T) {
	b := mustFromMap(t, map[string]string{"log.retention.hours": "48", "log.segment.bytes": "2097152", "compression.type": "lz4"})
	dynamic := ClusterDynamic(map[string]string{"log.retention.ms": "1000", "log.cleanup.policy": "compact", "log.segment.bytes": "4194304"})
	topic, err := b.ResolveTopic(map[string]string{"cleanup.policy": "delete", "message.format.version": "0.10"}, dynamic)
	if err != nil {
		t.Fatal(err)
	}
	if topic.CleanupPolicy[0] != "delete" || !topic.Delete() || topic.Compact() {
		t.Errorf("cleanup.policy = %v; the topic override must beat the dynamic default", topic.CleanupPolicy)
	}
	if topic.RetentionMs != 1000 {
		t.Errorf("retention.ms = %d; the dynamic default must beat the static hours", topic.RetentionMs)
	}
	if topic.SegmentBytes != 4194304 || topic.CompressionType != "lz4" {
		t.Errorf("segment.bytes %d compression %q; the dynamic default must beat the static one, static settings the defaults", topic.SegmentBytes, topic.CompressionType)
	}
	if topic.MaxMessageBytes != 1048588 || topic.FlushMessages != 1 {
		t.Errorf("max.message.bytes %d flush.messages %d; defaults", topic.MaxMessageBytes, topic.FlushMessages)
	}
	if _, err := b.ResolveTopic(map[string]string{"retention.ms": "x"}, Dynamic{}); err == nil {
		t.Error("an invalid override resolved")
	}
	if _, err := b.ResolveTopic(map[string]string{"min.compaction.lag.ms": "5"}, ClusterDynamic(map[string]string{"log.cleaner.max.compaction.lag.ms": "4"})); err == nil {
		t.Error("min.compaction.lag.ms above the dynamic max.compaction.lag.ms resolved")
	}

	// This broker's own dynamic value beats the cluster-wide one; the topic
	// override beats both.
	dynamic.PerBroker = map[string]string{"log.retention.ms": "2000", "log.cleanup.policy": "compact"}
	topic, err = b.ResolveTopic(map[string]string{"cleanup.policy": "delete"}, dynamic)
	if err != nil {
		t.Fatal(err)
	}
	if topic.RetentionMs != 2000 || topic.SegmentBytes != 4194304 || !topic.Delete() || topic.Compact() {
		t.Errorf("retention.ms %d segment.bytes %d cleanup.policy %v; want the per-broker 2000, the cluster-wide 4194304, the override delete",
			topic.RetentionMs, topic.SegmentBytes, topic.CleanupPolicy)
	}
	if _, err := b.ResolveTopic(nil, Dynamic{PerBroker: map[string]string{"log.retention.ms": "-5x"}}); err == nil {
		t.Error("an invalid per-broker value resolved")
	}
}

// describeOne returns the entry for name.
func describeOne(t *testing.T, entries []Entry, name string) Entry {
	t.Helper()
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("%s not described", name)
	return Entry{}
}

func synonymString(syns []Synonym) string {
	var parts []string
	for _, s := range syns {
		v := "<nil>"
		if s.Value != nil {
			v = *s.Value
		}
		parts = append(parts, s.Name+"="+v+"@"+s.Source.String())
	}
	return strings.Join(parts, " ")
}

func TestDescribeTopicSourcesAndSynonyms(t *testing.T) {
	tests := []struct {
		name      string
		static    map[string]string
		dynamic   map[string]string
		overrides map[string]string
		value     string
		source    ConfigSource
		synonyms  string
	}{
		{"from the default", nil, nil, nil,
			"604800000", DefaultConfig,
			"log.retention.hours=168@DEFAULT_CONFIG"},
		{"from server.properties", map[string]string{"log.retention.minutes": "30"}, nil, nil,
			"1800000", StaticBrokerConfig,
			"log.retention.minutes=30@STATIC_BROKER_CONFIG log.retention.hours=168@DEFAULT_CONFIG"},
		{"from the dynamic broker default", map[string]string{"log.retention.hours": "1"}, map[string]string{"log.retention.ms": "500"}, nil,
			"500", DynamicDefaultBrokerConfig,
			"log.retention.ms=500@DYNAMIC_DEFAULT_BROKER_CONFIG log.retention.hours=1@STATIC_BROKER_CONFIG log.retention.hours=168@DEFAULT_CONFIG"},
		{"from the topic override", map[string]string{"log.retention.hours": "1"}, map[string]string{"log.retention.ms": "500"}, map[string]string{"retention.ms": " 42"},
			"42", DynamicTopicConfig,
			"retention.ms=42@DYNAMIC_TOPIC_CONFIG log.retention.ms=500@DYNAMIC_DEFAULT_BROKER_CONFIG log.retention.hours=1@STATIC_BROKER_CONFIG log.retention.hours=168@DEFAULT_CONFIG"},
		{"from this broker's dynamic value", map[string]string{"log.retention.hours": "1"}, map[string]string{"log.retention.ms": "500"}, nil,
			"700", DynamicBrokerConfig,
			"log.retention.ms=700@DYNAMIC_BROKER_CONFIG log.retention.ms=500@DYNAMIC_DEFAULT_BROKER_CONFIG log.retention.hours=1@STATIC_BROKER_CONFIG log.retention.hours=168@DEFAULT_CONFIG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustFromMap(t, tc.static)
			dyn := ClusterDynamic(tc.dynamic)
			if tc.source == DynamicBrokerConfig {
				dyn.PerBroker = map[string]string{"log.retention.ms": "700"}
			}
			e := describeOne(t, b.DescribeTopic(tc.overrides, dyn), "retention.ms")
			if e.Value == nil || *e.Value != tc.value || e.Source != tc.source || e.IsDefault != (tc.source == DefaultConfig) {
				t.Errorf("value %v source %v default %v, want %s %v", e.Value, e.Source, e.IsDefault, tc.value, tc.source)
			}
			if got := synonymString(e.Synonyms); got != tc.synonyms {
				t.Errorf("synonyms\n got %s\nwant %s", got, tc.synonyms)
			}
			if e.ReadOnly || e.Sensitive || e.Type != TypeLong || e.Documentation == "" {
				t.Errorf("entry flags %+v", e)
			}
		})
	}
}

func TestDescribeTopicListsEveryConfigInKafkaOrder(t *testing.T) {
	b := mustFromMap(t, nil)
	var names []string
	for _, e := range b.DescribeTopic(nil, Dynamic{}) {
		names = append(names, e.Name)
	}
	want := []string{"segment.bytes", "segment.ms", "segment.jitter.ms", "segment.index.bytes", "flush.messages", "flush.ms",
		"retention.bytes", "retention.ms", "max.message.bytes", "index.interval.bytes", "delete.retention.ms",
		"min.compaction.lag.ms", "max.compaction.lag.ms", "file.delete.delay.ms", "min.cleanable.dirty.ratio",
		"cleanup.policy", "unclean.leader.election.enable", "min.insync.replicas", "compression.type",
		"compression.gzip.level", "compression.lz4.level", "compression.zstd.level", "preallocate",
		"message.timestamp.type", "message.timestamp.before.max.ms", "message.timestamp.after.max.ms",
		"leader.replication.throttled.replicas", "follower.replication.throttled.replicas", "remote.storage.enable",
		"local.retention.ms", "local.retention.bytes", "remote.log.copy.disable", "remote.log.delete.on.disable"}
	if !slices.Equal(names, want) {
		t.Errorf("described\n %v\nwant\n %v", names, want)
	}
}

func TestDescribeTopicPrintsValuesAsKafkaDoes(t *testing.T) {
	b := mustFromMap(t, nil)
	entries := b.DescribeTopic(map[string]string{"cleanup.policy": "compact, delete", "preallocate": "TRUE"}, Dynamic{})
	for name, want := range map[string]string{
		"cleanup.policy":            "compact,delete",
		"preallocate":               "true",
		"min.cleanable.dirty.ratio": "0.5",
		"flush.messages":            "1",
		"max.compaction.lag.ms":     "9223372036854775807",
		"remote.storage.enable":     "false",
	} {
		e := describeOne(t, entries, name)
		if e.Value == nil || *e.Value != want {
			t.Errorf("%s = %v, want %q", name, e.Value, want)
		}
	}
	if e := describeOne(t, entries, "remote.storage.enable"); e.Source != DefaultConfig || len(e.Synonyms) != 0 {
		t.Errorf("a config without a broker synonym: %+v", e)
	}
	fm := describeOne(t, entries, "flush.messages")
	if !strings.Contains(fm.Documentation, "acknowledged") || fm.Source != DefaultConfig {
		t.Errorf("flush.messages must be described as samsa's default and say it fsyncs acknowledged writes: %+v", fm)
	}
}

func TestDescribeTopicShowsAnOverrideThatNoLongerValidates(t *testing.T) {
	b := mustFromMap(t, nil)
	e := describeOne(t, b.DescribeTopic(map[string]string{"segment.bytes": "14"}, Dynamic{}), "segment.bytes")
	if e.Source != DynamicTopicConfig || e.Value == nil || *e.Value != "14" {
		t.Errorf("entry %+v, want the stored override shown", e)
	}
}
