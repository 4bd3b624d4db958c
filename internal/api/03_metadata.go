package api

// Metadata, versions 0–13.
//
// Brokers are the registered, unfenced brokers with the endpoint of the
// listener the request arrived on (Kafka's rule, so clients stay on the
// network they came from). ControllerID is the active controller when it is
// also a broker, otherwise the lowest live broker: as in KRaft, clients
// cannot reach controllers, and admin requests they send there are
// forwarded.
//
// Topic auto-creation: when auto.create.topics.enable is on and the request
// allows it (always before v4), an unknown, validly named topic is created
// with num.partitions and default.replication.factor. Unlike Kafka, which
// answers LEADER_NOT_AVAILABLE and lets the client retry, samsa waits for
// the creation to be applied and answers with the new topic's metadata,
// which saves every producer a retry round trip.
//
// v10+ topics may be named by id; v13 adds a top-level error code (unused).
// Authorized operations (v8+) report every operation allowed, since samsa
// has no authorizer yet.
//
// The answer is worked out when the connection's writer reaches it, after
// the replies to the requests before it, not when the request is read:
// Kafka handles a connection's requests one after another, and a client
// that pipelines Metadata behind an acks=all Produce waiting out a leader's
// failure must not get the cluster as it was seconds earlier (librdkafka's
// idempotent producer went back to the dead leader on such an answer and
// stayed there until its messages timed out).

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/wire"
)

// authorizedOpsUnset is Kafka's "not requested" marker.
const authorizedOpsUnset = -2147483648

// Bitfields of every ACL operation Kafka defines for topics, the cluster and
// groups (KIP-430): with no authorizer, Kafka reports them all. Groups get
// READ, DELETE and DESCRIBE; Kafka 4 adds the config operations, for group
// configs samsa does not have.
const (
	allTopicOps   = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11
	allClusterOps = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12
	allGroupOps   = 1<<3 | 1<<6 | 1<<8
)

func (h *Handler) metadata(_ context.Context, c *call) (wire.Reply, error) {
	return c.later(func(ctx context.Context) kmsg.Response { return h.metadataResponse(ctx, c) }), nil
}

// metadataResponse answers a Metadata request from the current image.
func (h *Handler) metadataResponse(ctx context.Context, c *call) kmsg.Response {
	req := c.msg.(*kmsg.MetadataRequest)
	resp := kmsg.NewPtrMetadataResponse()
	img := h.image()

	autoCreate := h.cfg.Broker.Topics.AutoCreateEnable && (c.Version < 4 || req.AllowAutoTopicCreation)
	allTopics := req.Topics == nil || (c.Version == 0 && len(req.Topics) == 0)
	if allTopics {
		for _, name := range img.TopicNames() {
			t, _ := img.Topic(name)
			resp.Topics = append(resp.Topics, topicMetadata(img, t, req.IncludeTopicAuthorizedOperations))
		}
	} else {
		var missing []string
		for _, rt := range req.Topics {
			if rt.Topic == nil {
				t, ok := img.TopicByID(rt.TopicID)
				if !ok {
					mt := kmsg.NewMetadataResponseTopic()
					mt.TopicID, mt.ErrorCode = rt.TopicID, kerr.UnknownTopicID.Code
					resp.Topics = append(resp.Topics, mt)
					continue
				}
				resp.Topics = append(resp.Topics, topicMetadata(img, t, req.IncludeTopicAuthorizedOperations))
				continue
			}
			if _, ok := img.Topic(*rt.Topic); !ok && autoCreate && controller.ValidateTopicName(*rt.Topic) == nil {
				missing = append(missing, *rt.Topic)
			}
		}
		if len(missing) > 0 {
			img = h.autoCreate(ctx, missing)
		}
		for _, rt := range req.Topics {
			if rt.Topic == nil {
				continue
			}
			resp.Topics = append(resp.Topics, h.namedTopicMetadata(img, *rt.Topic, req.IncludeTopicAuthorizedOperations))
		}
	}

	for _, b := range h.liveBrokers(img, c.Conn.Listener) {
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port, mb.Rack = b.id, b.host, b.port, b.rack
		resp.Brokers = append(resp.Brokers, mb)
	}
	if id := img.ClusterID(); id != "" {
		resp.ClusterID = kmsg.StringPtr(id)
	}
	resp.ControllerID = h.advertisedControllerID(img)
	resp.AuthorizedOperations = authorizedOpsUnset
	if req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = allClusterOps
	}
	return resp
}

