package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// threeNode is node 2 of a three-node combined cluster, valid as it is.
var threeNode = map[string]string{
	"node.id":                  "2",
	"process.roles":            "broker,controller",
	"controller.quorum.voters": "1@h1:9093,2@h2:9093,3@h3:9093",
	"listeners":                "PLAINTEXT://:9092,CONTROLLER://:9093",
	"advertised.listeners":     "PLAINTEXT://h2:9092",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func TestValidateAcceptsCommonLayouts(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
	}{
		{"a node of a three-node combined cluster", threeNode},
		{"a broker-only node", map[string]string{
			"node.id": "4", "process.roles": "broker", "controller.quorum.voters": "1@h1:9093",
			"listeners": "PLAINTEXT://h4:9092"}},
		{"a controller-only node with default listeners", map[string]string{
			"node.id": "1", "process.roles": "controller", "controller.quorum.voters": "1@h1:9093"}},
		{"a dynamic quorum found through bootstrap servers", map[string]string{
			"node.id": "1", "controller.quorum.bootstrap.servers": "h1:9093", "listeners": "PLAINTEXT://h1:9092,CONTROLLER://h1:9093"}},
		{"Kafka's KRaft sample server.properties", map[string]string{
			"process.roles": "broker,controller", "node.id": "1", "controller.quorum.voters": "1@localhost:9093",
			"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093", "inter.broker.listener.name": "PLAINTEXT",
			"advertised.listeners": "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093", "controller.listener.names": "CONTROLLER",
			"listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
			"num.network.threads":            "3", "num.io.threads": "8", "socket.send.buffer.bytes": "102400",
			"socket.receive.buffer.bytes": "102400", "socket.request.max.bytes": "104857600",
			"log.dirs": "/tmp/kraft-combined-logs", "num.partitions": "1", "num.recovery.threads.per.data.dir": "1",
			"offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
			"transaction.state.log.min.isr": "1", "share.coordinator.state.topic.replication.factor": "1",
			"share.coordinator.state.topic.min.isr": "1", "log.retention.hours": "168",
			"log.segment.bytes": "1073741824", "log.retention.check.interval.ms": "300000"}},
		{"two listeners on one port, IPv4 and IPv6", with(threeNode,
			"listeners", "PLAINTEXT://127.0.0.1:9092,V6://[::1]:9092,CONTROLLER://:9093",
			"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,V6:PLAINTEXT,CONTROLLER:PLAINTEXT")},
		{"ephemeral ports may repeat", with(threeNode, "listeners", "PLAINTEXT://h2:0,CONTROLLER://h2:0", "advertised.listeners", "<unset>")},
		{"an SSL listener for clients beside the inter-broker one", with(threeNode,
			"listeners", "PLAINTEXT://h2:9092,SSL://h2:9094,CONTROLLER://h2:9093", "advertised.listeners", "<unset>",
			"ssl.keystore.type", "PEM", "listener.name.ssl.ssl.keystore.location", "/etc/samsa/broker.pem")},
		{"SSL between brokers and to the controllers", with(threeNode,
			"listeners", "SSL://h2:9092,CONTROLLER://h2:9093", "advertised.listeners", "<unset>",
			"listener.security.protocol.map", "SSL:SSL,CONTROLLER:SSL", "inter.broker.listener.name", "SSL",
			"ssl.keystore.type", "PEM", "ssl.keystore.location", "/etc/samsa/broker.pem", "ssl.client.auth", "required",
			"ssl.truststore.type", "PEM", "ssl.truststore.location", "/etc/samsa/ca.pem")},
		{"a broker-only node reaching SSL controllers", with(threeNode, "node.id", "4", "process.roles", "broker",
			"listeners", "PLAINTEXT://h4:9092", "advertised.listeners", "<unset>",
			"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, warnings, err := FromMap(tc.props)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %v", warnings)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		keys  []string // the first error must name these keys
		msg   string
	}{
		{"node.id missing with a configured quorum", with(threeNode, "node.id", "<unset>"),
			[]string{"node.id", "broker.id"}, "node.id (or broker.id) must be set"},
		{"a controller outside the voters", with(threeNode, "node.id", "4"),
			[]string{"node.id", "controller.quorum.voters", "process.roles"}, "node.id 4 must be one of controller.quorum.voters"},
		{"a controller listener name missing from listeners", with(threeNode, "controller.listener.names", "CTRL",
			"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CTRL:PLAINTEXT"),
			[]string{"controller.listener.names", "listeners"}, "CTRL, which is not in listeners"},
		{"a broker-only node without a quorum", map[string]string{"process.roles": "broker", "node.id": "1"},
			[]string{"controller.quorum.voters", "controller.quorum.bootstrap.servers", "process.roles"}, "needs the metadata quorum"},
		{"a broker-only node listed as a voter", with(threeNode, "process.roles", "broker", "listeners", "PLAINTEXT://:9092"),
			[]string{"node.id", "controller.quorum.voters", "process.roles"}, "no controller role"},
		{"a broker-only node listening on the controller listener", with(threeNode, "process.roles", "broker", "node.id", "5"),
			[]string{"listeners", "controller.listener.names", "process.roles"}, "must not contain a controller.listener.names listener"},
		{"a controller-only node with a broker listener", with(threeNode, "process.roles", "controller"),
			[]string{"listeners", "controller.listener.names", "process.roles"}, "only controller.listener.names listeners"},
		{"duplicate roles", with(threeNode, "process.roles", "broker,broker,controller"),
			[]string{"process.roles"}, "lists broker twice"},
		{"heartbeats no more often than the session", with(threeNode, "broker.session.timeout.ms", "2000"),
			[]string{"broker.heartbeat.interval.ms", "broker.session.timeout.ms"}, "fences every broker between two heartbeats"},
		{"advertising 0.0.0.0", with(threeNode, "advertised.listeners", "PLAINTEXT://0.0.0.0:9092"),
			[]string{"advertised.listeners", "listeners"}, "non-routable address 0.0.0.0"},
		{"binding 0.0.0.0 without advertised.listeners", with(threeNode, "listeners", "PLAINTEXT://0.0.0.0:9092,CONTROLLER://:9093", "advertised.listeners", "<unset>"),
			[]string{"advertised.listeners", "listeners"}, "listeners: PLAINTEXT://0.0.0.0:9092 advertises"},
		{"duplicate listener names", with(threeNode, "listeners", "PLAINTEXT://:9092,plaintext://:9094,CONTROLLER://:9093"),
			[]string{"listeners"}, "PLAINTEXT appears twice"},
		{"duplicate listener ports", with(threeNode, "listeners", "PLAINTEXT://:9092,CONTROLLER://:9092"),
			[]string{"listeners"}, "use the same port 9092"},
		{"a listener without a security protocol", with(threeNode, "listeners", "PLAINTEXT://:9092,INTERNAL://:9094,CONTROLLER://:9093"),
			[]string{"listeners", "listener.security.protocol.map"}, "no security protocol for listener INTERNAL"},
		{"an explicit map without the controller listener", with(threeNode, "process.roles", "broker", "node.id", "5",
			"listeners", "PLAINTEXT://:9092", "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT"),
			[]string{"controller.listener.names", "listener.security.protocol.map"}, "the controller listener CONTROLLER is not in listener.security.protocol.map"},
		{"an advertised listener that is not bound", with(threeNode, "advertised.listeners", "PLAINTEXT://h2:9092,SSL://h2:9094"),
			[]string{"advertised.listeners", "listeners"}, "SSL, which is not in listeners"},
		{"an inter-broker listener that is not advertised", with(threeNode, "inter.broker.listener.name", "SSL"),
			[]string{"inter.broker.listener.name", "advertised.listeners"}, "must be one of the advertised broker listeners (PLAINTEXT)"},
		{"replicating over the controller listener", with(threeNode, "inter.broker.listener.name", "CONTROLLER"),
			[]string{"inter.broker.listener.name", "controller.listener.names"}, "is a controller listener"},
		{"both inter-broker settings", with(threeNode, "inter.broker.listener.name", "PLAINTEXT", "security.inter.broker.protocol", "PLAINTEXT"),
			[]string{"inter.broker.listener.name", "security.inter.broker.protocol"}, "only one of"},
		{"no data directory", with(threeNode, "log.dirs", " , "),
			[]string{"log.dirs", "log.dir"}, "at least one data directory"},
		{"a data directory twice", with(threeNode, "log.dirs", "/a,/a"),
			[]string{"log.dirs"}, "lists /a twice"},
		{"fetch wait above the ISR lag limit", with(threeNode, "replica.fetch.wait.max.ms", "20000", "replica.lag.time.max.ms", "10000"),
			[]string{"replica.fetch.wait.max.ms", "replica.lag.time.max.ms"}, "at most replica.lag.time.max.ms"},
		{"fetch wait above the socket timeout", with(threeNode, "replica.fetch.wait.max.ms", "20000", "replica.socket.timeout.ms", "10000"),
			[]string{"replica.socket.timeout.ms", "replica.fetch.wait.max.ms"}, "at least replica.fetch.wait.max.ms"},
		{"a request queue smaller than one request", with(threeNode, "queued.max.request.bytes", "1000"),
			[]string{"queued.max.request.bytes", "socket.request.max.bytes"}, "at least socket.request.max.bytes"},
		{"zero connections per IP without overrides", with(threeNode, "max.connections.per.ip", "0"),
			[]string{"max.connections.per.ip", "max.connections.per.ip.overrides"}, "only when"},
		{"an auth failure delay beyond the idle timeout", with(threeNode, "connection.failed.authentication.delay.ms", "700000"),
			[]string{"connection.failed.authentication.delay.ms", "connections.max.idle.ms"}, "less than"},
		{"too small a dedupe buffer", with(threeNode, "log.cleaner.dedupe.buffer.size", "1048576"),
			[]string{"log.cleaner.dedupe.buffer.size", "log.cleaner.threads"}, "1 MiB per"},
		{"min compaction lag above max", with(threeNode, "log.cleaner.min.compaction.lag.ms", "10", "log.cleaner.max.compaction.lag.ms", "5"),
			[]string{"log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"}, "must not exceed"},
		{"segment.ms below 1 from log.roll.ms", with(threeNode, "log.roll.ms", "0"),
			[]string{"log.roll.ms"}, "Value must be at least 1"},
		// samsa serves no SASL yet: such a listener is refused, not served
		// as plain TCP, and so is a controller listener a broker-only
		// node would connect to with SASL.
		{"a SASL listener among plain ones", with(threeNode, "listeners", "PLAINTEXT://h2:9092,SASL_PLAINTEXT://h2:9094,CONTROLLER://h2:9093"),
			[]string{"listeners", "listener.security.protocol.map"}, "SASL_PLAINTEXT uses the security protocol SASL_PLAINTEXT, but samsa serves PLAINTEXT and SSL only"},
		{"a SASL_SSL listener", with(threeNode, "listeners", "PLAINTEXT://h2:9092,SASL_SSL://h2:9094,CONTROLLER://h2:9093"),
			[]string{"listeners", "listener.security.protocol.map"}, "SASL_SSL uses the security protocol SASL_SSL"},
		{"a broker reaching its controllers with SASL", with(threeNode, "node.id", "4", "process.roles", "broker",
			"listeners", "PLAINTEXT://h4:9092", "advertised.listeners", "<unset>",
			"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL"),
			[]string{"listeners", "listener.security.protocol.map"}, "CONTROLLER uses the security protocol SASL_SSL"},
		{"an authorizer", with(threeNode, "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
			[]string{"authorizer.class.name"}, "no ACL authorizer yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := FromMap(tc.props)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !slices.Equal(ce.Keys, tc.keys) || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("got keys %v %q\nwant keys %v containing %q", ce.Keys, ce.Msg, tc.keys, tc.msg)
			}
		})
	}
}

