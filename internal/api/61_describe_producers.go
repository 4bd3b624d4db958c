package api

// DescribeProducers, version 0 (KIP-664).
//
// For each partition this broker hosts, leader or follower as in Kafka, the
// producers its log remembers for idempotence: id, epoch, last sequence
// and timestamp, and the transaction fields (-1 until samsa has
// transactions). kafka-transactions.sh describe-producers and admin
// clients use it to find the producer that holds a partition back; samsa's
// answer also shows which idempotent producers a partition still tracks.
// A partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION; one of
// an existing topic that is not hosted here is NOT_LEADER_OR_FOLLOWER.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeProducers(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeProducersRequest)
	resp := kmsg.NewPtrDescribeProducersResponse()
	img := h.image()
	for _, t := range req.Topics {
		rt := kmsg.NewDescribeProducersResponseTopic()
		rt.Topic = t.Topic
		for _, part := range t.Partitions {
			rp := kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition = part
			p, e := h.cfg.Partitions.Lookup(img, t.Topic, part)
			if e != nil {
				rp.ErrorCode = e.Code
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			for _, info := range p.Log().Producers() {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID = info.ID
				ap.ProducerEpoch = int32(info.Epoch)
				ap.LastSequence = info.LastSequence
				ap.LastTimestamp = info.LastTimestamp
				ap.CoordinatorEpoch = info.CoordinatorEpoch
				ap.CurrentTxnStartOffset = info.TxnStartOffset
				rp.ActiveProducers = append(rp.ActiveProducers, ap)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
