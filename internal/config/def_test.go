package config

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func allDefs() []*Def {
	defs := append([]*Def(nil), BrokerDefs()...)
	for _, td := range topicDefs {
		defs = append(defs, &td.Def)
	}
	return defs
}

func TestEveryDefaultIsValidAndDocumented(t *testing.T) {
	for _, d := range allDefs() {
		if d.Doc == "" || strings.Contains(d.Doc, "\n") {
			t.Errorf("%s: Doc must be one non-empty line", d.Name)
		}
		if d.Null {
			continue
		}
		if _, err := d.parseValue(d.Default); err != nil {
			t.Errorf("%s: default %q invalid: %v", d.Name, d.Default, err)
		}
	}
}

// Every topic config with a broker synonym must agree with it on type and
// validation, so a valid broker default is a valid topic value.
func TestTopicConfigsMatchTheirBrokerSynonyms(t *testing.T) {
	for _, td := range topicDefs {
		for _, s := range td.synonyms {
			bd, ok := brokerIndex[s]
			if !ok {
				t.Errorf("%s: synonym %s is not a broker setting", td.Name, s)
				continue
			}
			if s != td.synonyms[0] {
				continue // hours and minutes synonyms have their own unit
			}
			if bd.Type != td.Type || bd.Mode != ClusterWide {
				t.Errorf("%s: synonym %s has type %v mode %v, want %v cluster-wide", td.Name, s, bd.Type, bd.Mode, td.Type)
			}
			if !bd.Null && bd.Default != td.Default {
				t.Errorf("%s: default %q differs from %s's %q", td.Name, td.Default, s, bd.Default)
			}
		}
	}
}

