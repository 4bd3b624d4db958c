package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
)

// CreateTopics creates topics (CreateTopics v0–v7 semantics). Each topic
// succeeds or fails on its own; the records of all successful topics are
// proposed in one entry. With ValidateOnly nothing is proposed.
func (c *Controller) CreateTopics(ctx context.Context, req *kmsg.CreateTopicsRequest) (*kmsg.CreateTopicsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrCreateTopicsResponse()
	resp.Version = req.Version
	img := c.image()

	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	var recs []metadata.Record
	creating := map[string]bool{} // names created by this request, for collision checks
	results := make([]*kmsg.CreateTopicsResponseTopic, len(req.Topics))
	tooMany := c.partitionsRequested(req) > maxPartitionsPerRequest
	for i, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		results[i] = &rt
		if tooMany {
			setErr(&rt.ErrorCode, &rt.ErrorMessage, kerr.PolicyViolation, "Excessively large number of partitions per request.")
			continue
		}
		if seen[t.Topic] > 1 {
			setErr(&rt.ErrorCode, &rt.ErrorMessage, kerr.InvalidRequest,
				fmt.Sprintf("Create topics request from client contains multiple entries for the following topics: %s", t.Topic))
			continue
		}
		topicRecs, err := c.decideCreate(img, t, creating)
		if err != nil {
			setKerr(&rt.ErrorCode, &rt.ErrorMessage, err)
			continue
		}
		tr := topicRecs[0].(metadata.TopicRecord)
		creating[t.Topic] = true
		rt.TopicID = tr.ID
		rt.NumPartitions = int32(countPartitions(topicRecs))
		rt.ReplicationFactor = int16(len(topicRecs[1].(metadata.PartitionRecord).Replicas))
		overrides := map[string]string{}
		for _, r := range topicRecs {
			if cr, ok := r.(metadata.ConfigRecord); ok {
				overrides[cr.Name] = cr.Value
			}
		}
		for _, e := range c.cfg.Broker.DescribeTopic(overrides, config.ClusterDynamic(img.Configs(metadata.DefaultBrokerResource))) {
			rc := kmsg.NewCreateTopicsResponseTopicConfig()
			rc.Name, rc.Value, rc.ReadOnly, rc.Source, rc.IsSensitive = e.Name, e.Value, e.ReadOnly, int8(e.Source), e.Sensitive
			rt.Configs = append(rt.Configs, rc)
		}
		if !req.ValidateOnly {
			recs = append(recs, topicRecs...)
		}
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		c.log.Warn("create topics failed", "err", err)
		for i := range results {
			if results[i].ErrorCode == 0 {
				setErr(&results[i].ErrorCode, &results[i].ErrorMessage, kerr.RequestTimedOut, err.Error())
			}
		}
	}
	for i, rt := range results {
		if rt.ErrorCode != 0 {
			rt.TopicID = metadata.ZeroUUID
			rt.NumPartitions, rt.ReplicationFactor, rt.Configs = -1, -1, nil
		} else if !req.ValidateOnly {
			c.log.Info("created topic", "topic", req.Topics[i].Topic, "partitions", rt.NumPartitions, "replication_factor", rt.ReplicationFactor)
		}
		resp.Topics = append(resp.Topics, *rt)
	}
	return resp, nil
}

// maxPartitionsPerRequest bounds the partitions one CreateTopics or
// CreatePartitions request may add, as Kafka's controller bounds them
// (10,000 records per user operation): a single request asking for
// millions would otherwise have the controller place, record and every
// broker open them, and run out of memory doing so.
const maxPartitionsPerRequest = 10_000

// partitionsRequested is how many partitions req would create if every
// topic in it were valid, counted as Kafka counts them.
func (c *Controller) partitionsRequested(req *kmsg.CreateTopicsRequest) int64 {
	var n int64
	for _, t := range req.Topics {
		switch {
		case len(t.ReplicaAssignment) > 0:
			n += int64(len(t.ReplicaAssignment))
		case t.NumPartitions == -1:
			n += int64(c.cfg.Broker.Topics.NumPartitions)
		case t.NumPartitions > 0:
			n += int64(t.NumPartitions)
		}
	}
	return n
}

func countPartitions(recs []metadata.Record) int {
	n := 0
	for _, r := range recs {
		if _, ok := r.(metadata.PartitionRecord); ok {
			n++
		}
	}
	return n
}

