// Package metadata defines the cluster metadata that every samsa node holds:
// the typed records of the metadata log, their encoding, and the immutable
// Image that replaying them builds.
//
// The metadata log (run by package quorum) carries entries; each entry is a
// list of records that apply atomically. Every node applies the same
// committed entries in the same order with a Delta, producing a new Image
// that is published through an atomic pointer. Readers never lock: they load
// the current Image and keep using it; it never changes under them.
//
// Invariants of an Image: topic names and ids are unique; a topic's
// partitions are numbered 0..n-1 without gaps; every partition's leader is -1
// or one of its replicas; configs of a removed topic are gone with it.
// Replaying a record that would break an invariant fails, and the whole entry
// is skipped on every node alike (the controller validates before proposing,
// so this only happens on corruption or a bug).
//
// Where to start reading: records.go (the record types), image.go (what a
// reader sees), delta.go (how records change an image), codec.go (bytes).
package metadata

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Image is an immutable view of the cluster metadata as of a log offset.
// All fields reachable from it are read-only.
type Image struct {
	offset         uint64 // index of the last entry applied
	clusterID      string
	topics         map[string]*Topic
	topicIDs       map[UUID]*Topic
	configs        map[ConfigResource]map[string]string
	brokers        map[int32]*Broker
	quotas         map[QuotaEntity]map[string]float64 // client quotas; nil when none were ever set
	nextProducerID int64
}

// ConfigResource names a config owner: a topic, a broker, or (ResourceBroker
// with Name "") the cluster-wide broker default.
type ConfigResource struct {
	Type int8
	Name string
}

// DefaultBrokerResource holds the cluster-wide dynamic broker configs.
var DefaultBrokerResource = ConfigResource{Type: ResourceBroker}

// BrokerResource holds broker id's own dynamic configs.
func BrokerResource(id int32) ConfigResource {
	return ConfigResource{Type: ResourceBroker, Name: strconv.Itoa(int(id))}
}

// Topic is one topic and its partitions (index = partition id).
type Topic struct {
	Name       string
	ID         UUID
	Partitions []*Partition
}

// Partition is the metadata of one partition.
type Partition struct {
	Topic            string
	TopicID          UUID
	ID               int32
	Replicas         []int32
	ISR              []int32
	Leader           int32 // -1 when offline
	LeaderEpoch      int32 // bumped on every leader change
	PartitionEpoch   int32 // bumped on every change
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// Broker is a registered broker.
type Broker struct {
	ID                   int32
	IncarnationID        UUID
	Epoch                int64
	Endpoints            []Endpoint
	Rack                 string
	Fenced               bool
	InControlledShutdown bool
}

// Empty returns the image of an empty log.
func Empty() *Image {
	return &Image{
		topics:   map[string]*Topic{},
		topicIDs: map[UUID]*Topic{},
		configs:  map[ConfigResource]map[string]string{},
		brokers:  map[int32]*Broker{},
	}
}

// Offset is the index of the last log entry applied to the image.
func (m *Image) Offset() uint64 { return m.offset }

// ClusterID returns the cluster id, "" until the first controller set it.
func (m *Image) ClusterID() string { return m.clusterID }

// NextProducerID is the first producer id not yet handed out.
func (m *Image) NextProducerID() int64 { return m.nextProducerID }

// ClientQuotas returns every entity's client quotas (key -> value). The map
// is read-only.
func (m *Image) ClientQuotas() map[QuotaEntity]map[string]float64 { return m.quotas }

// ClientQuota returns one quota of an entity.
func (m *Image) ClientQuota(e QuotaEntity, key string) (float64, bool) {
	v, ok := m.quotas[e][key]
	return v, ok
}

// Topic returns the topic with the given name.
func (m *Image) Topic(name string) (*Topic, bool) {
	t, ok := m.topics[name]
	return t, ok
}

// TopicByID returns the topic with the given id.
func (m *Image) TopicByID(id UUID) (*Topic, bool) {
	t, ok := m.topicIDs[id]
	return t, ok
}

// Partition returns one partition of a topic.
func (m *Image) Partition(topic string, partition int32) (*Partition, bool) {
	t, ok := m.topics[topic]
	if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
		return nil, false
	}
	return t.Partitions[partition], true
}

