package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/samsa-io/samsa/internal/config"
)

// props.go holds Kafka client properties: the key=value settings users keep
// in client.properties files (--command-config, --producer.config,
// --consumer.config) and pass as --producer-property k=v. Every command turns
// its flags into properties first and the properties into kgo options in one
// place (client.go), so a property means the same thing in every command.

// props is an ordered string map. The zero value is empty and ready to use.
type props struct {
	keys []string
	vals map[string]string
}

// Set sets k to v, keeping k's first position.
func (p *props) Set(k, v string) {
	if p.vals == nil {
		p.vals = map[string]string{}
	}
	if _, ok := p.vals[k]; !ok {
		p.keys = append(p.keys, k)
	}
	p.vals[k] = v
}

// SetDefault sets k to v unless k is already set.
func (p *props) SetDefault(k, v string) {
	if _, ok := p.vals[k]; !ok {
		p.Set(k, v)
	}
}

// Get returns k's value and whether it is set.
func (p *props) Get(k string) (string, bool) {
	v, ok := p.vals[k]
	return v, ok
}

// Delete removes k.
func (p *props) Delete(k string) {
	if _, ok := p.vals[k]; !ok {
		return
	}
	delete(p.vals, k)
	for i, key := range p.keys {
		if key == k {
			p.keys = append(p.keys[:i], p.keys[i+1:]...)
			break
		}
	}
}

// Merge sets every property of o in p, o winning.
func (p *props) Merge(o *props) {
	for _, k := range o.keys {
		p.Set(k, o.vals[k])
	}
}

// Keys returns the keys in the order they were first set.
func (p *props) Keys() []string { return p.keys }

// loadPropsFile reads a Java properties file with the config package's
// parser (the one server.properties goes through). The file has no order
// that matters, so keys are kept sorted, which makes warnings about them
// come out in a stable order.
func loadPropsFile(path string) (*props, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := config.ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p := &props{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p.Set(k, m[k])
	}
	return p, nil
}

// parseKeyValues turns ["a=1", "b=2"] into properties, as Kafka's
// --producer-property and --property do: the first '=' splits.
func parseKeyValues(list []string) (*props, error) {
	p := &props{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("invalid property %q: want key=value", kv)
		}
		p.Set(strings.TrimSpace(k), v)
	}
	return p, nil
}
