package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeProps writes a properties file into a fresh temp directory.
func writeProps(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustFromMap(t *testing.T, props map[string]string) *Broker {
	t.Helper()
	b, _, err := FromMap(props)
	if err != nil {
		t.Fatalf("FromMap(%v): %v", props, err)
	}
	return b
}

func listenerStrings(ls []Listener) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.String()+"/"+l.SecurityProtocol)
	}
	return out
}

func TestDefaultsAloneMakeAOneNodeCluster(t *testing.T) {
	b, warnings, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %v, want none", warnings)
	}
	if b.NodeID != 1 || !b.HasRole("broker") || !b.HasRole("controller") || !b.ImpliedQuorum {
		t.Errorf("node %d roles %v implied %v, want node 1, broker and controller, implied quorum", b.NodeID, b.Roles, b.ImpliedQuorum)
	}
	wantListeners := []string{"PLAINTEXT://localhost:9092/PLAINTEXT", "CONTROLLER://localhost:9093/PLAINTEXT"}
	if got := listenerStrings(b.Listeners); !slices.Equal(got, wantListeners) {
		t.Errorf("listeners = %v, want %v", got, wantListeners)
	}
	if got := listenerStrings(b.AdvertisedBrokerListeners()); !slices.Equal(got, wantListeners[:1]) {
		t.Errorf("advertised broker listeners = %v, want %v", got, wantListeners[:1])
	}
	if got := b.Quorum.Voters; len(got) != 1 || got[0].String() != "1@localhost:9093" {
		t.Errorf("voters = %v, want [1@localhost:9093]", got)
	}
	if !slices.Equal(b.LogDirs, []string{"./data"}) || b.Quorum.MetadataLogDir != "./data" {
		t.Errorf("log dirs %v, metadata dir %q, want ./data", b.LogDirs, b.Quorum.MetadataLogDir)
	}
	if b.Group.OffsetsTopicReplicationFactor != 1 || b.Txn.StateLogReplicationFactor != 1 || b.Txn.StateLogMinISR != 1 {
		t.Errorf("internal topics rf %d/%d min isr %d, want 1/1/1",
			b.Group.OffsetsTopicReplicationFactor, b.Txn.StateLogReplicationFactor, b.Txn.StateLogMinISR)
	}
	if l, ok := b.InterBrokerListener(); !ok || l.Name != "PLAINTEXT" {
		t.Errorf("inter-broker listener = %v %v, want PLAINTEXT", l, ok)
	}
	if !b.TopicDefaults.FsyncBeforeAck() || b.TopicDefaults.FlushMessages != 1 {
		t.Errorf("flush.messages = %d, want 1 (fsync before ack)", b.TopicDefaults.FlushMessages)
	}
}

func TestZooKeeperEraSeedFileLoadsWithOnlyTheZooKeeperWarning(t *testing.T) {
	b, warnings, err := Load("testdata/kafka-2.8-server.properties", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0].Key != "zookeeper.connect" ||
		!strings.Contains(warnings[0].Message, "built in") || !strings.Contains(warnings[0].Message, "controller.quorum.voters") {
		t.Fatalf("warnings = %v, want one for zookeeper.connect naming the built-in quorum", warnings)
	}
	if b.NodeID != 1 || !b.ImpliedQuorum {
		t.Errorf("node %d implied %v, want node 1 with an implied quorum", b.NodeID, b.ImpliedQuorum)
	}
	want := []string{"PLAINTEXT://192.168.10.17:9092/PLAINTEXT", "CONTROLLER://192.168.10.17:9093/PLAINTEXT"}
	if got := listenerStrings(b.Listeners); !slices.Equal(got, want) {
		t.Errorf("listeners = %v, want %v", got, want)
	}
	if got := listenerStrings(b.AdvertisedBrokerListeners()); !slices.Equal(got, want[:1]) {
		t.Errorf("advertised broker listeners = %v, want %v", got, want[:1])
	}
	if got := b.Quorum.Voters; len(got) != 1 || got[0].String() != "1@192.168.10.17:9093" {
		t.Errorf("voters = %v, want [1@192.168.10.17:9093]", got)
	}
	if !slices.Equal(b.LogDirs, []string{"/usr/local/kafka/logs"}) {
		t.Errorf("log dirs = %v", b.LogDirs)
	}
	if b.Topics.NumPartitions != 1 || b.Log.RecoveryThreadsPerDataDir != 1 || b.Network.NumIOThreads != 8 ||
		b.Network.SocketRequestMaxBytes != 104857600 || b.Network.SocketSendBufferBytes != 102400 {
		t.Errorf("file values not applied: %+v %+v %+v", b.Topics, b.Log, b.Network)
	}
	if b.TopicDefaults.RetentionMs != 168*3600*1000 || b.TopicDefaults.SegmentBytes != 1<<30 {
		t.Errorf("topic defaults retention %d segment %d", b.TopicDefaults.RetentionMs, b.TopicDefaults.SegmentBytes)
	}
	if b.Group.OffsetsTopicReplicationFactor != 1 || b.Txn.StateLogMinISR != 1 {
		t.Errorf("a one-node cluster must default internal topics to rf 1, min isr 1: %d %d",
			b.Group.OffsetsTopicReplicationFactor, b.Txn.StateLogMinISR)
	}
}

