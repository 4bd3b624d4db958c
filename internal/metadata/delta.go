package metadata

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Delta accumulates records on top of a base image and produces the next
// image. It copies only what changes: untouched topics and brokers are shared
// with the base. A Delta is used by one goroutine.
type Delta struct {
	base *Image
	next *Image

	copiedTopics  bool
	copiedConfigs bool
	copiedBrokers bool
	copiedQuotas  bool
	ownTopic      map[UUID]bool // topics already copied into next

	// What changed, for the code that reacts to a new image.
	CreatedTopics   map[UUID]bool   // topics that did not exist in the base
	ChangedTopics   map[UUID]bool   // topics whose partitions changed (created ones included)
	DeletedTopics   map[UUID]*Topic // as they were in the base
	ChangedConfigs  map[ConfigResource]bool
	ChangedBrokers  map[int32]bool
	ClusterIDChange bool
}

// NewDelta starts a delta on base.
func NewDelta(base *Image) *Delta {
	next := *base
	return &Delta{
		base:           base,
		next:           &next,
		ownTopic:       map[UUID]bool{},
		CreatedTopics:  map[UUID]bool{},
		ChangedTopics:  map[UUID]bool{},
		DeletedTopics:  map[UUID]*Topic{},
		ChangedConfigs: map[ConfigResource]bool{},
		ChangedBrokers: map[int32]bool{},
	}
}

// ReplayEntry replays one log entry's records atomically: if any record
// fails, none of the entry's records take effect and the error is returned.
func (d *Delta) ReplayEntry(recs []Record) error {
	trial := d.clone()
	for i, r := range recs {
		if err := trial.Replay(r); err != nil {
			return fmt.Errorf("record %d (%T): %w", i, r, err)
		}
	}
	*d = *trial
	return nil
}

// clone returns an independent copy of the delta so far.
func (d *Delta) clone() *Delta {
	next := *d.next
	c := *d
	c.next = &next
	if d.copiedTopics {
		next.topics = maps.Clone(d.next.topics)
		next.topicIDs = maps.Clone(d.next.topicIDs)
	}
	if d.copiedConfigs {
		next.configs = maps.Clone(d.next.configs)
	}
	if d.copiedBrokers {
		next.brokers = maps.Clone(d.next.brokers)
	}
	if d.copiedQuotas {
		next.quotas = maps.Clone(d.next.quotas)
	}
	c.ownTopic = map[UUID]bool{} // topics owned by d stay shared read-only; copy again on write
	c.CreatedTopics = maps.Clone(d.CreatedTopics)
	c.ChangedTopics = maps.Clone(d.ChangedTopics)
	c.DeletedTopics = maps.Clone(d.DeletedTopics)
	c.ChangedConfigs = maps.Clone(d.ChangedConfigs)
	c.ChangedBrokers = maps.Clone(d.ChangedBrokers)
	return &c
}

// Apply returns the image with every replayed record applied, as of offset.
func (d *Delta) Apply(offset uint64) *Image {
	img := *d.next
	img.offset = offset
	return &img
}

