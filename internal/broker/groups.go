package broker

import (
	"context"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
)

// onLeadership loads the group coordinator's state for the
// __consumer_offsets partitions this broker starts leading, and unloads it
// when it stops.
func (b *Broker) onLeadership(p *partition.Partition, leading bool) {
	if p.Topic != api.OffsetsTopic {
		return
	}
	if leading {
		b.groups.Load(p.ID, groupLog{p})
	} else {
		b.groups.Unload(p.ID)
	}
}

// groupLog is a __consumer_offsets partition as the coordinator uses it.
type groupLog struct{ p *partition.Partition }

func (g groupLog) Append(ctx context.Context, batch []byte) error {
	return g.p.AppendInternal(ctx, batch)
}
func (g groupLog) Read(offset int64, maxBytes int32) ([]byte, error) {
	return g.p.ReadCommitted(offset, maxBytes)
}
func (g groupLog) LogStartOffset() int64 { return g.p.Log().LogStartOffset() }
func (g groupLog) HighWatermark() int64  { return g.p.HighWatermark() }

func (b *Broker) partitionExists(topic string, partition int32) bool {
	_, ok := b.meta.Image().Partition(topic, partition)
	return ok
}

func (b *Broker) topicName(id [16]byte) (string, bool) {
	t, ok := b.meta.Image().TopicByID(metadata.UUID(id))
	if !ok {
		return "", false
	}
	return t.Name, true
}

func (b *Broker) topicID(name string) ([16]byte, bool) {
	t, ok := b.meta.Image().Topic(name)
	if !ok {
		return [16]byte{}, false
	}
	return t.ID, true
}
