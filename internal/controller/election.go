package controller

import (
	"slices"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
)

// Leader election and partition changes: every decision that changes a
// partition's leader, ISR or replicas goes through partitionChange.build,
// so the rules live in one place.
//
// A broker can lead (is "active") when it is registered, unfenced and not
// in controlled shutdown. Leaders come from the ISR (replica order: the
// preferred replica first):
//
//  1. a preferred election moves leadership to the preferred replica (the
//     first of Replicas) when it can lead and is in the ISR;
//  2. otherwise the current leader stays while it can lead and is in the
//     ISR, so no change moves leadership without a reason;
//  3. otherwise the first replica that can lead and is in the ISR leads;
//  4. otherwise, when unclean.leader.election.enable is in effect, the
//     first replica that can lead leads and the ISR becomes just it (the
//     records it lacks are lost; logged at Warn);
//  5. otherwise the partition has no leader (-1) and keeps its ISR, so a
//     member that comes back can lead without losing acknowledged records.
//
// A partition created while none of its replicas could lead has an empty
// ISR and no records; its first replica that can lead takes it, with the
// ISR just itself, and that is not unclean.
//
// The ISR is never made empty. A change also completes a reassignment once
// the ISR, without the replicas being removed, is not empty and holds every
// replica being added.

// election says how a partition change treats the current leader.
type election uint8

const (
	electIfNeeded  election = iota // keep the leader while it can lead (rules 2–5)
	electPreferred                 // move to the preferred replica when possible (rules 1–5)
)

// partitionChange describes a wanted change of one partition; build
// completes it with the election rules. Nil target slices keep the
// partition's value.
type partitionChange struct {
	p *metadata.Partition

	isr, replicas, adding, removing []int32

	election election
	// canLead reports whether a broker may lead or join the ISR now.
	canLead func(int32) bool
	// unclean reports whether an unclean election is allowed; nil = never.
	// It is called only when no ISR member can lead.
	unclean func() bool
	// keepIfNone keeps the current leader, when it is still in the ISR, in
	// place of rules 4 and 5: a broker in controlled shutdown leads the
	// partitions no other replica can take until it is fenced.
	keepIfNone bool
}

// changeResult is what build decided.
type changeResult struct {
	rec       metadata.PartitionChangeRecord
	changed   bool  // rec changes something
	leader    int32 // the leader after the change
	unclean   bool  // the leader was elected from outside the ISR
	completed bool  // a reassignment completed
}

// build applies the election rules to the change.
func (pc partitionChange) build() changeResult {
	p := pc.p
	replicas := orCurrent(pc.replicas, p.Replicas)
	isr := orCurrent(pc.isr, p.ISR)
	adding := orCurrent(pc.adding, p.AddingReplicas)
	removing := orCurrent(pc.removing, p.RemovingReplicas)

	var res changeResult
	if len(adding) > 0 || len(removing) > 0 {
		next := without(isr, removing...)
		if len(next) > 0 && containsAll(next, adding) {
			isr, replicas = next, without(replicas, removing...)
			adding, removing = []int32{}, []int32{}
			res.completed = true
		}
	}
	if len(isr) == 0 {
		isr = p.ISR
	}
	var alone bool
	res.leader, alone, res.unclean = pc.elect(replicas, isr)
	if alone {
		isr = []int32{res.leader}
	}

	rec := metadata.PartitionChangeRecord{TopicID: p.TopicID, Partition: p.ID, Leader: metadata.NoChange}
	if res.leader != p.Leader {
		rec.Leader = res.leader
		res.changed = true
	}
	set := func(dst *[]int32, want, cur []int32) {
		if !slices.Equal(want, cur) {
			*dst = slices.Clone(want)
			if *dst == nil {
				*dst = []int32{}
			}
			res.changed = true
		}
	}
	set(&rec.ISR, isr, p.ISR)
	set(&rec.Replicas, replicas, p.Replicas)
	set(&rec.AddingReplicas, adding, p.AddingReplicas)
	set(&rec.RemovingReplicas, removing, p.RemovingReplicas)
	res.rec = rec
	return res
}