// Every range-checked setting refuses the value just below its minimum with
// Kafka's message, and accepts the minimum.
func TestRangeValidatorsRejectBelowMinimum(t *testing.T) {
	n := 0
	for _, d := range allDefs() {
		r, ok := d.Valid.(rangeValidator)
		if !ok || !r.hasMin {
			continue
		}
		n++
		below := num(r.min - 1)
		if d.Type == TypeDouble {
			below = num(r.min - 0.5)
		}
		if _, err := d.parseValue(below); err == nil ||
			err.Error() != "Invalid value "+below+" for configuration "+d.Name+": Value must be at least "+num(r.min) {
			t.Errorf("%s=%s: err %v", d.Name, below, err)
		}
		if _, err := d.parseValue(num(r.min)); err != nil {
			t.Errorf("%s=%s (the minimum): %v", d.Name, num(r.min), err)
		}
		if r.hasMax {
			above := num(r.max + 1)
			if _, err := d.parseValue(above); err == nil || !strings.HasSuffix(err.Error(), "Value must be no more than "+num(r.max)) {
				t.Errorf("%s=%s: err %v", d.Name, above, err)
			}
		}
	}
	if n < 60 {
		t.Errorf("only %d range validators found; the table lost its validation", n)
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name, value string
		reason      string // "" means valid
	}{
		{"process.roles", "broker,controller", ""},
		{"process.roles", "controller", ""},
		{"process.roles", "broker,zookeeper", "String must be one of: broker, controller"},
		{"process.roles", "", "Value must not be empty"},
		{"compression.type", "zstd", ""},
		{"compression.type", "ZSTD", "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"},
		{"compression.type", "none", "String must be one of"},
		{"compression.gzip.level", "-1", ""},
		{"compression.gzip.level", "9", ""},
		{"compression.gzip.level", "0", "Value must be between 1 and 9 or equal to -1"},
		{"compression.gzip.level", "10", "Value must be between 1 and 9 or equal to -1"},
		{"compression.zstd.level", "-131072", ""},
		{"compression.zstd.level", "23", "Value must be no more than 22"},
		{"log.cleanup.policy", "compact, delete", ""},
		{"log.cleanup.policy", "compact,remove", "String must be one of: compact, delete"},
		{"log.message.timestamp.type", "LogAppendTime", ""},
		{"log.message.timestamp.type", "logappendtime", "String must be one of: CreateTime, LogAppendTime"},
		{"security.inter.broker.protocol", "SASL_SSL", ""},
		{"security.inter.broker.protocol", "TLS", "String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"},
		{"ssl.client.auth", "required", ""},
		{"group.coordinator.rebalance.protocols", "classic", ""},
		{"group.coordinator.rebalance.protocols", "classic,eager", "String must be one of: classic, consumer, share"},
		{"controller.quorum.voters", "1@a:9093,2@[::1]:9093", ""},
		{"controller.quorum.voters", "1@a:9093,1@b:9093", "node id 1 appears twice"},
		{"controller.quorum.voters", "a:9093", "{id}@{host}:{port}"},
		{"controller.quorum.voters", "x@a:9093", "non-negative integer"},
		{"controller.quorum.voters", "1@a", "failed to parse host and port"},
		{"controller.quorum.voters", "1@0.0.0.0:9093", "not routable"},
		{"controller.quorum.bootstrap.servers", "a:9093,[::1]:9093", ""},
		{"controller.quorum.bootstrap.servers", "a", "{host}:{port}"},
		{"authorizer.class.name", "", ""},
		{"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "no ACL authorizer yet"},
		{"authorizer.class.name", "com.example.MyAuthorizer", "no ACL authorizer yet"},
		{"principal.builder.class", "com.example.Builder", "only the default builder"},
		{"create.topic.policy.class.name", "com.example.Policy", "no plugin classes"},
		{"auto.create.topics.enable", "TRUE", ""},
		{"auto.create.topics.enable", " false ", ""},
		{"auto.create.topics.enable", "yes", "Expected value to be either true or false"},
		{"num.partitions", "2147483648", "Not a number of type INT"},
		{"num.partitions", "1.5", "Not a number of type INT"},
		{"offsets.topic.replication.factor", "32768", "Not a number of type SHORT"},
		{"log.retention.bytes", "9223372036854775808", "Not a number of type LONG"},
		{"log.cleaner.io.buffer.load.factor", "abc", "Not a number of type DOUBLE"},
		{"log.cleaner.min.cleanable.ratio", "1.5", "Value must be no more than 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			d, ok := LookupBroker(tc.name)
			if !ok {
				t.Fatalf("%s not defined", tc.name)
			}
			_, err := d.parseValue(tc.value)
			switch {
			case tc.reason == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
				t.Errorf("err = %v, want it to contain %q", err, tc.reason)
			case err != nil && !strings.HasPrefix(err.Error(), "Invalid value "+tc.value+" for configuration "+tc.name+": "):
				t.Errorf("err = %q, want Kafka's \"Invalid value ... for configuration ...\" form", err)
			}
		})
	}
}

