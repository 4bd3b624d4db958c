package broker

import (
	"context"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
)

// onRole routes a replica's role changes: the follower side of
// replication starts or stops fetching, and the group coordinator loads the
// state of the __consumer_offsets partitions this broker starts leading and
// unloads those it stops leading.
func (b *Broker) onRole(p *partition.Partition, r partition.Role) {
	if r.Replica && !r.Leading && r.Leader >= 0 {
		b.replication.Follow(p, r.Leader, r.LeaderEpoch)
	} else {
		b.replication.Unfollow(p)
	}
	if p.Topic != api.OffsetsTopic {
		return
	}
	if r.Leading {
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
	return g.p.Log().ReadBytes(offset, g.p.Log().LogEndOffset(), maxBytes)
}
func (g groupLog) LogStartOffset() int64 { return g.p.Log().LogStartOffset() }
func (g groupLog) LoadEnd() int64        { return g.p.Log().LogEndOffset() }

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
