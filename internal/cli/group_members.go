package cli

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// group_members.go describes groups on their coordinators for
// group_snapshot.go: ConsumerGroupDescribe first, which only KIP-848 groups
// answer, then DescribeGroups for the rest, as Kafka's Admin client does.
// Classic members' assignments are decoded here; KIP-848 assignments name
// topics by ID, resolved through Metadata when the broker sends no name.

// describeGroups describes each group on its coordinator: KIP-848 groups
// with ConsumerGroupDescribe, the rest with DescribeGroups.
func describeGroups(ctx context.Context, cl *kgo.Client, names []string) ([]*groupSnapshot, error) {
	byName := map[string]*groupSnapshot{}
	out := make([]*groupSnapshot, 0, len(names))
	for _, n := range names {
		if byName[n] == nil {
			byName[n] = &groupSnapshot{name: n, typ: "classic", epoch: -1, targetEpoch: -1}
			out = append(out, byName[n])
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	var classic []string
	done := describeConsumerGroups(ctx, cl, byName)
	for _, s := range out {
		if !done[s.name] {
			classic = append(classic, s.name)
		}
	}
	if len(classic) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = classic
	shards := cl.RequestSharded(ctx, req)
	answered := false
	for _, shard := range shards {
		if shard.Err != nil {
			if shard.Req == nil {
				continue
			}
			for _, g := range shard.Req.(*kmsg.DescribeGroupsRequest).Groups {
				if s := byName[g]; s != nil {
					s.err = shard.Err
				}
			}
			continue
		}
		answered = true
		for _, rg := range shard.Resp.(*kmsg.DescribeGroupsResponse).Groups {
			if s := byName[rg.Group]; s != nil {
				s.fill(shard.Meta, &rg)
			}
		}
	}
	if !answered && len(shards) > 0 && shards[0].Err != nil {
		return nil, shards[0].Err
	}
	for _, s := range out {
		if s.err == nil && s.state == "" && !s.exists {
			s.state = "Dead"
		}
	}
	return out, nil
}

// fill copies one DescribeGroups answer into s.
func (s *groupSnapshot) fill(coordinator kgo.BrokerMetadata, rg *kmsg.DescribeGroupsResponseGroup) {
	s.coordinator = coordinator
	s.state = rg.State
	err := kerr.ErrorForCode(rg.ErrorCode)
	switch {
	case errors.Is(err, kerr.GroupIDNotFound): // DescribeGroups v6+ (KIP-1043)
		s.state = "Dead"
		return
	case err != nil:
		s.err = err
		return
	case rg.State == "Dead":
		return
	}
	s.exists = true
	s.protoType = rg.ProtocolType
	s.protocol = rg.Protocol
	for _, rm := range rg.Members {
		m := groupMember{id: rm.MemberID, clientID: rm.ClientID, host: rm.ClientHost, epoch: -1, memberType: -1}
		if rm.InstanceID != nil {
			m.instanceID = *rm.InstanceID
		}
		if rg.ProtocolType == "consumer" {
			m.assigned = decodeAssignment(rm.MemberAssignment)
		}
		s.members = append(s.members, m)
	}
}

// describeConsumerGroups asks the coordinators of byName's groups with
// ConsumerGroupDescribe and fills in the KIP-848 groups among them. It
// returns the groups it filled; the others (classic groups, groups that do
// not exist, brokers without the API) are left for DescribeGroups, which
// then reports any error.
func describeConsumerGroups(ctx context.Context, cl *kgo.Client, byName map[string]*groupSnapshot) map[string]bool {
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	for n := range byName {
		req.Groups = append(req.Groups, n)
	}
	slices.Sort(req.Groups)
	done := map[string]bool{}
	var ids map[[16]byte]string // topic names by ID, loaded when an assignment names none
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			continue
		}
		for _, rg := range shard.Resp.(*kmsg.ConsumerGroupDescribeResponse).Groups {
			s := byName[rg.Group]
			if s == nil || rg.ErrorCode != 0 {
				continue
			}
			if ids == nil && needsTopicNames(&rg) {
				ids = topicNamesByID(ctx, cl)
			}
			s.fillConsumer(shard.Meta, &rg, ids)
			done[rg.Group] = true
		}
	}
	return done
}

// fillConsumer copies one ConsumerGroupDescribe answer into s.
func (s *groupSnapshot) fillConsumer(coordinator kgo.BrokerMetadata, rg *kmsg.ConsumerGroupDescribeResponseGroup, ids map[[16]byte]string) {
	s.coordinator = coordinator
	s.exists = rg.State != "Dead"
	s.state, s.typ, s.protoType, s.protocol = rg.State, "consumer", "consumer", rg.AssignorName
	s.epoch, s.targetEpoch = rg.Epoch, rg.AssignmentEpoch
	for _, rm := range rg.Members {
		m := groupMember{id: rm.MemberID, clientID: rm.ClientID, host: rm.ClientHost, epoch: rm.MemberEpoch, memberType: rm.MemberType,
			assigned: assignmentByName(rm.Assignment, ids), target: assignmentByName(rm.TargetAssignment, ids)}
		if rm.InstanceID != nil {
			m.instanceID = *rm.InstanceID
		}
		s.members = append(s.members, m)
	}
}

// needsTopicNames reports whether an assignment in rg names a topic by ID
// only.
func needsTopicNames(rg *kmsg.ConsumerGroupDescribeResponseGroup) bool {
	for _, m := range rg.Members {
		for _, a := range []kmsg.Assignment{m.Assignment, m.TargetAssignment} {
			for _, tp := range a.TopicPartitions {
				if tp.Topic == "" {
					return true
				}
			}
		}
	}
	return false
}

// topicNamesByID maps topic IDs to names through Metadata; best effort, an
// unresolved topic is printed by its ID.
func topicNamesByID(ctx context.Context, cl *kgo.Client) map[[16]byte]string {
	out := map[[16]byte]string{}
	details, _ := kadm.NewClient(cl).ListTopicsWithInternal(ctx)
	for name, d := range details {
		out[d.ID] = name
	}
	return out
}

// assignmentByName turns a KIP-848 assignment into partitions by topic
// name, each list sorted.
func assignmentByName(a kmsg.Assignment, ids map[[16]byte]string) map[string][]int32 {
	out := map[string][]int32{}
	for _, tp := range a.TopicPartitions {
		name := tp.Topic
		if name == "" {
			if name = ids[tp.TopicID]; name == "" {
				name = kafkaUUID(tp.TopicID)
			}
		}
		ps := append(out[name], tp.Partitions...)
		slices.Sort(ps)
		out[name] = slices.Compact(ps)
	}
	return out
}

// decodeAssignment reads a consumer protocol assignment; bytes that do not
// decode (an empty assignment before the first sync, a foreign format)
// assign nothing.
func decodeAssignment(b []byte) map[string][]int32 {
	if len(b) == 0 {
		return nil
	}
	a := kmsg.NewConsumerMemberAssignment()
	if err := a.ReadFrom(b); err != nil {
		return nil
	}
	out := map[string][]int32{}
	for _, t := range a.Topics {
		if len(t.Partitions) == 0 {
			continue
		}
		ps := append(out[t.Topic], t.Partitions...)
		slices.Sort(ps)
		out[t.Topic] = slices.Compact(ps)
	}
	return out
}