// elect picks the leader of a partition with the given replicas and ISR.
// alone means the ISR becomes just the leader: after an unclean election,
// or for a partition whose ISR is empty because none of its replicas could
// lead when it was created (it never had a leader, so holds no records).
func (pc partitionChange) elect(replicas, isr []int32) (leader int32, alone, unclean bool) {
	valid := func(r int32) bool { return slices.Contains(isr, r) && pc.canLead(r) }
	cur := pc.p.Leader
	if pc.election == electPreferred && len(replicas) > 0 && valid(replicas[0]) {
		return replicas[0], false, false
	}
	if cur != metadata.NoLeader && slices.Contains(replicas, cur) && valid(cur) {
		return cur, false, false
	}
	for _, r := range replicas {
		if valid(r) {
			return r, false, false
		}
	}
	if pc.keepIfNone && cur != metadata.NoLeader && slices.Contains(isr, cur) {
		return cur, false, false
	}
	fresh := len(isr) == 0
	if fresh || (pc.unclean != nil && pc.unclean()) {
		for _, r := range replicas {
			if pc.canLead(r) {
				return r, true, !fresh
			}
		}
	}
	return metadata.NoLeader, false, false
}

// active reports whether broker id may lead and join ISRs: registered,
// unfenced and not in controlled shutdown.
func active(img *metadata.Image, id int32) bool {
	b, ok := img.Broker(id)
	return ok && !b.Fenced && !b.InControlledShutdown
}

// activeExcept is active for every broker but skip.
func activeExcept(img *metadata.Image, skip int32) func(int32) bool {
	return func(r int32) bool { return r != skip && active(img, r) }
}

// uncleanFor returns the unclean.leader.election.enable in effect for a
// topic (its override, else the cluster-wide dynamic default, else the
// controller's static config; a broker's own value is for that broker, and
// the controller decides for all), resolved when first asked.
func (c *Controller) uncleanFor(img *metadata.Image, topic string) func() bool {
	return func() bool {
		t, err := c.cfg.Broker.ResolveTopic(img.TopicConfigs(topic), config.ClusterDynamic(img.Configs(metadata.DefaultBrokerResource)))
		if err != nil {
			c.log.Warn("cannot resolve topic config; no unclean election", "topic", topic, "err", err)
			return false
		}
		return t.UncleanLeaderElectionEnable
	}
}

// logElection reports a change's election; unclean ones loudly, since the
// records the new leader lacks are lost.
func (c *Controller) logElection(p *metadata.Partition, res changeResult, why string) {
	switch {
	case res.unclean:
		c.log.Warn("UNCLEAN leader election: the new leader was not in the ISR and records acknowledged by the old ISR may be lost",
			"topic", p.Topic, "partition", p.ID, "leader", res.leader, "old_isr", p.ISR, "reason", why)
	case res.leader != p.Leader:
		c.log.Debug("leader elected", "topic", p.Topic, "partition", p.ID, "leader", res.leader, "reason", why)
	}
	if res.completed {
		c.log.Info("partition reassignment completed", "topic", p.Topic, "partition", p.ID)
	}
}

func orCurrent(want, cur []int32) []int32 {
	if want != nil {
		return want
	}
	return cur
}

// without returns s minus the given values, as a new slice.
func without(s []int32, drop ...int32) []int32 {
	out := make([]int32, 0, len(s))
	for _, r := range s {
		if !slices.Contains(drop, r) {
			out = append(out, r)
		}
	}
	return out
}

func containsAll(s, sub []int32) bool {
	for _, r := range sub {
		if !slices.Contains(s, r) {
			return false
		}
	}
	return true
}

// eachPartition calls fn for every partition of the image, topics in name
// order.
func eachPartition(img *metadata.Image, fn func(p *metadata.Partition)) {
	for _, name := range img.TopicNames() {
		t, _ := img.Topic(name)
		for _, p := range t.Partitions {
			fn(p)
		}
	}
}