// The seed documents run three such files on three machines. One added line,
// the same on every node, turns them into one three-node cluster.
func TestZooKeeperEraFilesFormAClusterWithOneAddedLine(t *testing.T) {
	seed, err := os.ReadFile("testdata/kafka-2.8-server.properties")
	if err != nil {
		t.Fatal(err)
	}
	const voters = "controller.quorum.voters=1@192.168.30.18:9093,2@192.168.30.19:9093,3@192.168.30.20:9093\n"
	for id, host := range map[string]string{"1": "192.168.30.18", "2": "192.168.30.19", "3": "192.168.30.20"} {
		text := strings.NewReplacer("broker.id=1", "broker.id="+id, "192.168.10.17", host).Replace(string(seed)) + voters
		b, _, err := Load(writeProps(t, text), nil, nil)
		if err != nil {
			t.Fatalf("node %s: %v", id, err)
		}
		if b.ImpliedQuorum || len(b.Quorum.Voters) != 3 {
			t.Errorf("node %s: voters %v implied %v, want the three listed", id, b.Quorum.Voters, b.ImpliedQuorum)
		}
		want := []string{"PLAINTEXT://" + host + ":9092/PLAINTEXT", "CONTROLLER://" + host + ":9093/PLAINTEXT"}
		if got := listenerStrings(b.Listeners); !slices.Equal(got, want) {
			t.Errorf("node %s: listeners = %v, want %v", id, got, want)
		}
		if b.Group.OffsetsTopicReplicationFactor != 3 || b.Txn.StateLogMinISR != 2 {
			t.Errorf("node %s: with a real quorum Kafka's internal-topic defaults apply, got rf %d min isr %d",
				id, b.Group.OffsetsTopicReplicationFactor, b.Txn.StateLogMinISR)
		}
	}
}

