package config

import (
	"testing"
)

func val(e Entry) string {
	if e.Value == nil {
		return "<nil>"
	}
	return *e.Value
}

func TestDescribeBroker(t *testing.T) {
	b, _, err := Load(writeProps(t, "log.retention.hours=48\nssl.keystore.password=hunter2\nmy.plugin.setting=x\nnum.partitions= 3 \n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	perBroker := map[string]string{"max.connections": "10"}
	dynDefault := map[string]string{"log.retention.ms": "1000", "max.connections": "20"}
	entries := b.DescribeBroker(perBroker, dynDefault)

	tests := []struct {
		name     string
		value    string
		source   ConfigSource
		readOnly bool
		synonyms string
	}{
		{"max.connections", "10", DynamicBrokerConfig, false,
			"max.connections=10@DYNAMIC_BROKER_CONFIG max.connections=20@DYNAMIC_DEFAULT_BROKER_CONFIG max.connections=2147483647@DEFAULT_CONFIG"},
		{"log.retention.ms", "1000", DynamicDefaultBrokerConfig, false,
			"log.retention.ms=1000@DYNAMIC_DEFAULT_BROKER_CONFIG log.retention.hours=48@STATIC_BROKER_CONFIG log.retention.hours=168@DEFAULT_CONFIG"},
		{"log.retention.hours", "48", StaticBrokerConfig, true,
			"log.retention.hours=48@STATIC_BROKER_CONFIG log.retention.hours=168@DEFAULT_CONFIG"},
		{"log.retention.minutes", "<nil>", DefaultConfig, true, ""},
		{"num.partitions", "3", StaticBrokerConfig, true,
			"num.partitions=3 @STATIC_BROKER_CONFIG num.partitions=1@DEFAULT_CONFIG"},
		{"controller.quorum.voters", "1@localhost:9093", DefaultConfig, true,
			"controller.quorum.voters=1@localhost:9093@DEFAULT_CONFIG"},
		{"offsets.topic.replication.factor", "1", DefaultConfig, true,
			"offsets.topic.replication.factor=1@DEFAULT_CONFIG"},
		{"log.flush.interval.messages", "1", DefaultConfig, false,
			"log.flush.interval.messages=1@DEFAULT_CONFIG"},
		{"ssl.keystore.password", "<nil>", StaticBrokerConfig, true,
			"ssl.keystore.password=<nil>@STATIC_BROKER_CONFIG"},
		{"my.plugin.setting", "<nil>", StaticBrokerConfig, true,
			"my.plugin.setting=<nil>@STATIC_BROKER_CONFIG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := describeOne(t, entries, tc.name)
			if val(e) != tc.value || e.Source != tc.source || e.ReadOnly != tc.readOnly || e.IsDefault != (tc.source == DefaultConfig) {
				t.Errorf("got %s %v readOnly=%v default=%v, want %s %v readOnly=%v", val(e), e.Source, e.ReadOnly, e.IsDefault,
					tc.value, tc.source, tc.readOnly)
			}
			if got := synonymString(e.Synonyms); got != tc.synonyms {
				t.Errorf("synonyms\n got %s\nwant %s", got, tc.synonyms)
			}
		})
	}
	if e := describeOne(t, entries, "ssl.keystore.password"); !e.Sensitive || e.Type != TypePassword {
		t.Errorf("password entry %+v", e)
	}
	if e := describeOne(t, entries, "my.plugin.setting"); !e.Sensitive || e.Type != TypeUnknown {
		t.Errorf("unknown keys are hidden, as Kafka hides values of unknown type: %+v", e)
	}
	if e := describeOne(t, entries, "num.partitions"); e.Documentation == "" || e.Type != TypeInt {
		t.Errorf("num.partitions %+v", e)
	}
}

func TestDescribeBrokerDefaultListsOnlyDynamicDefaults(t *testing.T) {
	entries := DescribeBrokerDefault(map[string]string{"log.retention.ms": "1000", "sasl.jaas.config": "secret"})
	if len(entries) != 2 {
		t.Fatalf("entries = %+v", entries)
	}
	e := describeOne(t, entries, "log.retention.ms")
	if val(e) != "1000" || e.Source != DynamicDefaultBrokerConfig || synonymString(e.Synonyms) != "log.retention.ms=1000@DYNAMIC_DEFAULT_BROKER_CONFIG" {
		t.Errorf("entry %+v synonyms %s", e, synonymString(e.Synonyms))
	}
	if e := describeOne(t, entries, "sasl.jaas.config"); e.Value != nil || !e.Sensitive {
		t.Errorf("password shown: %+v", e)
	}
}
