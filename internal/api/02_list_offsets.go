package api

// ListOffsets, versions 0–11.
//
// Special timestamps: -1 latest (the high watermark, or the last stable
// offset at read_committed), -2 earliest (the log start offset), -3 the
// record with the largest timestamp (v7+), -4 earliest local (v8+: the log
// start, since samsa keeps everything local); other negative values are the
// tiered-storage lookups, answered with no offset. A timestamp ≥ 0 finds the
// first record whose timestamp is at or after it, below the bound the
// isolation level allows; none is offset -1. v0 answers in the old style, a
// list of at most one offset. A partition named twice gets INVALID_REQUEST
// (v1+), as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) listOffsets(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ListOffsetsRequest)
	resp := kmsg.NewPtrListOffsetsResponse()
	img := h.image()
	type tp struct {
		topic string
		part  int32
	}
	seen := map[tp]int{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			seen[tp{t.Topic, p.Partition}]++
		}
	}
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, rp := range t.Partitions {
			out := kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition = rp.Partition
			out.Timestamp, out.Offset, out.LeaderEpoch = -1, -1, -1
			if c.Version >= 1 && seen[tp{t.Topic, rp.Partition}] > 1 {
				out.ErrorCode = kerr.InvalidRequest.Code
				rt.Partitions = append(rt.Partitions, out)
				continue
			}
			if !listOffsetsTimestampSupported(rp.Timestamp, c.Version) {
				out.ErrorCode = kerr.UnsupportedVersion.Code
				rt.Partitions = append(rt.Partitions, out)
				continue
			}
			epoch := int32(-1)
			if c.Version >= 4 {
				epoch = rp.CurrentLeaderEpoch
			}
			p, err := h.cfg.Partitions.Lookup(img, t.Topic, rp.Partition)
			if err == nil {
				var r partition.OffsetResult
				r, err = p.ListOffset(rp.Timestamp, req.IsolationLevel, epoch)
				out.Timestamp, out.Offset, out.LeaderEpoch = r.Timestamp, r.Offset, r.LeaderEpoch
			}
			if err == kerr.OffsetNotAvailable && c.Version < 5 {
				err = kerr.LeaderNotAvailable // as Kafka answers versions without the newer code
			}
			if err != nil {
				out.ErrorCode = err.Code
			} else if c.Version == 0 {
				out.OldStyleOffsets = []int64{}
				if out.Offset >= 0 && rp.MaxNumOffsets > 0 {
					out.OldStyleOffsets = []int64{out.Offset}
				}
			}
			rt.Partitions = append(rt.Partitions, out)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return c.respond(resp), nil
}

// listOffsetsTimestampSupported reports whether a ListOffsets version knows
// a timestamp, as Kafka decides (UNSUPPORTED_VERSION otherwise): any time,
// latest (-1) and earliest (-2) always; max timestamp (-3) from v7,
// earliest local (-4) from v8, latest tiered (-5) from v9, earliest
// pending upload (-6) from v11; no other negative value.
func listOffsetsTimestampSupported(ts int64, version int16) bool {
	switch ts {
	case -1, -2:
		return true
	case -3:
		return version >= 7
	case -4:
		return version >= 8
	case -5:
		return version >= 9
	case -6:
		return version >= 11
	}
	return ts >= 0
}