func TestPrecedenceIsDefaultThenFileThenEnvThenOverride(t *testing.T) {
	path := writeProps(t, "num.partitions=2\nnum.io.threads=4\nnum.network.threads=5\n")
	env := []string{"SAMSA_NUM_IO_THREADS=6", "SAMSA_NUM_NETWORK_THREADS=7", "PATH=/bin"}
	b, warnings, err := Load(path, []string{"num.network.threads=9"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %v", warnings)
	}
	got := []int32{b.Network.BackgroundThreads, b.Topics.NumPartitions, b.Network.NumIOThreads, b.Network.NumNetworkThreads}
	want := []int32{10, 2, 6, 9} // default, file, env, override
	if !slices.Equal(got, want) {
		t.Errorf("background, partitions, io, network = %v, want %v", got, want)
	}
}

func TestEnvKey(t *testing.T) {
	tests := []struct{ env, key string }{
		{"SAMSA_LOG_DIRS", "log.dirs"},
		{"SAMSA_NODE_ID", "node.id"},
		{"SAMSA_LISTENER_SECURITY_PROTOCOL_MAP", "listener.security.protocol.map"},
		{"SAMSA_LISTENER_NAME_SASL__SSL_SASL_ENABLED__MECHANISMS", "listener.name.sasl_ssl.sasl.enabled_mechanisms"},
	}
	for _, tc := range tests {
		if got, ok := EnvKey(tc.env); !ok || got != tc.key {
			t.Errorf("EnvKey(%q) = %q, %v; want %q", tc.env, got, ok, tc.key)
		}
	}
	for _, env := range []string{"SAMSA_", "KAFKA_LOG_DIRS", "samsa_log_dirs"} {
		if got, ok := EnvKey(env); ok {
			t.Errorf("EnvKey(%q) = %q, want not a config variable", env, got)
		}
	}
}

func TestEnvironmentSetsPropertiesAndSkipsUnrelatedVariables(t *testing.T) {
	b, warnings, err := Load("", nil, []string{"SAMSA_LOG_DIRS=/d1,/d2", "SAMSA_E2E=1", "SAMSA_BROKER_RACK=r1", "SAMSA_NOT_A_SETTING=x"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.LogDirs, []string{"/d1", "/d2"}) || b.Rack != "r1" {
		t.Errorf("log dirs %v rack %q", b.LogDirs, b.Rack)
	}
	if len(warnings) != 1 || warnings[0].Key != "not.a.setting" || !strings.Contains(warnings[0].Message, "SAMSA_NOT_A_SETTING") {
		t.Errorf("warnings = %v, want one for not.a.setting naming its variable (and none for SAMSA_E2E)", warnings)
	}
}

func TestOverridesNeedKeyEqualsValue(t *testing.T) {
	for _, arg := range []string{"num.partitions", "=3"} {
		if _, _, err := Load("", []string{arg}, nil); err == nil {
			t.Errorf("Load with --override %q succeeded", arg)
		}
	}
	b, _, err := Load("", []string{"broker.rack=a=b"}, nil)
	if err != nil || b.Rack != "a=b" {
		t.Errorf("--override broker.rack=a=b gave %q, %v; the value keeps later '='", b.Rack, err)
	}
}

func TestBrokerIDIsAnAliasOfNodeID(t *testing.T) {
	voters := "controller.quorum.voters=1@h1:9093,2@h2:9093,7@h7:9093\n"
	t.Run("broker.id alone sets node.id", func(t *testing.T) {
		b := mustFromMap(t, map[string]string{"broker.id": "7", "controller.quorum.voters": "7@h7:9093"})
		if b.NodeID != 7 {
			t.Errorf("NodeID = %d", b.NodeID)
		}
	})
	t.Run("equal values are accepted", func(t *testing.T) {
		b := mustFromMap(t, map[string]string{"broker.id": "7", "node.id": " 7", "controller.quorum.voters": "7@h7:9093"})
		if b.NodeID != 7 {
			t.Errorf("NodeID = %d", b.NodeID)
		}
	})
	t.Run("different values in one source are an error naming both", func(t *testing.T) {
		_, _, err := Load(writeProps(t, voters+"broker.id=1\nnode.id=2\n"), nil, nil)
		var ce *Error
		if !errors.As(err, &ce) || !slices.Equal(ce.Keys, []string{"node.id", "broker.id"}) {
			t.Fatalf("err = %v, want an *Error naming node.id and broker.id", err)
		}
	})
	t.Run("a later source replaces both names", func(t *testing.T) {
		b, _, err := Load(writeProps(t, voters+"broker.id=1\n"), nil, []string{"SAMSA_NODE_ID=2"})
		if err != nil || b.NodeID != 2 {
			t.Fatalf("NodeID = %v, err %v; the environment's node.id should win over the file's broker.id", b, err)
		}
		if v, _ := b.Value("broker.id"); v != "2" {
			t.Errorf("broker.id = %q, want it to follow node.id", v)
		}
	})
}

func TestWarnings(t *testing.T) {
	_, warnings, err := FromMap(map[string]string{
		"zookeeper.connect":               "zk:2181",
		"zookeeper.connection.timeout.ms": "18000",
		"port":                            "9092",
		"retention.ms":                    "1000",
		"no.such.setting":                 "1",
		"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": "x",
		"listener.name.internal.ssl.keystore.location":          "/k",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range warnings {
		got[w.Key] = w.Message
	}
	want := map[string]string{
		"zookeeper.connect":               "built in",
		"zookeeper.connection.timeout.ms": "built in",
		"port":                            "listeners=",
		"retention.ms":                    "log.retention.ms",
		"no.such.setting":                 "unknown configuration",
	}
	if len(got) != len(want) {
		t.Errorf("warnings = %v, want one each for %v", warnings, want)
	}
	for k, sub := range want {
		if !strings.Contains(got[k], sub) {
			t.Errorf("warning for %s = %q, want it to mention %q", k, got[k], sub)
		}
	}
}

func TestInvalidValuesAreErrorsNamingTheKey(t *testing.T) {
	_, _, err := FromMap(map[string]string{
		"num.partitions":                         "0",
		"log.retention.ms":                       "soon",
		"listener.name.internal.ssl.client.auth": "maybe",
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"Invalid value 0 for configuration num.partitions: Value must be at least 1",
		"Invalid value soon for configuration log.retention.ms: Not a number of type LONG",
		"Invalid value maybe for configuration listener.name.internal.ssl.client.auth: String must be one of: required, requested, none",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestRetentionPrecedenceMsOverMinutesOverHours(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  int64
	}{
		{"hours by default", nil, 168 * 3_600_000},
		{"hours when set", map[string]string{"log.retention.hours": "1"}, 3_600_000},
		{"minutes over hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2"}, 120_000},
		{"ms over minutes and hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2", "log.retention.ms": "3"}, 3},
		{"negative hours mean forever", map[string]string{"log.retention.hours": "-5"}, -1},
		{"negative ms mean forever", map[string]string{"log.retention.ms": "-2"}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustFromMap(t, tc.props)
			if got := b.TopicDefaults.RetentionMs; got != tc.want {
				t.Errorf("retention = %d ms, want %d", got, tc.want)
			}
		})
	}
	t.Run("zero is rejected", func(t *testing.T) {
		if _, _, err := FromMap(map[string]string{"log.retention.ms": "0"}); err == nil {
			t.Error("log.retention.ms=0 accepted; Kafka requires -1 or at least 1")
		}
	})
	t.Run("ms from the command line beats hours from the file, and hours from the command line do not beat ms from the file", func(t *testing.T) {
		path := writeProps(t, "log.retention.hours=1\n")
		b, _, err := Load(path, []string{"log.retention.ms=5"}, nil)
		if err != nil || b.TopicDefaults.RetentionMs != 5 {
			t.Errorf("retention %d, err %v, want 5", b.TopicDefaults.RetentionMs, err)
		}
		path = writeProps(t, "log.retention.ms=5\n")
		b, _, err = Load(path, []string{"log.retention.hours=1"}, nil)
		if err != nil || b.TopicDefaults.RetentionMs != 5 {
			t.Errorf("retention %d, err %v, want 5", b.TopicDefaults.RetentionMs, err)
		}
	})
}

func TestRollAndFlushSynonyms(t *testing.T) {
	b := mustFromMap(t, map[string]string{"log.roll.hours": "2", "log.roll.jitter.hours": "1", "log.flush.scheduler.interval.ms": "700"})
	if b.TopicDefaults.SegmentMs != 7_200_000 || b.TopicDefaults.SegmentJitterMs != 3_600_000 || b.TopicDefaults.FlushMs != 700 {
		t.Errorf("segment.ms %d jitter %d flush.ms %d", b.TopicDefaults.SegmentMs, b.TopicDefaults.SegmentJitterMs, b.TopicDefaults.FlushMs)
	}
	b = mustFromMap(t, map[string]string{"log.roll.hours": "2", "log.roll.ms": "5", "log.flush.scheduler.interval.ms": "700", "log.flush.interval.ms": "9"})
	if b.TopicDefaults.SegmentMs != 5 || b.TopicDefaults.FlushMs != 9 {
		t.Errorf("segment.ms %d flush.ms %d, want the ms settings to win", b.TopicDefaults.SegmentMs, b.TopicDefaults.FlushMs)
	}
}

func TestKafkaFlushDefaultSelectsPageCacheMode(t *testing.T) {
	b := mustFromMap(t, map[string]string{"log.flush.interval.messages": "9223372036854775807"})
	if b.TopicDefaults.FsyncBeforeAck() {
		t.Error("flush.messages=Long.MAX still fsyncs before ack")
	}
}
