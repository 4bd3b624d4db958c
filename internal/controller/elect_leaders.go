package controller

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Election types of ElectLeaders (v1+; v0 is always preferred).
const (
	electionPreferred int8 = 0
	electionUnclean   int8 = 1
)

// ElectLeaders runs leader elections on demand (KIP-183, KIP-460).
//
// A preferred election moves leadership to the preferred replica (the
// first of the replicas) when it is active and in the ISR:
// ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE
// when it cannot. An unclean election gives a leaderless partition a
// leader, from the ISR when a member can lead and otherwise from any active
// replica, whatever the topic's unclean.leader.election.enable:
// ELECTION_NOT_NEEDED when the partition has a leader,
// ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica can lead. A null topic
// list means every partition, and then partitions that need no election
// are left out of the response, as Kafka does. All elections are proposed
// in one entry.
func (c *Controller) ElectLeaders(ctx context.Context, req *kmsg.ElectLeadersRequest) (*kmsg.ElectLeadersResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrElectLeadersResponse()
	resp.Version = req.Version
	typ := req.ElectionType
	if req.Version == 0 {
		typ = electionPreferred
	}
	if typ != electionPreferred && typ != electionUnclean {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	img := c.image()
	type key struct {
		topic string
		part  int32
	}
	decided := map[key]error{}
	var recs []metadata.Record
	elect := func(topic string, part int32) error {
		k := key{topic, part}
		if err, ok := decided[k]; ok {
			return err // named twice: one election, the same answer
		}
		rec, err := c.electOne(img, topic, part, typ)
		if err == nil {
			recs = append(recs, rec)
		}
		decided[k] = err
		return err
	}
	add := func(out *kmsg.ElectLeadersResponseTopic, part int32, err error) {
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = part
		if err != nil {
			setKerr(&rp.ErrorCode, &rp.ErrorMessage, err)
		}
		out.Partitions = append(out.Partitions, rp)
	}
	if req.Topics == nil {
		for _, name := range img.TopicNames() {
			t, _ := img.Topic(name)
			out := kmsg.NewElectLeadersResponseTopic()
			out.Topic = name
			for _, p := range t.Partitions {
				if err := elect(name, p.ID); !errors.Is(err, kerr.ElectionNotNeeded) {
					add(&out, p.ID, err)
				}
			}
			resp.Topics = append(resp.Topics, out)
		}
	} else {
		for _, rt := range req.Topics {
			out := kmsg.NewElectLeadersResponseTopic()
			out.Topic = rt.Topic
			for _, part := range rt.Partitions {
				add(&out, part, elect(rt.Topic, part))
			}
			resp.Topics = append(resp.Topics, out)
		}
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if rp := &resp.Topics[i].Partitions[j]; rp.ErrorCode == 0 {
					setErr(&rp.ErrorCode, &rp.ErrorMessage, kerr.RequestTimedOut, err.Error())
				}
			}
		}
		return resp, nil
	}
	if len(recs) > 0 {
		c.log.Info("elected leaders on request", "partitions", len(recs), "unclean", typ == electionUnclean)
	}
	return resp, nil
}

// electOne decides one partition's election of an ElectLeaders request.
func (c *Controller) electOne(img *metadata.Image, topic string, part int32, typ int8) (metadata.Record, error) {
	p, ok := img.Partition(topic, part)
	if !ok {
		return nil, kerrf(kerr.UnknownTopicOrPartition, "The partition %s-%d does not exist.", topic, part)
	}
	canLead := func(r int32) bool { return active(img, r) }
	if typ == electionPreferred {
		if len(p.Replicas) > 0 && p.Leader == p.Replicas[0] {
			return nil, kerr.ElectionNotNeeded
		}
		res := partitionChange{p: p, election: electPreferred, canLead: canLead}.build()
		if res.leader == p.Leader {
			return nil, kerrf(kerr.PreferredLeaderNotAvailable, "Failed to elect leader for partition %s-%d under strategy PreferredReplicaPartitionLeaderElectionStrategy", topic, part)
		}
		c.logElection(p, res, "preferred election requested")
		return res.rec, nil
	}
	if p.Leader != metadata.NoLeader {
		return nil, kerr.ElectionNotNeeded
	}
	res := partitionChange{p: p, canLead: canLead, unclean: func() bool { return true }}.build()
	if res.leader == metadata.NoLeader {
		return nil, kerrf(kerr.EligibleLeadersNotAvailable, "Failed to elect leader for partition %s-%d under strategy UncleanLeaderElectionStrategy", topic, part)
	}
	c.logElection(p, res, "unclean election requested")
	return res.rec, nil
}

// rebalanceLocked is the automatic leader rebalance
// (auto.leader.rebalance.enable): for every active broker whose share of
// the partitions it prefers (is the first replica of) but does not lead
// exceeds leader.imbalance.per.broker.percentage, it moves leadership of
// those partitions back to it where it is in the ISR. Partitions being
// reassigned are left alone.
func (c *Controller) rebalanceLocked(ctx context.Context) error {
	img := c.image()
	type tally struct {
		preferred int
		notLed    []*metadata.Partition
	}
	byBroker := map[int32]*tally{}
	eachPartition(img, func(p *metadata.Partition) {
		if len(p.Replicas) == 0 || len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0 {
			return
		}
		pref := p.Replicas[0]
		t := byBroker[pref]
		if t == nil {
			t = &tally{}
			byBroker[pref] = t
		}
		t.preferred++
		if p.Leader != pref {
			t.notLed = append(t.notLed, p)
		}
	})
	pct := int(c.cfg.Broker.Replication.LeaderImbalancePerBrokerPercent)
	canLead := func(r int32) bool { return active(img, r) }
	var recs []metadata.Record
	for _, b := range img.Brokers() {
		t := byBroker[b.ID]
		if t == nil || len(t.notLed) == 0 || !active(img, b.ID) || len(t.notLed)*100 <= pct*t.preferred {
			continue
		}
		moved := 0
		for _, p := range t.notLed {
			if !slices.Contains(p.ISR, b.ID) {
				continue
			}
			res := partitionChange{p: p, election: electPreferred, canLead: canLead}.build()
			if res.leader == b.ID {
				recs = append(recs, res.rec)
				moved++
			}
		}
		if moved > 0 {
			c.log.Info("leader imbalance: moving leaderships back to the preferred replica",
				"broker_id", b.ID, "preferred", t.preferred, "not_led", len(t.notLed), "moving", moved)
		}
	}
	return c.propose(ctx, recs)
}