// namedTopicMetadata describes one topic requested by name.
func (h *Handler) namedTopicMetadata(img *metadata.Image, name string, withOps bool) kmsg.MetadataResponseTopic {
	if t, ok := img.Topic(name); ok {
		return topicMetadata(img, t, withOps)
	}
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = kmsg.StringPtr(name)
	mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
	if controller.ValidateTopicName(name) != nil {
		mt.ErrorCode = kerr.InvalidTopicException.Code
	}
	mt.AuthorizedOperations = authorizedOpsUnset
	return mt
}

// autoCreate creates the missing topics with the broker defaults and returns
// the image that has them (or the latest one, if creation failed). The
// offsets topic gets its own configuration, as Kafka creates internal topics.
func (h *Handler) autoCreate(ctx context.Context, names []string) *metadata.Image {
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, n := range names {
		if n == OffsetsTopic {
			h.createOffsetsTopic(ctx)
			continue
		}
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = n, -1, -1
		req.Topics = append(req.Topics, t)
	}
	if len(req.Topics) == 0 {
		return h.image()
	}
	resp, err := h.cfg.Controller.Request(ctx, req)
	if err != nil {
		h.log.Warn("auto-creating topics failed", "topics", names, "err", err)
		return h.image()
	}
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		if t.ErrorCode != 0 && t.ErrorCode != kerr.TopicAlreadyExists.Code {
			h.log.Info("auto-creating topic failed", "topic", t.Topic, "err", kerr.ErrorForCode(t.ErrorCode))
		} else if t.ErrorCode == 0 {
			h.log.Info("auto-created topic", "topic", t.Topic)
		}
	}
	return h.image()
}

func topicMetadata(img *metadata.Image, t *metadata.Topic, withOps bool) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic, mt.TopicID = kmsg.StringPtr(t.Name), t.ID
	mt.IsInternal = metadata.IsInternalTopic(t.Name)
	mt.AuthorizedOperations = authorizedOpsUnset
	if withOps {
		mt.AuthorizedOperations = allTopicOps
	}
	for _, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = p.ID, p.Leader, p.LeaderEpoch
		mp.Replicas, mp.ISR = p.Replicas, p.ISR
		mp.OfflineReplicas = offlineReplicas(img, p)
		if p.Leader == metadata.NoLeader {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// offlineReplicas lists the replicas on brokers that are fenced or gone.
func offlineReplicas(img *metadata.Image, p *metadata.Partition) []int32 {
	out := []int32{}
	for _, r := range p.Replicas {
		if b, ok := img.Broker(r); !ok || b.Fenced {
			out = append(out, r)
		}
	}
	return out
}

// endpoint is a broker's address on one listener.
type endpoint struct {
	id   int32
	host string
	port int32
	rack *string
}

// liveBrokers returns the unfenced brokers' endpoints on a listener.
func (h *Handler) liveBrokers(img *metadata.Image, listener string) []endpoint {
	var out []endpoint
	for _, b := range img.LiveBrokers() {
		e, ok := b.Endpoint(listener)
		if !ok {
			continue
		}
		ep := endpoint{id: b.ID, host: e.Host, port: e.Port}
		if b.Rack != "" {
			ep.rack = kmsg.StringPtr(b.Rack)
		}
		out = append(out, ep)
	}
	return out
}

// advertisedControllerID is the controller id told to clients.
func (h *Handler) advertisedControllerID(img *metadata.Image) int32 {
	live := img.LiveBrokers()
	if id := h.cfg.ControllerID(); slices.ContainsFunc(live, func(b *metadata.Broker) bool { return b.ID == id }) {
		return id
	}
	if len(live) > 0 {
		return live[0].ID
	}
	return -1
}

func (h *Handler) image() *metadata.Image { return h.cfg.Metadata.Image() }
