package config

import (
	"maps"
	"math"
	"testing"
	"time"
)

func TestConnectionLimitsPrecedence(t *testing.T) {
	b := mustFromMap(t, map[string]string{
		"listeners":                               "PLAINTEXT://127.0.0.1:9092,REPLICATION://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
		"listener.security.protocol.map":          "PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":              "REPLICATION",
		"max.connections":                         "100",
		"max.connections.per.ip":                  "10",
		"max.connections.per.ip.overrides":        "10.0.0.1:20",
		"listener.name.plaintext.max.connections": "50",
	})
	static := b.ConnectionLimits(Dynamic{})
	if static.MaxConnections != 100 || static.MaxConnectionsPerIP != 10 || static.MaxConnectionCreationRate != 2147483647 {
		t.Errorf("static limits: %+v", static)
	}
	if !maps.Equal(static.MaxConnectionsPerIPByHost, map[string]int32{"10.0.0.1": 20}) {
		t.Errorf("static overrides: %v", static.MaxConnectionsPerIPByHost)
	}
	if got := static.Listeners; len(got) != 1 || got["PLAINTEXT"] != (ListenerConnectionLimits{50, -1}) {
		t.Errorf("static listener limits: %v", got)
	}

	dyn := Dynamic{
		PerBroker: map[string]string{"max.connections": "300", "listener.name.replication.max.connection.creation.rate": "5"},
		ClusterDefault: map[string]string{"max.connections": "200", "max.connection.creation.rate": "30",
			"max.connections.per.ip.overrides": "", "listener.name.plaintext.max.connections": "60"},
	}
	got := b.ConnectionLimits(dyn)
	if got.MaxConnections != 300 {
		t.Errorf("max.connections = %d; this broker's value must beat the cluster-wide one", got.MaxConnections)
	}
	if got.MaxConnectionCreationRate != 30 || got.MaxConnectionsPerIP != 10 {
		t.Errorf("creation rate %d, per ip %d; want the cluster-wide 30 and the static 10", got.MaxConnectionCreationRate, got.MaxConnectionsPerIP)
	}
	if len(got.MaxConnectionsPerIPByHost) != 0 {
		t.Errorf("overrides %v; an empty dynamic value clears the static one", got.MaxConnectionsPerIPByHost)
	}
	want := map[string]ListenerConnectionLimits{"PLAINTEXT": {60, -1}, "REPLICATION": {-1, 5}}
	if !maps.Equal(got.Listeners, want) {
		t.Errorf("listener limits %v, want %v", got.Listeners, want)
	}
}

func TestValidateIPOverrides(t *testing.T) {
	for _, v := range []string{"", "localhost:5", "10.0.0.1:0,[::1]:3", "a:1, b:2"} {
		if err := ValidateBrokerConfig("max.connections.per.ip.overrides", v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range []string{"localhost", "host:x", "host:-1", ":4"} {
		if err := ValidateBrokerConfig("max.connections.per.ip.overrides", v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestProducerIDExpirationAtRunTime(t *testing.T) {
	b := mustFromMap(t, map[string]string{"producer.id.expiration.ms": "1000"})
	for _, tc := range []struct {
		dyn  Dynamic
		want int64
	}{
		{Dynamic{}, 1000},
		{ClusterDynamic(map[string]string{"producer.id.expiration.ms": "2000"}), 2000},
		{Dynamic{PerBroker: map[string]string{"producer.id.expiration.ms": "3000"},
			ClusterDefault: map[string]string{"producer.id.expiration.ms": "2000"}}, 3000},
	} {
		if got := b.ProducerIDExpirationMs(tc.dyn); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.dyn, got, tc.want)
		}
	}
}

func TestStartupOnlySays(t *testing.T) {
	if StartupOnly("log.cleaner.threads") == "" || StartupOnly("node.id") != "" || StartupOnly("log.retention.ms") != "" {
		t.Error("StartupOnly should explain log.cleaner.threads only")
	}
}

// What server.properties refuses, AlterConfigs refuses too.
func TestRollTimesAtRunTime(t *testing.T) {
	for _, kv := range [][2]string{{"log.roll.ms", "-1"}, {"log.roll.ms", "0"}, {"log.roll.jitter.ms", "-1"}} {
		if err := ValidateBrokerConfig(kv[0], kv[1]); err == nil {
			t.Errorf("%s=%s accepted", kv[0], kv[1])
		}
	}
}

func TestMillisSaturates(t *testing.T) {
	for ms, want := range map[int64]time.Duration{
		-1: 0, 0: 0, 1500: 1500 * time.Millisecond, math.MaxInt64: math.MaxInt64,
		math.MaxInt64 / int64(time.Millisecond): time.Duration(math.MaxInt64/int64(time.Millisecond)) * time.Millisecond,
	} {
		if got := Millis(ms); got != want {
			t.Errorf("Millis(%d) = %v, want %v", ms, got, want)
		}
	}
}

func TestCleanerIORateAtRunTime(t *testing.T) {
	b := mustFromMap(t, map[string]string{"log.cleaner.io.max.bytes.per.second": "1000000"})
	if got := b.CleanerIOMaxBytesPerSecond(Dynamic{}); got != 1e6 {
		t.Errorf("static: %v", got)
	}
	dyn := Dynamic{PerBroker: map[string]string{"log.cleaner.io.max.bytes.per.second": "2.5E7"},
		ClusterDefault: map[string]string{"log.cleaner.io.max.bytes.per.second": "1"}}
	if got := b.CleanerIOMaxBytesPerSecond(dyn); got != 2.5e7 {
		t.Errorf("this broker's value: %v", got)
	}
}

func TestRecoveryThreadsAtTheNextStart(t *testing.T) {
	b := mustFromMap(t, map[string]string{"num.recovery.threads.per.data.dir": "3"})
	if got := b.RecoveryThreadsPerDataDir(Dynamic{}); got != 3 {
		t.Errorf("static: %d", got)
	}
	if got := b.RecoveryThreadsPerDataDir(ClusterDynamic(map[string]string{"num.recovery.threads.per.data.dir": "8"})); got != 8 {
		t.Errorf("cluster-wide: %d", got)
	}
}