// decideCreate validates one topic of a CreateTopics request and returns its
// records: the TopicRecord, its PartitionRecords, then its ConfigRecords.
func (c *Controller) decideCreate(img *metadata.Image, t kmsg.CreateTopicsRequestTopic, creating map[string]bool) ([]metadata.Record, error) {
	if err := ValidateTopicName(t.Topic); err != nil {
		return nil, err
	}
	if _, ok := img.Topic(t.Topic); ok || creating[t.Topic] {
		return nil, kerrf(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Topic)
	}
	if other := collidingTopic(img, creating, t.Topic); other != "" {
		return nil, kerrf(kerr.InvalidTopicException, "Topic '%s' collides with existing topic: %s", t.Topic, other)
	}
	overrides := map[string]string{}
	for _, cfg := range t.Configs {
		if cfg.Value == nil {
			return nil, kerrf(kerr.InvalidConfig, "Null value not supported for topic configs: %s", cfg.Name)
		}
		if config.IsLegacyTopicConfig(cfg.Name) {
			continue // accepted and ignored, as Kafka 4.0 does
		}
		overrides[cfg.Name] = *cfg.Value
	}
	if err := config.ValidateTopicConfigs(overrides); err != nil {
		return nil, kerrf(kerr.InvalidConfig, "%v", err)
	}
	assignment, err := c.assignmentFor(img, t)
	if err != nil {
		return nil, err
	}
	id := metadata.NewUUID()
	recs := []metadata.Record{metadata.TopicRecord{Name: t.Topic, ID: id}}
	for p, replicas := range assignment {
		recs = append(recs, newPartitionRecord(img, id, int32(p), replicas))
	}
	for _, name := range sortedKeys(overrides) {
		recs = append(recs, metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: t.Topic, Name: name, Value: overrides[name]})
	}
	return recs, nil
}