func TestControllerListenerIsImpliedFromTheVoterEntry(t *testing.T) {
	b := mustFromMap(t, map[string]string{
		"node.id": "2", "controller.quorum.voters": "1@h1:19093,2@h2:19093", "listeners": "PLAINTEXT://h2:9092"})
	want := []string{"PLAINTEXT://h2:9092/PLAINTEXT", "CONTROLLER://h2:19093/PLAINTEXT"}
	if got := listenerStrings(b.Listeners); !slices.Equal(got, want) {
		t.Errorf("listeners = %v, want %v", got, want)
	}
}

func TestImpliedControllerPortSkipsPortsInUse(t *testing.T) {
	b := mustFromMap(t, map[string]string{"listeners": "PLAINTEXT://:9092,INTERNAL://:9093",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"})
	if got := b.ControllerListeners(); len(got) != 1 || got[0].Port != 9094 {
		t.Errorf("controller listeners = %v, want one on 9094", got)
	}
	if v := b.Quorum.Voters; len(v) != 1 || v[0].String() != "1@localhost:9094" {
		t.Errorf("voters = %v; an empty host must be advertised as localhost", v)
	}
}

func TestImpliedVoterUsesTheAdvertisedControllerAddress(t *testing.T) {
	b := mustFromMap(t, map[string]string{
		"listeners":            "PLAINTEXT://:9092,CONTROLLER://:9093",
		"advertised.listeners": "PLAINTEXT://kafka-0.example:9092,CONTROLLER://kafka-0.example:9093"})
	if v := b.Quorum.Voters; len(v) != 1 || v[0].String() != "1@kafka-0.example:9093" {
		t.Errorf("voters = %v", v)
	}
	if got := listenerStrings(b.AdvertisedBrokerListeners()); !slices.Equal(got, []string{"PLAINTEXT://kafka-0.example:9092/PLAINTEXT"}) {
		t.Errorf("advertised broker listeners = %v; controller entries are never broker endpoints", got)
	}
}

func TestListenerConfigFallsBackToTheBaseKey(t *testing.T) {
	b := mustFromMap(t, map[string]string{
		"ssl.keystore.location":                         "/base.pem",
		"listener.name.external.ssl.keystore.location":  "/external.pem",
		"sasl.jaas.config":                              "base",
		"listener.name.sasl_ssl.plain.sasl.jaas.config": "plain",
	})
	for _, tc := range []struct{ listener, key, want string }{
		{"EXTERNAL", "ssl.keystore.location", "/external.pem"},
		{"INTERNAL", "ssl.keystore.location", "/base.pem"},
		{"SASL_SSL", "plain.sasl.jaas.config", "plain"},
		{"SASL_SSL", "scram-sha-256.sasl.jaas.config", "base"},
	} {
		if got, _ := b.ListenerConfig(tc.listener, tc.key); got != tc.want {
			t.Errorf("ListenerConfig(%s, %s) = %q, want %q", tc.listener, tc.key, got, tc.want)
		}
	}
}
