package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable that sets a broker property.
const EnvPrefix = "SAMSA_"

// Load builds the configuration of one node from, in increasing precedence:
// samsa's defaults, the properties file at path ("" for none), environment
// variables (environ as os.Environ returns it) and --override arguments
// ("key=value" each). It returns the warnings to log (unknown keys,
// ZooKeeper-era keys) and an error joining one *Error per value that fails
// validation, or else per cross-field rule broken (see Broker.Validate);
// each names its keys.
func Load(path string, overrides []string, environ []string) (*Broker, []Warning, error) {
	var layers []layer
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read config: %w", err)
		}
		props, err := ParseProperties(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read config %s: %w", path, err)
		}
		layers = append(layers, layer{props: props})
	}
	layers = append(layers, envLayer(environ))
	ov, err := overrideLayer(overrides)
	if err != nil {
		return nil, nil, err
	}
	layers = append(layers, ov)
	return build(layers)
}

// FromMap builds a configuration from properties already in memory, as if
// they were the whole server.properties; no environment is read.
func FromMap(props map[string]string) (*Broker, []Warning, error) {
	return build([]layer{{props: props}})
}

// layer is one source of properties; origins names, per key, where the key
// came from when that is not the key itself (an environment variable).
type layer struct {
	props   map[string]string
	origins map[string]string
}

// EnvKey converts an environment variable name to a property name: the
// SAMSA_ prefix is dropped, the rest lower-cased, "__" becomes "_" and "_"
// becomes ".": SAMSA_LOG_DIRS -> log.dirs, SAMSA_LISTENER_NAME_SASL__SSL_SASL_ENABLED_MECHANISMS
// -> listener.name.sasl_ssl.sasl.enabled.mechanisms. ok is false without the prefix.
func EnvKey(variable string) (key string, ok bool) {
	rest, ok := strings.CutPrefix(variable, EnvPrefix)
	if !ok || rest == "" {
		return "", false
	}
	parts := strings.Split(strings.ToLower(rest), "__")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "_", ".")
	}
	return strings.Join(parts, "_"), true
}

// envLayer collects SAMSA_* variables. A variable whose property name has no
// dot and is not a known setting (SAMSA_E2E, SAMSA_HOME) is taken to be for
// something else and skipped without a warning.
func envLayer(environ []string) layer {
	l := layer{props: map[string]string{}, origins: map[string]string{}}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		key, ok := EnvKey(name)
		if !ok {
			continue
		}
		if _, known := LookupBroker(key); !known && !strings.Contains(key, ".") {
			continue
		}
		l.props[key] = value
		l.origins[key] = name
	}
	return l
}

// overrideLayer parses --override arguments, key=value each.
func overrideLayer(args []string) (layer, error) {
	l := layer{props: map[string]string{}}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return layer{}, fmt.Errorf("--override %q: expected key=value", a)
		}
		l.props[k] = v
	}
	return l, nil
}

// build merges the layers, reports unknown keys, validates every value and
// derives the typed configuration.
func build(layers []layer) (*Broker, []Warning, error) {
	static := map[string]string{}
	origins := map[string]string{}
	var errs []error
	for _, l := range layers {
		if err := mergeLayer(static, origins, l); err != nil {
			errs = append(errs, err)
		}
	}
	warnings := unknownKeyWarnings(static, origins)
	for _, name := range sortedKeys(static) {
		if d, ok := LookupBroker(name); ok {
			if _, err := d.parseValue(static[name]); err != nil {
				e := err.(*Error)
				e.Msg = strings.Replace(e.Msg, "configuration "+d.Name, "configuration "+name, 1)
				e.Keys = []string{name}
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	b := &Broker{static: static}
	b.defaults, b.ImpliedQuorum = impliedDefaults(static)
	if err := b.fill(); err != nil {
		return nil, warnings, err
	}
	if err := b.Validate(); err != nil {
		return nil, warnings, err
	}
	return b, warnings, nil
}

// mergeLayer copies l over dst. node.id and broker.id are one setting: a
// layer that sets either replaces both, and a layer that sets both to
// different values is an error.
func mergeLayer(dst, origins map[string]string, l layer) error {
	nid, hasNode := l.props["node.id"]
	bid, hasBroker := l.props["broker.id"]
	if hasNode && hasBroker && !sameInt(nid, bid) {
		return conflict(fmt.Sprintf("node.id (%s) and broker.id (%s) differ: broker.id is the old name of node.id, set one of them",
			strings.TrimSpace(nid), strings.TrimSpace(bid)), "node.id", "broker.id")
	}
	for k, v := range l.props {
		dst[k] = v
		if o, ok := l.origins[k]; ok {
			origins[k] = o
		} else {
			delete(origins, k)
		}
	}
	switch {
	case hasNode:
		dst["broker.id"] = nid
	case hasBroker:
		dst["node.id"] = bid
	}
	return nil
}

func sameInt(a, b string) bool {
	x, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 32)
	y, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
	if err1 != nil || err2 != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return x == y
}

func unknownKeyWarnings(static, origins map[string]string) []Warning {
	var ws []Warning
	for _, k := range sortedKeys(static) {
		msg := keyWarning(k)
		if msg == "" {
			continue
		}
		if o, ok := origins[k]; ok {
			msg += " (set by environment variable " + o + ")"
		}
		ws = append(ws, Warning{Key: k, Message: msg})
	}
	return ws
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setNonEmpty reports whether name is set to something other than blanks
// (Kafka treats an empty list as unset).
func setNonEmpty(m map[string]string, name string) bool {
	return strings.TrimSpace(m[name]) != ""
}

// impliedDefaults returns the defaults for this node: the table's, with
// samsa's one-node rules applied when no quorum is configured. The voters
// themselves are implied in fill, once the listeners are known.
func impliedDefaults(static map[string]string) (map[string]string, bool) {
	defs := make(map[string]string, len(brokerDefs))
	for _, d := range brokerDefs {
		if !d.Null {
			defs[d.Name] = d.Default
		}
	}
	roles := splitList(defs["process.roles"])
	if v, ok := static["process.roles"]; ok {
		roles = splitList(v)
	}
	controller := slices.Contains(roles, "controller")
	broker := slices.Contains(roles, "broker")
	cname := "CONTROLLER"
	if v, ok := static["controller.listener.names"]; ok && len(splitList(v)) > 0 {
		cname = strings.ToUpper(splitList(v)[0])
	}
	var ls []string
	if broker {
		ls = append(ls, "PLAINTEXT://localhost:9092")
	}
	if controller {
		ls = append(ls, cname+"://localhost:9093")
	}
	defs["listeners"] = strings.Join(ls, ",")

	implied := controller && !setNonEmpty(static, "controller.quorum.voters") &&
		!setNonEmpty(static, "controller.quorum.bootstrap.servers")
	if implied {
		defs["node.id"] = "1"
		defs["broker.id"] = "1"
		defs["offsets.topic.replication.factor"] = "1"
		defs["transaction.state.log.replication.factor"] = "1"
		defs["transaction.state.log.min.isr"] = "1"
		defs["share.coordinator.state.topic.replication.factor"] = "1"
		defs["share.coordinator.state.topic.min.isr"] = "1"
	}
	return defs, implied
}
