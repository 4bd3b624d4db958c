package config

import (
	"fmt"
	"strings"
)

// brokerDefs is every broker setting in documentation order; brokerIndex
// finds one by name. Both are built once and never modified.
var (
	brokerDefs  = concatDefs(serverDefs, networkDefs, logDefs, replicationDefs, groupDefs, txnDefs, securityDefs)
	brokerIndex = indexDefs(brokerDefs)
)

func concatDefs(groups ...[]Def) []*Def {
	var out []*Def
	for _, g := range groups {
		for i := range g {
			out = append(out, &g[i])
		}
	}
	return out
}

func indexDefs(defs []*Def) map[string]*Def {
	m := make(map[string]*Def, len(defs))
	for _, d := range defs {
		if _, dup := m[d.Name]; dup {
			panic("config: duplicate definition " + d.Name)
		}
		m[d.Name] = d
	}
	return m
}

// BrokerDefs returns the broker configuration table in documentation order,
// for generating docs and for AlterConfigs validation. The Defs must not be
// modified.
func BrokerDefs() []*Def { return brokerDefs }

// LookupBroker returns the definition of a broker setting. A
// listener-prefixed name (listener.name.<listener>.<key>) resolves to the
// definition of <key>.
func LookupBroker(name string) (*Def, bool) {
	if d, ok := brokerIndex[name]; ok {
		return d, true
	}
	if _, base, ok := splitListenerPrefix(name); ok {
		d, ok := brokerIndex[base]
		return d, ok
	}
	return nil, false
}

// ListenerTLSKey reports whether name is a listener's TLS setting,
// listener.name.<listener>.ssl.*, and names the listener (upper-cased, as
// listener names are).
func ListenerTLSKey(name string) (listener string, ok bool) {
	l, base, ok := splitListenerPrefix(name)
	return strings.ToUpper(l), ok && strings.HasPrefix(base, "ssl.")
}

// IsTLSSetting reports whether name is a TLS setting of a broker's SSL
// listeners: listener.name.<listener>.ssl.* for one listener, or ssl.*
// for every listener that does not set it with its prefix.
func IsTLSSetting(name string) bool {
	if _, ok := ListenerTLSKey(name); ok {
		return true
	}
	return strings.HasPrefix(name, "ssl.")
}

// ListenerTLSSettings is the listeners' TLS settings among a broker's
// dynamic configs.
func ListenerTLSSettings(dynamic map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range dynamic {
		if IsTLSSetting(k) {
			out[k] = v
		}
	}
	return out
}

// splitListenerPrefix splits "listener.name.<listener>.<key>" and drops a
// SASL mechanism segment from <key> ("scram-sha-256.sasl.jaas.config" ->
// "sasl.jaas.config"), as Kafka's listener overrides allow.
func splitListenerPrefix(name string) (listener, base string, ok bool) {
	rest, ok := strings.CutPrefix(name, "listener.name.")
	if !ok {
		return "", "", false
	}
	listener, base, ok = strings.Cut(rest, ".")
	if !ok || listener == "" || base == "" {
		return "", "", false
	}
	if _, known := brokerIndex[base]; !known {
		if _, after, cut := strings.Cut(base, "."); cut && strings.HasPrefix(after, "sasl.") {
			base = after
		}
	}
	return listener, base, true
}

// listenerOnlySecurity are the TLS settings Kafka lets AlterConfigs change
// only with a listener prefix (listener.name.<l>.ssl.keystore.location).
var listenerOnlySecurity = map[string]bool{
	"ssl.keystore.type": true, "ssl.keystore.location": true, "ssl.keystore.password": true,
	"ssl.key.password": true, "ssl.truststore.type": true, "ssl.truststore.location": true,
	"ssl.truststore.password": true, "ssl.keystore.certificate.chain": true,
	"ssl.keystore.key": true, "ssl.truststore.certificates": true,
}

// clusterLevelListenerConfigs may be set per listener at the cluster level.
var clusterLevelListenerConfigs = map[string]bool{
	"max.connections": true, "max.connection.creation.rate": true, "num.network.threads": true,
}

// IsDynamicBrokerConfig reports whether AlterConfigs may set name on one
// broker resource (perBroker) and on the default broker resource
// (clusterWide), as Kafka allows: the broker defaults of topic configs
// (log.retention.ms, message.max.bytes, min.insync.replicas, ...) on both,
// the value on a broker's own resource winning on that broker (see
// ResolveTopic). Listener-prefixed names follow Kafka:
// TLS keystore and truststore settings are dynamic only with a listener
// prefix, and listener-prefixed settings are per broker except the
// connection caps.
//
// Settings samsa reads only at startup (StartupOnly) are not dynamic,
// though they are in Kafka: a value stored and never applied would mislead.
func IsDynamicBrokerConfig(name string) (perBroker, clusterWide bool) {
	if _, base, ok := splitListenerPrefix(name); ok {
		d, known := brokerIndex[base]
		if !known || d.Mode == ReadOnly || !listenerScoped(base) {
			return false, false
		}
		return true, clusterLevelListenerConfigs[base]
	}
	d, ok := brokerIndex[name]
	if !ok || d.Mode == ReadOnly || listenerOnlySecurity[name] || startupOnly[name] != "" {
		return false, false
	}
	return true, d.Mode == ClusterWide
}

// listenerScoped reports whether a setting may take a listener prefix: the
// security settings and the connection limits, as Kafka's listener configs.
func listenerScoped(base string) bool {
	return strings.HasPrefix(base, "ssl.") || strings.HasPrefix(base, "sasl.") || clusterLevelListenerConfigs[base]
}

