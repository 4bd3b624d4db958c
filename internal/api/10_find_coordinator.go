package api

// FindCoordinator, versions 0–6 (batched keys from v4, KIP-699).
//
// A group's coordinator is the leader of partition
// abs(javaStringHash(group)) % partitions of __consumer_offsets, which is
// created on first use as Kafka does: offsets.topic.num.partitions
// partitions, offsets.topic.replication.factor replicas (the request gets
// COORDINATOR_NOT_AVAILABLE while fewer brokers are live), compacted, with
// offsets.topic.segment.bytes segments. The answer names the leader's
// endpoint on the listener the request came on.
//
// Transaction coordinators (key type 1) are not served yet. The lookup is
// refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED and a message saying
// why, and the broker logs it: that is the one error librdkafka treats as
// fatal here (it retries any other every 500 ms, so InitTransactions only
// ever timed out); the Java client, franz-go, KafkaJS and sarama fail at
// once on this code as on INVALID_REQUEST.

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/wire"
)

// OffsetsTopic is Kafka's internal topic for group offsets and metadata.
const OffsetsTopic = "__consumer_offsets"

// findCoordinator answers in request order, when the writer reaches the
// reply, for the reason Metadata does (03_metadata.go).
func (h *Handler) findCoordinator(_ context.Context, c *call) (wire.Reply, error) {
	return c.later(func(ctx context.Context) kmsg.Response { return h.findCoordinatorResponse(ctx, c) }), nil
}

func (h *Handler) findCoordinatorResponse(ctx context.Context, c *call) kmsg.Response {
	req := c.msg.(*kmsg.FindCoordinatorRequest)
	resp := kmsg.NewPtrFindCoordinatorResponse()
	keys := req.CoordinatorKeys
	if c.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key, rc.NodeID, rc.Port = key, -1, -1
		if req.CoordinatorType != 0 {
			// Clients such as KafkaJS show no message and send the user
			// to the broker's log.
			h.log.Info("refusing a transaction coordinator lookup: transactions are not supported yet", "txn_id", key)
			rc.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			rc.ErrorMessage = kmsg.StringPtr("transactions are not supported by this broker yet (samsa)")
		} else if code, msg := h.groupCoordinator(ctx, key, c.Conn.Listener, &rc); code != nil {
			rc.ErrorCode = code.Code
			rc.ErrorMessage = kmsg.StringPtr(msg)
		}
		resp.Coordinators = append(resp.Coordinators, rc)
	}
	if c.Version < 4 {
		only := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage = only.ErrorCode, only.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = only.NodeID, only.Host, only.Port
		resp.Coordinators = nil
	}
	return resp
}

// groupCoordinator fills rc with the coordinator of a group.
func (h *Handler) groupCoordinator(ctx context.Context, groupID, listener string, rc *kmsg.FindCoordinatorResponseCoordinator) (*kerr.Error, string) {
	img := h.image()
	t, ok := img.Topic(OffsetsTopic)
	if !ok {
		if img = h.createOffsetsTopic(ctx); img == nil {
			return kerr.CoordinatorNotAvailable, "the offsets topic could not be created yet"
		}
		if t, ok = img.Topic(OffsetsTopic); !ok {
			return kerr.CoordinatorNotAvailable, "the offsets topic is being created"
		}
	}
	p := t.Partitions[group.PartitionFor(groupID, int32(len(t.Partitions)))]
	if p.Leader == metadata.NoLeader {
		return kerr.CoordinatorNotAvailable, "the coordinator's partition has no leader"
	}
	b, ok := img.Broker(p.Leader)
	if !ok {
		return kerr.CoordinatorNotAvailable, "the coordinator is not registered"
	}
	e, ok := b.Endpoint(listener)
	if !ok {
		return kerr.CoordinatorNotAvailable, "the coordinator has no endpoint on listener " + listener
	}
	rc.NodeID, rc.Host, rc.Port = b.ID, e.Host, e.Port
	return nil, ""
}

// offsetsTopicWarnEveryMs spaces the warnings while __consumer_offsets
// cannot be created: every FindCoordinator retry would log one.
const offsetsTopicWarnEveryMs = 30_000

// createOffsetsTopic creates __consumer_offsets and returns the image that
// has it, or nil when it could not be created (yet).
func (h *Handler) createOffsetsTopic(ctx context.Context) *metadata.Image {
	g := h.cfg.Broker.Group
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = OffsetsTopic, g.OffsetsTopicPartitions, g.OffsetsTopicReplicationFactor
	for k, v := range map[string]string{
		"cleanup.policy":   "compact",
		"compression.type": "producer",
		"segment.bytes":    strconv.Itoa(int(g.OffsetsTopicSegmentBytes)),
	} {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
		t.Configs = append(t.Configs, cfg)
	}
	req.Topics = append(req.Topics, t)
	resp, err := h.cfg.Controller.Request(ctx, req)
	if err != nil {
		h.log.Warn("cannot create the offsets topic", "err", err)
		return nil
	}
	rt := resp.(*kmsg.CreateTopicsResponse).Topics[0]
	if rt.ErrorCode != 0 && rt.ErrorCode != kerr.TopicAlreadyExists.Code {
		msg := ""
		if rt.ErrorMessage != nil {
			msg = *rt.ErrorMessage
		}
		level := slog.LevelDebug
		if now := time.Now().UnixMilli(); now-h.offsetsTopicWarned.Load() >= offsetsTopicWarnEveryMs {
			h.offsetsTopicWarned.Store(now)
			level = slog.LevelWarn
		}
		attrs := []any{"err", kerr.ErrorForCode(rt.ErrorCode), "detail", msg}
		if rt.ErrorCode == kerr.InvalidReplicationFactor.Code {
			attrs = append(attrs, "hint", "consumer groups wait until offsets.topic.replication.factor ("+
				strconv.Itoa(int(g.OffsetsTopicReplicationFactor))+") brokers are registered; on a smaller cluster, lower it")
		}
		h.log.Log(ctx, level, "cannot create the offsets topic", attrs...)
		return nil
	}
	if rt.ErrorCode == 0 {
		h.log.Info("created the offsets topic", "partitions", g.OffsetsTopicPartitions, "replication_factor", g.OffsetsTopicReplicationFactor)
	}
	return h.image()
}
