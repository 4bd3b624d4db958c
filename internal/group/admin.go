package group

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicGroupType is the group type ListGroups v5+ reports (KIP-848
// distinguishes "classic" from "consumer" groups).
const classicGroupType = "classic"

// DescribeGroups handles DescribeGroups v0–v6. A group this coordinator
// does not know is Dead, and from v6 also GROUP_ID_NOT_FOUND, as in Kafka.
// AuthorizedOperations is left for the caller to fill in (the api package
// does, when the request asks).
func (c *Coordinator) DescribeGroups(ctx context.Context, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := kmsg.NewPtrDescribeGroupsResponse()
	resp.Version = req.Version
	type pending struct {
		ch    chan kmsg.DescribeGroupsResponseGroup
		found bool
		e     *kerr.Error
	}
	ps := make([]pending, len(req.Groups))
	for i, id := range req.Groups {
		p := &ps[i]
		p.ch = make(chan kmsg.DescribeGroupsResponseGroup, 1)
		p.found, p.e = c.do(id, false, func(g *group, _ int64) { p.ch <- g.describe() })
	}
	for i, id := range req.Groups {
		p := &ps[i]
		d := kmsg.NewDescribeGroupsResponseGroup()
		d.Group = id
		switch {
		case p.e != nil:
			d.ErrorCode = p.e.Code
		case !p.found:
			d.State = stateDead.String()
			if req.Version >= 6 {
				msg := "Group " + id + " not found."
				d.ErrorCode, d.ErrorMessage = kerr.GroupIDNotFound.Code, &msg
			}
		default:
			fail := d
			fail.ErrorCode = kerr.RequestTimedOut.Code
			d = wait(ctx, p.ch, fail)
		}
		resp.Groups = append(resp.Groups, d)
	}
	return resp
}

// ListGroups handles ListGroups v0–v5 over every partition this broker
// leads, filtered by state (v4+) and type (v5+; every group here is
// "classic"), both case-insensitive. While a partition is loading the
// response carries COORDINATOR_LOAD_IN_PROGRESS along with the groups of the
// others.
func (c *Coordinator) ListGroups(_ context.Context, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := kmsg.NewPtrListGroupsResponse()
	resp.Version = req.Version
	c.mu.RLock()
	stopped := c.stopped
	c.mu.RUnlock()
	if stopped {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	if req.Version >= 5 && len(req.TypesFilter) > 0 && !slices.ContainsFunc(req.TypesFilter, func(t string) bool {
		return strings.EqualFold(t, classicGroupType)
	}) {
		return resp
	}
	var states []string
	if req.Version >= 4 {
		states = req.StatesFilter
	}
	for _, p := range c.partitions() {
		if !p.ready.Load() {
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			continue
		}
		for _, a := range p.actors() {
			st, pt, closed := a.summary()
			if closed != open || st == stateDead {
				continue
			}
			if len(states) > 0 && !slices.ContainsFunc(states, func(s string) bool { return strings.EqualFold(s, st.String()) }) {
				continue
			}
			lg := kmsg.NewListGroupsResponseGroup()
			lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = a.id, pt, st.String(), classicGroupType
			resp.Groups = append(resp.Groups, lg)
		}
	}
	slices.SortFunc(resp.Groups, func(a, b kmsg.ListGroupsResponseGroup) int { return cmp.Compare(a.Group, b.Group) })
	return resp
}

// DeleteGroups handles DeleteGroups v0–v3. Only Empty groups can be deleted
// (NON_EMPTY_GROUP otherwise); a deleted group's offsets and metadata are
// tombstoned, and each group is answered once its tombstones are durable.
func (c *Coordinator) DeleteGroups(ctx context.Context, req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := kmsg.NewPtrDeleteGroupsResponse()
	resp.Version = req.Version
	type pending struct {
		ch    chan *kerr.Error
		found bool
		e     *kerr.Error
	}
	ps := make([]pending, len(req.Groups))
	for i, id := range req.Groups {
		p := &ps[i]
		p.ch = make(chan *kerr.Error, 1)
		p.found, p.e = c.do(id, false, func(g *group, now int64) { g.deleteGroup(now, replyTo(p.ch)) })
	}
	for i, id := range req.Groups {
		p := &ps[i]
		e := p.e
		switch {
		case e != nil:
		case !p.found:
			e = kerr.GroupIDNotFound
		default:
			e = wait(ctx, p.ch, kerr.RequestTimedOut)
		}
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = id, code(e)
		resp.Groups = append(resp.Groups, rg)
		if e == nil {
			c.log.Info("deleted group", "group", id)
		}
	}
	return resp
}

// OffsetDelete handles OffsetDelete v0 (KIP-496): it deletes committed
// offsets of an Empty group, or of topics a consumer group does not consume
// (GROUP_SUBSCRIBED_TO_TOPIC for those it does). A group-level error
// replaces every partition's.
func (c *Coordinator) OffsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.Version = req.Version
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	var tps []tp
	var slots []*int16
	resp.Topics = make([]kmsg.OffsetDeleteResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.OffsetDeleteResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			*rp = kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if !c.partitionExists(t.Topic, p.Partition) {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			tps = append(tps, tp{t.Topic, p.Partition})
			slots = append(slots, &rp.ErrorCode)
		}
	}
	type result struct {
		group *kerr.Error
		errs  []*kerr.Error
	}
	ch := make(chan result, 1)
	found, e := c.do(req.Group, false, func(g *group, now int64) {
		g.deleteOffsets(now, tps, func(ge *kerr.Error, errs []*kerr.Error) {
			select {
			case ch <- result{ge, errs}:
			default:
			}
		})
	})
	var res result
	switch {
	case e != nil:
		res.group = e
	case !found:
		res.group = kerr.GroupIDNotFound
	default:
		res = wait(ctx, ch, result{group: kerr.RequestTimedOut})
	}
	if res.group != nil {
		resp.ErrorCode, resp.Topics = res.group.Code, nil
		return resp
	}
	for i, s := range slots {
		*s = code(res.errs[i])
	}
	return resp
}