// Replay applies one record to the delta.
func (d *Delta) Replay(r Record) error {
	switch r := r.(type) {
	case ClusterRecord:
		if r.ClusterID == "" {
			return fmt.Errorf("empty cluster id")
		}
		if d.next.clusterID != "" && d.next.clusterID != r.ClusterID {
			return fmt.Errorf("cluster id already %q", d.next.clusterID)
		}
		d.next.clusterID = r.ClusterID
		d.ClusterIDChange = true
	case TopicRecord:
		return d.replayTopic(r)
	case PartitionRecord:
		return d.replayPartition(r)
	case PartitionChangeRecord:
		return d.replayPartitionChange(r)
	case RemoveTopicRecord:
		return d.replayRemoveTopic(r)
	case ConfigRecord:
		d.replayConfig(r)
	case ClientQuotaRecord:
		return d.replayClientQuota(r)
	case RegisterBrokerRecord:
		d.mutableBrokers()
		d.next.brokers[r.BrokerID] = &Broker{
			ID: r.BrokerID, IncarnationID: r.IncarnationID, Epoch: r.BrokerEpoch,
			Endpoints: slices.Clone(r.Endpoints), Rack: r.Rack, Fenced: r.Fenced,
		}
		d.ChangedBrokers[r.BrokerID] = true
	case UnregisterBrokerRecord:
		b, ok := d.next.brokers[r.BrokerID]
		if !ok || b.Epoch != r.BrokerEpoch {
			return fmt.Errorf("broker %d epoch %d not registered", r.BrokerID, r.BrokerEpoch)
		}
		d.mutableBrokers()
		delete(d.next.brokers, r.BrokerID)
		d.ChangedBrokers[r.BrokerID] = true
	case BrokerRegistrationChangeRecord:
		b, ok := d.next.brokers[r.BrokerID]
		if !ok || b.Epoch != r.BrokerEpoch {
			return fmt.Errorf("broker %d epoch %d not registered", r.BrokerID, r.BrokerEpoch)
		}
		nb := *b
		if r.Fenced >= 0 {
			nb.Fenced = r.Fenced == 1
		}
		if r.InControlledShutdown >= 0 {
			nb.InControlledShutdown = r.InControlledShutdown == 1
		}
		d.mutableBrokers()
		d.next.brokers[r.BrokerID] = &nb
		d.ChangedBrokers[r.BrokerID] = true
	case ProducerIDsRecord:
		if r.NextProducerID <= d.next.nextProducerID {
			return fmt.Errorf("producer id block %d does not advance past %d", r.NextProducerID, d.next.nextProducerID)
		}
		d.next.nextProducerID = r.NextProducerID
	default:
		return fmt.Errorf("unknown record %T", r)
	}
	return nil
}

func (d *Delta) replayTopic(r TopicRecord) error {
	if r.Name == "" || r.ID == ZeroUUID {
		return fmt.Errorf("topic needs a name and an id")
	}
	if _, ok := d.next.topics[r.Name]; ok {
		return fmt.Errorf("topic %q exists", r.Name)
	}
	if _, ok := d.next.topicIDs[r.ID]; ok {
		return fmt.Errorf("topic id %s exists", r.ID)
	}
	d.mutableTopics()
	t := &Topic{Name: r.Name, ID: r.ID}
	d.next.topics[r.Name] = t
	d.next.topicIDs[r.ID] = t
	d.ownTopic[r.ID] = true
	d.CreatedTopics[r.ID] = true
	d.ChangedTopics[r.ID] = true
	delete(d.DeletedTopics, r.ID)
	return nil
}

func (d *Delta) replayPartition(r PartitionRecord) error {
	t, err := d.mutableTopic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) > len(t.Partitions) {
		return fmt.Errorf("partition %d of %q out of sequence (%d exist)", r.Partition, t.Name, len(t.Partitions))
	}
	if err := checkLeader(r.Leader, r.Replicas); err != nil {
		return err
	}
	p := &Partition{
		Topic: t.Name, TopicID: t.ID, ID: r.Partition,
		Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR),
		Leader: r.Leader, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch,
		AddingReplicas: slices.Clone(r.AddingReplicas), RemovingReplicas: slices.Clone(r.RemovingReplicas),
	}
	if int(r.Partition) == len(t.Partitions) {
		t.Partitions = append(t.Partitions, p)
	} else {
		t.Partitions[r.Partition] = p
	}
	return nil
}

func (d *Delta) replayPartitionChange(r PartitionChangeRecord) error {
	t, err := d.mutableTopic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return fmt.Errorf("partition %d of %q does not exist", r.Partition, t.Name)
	}
	p := *t.Partitions[r.Partition]
	if r.Replicas != nil {
		p.Replicas = slices.Clone(r.Replicas)
	}
	if r.ISR != nil {
		p.ISR = slices.Clone(r.ISR)
	}
	if r.AddingReplicas != nil {
		p.AddingReplicas = slices.Clone(r.AddingReplicas)
	}
	if r.RemovingReplicas != nil {
		p.RemovingReplicas = slices.Clone(r.RemovingReplicas)
	}
	if r.Leader != noChange && r.Leader != p.Leader {
		p.Leader = r.Leader
		p.LeaderEpoch++
	}
	if err := checkLeader(p.Leader, p.Replicas); err != nil {
		return err
	}
	p.PartitionEpoch++
	t.Partitions[r.Partition] = &p
	return nil
}

