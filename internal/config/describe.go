package config

import "slices"

// ConfigSource is where a described value comes from; the numbers are the
// config_source codes of DescribeConfigs v1+.
type ConfigSource int8

// Config sources, numbered as in DescribeConfigs.
const (
	UnknownConfigSource        ConfigSource = 0
	DynamicTopicConfig         ConfigSource = 1 // a topic's override
	DynamicBrokerConfig        ConfigSource = 2 // AlterConfigs on this broker
	DynamicDefaultBrokerConfig ConfigSource = 3 // AlterConfigs on the default broker resource
	StaticBrokerConfig         ConfigSource = 4 // server.properties, environment or --override
	DefaultConfig              ConfigSource = 5 // samsa's default
	DynamicBrokerLoggerConfig  ConfigSource = 6 // a broker logger level
)

func (s ConfigSource) String() string {
	switch s {
	case DynamicTopicConfig:
		return "DYNAMIC_TOPIC_CONFIG"
	case DynamicBrokerConfig:
		return "DYNAMIC_BROKER_CONFIG"
	case DynamicDefaultBrokerConfig:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case StaticBrokerConfig:
		return "STATIC_BROKER_CONFIG"
	case DefaultConfig:
		return "DEFAULT_CONFIG"
	case DynamicBrokerLoggerConfig:
		return "DYNAMIC_BROKER_LOGGER_CONFIG"
	}
	return "UNKNOWN"
}

// Entry is one config of a DescribeConfigs result, field for field.
type Entry struct {
	Name          string
	Value         *string // nil for sensitive and null values
	Source        ConfigSource
	ReadOnly      bool
	Sensitive     bool
	IsDefault     bool // Source == DefaultConfig (DescribeConfigs v0)
	Type          Type
	Documentation string
	Synonyms      []Synonym // highest precedence first; the first one is where Value came from
}

// Synonym is one setting that could supply an Entry's value.
type Synonym struct {
	Name   string
	Value  *string // nil for sensitive values
	Source ConfigSource
}

// DescribeTopic describes every topic config, in Kafka's definition order,
// for a topic with overrides when dyn holds the dynamic broker defaults.
// Synonyms run from the topic override through this broker's dynamic
// value, the cluster-wide dynamic default and the static broker settings to
// the default, as Kafka lists them. An override that no longer validates is
// shown as stored and otherwise ignored.
func (b *Broker) DescribeTopic(overrides map[string]string, dyn Dynamic) []Entry {
	var out []Entry
	for _, td := range topicDefs {
		if td.legacy {
			continue
		}
		v, syns, err := b.resolveTopicConfig(td, overrides, dyn)
		if err != nil {
			v, syns, _ = b.resolveTopicConfig(td, nil, dyn)
			if raw, ok := overrides[td.Name]; ok {
				syns = append([]Synonym{{Name: td.Name, Value: &raw, Source: DynamicTopicConfig}}, syns...)
			}
		}
		e := Entry{
			Name:          td.Name,
			Source:        DefaultConfig,
			Type:          td.Type,
			Documentation: td.Doc,
			Synonyms:      syns,
		}
		if v != nil {
			s := format(v)
			e.Value = &s
		}
		if len(syns) > 0 {
			e.Source = syns[0].Source
			if syns[0].Source == DynamicTopicConfig {
				e.Value = syns[0].Value
			}
		}
		e.IsDefault = e.Source == DefaultConfig
		out = append(out, e)
	}
	return out
}

// DescribeBroker describes this broker's configs for DescribeConfigs on its
// own BROKER resource: every defined setting in table order, then any other
// key set in the file, environment or overrides (Type unknown). Values come
// from dynamicPerBroker (AlterConfigs on this broker), dynamicDefault (on the
// default resource), the static settings, then the defaults. Passwords are
// Sensitive with nil values.
func (b *Broker) DescribeBroker(dynamicPerBroker, dynamicDefault map[string]string) []Entry {
	levels := []brokerLevel{
		{dynamicPerBroker, DynamicBrokerConfig},
		{dynamicDefault, DynamicDefaultBrokerConfig},
		{b.static, StaticBrokerConfig},
		{b.defaults, DefaultConfig},
	}
	var out []Entry
	for _, d := range brokerDefs {
		out = append(out, brokerEntry(d.Name, d, levels))
	}
	for _, name := range sortedKeys(b.static) {
		if _, defined := brokerIndex[name]; defined {
			continue
		}
		d, _ := LookupBroker(name) // listener-prefixed keys take their base's type
		out = append(out, brokerEntry(name, d, levels))
	}
	return out
}

// DescribeBrokerDefault describes the default BROKER resource (the empty
// name): only the settings present in dynamicDefault, as Kafka does.
func DescribeBrokerDefault(dynamicDefault map[string]string) []Entry {
	levels := []brokerLevel{{dynamicDefault, DynamicDefaultBrokerConfig}}
	var out []Entry
	for _, name := range sortedKeys(dynamicDefault) {
		d, _ := LookupBroker(name)
		out = append(out, brokerEntry(name, d, levels))
	}
	return out
}

// brokerEntry builds one broker Entry; d may be nil for an unknown key.
func brokerEntry(name string, d *Def, levels []brokerLevel) Entry {
	// Kafka hides values of unknown type: they might be secrets.
	sensitive := d == nil || d.Type == TypePassword
	var syns []Synonym
	for _, l := range levels {
		for _, s := range BrokerSynonyms(name) {
			raw, ok := l.props[s]
			if !ok {
				continue
			}
			syn := Synonym{Name: s, Source: l.source}
			if !sensitive {
				raw := raw
				syn.Value = &raw
			}
			syns = append(syns, syn)
		}
	}
	// Drop leading synonyms of other names, as Kafka does: describing
	// log.retention.hours does not report a log.retention.ms value.
	i := slices.IndexFunc(syns, func(s Synonym) bool { return s.Name == name })
	if i < 0 {
		syns = nil
	} else {
		syns = syns[i:]
	}
	perBroker, clusterWide := IsDynamicBrokerConfig(name)
	e := Entry{
		Name:      name,
		Source:    DefaultConfig,
		ReadOnly:  !perBroker && !clusterWide,
		Sensitive: sensitive,
		Type:      TypeUnknown,
		Synonyms:  syns,
	}
	if d != nil {
		e.Type, e.Documentation = d.Type, d.Doc
	}
	if len(syns) > 0 {
		e.Source = syns[0].Source
		if !sensitive {
			v := *syns[0].Value
			if d != nil {
				if parsed, reason := parse(d.Type, v); reason == "" {
					v = format(parsed)
				}
			}
			e.Value = &v
		}
	}
	e.IsDefault = e.Source == DefaultConfig
	return e
}
