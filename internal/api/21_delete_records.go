package api

// DeleteRecords, versions 0–2.
//
// Moves each partition's log start offset up to the given offset (-1 means
// the high watermark); an offset above the high watermark is
// OFFSET_OUT_OF_RANGE. The answer is the new low watermark. Segments wholly
// below it are deleted, and consumers see the new log start offset at once
// (ListOffsets earliest, Fetch log_start_offset, OFFSET_OUT_OF_RANGE below
// it). The move is durable before the response.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) deleteRecords(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DeleteRecordsRequest)
	resp := kmsg.NewPtrDeleteRecordsResponse()
	img := h.image()
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		for _, rp := range t.Partitions {
			out := kmsg.NewDeleteRecordsResponseTopicPartition()
			out.Partition, out.LowWatermark = rp.Partition, -1
			p, err := h.cfg.Partitions.Lookup(img, t.Topic, rp.Partition)
			if err == nil {
				out.LowWatermark, err = p.DeleteRecords(rp.Offset)
			}
			if err != nil {
				out.ErrorCode = err.Code
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}