// assignmentFor returns the replicas of every partition of a new topic,
// either as the request assigned them or placed by the controller.
func (c *Controller) assignmentFor(img *metadata.Image, t kmsg.CreateTopicsRequestTopic) ([][]int32, error) {
	if len(t.ReplicaAssignment) > 0 {
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return nil, kerrf(kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		assignment := make([][]int32, len(t.ReplicaAssignment))
		for _, a := range t.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(assignment) || assignment[a.Partition] != nil {
				return nil, kerrf(kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence.")
			}
			if err := checkReplicas(img, a.Replicas); err != nil {
				return nil, err
			}
			assignment[a.Partition] = slices.Clone(a.Replicas)
		}
		return assignment, nil
	}
	partitions := t.NumPartitions
	switch {
	case partitions == -1:
		partitions = c.cfg.Broker.Topics.NumPartitions
	case partitions <= 0:
		return nil, kerrf(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	rf := t.ReplicationFactor
	switch {
	case rf == -1:
		rf = int16(c.cfg.Broker.Topics.DefaultReplicationFactor)
	case rf <= 0:
		return nil, kerrf(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
	}
	return c.place(img, int(partitions), int(rf), 0)
}

// checkReplicas validates an explicit replica list.
func checkReplicas(img *metadata.Image, replicas []int32) error {
	if len(replicas) == 0 {
		return kerrf(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	seen := map[int32]bool{}
	for _, r := range replicas {
		if seen[r] {
			return kerrf(kerr.InvalidReplicaAssignment, "The manual partition assignment includes the broker %d more than once.", r)
		}
		seen[r] = true
		if _, ok := img.Broker(r); !ok {
			return kerrf(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, but no such broker is registered.", r)
		}
	}
	return nil
}

// newPartitionRecord makes the record of a new partition: every active
// replica (unfenced, not shutting down) is in the ISR and the first of them
// (the preferred one, normally) leads.
func newPartitionRecord(img *metadata.Image, topicID metadata.UUID, p int32, replicas []int32) metadata.PartitionRecord {
	var isr []int32
	for _, r := range replicas {
		if active(img, r) {
			isr = append(isr, r)
		}
	}
	leader := metadata.NoLeader
	if len(isr) > 0 {
		leader = isr[0]
	} else {
		isr = []int32{}
	}
	return metadata.PartitionRecord{
		TopicID: topicID, Partition: p, Replicas: replicas, ISR: isr, Leader: leader,
		AddingReplicas: []int32{}, RemovingReplicas: []int32{},
	}
}

// DeleteTopics deletes topics by name (v0–v5) or by name or id (v6+).
func (c *Controller) DeleteTopics(ctx context.Context, req *kmsg.DeleteTopicsRequest) (*kmsg.DeleteTopicsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrDeleteTopicsResponse()
	resp.Version = req.Version
	img := c.image()
	topics := req.Topics
	if req.Version < 6 {
		topics = nil
		for _, n := range req.TopicNames {
			t := kmsg.NewDeleteTopicsRequestTopic()
			t.Topic = kmsg.StringPtr(n)
			topics = append(topics, t)
		}
	}
	var recs []metadata.Record
	deleting := map[metadata.UUID]bool{}
	for _, rt := range topics {
		out := kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		t, err := c.topicToDelete(img, rt)
		switch {
		case err != nil:
			setKerr(&out.ErrorCode, &out.ErrorMessage, err)
		case deleting[t.ID]:
			// Named twice in one request: one deletion, both succeed.
		default:
			deleting[t.ID] = true
			out.Topic, out.TopicID = kmsg.StringPtr(t.Name), t.ID
			recs = append(recs, metadata.RemoveTopicRecord{TopicID: t.ID})
		}
		resp.Topics = append(resp.Topics, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Topics {
			if resp.Topics[i].ErrorCode == 0 {
				setErr(&resp.Topics[i].ErrorCode, &resp.Topics[i].ErrorMessage, kerr.RequestTimedOut, err.Error())
			}
		}
		return resp, nil
	}
	for id := range deleting {
		c.log.Info("deleted topic", "topic_id", id.String())
	}
	return resp, nil
}

func (c *Controller) topicToDelete(img *metadata.Image, rt kmsg.DeleteTopicsRequestTopic) (*metadata.Topic, error) {
	if !c.cfg.Broker.Topics.DeleteEnable {
		return nil, kerrf(kerr.TopicDeletionDisabled, "Topic deletion is disabled.")
	}
	hasID := rt.TopicID != metadata.ZeroUUID
	switch {
	case rt.Topic != nil && hasID:
		return nil, kerrf(kerr.InvalidRequest, "Topic name and topic id cannot both be specified.")
	case hasID:
		t, ok := img.TopicByID(rt.TopicID)
		if !ok {
			return nil, kerrf(kerr.UnknownTopicID, "Topic id %s does not exist.", metadata.UUID(rt.TopicID))
		}
		return t, nil
	case rt.Topic != nil:
		t, ok := img.Topic(*rt.Topic)
		if !ok {
			return nil, kerrf(kerr.UnknownTopicOrPartition, "This server does not host this topic-partition.")
		}
		return t, nil
	}
	return nil, kerrf(kerr.InvalidRequest, "Neither topic name nor id were specified.")
}

// CreatePartitions grows topics to the requested partition counts.
func (c *Controller) CreatePartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) (*kmsg.CreatePartitionsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrCreatePartitionsResponse()
	resp.Version = req.Version
	img := c.image()
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	var adding int64
	for _, t := range req.Topics {
		if topic, ok := img.Topic(t.Topic); ok && int(t.Count) > len(topic.Partitions) {
			adding += int64(int(t.Count) - len(topic.Partitions))
		}
	}
	var recs []metadata.Record
	for _, t := range req.Topics {
		out := kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = t.Topic
		var topicRecs []metadata.Record
		var err error
		if adding > maxPartitionsPerRequest {
			err = kerrf(kerr.PolicyViolation, "Unable to perform excessively large batch operation.")
		} else if seen[t.Topic] > 1 {
			err = kerrf(kerr.InvalidRequest, "Duplicate topic in request.")
		} else {
			topicRecs, err = c.decideCreatePartitions(img, t)
		}
		if err != nil {
			setKerr(&out.ErrorCode, &out.ErrorMessage, err)
		} else if !req.ValidateOnly {
			recs = append(recs, topicRecs...)
		}
		resp.Topics = append(resp.Topics, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Topics {
			if resp.Topics[i].ErrorCode == 0 {
				setErr(&resp.Topics[i].ErrorCode, &resp.Topics[i].ErrorMessage, kerr.RequestTimedOut, err.Error())
			}
		}
	}
	return resp, nil
}

func (c *Controller) decideCreatePartitions(img *metadata.Image, t kmsg.CreatePartitionsRequestTopic) ([]metadata.Record, error) {
	topic, ok := img.Topic(t.Topic)
	if !ok {
		return nil, kerrf(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", t.Topic)
	}
	have := int32(len(topic.Partitions))
	switch {
	case t.Count < have:
		return nil, kerrf(kerr.InvalidPartitions, "Topic currently has %d partitions, which is higher than the requested %d.", have, t.Count)
	case t.Count == have:
		return nil, kerrf(kerr.InvalidPartitions, "Topic already has %d partitions.", have)
	}
	adding := int(t.Count - have)
	var assignment [][]int32
	if t.Assignment != nil {
		if len(t.Assignment) != adding {
			return nil, kerrf(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", adding, len(t.Assignment))
		}
		for _, a := range t.Assignment {
			if err := checkReplicas(img, a.Replicas); err != nil {
				return nil, err
			}
			assignment = append(assignment, slices.Clone(a.Replicas))
		}
	} else {
		var err error
		if assignment, err = c.place(img, adding, len(topic.Partitions[0].Replicas), int(have)); err != nil {
			return nil, err
		}
	}
	recs := make([]metadata.Record, 0, adding)
	for i, replicas := range assignment {
		recs = append(recs, newPartitionRecord(img, topic.ID, have+int32(i), replicas))
	}
	return recs, nil
}

// collidingTopic returns an existing topic whose name equals name once '.'
// and '_' are treated alike (they collide in metric names), or "".
func collidingTopic(img *metadata.Image, creating map[string]bool, name string) string {
	norm := func(s string) string { return strings.ReplaceAll(s, ".", "_") }
	if !strings.ContainsAny(name, "._") {
		return ""
	}
	for _, other := range img.TopicNames() {
		if other != name && norm(other) == norm(name) {
			return other
		}
	}
	for other := range creating {
		if other != name && norm(other) == norm(name) {
			return other
		}
	}
	return ""
}