// TopicNames returns every topic name, sorted.
func (m *Image) TopicNames() []string {
	names := make([]string, 0, len(m.topics))
	for n := range m.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NumTopics returns the number of topics.
func (m *Image) NumTopics() int { return len(m.topics) }

// Configs returns the configs set on a resource (nil when none). The map
// must not be modified.
func (m *Image) Configs(r ConfigResource) map[string]string { return m.configs[r] }

// TopicConfigs returns the configs set on a topic (nil when none).
func (m *Image) TopicConfigs(topic string) map[string]string {
	return m.configs[ConfigResource{ResourceTopic, topic}]
}

// Broker returns a registered broker.
func (m *Image) Broker(id int32) (*Broker, bool) {
	b, ok := m.brokers[id]
	return b, ok
}

// Brokers returns every registered broker, sorted by id.
func (m *Image) Brokers() []*Broker {
	out := make([]*Broker, 0, len(m.brokers))
	for _, b := range m.brokers {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LiveBrokers returns the brokers that are registered and not fenced,
// sorted by id.
func (m *Image) LiveBrokers() []*Broker {
	out := m.Brokers()
	return slices.DeleteFunc(out, func(b *Broker) bool { return b.Fenced })
}

// Endpoint returns the broker's endpoint for a listener name.
func (b *Broker) Endpoint(listener string) (Endpoint, bool) {
	for _, e := range b.Endpoints {
		if strings.EqualFold(e.Listener, listener) {
			return e, true
		}
	}
	return Endpoint{}, false
}

// IsInternalTopic reports whether Kafka treats the topic as internal.
func IsInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}

// Records returns records that, replayed into an empty image, rebuild m.
// Snapshots are made of them.
func (m *Image) Records() []Record {
	var recs []Record
	if m.clusterID != "" {
		recs = append(recs, ClusterRecord{ClusterID: m.clusterID})
	}
	for _, b := range m.Brokers() {
		recs = append(recs, RegisterBrokerRecord{
			BrokerID: b.ID, IncarnationID: b.IncarnationID, BrokerEpoch: b.Epoch,
			Endpoints: b.Endpoints, Rack: b.Rack, Fenced: b.Fenced,
		})
		if b.InControlledShutdown {
			recs = append(recs, BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: -1, InControlledShutdown: 1})
		}
	}
	for _, name := range m.TopicNames() {
		t := m.topics[name]
		recs = append(recs, TopicRecord{Name: t.Name, ID: t.ID})
		for _, p := range t.Partitions {
			recs = append(recs, PartitionRecord{
				TopicID: p.TopicID, Partition: p.ID, Replicas: p.Replicas, ISR: p.ISR,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
				AddingReplicas: p.AddingReplicas, RemovingReplicas: p.RemovingReplicas,
			})
		}
	}
	resources := make([]ConfigResource, 0, len(m.configs))
	for r := range m.configs {
		resources = append(resources, r)
	}
	sort.Slice(resources, func(i, j int) bool {
		if resources[i].Type != resources[j].Type {
			return resources[i].Type < resources[j].Type
		}
		return resources[i].Name < resources[j].Name
	})
	for _, r := range resources {
		keys := make([]string, 0, len(m.configs[r]))
		for k := range m.configs[r] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			recs = append(recs, ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: k, Value: m.configs[r][k]})
		}
	}
	if m.nextProducerID > 0 {
		recs = append(recs, ProducerIDsRecord{BrokerID: -1, NextProducerID: m.nextProducerID})
	}
	entities := make([]QuotaEntity, 0, len(m.quotas))
	for e := range m.quotas {
		entities = append(entities, e)
	}
	sort.Slice(entities, func(i, j int) bool { return quotaEntityLess(entities[i], entities[j]) })
	for _, e := range entities {
		for _, k := range slices.Sorted(maps.Keys(m.quotas[e])) {
			recs = append(recs, ClientQuotaRecord{Entity: e, Key: k, Value: m.quotas[e][k]})
		}
	}
	return recs
}

// quotaEntityLess orders entities for snapshots, so that equal images make
// equal snapshots.
func quotaEntityLess(a, b QuotaEntity) bool {
	less := func(x, y QuotaName) (bool, bool) { // less, decided
		switch {
		case x == y:
			return false, false
		case x.Set != y.Set:
			return !x.Set, true
		case x.Default != y.Default:
			return x.Default, true
		}
		return x.Name < y.Name, true
	}
	if l, ok := less(a.User, b.User); ok {
		return l
	}
	if l, ok := less(a.ClientID, b.ClientID); ok {
		return l
	}
	l, _ := less(a.IP, b.IP)
	return l
}