func checkLeader(leader int32, replicas []int32) error {
	if leader != NoLeader && !slices.Contains(replicas, leader) {
		return fmt.Errorf("leader %d is not a replica %v", leader, replicas)
	}
	return nil
}

func (d *Delta) replayRemoveTopic(r RemoveTopicRecord) error {
	t, ok := d.next.topicIDs[r.TopicID]
	if !ok {
		return fmt.Errorf("topic id %s does not exist", r.TopicID)
	}
	d.mutableTopics()
	delete(d.next.topics, t.Name)
	delete(d.next.topicIDs, t.ID)
	res := ConfigResource{ResourceTopic, t.Name}
	if _, ok := d.next.configs[res]; ok {
		d.mutableConfigs()
		delete(d.next.configs, res)
		d.ChangedConfigs[res] = true
	}
	if d.CreatedTopics[t.ID] {
		delete(d.CreatedTopics, t.ID)
		delete(d.ChangedTopics, t.ID)
	} else {
		d.DeletedTopics[t.ID] = d.base.topicIDs[t.ID]
		delete(d.ChangedTopics, t.ID)
	}
	return nil
}

func (d *Delta) replayConfig(r ConfigRecord) {
	res := ConfigResource{r.ResourceType, r.ResourceName}
	d.mutableConfigs()
	cur := maps.Clone(d.next.configs[res])
	if r.Delete {
		delete(cur, r.Name)
	} else {
		if cur == nil {
			cur = map[string]string{}
		}
		cur[r.Name] = r.Value
	}
	if len(cur) == 0 {
		delete(d.next.configs, res)
	} else {
		d.next.configs[res] = cur
	}
	d.ChangedConfigs[res] = true
}

func (d *Delta) replayClientQuota(r ClientQuotaRecord) error {
	e := r.Entity
	if !e.User.Set && !e.ClientID.Set && !e.IP.Set || e.IP.Set && (e.User.Set || e.ClientID.Set) ||
		e.User.Default && e.User.Name != "" || e.ClientID.Default && e.ClientID.Name != "" || e.IP.Default && e.IP.Name != "" {
		return fmt.Errorf("invalid quota entity %+v", e)
	}
	if !r.Remove && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value < 0) {
		return fmt.Errorf("invalid quota value %v for %s", r.Value, r.Key)
	}
	if !d.copiedQuotas {
		d.next.quotas = maps.Clone(d.next.quotas)
		if d.next.quotas == nil {
			d.next.quotas = map[QuotaEntity]map[string]float64{}
		}
		d.copiedQuotas = true
	}
	cur := maps.Clone(d.next.quotas[e])
	if r.Remove {
		delete(cur, r.Key)
	} else {
		if cur == nil {
			cur = map[string]float64{}
		}
		cur[r.Key] = r.Value
	}
	if len(cur) == 0 {
		delete(d.next.quotas, e)
	} else {
		d.next.quotas[e] = cur
	}
	return nil
}

// mutableTopic returns the delta's own copy of a topic, copying it from the
// base on first write.
func (d *Delta) mutableTopic(id UUID) (*Topic, error) {
	t, ok := d.next.topicIDs[id]
	if !ok {
		return nil, fmt.Errorf("topic id %s does not exist", id)
	}
	if !d.ownTopic[id] {
		d.mutableTopics()
		nt := *t
		nt.Partitions = slices.Clone(t.Partitions)
		d.next.topics[nt.Name] = &nt
		d.next.topicIDs[id] = &nt
		d.ownTopic[id] = true
		t = &nt
	}
	d.ChangedTopics[id] = true
	return t, nil
}

func (d *Delta) mutableTopics() {
	if !d.copiedTopics {
		d.next.topics = maps.Clone(d.next.topics)
		d.next.topicIDs = maps.Clone(d.next.topicIDs)
		d.copiedTopics = true
	}
}

func (d *Delta) mutableConfigs() {
	if !d.copiedConfigs {
		d.next.configs = maps.Clone(d.next.configs)
		d.copiedConfigs = true
	}
}

func (d *Delta) mutableBrokers() {
	if !d.copiedBrokers {
		d.next.brokers = maps.Clone(d.next.brokers)
		d.copiedBrokers = true
	}
}
