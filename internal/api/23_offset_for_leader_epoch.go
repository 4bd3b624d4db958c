package api

// OffsetForLeaderEpoch, versions 0–4 (KIP-101, KIP-279, KIP-320).
//
// For each partition: the largest leader epoch not above the one asked for,
// and the offset where it ended (the log end offset for the current epoch).
// An epoch older than any the log knows is UNDEFINED_EPOCH (-1) with offset
// -1. v2+ checks the caller's current leader epoch (FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH). v3+ names a replica id; follower use comes with
// replication.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) offsetForLeaderEpoch(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.OffsetForLeaderEpochRequest)
	resp := kmsg.NewPtrOffsetForLeaderEpochResponse()
	img := h.image()
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		for _, rp := range t.Partitions {
			out := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			out.Partition, out.LeaderEpoch, out.EndOffset = rp.Partition, -1, -1
			current := int32(-1)
			if c.Version >= 2 {
				current = rp.CurrentLeaderEpoch
			}
			p, err := h.cfg.Partitions.Lookup(img, t.Topic, rp.Partition)
			if err == nil {
				out.LeaderEpoch, out.EndOffset, err = p.EndOffsetForEpoch(rp.LeaderEpoch, current)
			}
			if err != nil {
				out.ErrorCode, out.LeaderEpoch, out.EndOffset = err.Code, -1, -1
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
