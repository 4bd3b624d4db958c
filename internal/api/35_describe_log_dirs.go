package api

// DescribeLogDirs, versions 0–5.
//
// Every log directory of this broker with the hosted partitions it holds
// (all when the request names no topics): size on disk and offset lag
// (log end offset minus high watermark for the leader, as Kafka reports
// it). v4+ adds the directory's total and usable bytes. samsa has no future
// replicas (intra-broker moves) and never cordons a directory. UIs (AKHQ,
// Kafka UI) need this API to show topic sizes.

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"syscall"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeLogDirs(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeLogDirsRequest)
	resp := kmsg.NewPtrDescribeLogDirsResponse()

	wanted := func(topic string, part int32) bool {
		if req.Topics == nil {
			return true
		}
		for _, t := range req.Topics {
			if t.Topic == topic && slices.Contains(t.Partitions, part) {
				return true
			}
		}
		return false
	}
	byDir := map[*storage.Dir][]*partition.Partition{}
	for _, p := range h.cfg.Partitions.All() {
		if wanted(p.Topic, p.ID) {
			d := h.cfg.Partitions.DirOf(p)
			byDir[d] = append(byDir[d], p)
		}
	}
	for _, d := range h.cfg.Dirs {
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir, _ = filepath.Abs(d.Path())
		var st syscall.Statfs_t
		if err := syscall.Statfs(d.Path(), &st); err == nil {
			rd.TotalBytes = int64(st.Blocks) * int64(st.Bsize)
			rd.UsableBytes = int64(st.Bavail) * int64(st.Bsize)
		} else {
			rd.TotalBytes, rd.UsableBytes = -1, -1
		}
		parts := byDir[d]
		sort.Slice(parts, func(i, j int) bool {
			if parts[i].Topic != parts[j].Topic {
				return parts[i].Topic < parts[j].Topic
			}
			return parts[i].ID < parts[j].ID
		})
		for _, p := range parts {
			if n := len(rd.Topics); n == 0 || rd.Topics[n-1].Topic != p.Topic {
				rt := kmsg.NewDescribeLogDirsResponseDirTopic()
				rt.Topic = p.Topic
				rd.Topics = append(rd.Topics, rt)
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition, rp.Size = p.ID, p.Log().Size()
			if p.IsLeader() {
				rp.OffsetLag = max(p.Log().LogEndOffset()-p.HighWatermark(), 0)
			}
			rt := &rd.Topics[len(rd.Topics)-1]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	return c.respond(resp), nil
}
