package cli

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_topics_describe.go is kafka-topics.sh --describe. Like Kafka 4.x it
// reads partitions with DescribeTopicPartitions (KIP-966), which carries the
// eligible leader replicas; for a topic named by --topic-id, or against a
// broker without that API, it reads Metadata and prints "Elr: N/A", as
// Kafka's tool does. Lines:
//
//	Topic: T<TAB>TopicId: ID<TAB>PartitionCount: N<TAB>ReplicationFactor: N<TAB>Configs: k=v,...
//	<TAB>Topic: T<TAB>Partition: 0<TAB>Leader: 1<TAB>Replicas: 1,2<TAB>Isr: 1,2<TAB>Elr: <TAB>LastKnownElr:

// describedTopic is one topic's partitions as the describe lines need them.
type describedTopic struct {
	name       string
	id         [16]byte
	partitions []describedPart // sorted by partition
}

type describedPart struct {
	partition         int32
	leader            int32 // -1 for none
	replicas, isr     []int32
	elr, lastKnownElr []int32
	hasElr            bool // false: the broker cannot tell (printed N/A)
}

func (o *topicsOpts) describe(ctx context.Context, e *env, adm *kadm.Client) error {
	var names []string
	id, byID := parseTopicID(*o.topicID)
	if byID {
		found, err := o.topicByID(ctx, e, adm, id)
		if err != nil {
			return err
		}
		if found == "" {
			if !*o.ifExists {
				return &illegalArg{fmt.Sprintf("TopicId '%s' does not exist as expected", *o.topicID)}
			}
			return nil
		}
		names = []string{found}
	} else {
		var err error
		if names, _, err = o.topicNames(ctx, e, adm); err != nil {
			return err
		}
		if err := o.ensureExists(names); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		return nil
	}
	// Kafka's tool describes a topic named by its id with Metadata, which
	// carries no eligible leader replicas ("Elr: N/A"), and by name with
	// DescribeTopicPartitions.
	var topics []describedTopic
	var err error
	if byID {
		topics, err = describeWithMetadata(ctx, o.cl, names)
	} else {
		topics, err = describeTopicPartitions(ctx, o.cl, names, int32(*o.sizeLimit))
	}
	if err != nil {
		return err
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return err
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		return err
	}
	live := map[int32]bool{}
	for _, b := range brokers {
		live[b.NodeID] = true
	}
	var set kadm.TopicsSet
	for _, t := range topics {
		for _, p := range t.partitions {
			set.Add(t.name, p.partition)
		}
	}
	// Reassignments are best effort, as in Kafka: an old or locked-down
	// broker simply has none to show.
	reassign, _ := adm.ListPartitionReassignments(ctx, set)

	reporting := *o.underReplicated || *o.unavailable || *o.underMinISR || *o.atMinISR
	for _, t := range topics {
		rc, err := configs.On(t.name, nil)
		if err == nil && rc.Err != nil {
			err = kafkaError(rc.Err, rc.ErrMessage)
		}
		if err != nil {
			return err
		}
		minISR := 1
		var overrides []string
		for _, c := range rc.Configs {
			if c.Key == "min.insync.replicas" {
				if n, err := strconv.Atoi(c.MaybeValue()); err == nil {
					minISR = n
				}
			}
			if c.Source != kmsg.ConfigSourceDefaultConfig {
				overrides = append(overrides, c.Key+"="+c.MaybeValue())
			}
		}
		if !reporting && (!*o.topicsWithOverrides || len(overrides) > 0) && len(t.partitions) > 0 {
			rf := len(t.partitions[0].replicas)
			if ra, ok := reassignmentOf(reassign, t.name, t.partitions[0].partition); ok && reassigning(t.partitions[0], ra) {
				rf = len(ra.Replicas) - len(ra.AddingReplicas)
			}
			fmt.Fprintf(e.stdout, "Topic: %s", t.name)
			if t.id != [16]byte{} {
				fmt.Fprintf(e.stdout, "\tTopicId: %s", base64.RawURLEncoding.EncodeToString(t.id[:]))
			}
			fmt.Fprintf(e.stdout, "\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
				len(t.partitions), rf, strings.Join(overrides, ","))
		}
		if *o.topicsWithOverrides {
			continue
		}
		for _, p := range t.partitions {
			ra, hasRA := reassignmentOf(reassign, t.name, p.partition)
			if !reporting || o.reportable(p, ra, hasRA, minISR, live) {
				printPartitionLine(e, t.name, p, ra, hasRA)
			}
		}
	}
	return nil
}

// reportable applies the --under-replicated-partitions family of filters.
func (o *topicsOpts) reportable(p describedPart, ra kadm.ListPartitionReassignmentsResponse, hasRA bool, minISR int, live map[int32]bool) bool {
	rf := len(p.replicas)
	if hasRA && reassigning(p, ra) {
		rf = len(ra.Replicas) - len(ra.AddingReplicas)
	}
	hasLeader := p.leader >= 0
	switch {
	case *o.underReplicated && rf-len(p.isr) > 0:
		return true
	case *o.unavailable && (!hasLeader || !live[p.leader]):
		return true
	case *o.underMinISR && (!hasLeader || len(p.isr) < minISR):
		return true
	case *o.atMinISR && len(p.isr) == minISR:
		return true
	}
	return false
}