// startupOnly are the settings Kafka changes at run time that samsa reads
// only when a broker starts, with what to do instead.
var startupOnly = map[string]string{
	"listeners":                         "samsa binds its listeners at startup",
	"advertised.listeners":              "samsa registers its listeners at startup",
	"listener.security.protocol.map":    "samsa binds its listeners at startup",
	"log.cleaner.threads":               "samsa sets its log cleaner up at startup",
	"log.cleaner.dedupe.buffer.size":    "samsa sets its log cleaner up at startup",
	"log.cleaner.io.buffer.size":        "samsa sets its log cleaner up at startup",
	"log.cleaner.io.buffer.load.factor": "samsa sets its log cleaner up at startup",
	"log.cleaner.backoff.ms":            "samsa sets its log cleaner up at startup",
}

// StartupOnly reports why samsa cannot change name while a broker runs,
// though Kafka can, or "" when that is not the reason.
func StartupOnly(name string) string {
	if why := startupOnly[name]; why != "" {
		return why + ": set it in server.properties and restart the broker"
	}
	return ""
}

// BrokerSynonyms lists the broker settings that set the same value as name,
// highest priority first, as DescribeConfigs reports them: log.retention.ms,
// log.retention.minutes and log.retention.hours are one group, and a
// listener-prefixed name is followed by its base name.
func BrokerSynonyms(name string) []string {
	switch name {
	case "log.roll.ms", "log.roll.hours":
		return []string{"log.roll.ms", "log.roll.hours"}
	case "log.roll.jitter.ms", "log.roll.jitter.hours":
		return []string{"log.roll.jitter.ms", "log.roll.jitter.hours"}
	case "log.flush.interval.ms":
		return []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}
	case "log.retention.ms", "log.retention.minutes", "log.retention.hours":
		return []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}
	}
	if _, base, ok := splitListenerPrefix(name); ok {
		return []string{name, base}
	}
	return []string{name}
}

// removedKeys are settings Kafka no longer has (mostly ZooKeeper-era ones
// found in old server.properties files), with what to do instead.
var removedKeys = map[string]string{
	"port":                                    "removed in Kafka 3.0 and ignored; use listeners=PLAINTEXT://:<port>",
	"host.name":                               "removed in Kafka 3.0 and ignored; use listeners=PLAINTEXT://<host>:9092",
	"advertised.port":                         "removed in Kafka 3.0 and ignored; use advertised.listeners",
	"advertised.host.name":                    "removed in Kafka 3.0 and ignored; use advertised.listeners",
	"log.message.format.version":              "removed in Kafka 4.0 and ignored; samsa writes message format v2 only",
	"log.message.downconversion.enable":       "removed in Kafka 4.0 and ignored; samsa never down-converts",
	"log.message.timestamp.difference.max.ms": "removed in Kafka 4.0 and ignored; use log.message.timestamp.before.max.ms and log.message.timestamp.after.max.ms",
	"inter.broker.protocol.version":           "ignored; samsa nodes of one version always speak the same protocol",
	"offsets.commit.required.acks":            "removed in Kafka 4.0 and ignored; offset commits always wait for the full ISR",
	"delegation.token.master.key":             "removed in Kafka 4.0 and ignored; use delegation.token.secret.key",
	"broker.id.generation.enable":             "ignored; samsa needs an explicit node.id (or broker.id)",
	"reserved.broker.max.id":                  "ignored; samsa needs an explicit node.id (or broker.id)",
	"control.plane.listener.name":             "ignored; not supported with a built-in metadata quorum (as in Kafka's KRaft mode)",
	"group.coordinator.new.enable":            "ignored; samsa has one group coordinator",
}

// keyWarning returns the warning for a key that is not in the broker table,
// or "" if the key is known.
func keyWarning(name string) string {
	if _, ok := LookupBroker(name); ok {
		return ""
	}
	if strings.HasPrefix(name, "zookeeper.") {
		msg := name + " is ignored: samsa's metadata quorum is built in, no ZooKeeper is used"
		if name == "zookeeper.connect" {
			msg += "; without controller.quorum.voters this node is a single-node cluster, so for several nodes add the same " +
				"controller.quorum.voters=<node.id>@<host>:<port>,... line to every node's file"
		}
		return msg
	}
	if hint, ok := removedKeys[name]; ok {
		return name + " is " + hint
	}
	if td, ok := topicIndex[name]; ok && len(td.synonyms) > 0 {
		return fmt.Sprintf("unknown broker configuration %s ignored; %s is a topic config, its broker-wide default is %s",
			name, name, td.synonyms[0])
	}
	return "unknown configuration " + name + " ignored"
}

// ValidateBrokerConfig checks a value for a broker setting, as AlterConfigs
// on a broker resource must before storing it: unknown names and values that
// fail the setting's type or validator are errors naming the key.
func ValidateBrokerConfig(name, value string) error {
	base := name
	if _, b, ok := splitListenerPrefix(name); ok {
		base = b
	}
	d, ok := brokerIndex[base]
	if !ok {
		return &Error{Keys: []string{name}, Msg: "Unknown broker config name: " + name}
	}
	if _, err := d.parseValue(value); err != nil {
		return err
	}
	if base == "max.connections.per.ip.overrides" {
		_, err := parseIPOverrides(value)
		return err
	}
	return nil
}

// IsListConfig reports whether a topic or broker setting is of list type,
// the only kind IncrementalAlterConfigs may APPEND to or SUBTRACT from.
func IsListConfig(name string) bool {
	if td, ok := topicIndex[name]; ok {
		return td.Type == TypeList
	}
	if _, b, ok := splitListenerPrefix(name); ok {
		name = b
	}
	d, ok := brokerIndex[name]
	return ok && d.Type == TypeList
}
