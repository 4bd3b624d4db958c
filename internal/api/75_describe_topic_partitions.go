package api

// DescribeTopicPartitions, version 0 (KIP-966), which kafka-topics.sh 4.x
// uses for --describe.
//
// Topics are answered in name order (all topics when the request names
// none), starting at the cursor, with at most ResponsePartitionLimit
// partitions (capped at 2000, Kafka's max.request.partition.size.limit);
// NextCursor points at the first partition left out. samsa has no eligible
// leader replicas yet, so those lists are empty.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeTopicPartitions(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeTopicPartitionsRequest)
	resp := kmsg.NewPtrDescribeTopicPartitionsResponse()
	img := h.image()

	names := img.TopicNames()
	if len(req.Topics) > 0 {
		names = names[:0:0]
		for _, t := range req.Topics {
			names = append(names, t.Topic)
		}
		slices.Sort(names)
		names = slices.Compact(names)
	}
	// max.request.partition.size.limit caps what a request may ask for.
	limit := req.ResponsePartitionLimit
	if most := h.cfg.Broker.Network.MaxRequestPartitionSizeLimit; limit <= 0 || limit > most {
		limit = most
	}
	var firstPartition int32
	if req.Cursor != nil {
		i, _ := slices.BinarySearch(names, req.Cursor.Topic)
		names = names[i:]
		if len(names) > 0 && names[0] == req.Cursor.Topic {
			firstPartition = req.Cursor.Partition
		}
	}
	for ti, name := range names {
		rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
		rt.Topic = kmsg.StringPtr(name)
		rt.AuthorizedOperations = allTopicOps // the request has no flag: always, as in Kafka
		t, ok := img.Topic(name)
		if !ok {
			rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		rt.TopicID, rt.IsInternal = t.ID, metadata.IsInternalTopic(name)
		start := int32(0)
		if ti == 0 {
			start = max(firstPartition, 0)
		}
		for p := start; int(p) < len(t.Partitions); p++ {
			if limit == 0 {
				resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: p}
				break
			}
			limit--
			mp := t.Partitions[p]
			rp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
			rp.Partition, rp.LeaderID, rp.LeaderEpoch = mp.ID, mp.Leader, mp.LeaderEpoch
			rp.Replicas, rp.ISR = mp.Replicas, mp.ISR
			rp.EligibleLeaderReplicas, rp.LastKnownELR = []int32{}, []int32{}
			rp.OfflineReplicas = offlineReplicas(img, mp)
			if mp.Leader == metadata.NoLeader {
				rp.ErrorCode = kerr.LeaderNotAvailable.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
		if resp.NextCursor != nil {
			break
		}
	}
	return c.respond(resp), nil
}