func printPartitionLine(e *env, topic string, p describedPart, ra kadm.ListPartitionReassignmentsResponse, hasRA bool) {
	var b strings.Builder
	leader := "none"
	if p.leader >= 0 {
		leader = strconv.Itoa(int(p.leader))
	}
	fmt.Fprintf(&b, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s",
		topic, p.partition, leader, int32List(p.replicas), int32List(p.isr))
	if hasRA {
		fmt.Fprintf(&b, "\tAdding Replicas: %s\tRemoving Replicas: %s", int32List(ra.AddingReplicas), int32List(ra.RemovingReplicas))
	}
	if p.hasElr {
		fmt.Fprintf(&b, "\tElr: %s\tLastKnownElr: %s", int32List(p.elr), int32List(p.lastKnownElr))
	} else {
		b.WriteString("\tElr: N/A\tLastKnownElr: N/A")
	}
	fmt.Fprintln(e.stdout, b.String())
}

func reassignmentOf(rs kadm.ListPartitionReassignmentsResponses, topic string, p int32) (kadm.ListPartitionReassignmentsResponse, bool) {
	r, ok := rs[topic][p]
	return r, ok
}

// reassigning is TopicCommand.isReassignmentInProgress.
func reassigning(p describedPart, ra kadm.ListPartitionReassignmentsResponse) bool {
	changing := map[int32]bool{}
	for _, id := range ra.AddingReplicas {
		changing[id] = true
	}
	for _, id := range ra.RemovingReplicas {
		changing[id] = true
	}
	for _, id := range p.replicas {
		if changing[id] {
			return true
		}
	}
	return false
}

// parseTopicID reads a Kafka topic id; the zero id counts as absent, as in
// Kafka.
func parseTopicID(s string) ([16]byte, bool) {
	var id [16]byte
	if s == "" {
		return id, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, false
	}
	copy(id[:], b)
	return id, id != [16]byte{}
}

func (o *topicsOpts) topicByID(ctx context.Context, e *env, adm *kadm.Client, id [16]byte) (string, error) {
	all, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return "", err
	}
	for name, d := range all {
		if [16]byte(d.ID) == id && !(*o.excludeInternal && (d.IsInternal || isInternalTopic(name))) {
			return name, nil
		}
	}
	return "", nil
}

// describeTopicPartitions reads the topics' partitions with
// DescribeTopicPartitions, following its cursor, or with Metadata when the
// broker does not have that API. Topics come back in the order given.
func describeTopicPartitions(ctx context.Context, cl *kgo.Client, names []string, limit int32) ([]describedTopic, error) {
	byName := map[string]*describedTopic{}
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit = max(limit, 1)
	for _, n := range names {
		rt := kmsg.NewDescribeTopicPartitionsRequestTopic()
		rt.Topic = n
		req.Topics = append(req.Topics, rt)
	}
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return describeWithMetadata(ctx, cl, names)
		}
		for _, rt := range resp.Topics {
			name := deref(rt.Topic)
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				return nil, kafkaError(err, "")
			}
			t := byName[name]
			if t == nil {
				t = &describedTopic{name: name, id: rt.TopicID}
				byName[name] = t
			}
			for _, p := range rt.Partitions {
				t.partitions = append(t.partitions, describedPart{
					partition: p.Partition, leader: p.LeaderID, replicas: p.Replicas, isr: p.ISR,
					elr: p.EligibleLeaderReplicas, lastKnownElr: p.LastKnownELR, hasElr: true,
				})
			}
		}
		if resp.NextCursor == nil {
			break
		}
		c := kmsg.NewDescribeTopicPartitionsRequestCursor()
		c.Topic, c.Partition = resp.NextCursor.Topic, resp.NextCursor.Partition
		req.Cursor = &c
	}
	return orderTopics(names, byName), nil
}

func describeWithMetadata(ctx context.Context, cl *kgo.Client, names []string) ([]describedTopic, error) {
	md, err := kadm.NewClient(cl).Metadata(ctx, names...)
	if err != nil {
		return nil, err
	}
	byName := map[string]*describedTopic{}
	for _, n := range names {
		td, ok := md.Topics[n]
		if !ok {
			continue
		}
		if td.Err != nil {
			return nil, kafkaError(td.Err, "")
		}
		t := &describedTopic{name: n, id: td.ID}
		for _, p := range td.Partitions.Sorted() {
			t.partitions = append(t.partitions, describedPart{
				partition: p.Partition, leader: p.Leader, replicas: p.Replicas, isr: p.ISR,
			})
		}
		byName[n] = t
	}
	return orderTopics(names, byName), nil
}

func orderTopics(names []string, byName map[string]*describedTopic) []describedTopic {
	var out []describedTopic
	for _, n := range names {
		if t := byName[n]; t != nil {
			sortParts(t.partitions)
			out = append(out, *t)
		}
	}
	return out
}

func sortParts(ps []describedPart) {
	slices.SortFunc(ps, func(a, b describedPart) int { return cmp.Compare(a.partition, b.partition) })
}