func TestJavaDoubleFormatting(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0.5, "0.5"}, {0.9, "0.9"}, {1, "1.0"}, {100, "100.0"}, {0, "0.0"},
		{1e7, "1.0E7"}, {12345678.9, "1.23456789E7"}, {0.0001, "1.0E-4"},
		{math.MaxFloat64, "1.7976931348623157E308"}, {-2.5, "-2.5"},
	}
	for _, tc := range tests {
		if got := javaDouble(tc.f); got != tc.want {
			t.Errorf("javaDouble(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestListParsingKeepsKafkaSemantics(t *testing.T) {
	for in, want := range map[string]string{"": "", " a , b ": "a,b", "a,,b": "a,,b"} {
		if got := strings.Join(splitList(in), ","); got != want {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, name, host string
		port           int
	}{
		{"PLAINTEXT://:9092", "PLAINTEXT", "", 9092},
		{"plaintext://broker1:9092", "PLAINTEXT", "broker1", 9092},
		{"SSL://[::1]:9093", "SSL", "::1", 9093},
		{"INTERNAL://10.0.0.5:0", "INTERNAL", "10.0.0.5", 0},
		{"EXTERNAL://0.0.0.0:19092", "EXTERNAL", "0.0.0.0", 19092},
	}
	for _, tc := range tests {
		l, err := parseEndpoint(tc.in)
		if err != nil || l.Name != tc.name || l.Host != tc.host || l.Port != tc.port {
			t.Errorf("parseEndpoint(%q) = %+v, %v", tc.in, l, err)
		}
		if err == nil && tc.host == "::1" && l.Addr() != "[::1]:9093" {
			t.Errorf("Addr() = %q, want brackets around IPv6", l.Addr())
		}
	}
	for _, bad := range []string{"broker1:9092", "PLAINTEXT://host", "PLAINTEXT://host:99999", "://h:1", "PLAINTEXT://[::1:9092", "PLAINTEXT://h/x:1"} {
		if l, err := parseEndpoint(bad); err == nil {
			t.Errorf("parseEndpoint(%q) = %+v, want an error", bad, l)
		}
	}
}

func TestIsDynamicBrokerConfig(t *testing.T) {
	tests := []struct {
		name                   string
		perBroker, clusterWide bool
	}{
		{"log.retention.ms", true, true},
		{"log.retention.hours", false, false},
		{"message.max.bytes", true, true},
		{"min.insync.replicas", true, true},
		{"num.io.threads", true, true},
		{"max.connections", true, true},
		{"producer.id.expiration.ms", true, true},
		// Dynamic in Kafka, read only at startup by samsa (StartupOnly).
		{"listeners", false, false},
		{"advertised.listeners", false, false},
		{"log.cleaner.threads", false, false},
		{"num.partitions", false, false},
		{"node.id", false, false},
		{"ssl.keystore.location", false, false},
		{"listener.name.external.ssl.keystore.location", true, false},
		{"listener.name.external.max.connections", true, true},
		{"listener.name.sasl_ssl.plain.sasl.jaas.config", true, false},
		{"listener.name.external.num.partitions", false, false},
		{"listener.name.external.log.retention.ms", false, false},
		{"listener.name.external.ssl.principal.mapping.rules", false, false},
		{"no.such.config", false, false},
	}
	for _, tc := range tests {
		p, c := IsDynamicBrokerConfig(tc.name)
		if p != tc.perBroker || c != tc.clusterWide {
			t.Errorf("IsDynamicBrokerConfig(%q) = %v, %v; want %v, %v", tc.name, p, c, tc.perBroker, tc.clusterWide)
		}
	}
}

func TestTypeNumbersMatchDescribeConfigs(t *testing.T) {
	got := []Type{TypeUnknown, TypeBoolean, TypeString, TypeInt, TypeShort, TypeLong, TypeDouble, TypeList, TypeClass, TypePassword}
	for i, ty := range got {
		if int(ty) != i {
			t.Errorf("%v = %d, want %d", ty, ty, i)
		}
	}
	if s := strconv.Itoa(int(DynamicBrokerLoggerConfig)); s != "6" || DefaultConfig != 5 || DynamicTopicConfig != 1 {
		t.Error("config source numbers drifted from DescribeConfigs")
	}
}

func TestExportedParsers(t *testing.T) {
	vs, err := ParseVoters("1@a:9093, 2@[::1]:9094,")
	if err != nil || len(vs) != 2 || vs[1].Addr() != "[::1]:9094" || vs[1].ID != 2 {
		t.Errorf("ParseVoters = %v, %v", vs, err)
	}
	if _, err := ParseVoters("1@a"); err == nil || !strings.Contains(err.Error(), "controller.quorum.voters") {
		t.Errorf("ParseVoters(1@a) err = %v", err)
	}
	ls, err := ParseListeners("ssl://h:9093", map[string]string{"SSL": "SSL"})
	if err != nil || len(ls) != 1 || ls[0].String() != "SSL://h:9093" || ls[0].SecurityProtocol != "SSL" {
		t.Errorf("ParseListeners = %v, %v", ls, err)
	}
	if got := strings.Join(TopicSynonyms("retention.ms"), ","); got != "log.retention.ms,log.retention.minutes,log.retention.hours" {
		t.Errorf("TopicSynonyms(retention.ms) = %s", got)
	}
	if got := strings.Join(BrokerSynonyms("log.retention.hours"), ","); got != "log.retention.ms,log.retention.minutes,log.retention.hours" {
		t.Errorf("BrokerSynonyms(log.retention.hours) = %s", got)
	}
	if TopicSynonyms("remote.storage.enable") != nil || !IsLegacyTopicConfig("message.format.version") || IsLegacyTopicConfig("retention.ms") {
		t.Error("synonym or legacy lookups wrong")
	}
}
