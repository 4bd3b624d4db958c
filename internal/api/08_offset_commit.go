package api

// OffsetCommit, versions 0–10.
//
// Served by the group coordinator (internal/group): offsets are acknowledged
// only once they are durable in __consumer_offsets, in Kafka's record
// format. Commits for partitions that do not exist get
// UNKNOWN_TOPIC_OR_PARTITION; stale generations ILLEGAL_GENERATION; commits
// from non-members of a non-empty group UNKNOWN_MEMBER_ID; simple
// (generation -1) commits on an empty group are accepted, as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) offsetCommit(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.OffsetCommitRequest)
	// Handed to the group now, in request order, so that the commits a
	// client pipelines on this connection share appends and fsyncs; the
	// writer waits for each in turn.
	pc := h.cfg.Groups.StartOffsetCommit(req)
	r := c.later(func(ctx context.Context) kmsg.Response { return pc.Wait(ctx) })
	r.Ready = pc.Ready()
	return r, nil
}
