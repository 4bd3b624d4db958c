package group

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit handles OffsetCommit v0–v10. It blocks until the offsets are
// durable in __consumer_offsets (or the write failed, or ctx is done): a
// partition answered without error has its offset on every in-sync replica.
// Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION (v10:
// UNKNOWN_TOPIC_ID for unknown ids), metadata longer than
// offset.metadata.max.bytes OFFSET_METADATA_TOO_LARGE; the rest share the
// group's verdict. It is StartOffsetCommit followed by Wait.
func (c *Coordinator) OffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	return c.StartOffsetCommit(req).Wait(ctx)
}

// PendingCommit is an OffsetCommit handed to its group, on its way to
// durability.
type PendingCommit struct {
	resp    *kmsg.OffsetCommitResponse
	slots   []*int16      // the response codes the group's verdict fills in
	done    chan struct{} // closed once verdict is set
	once    sync.Once
	verdict *kerr.Error
}

// StartOffsetCommit validates req and hands its offsets to the group without
// waiting, so that the commits a connection pipelines are written together
// and in the order they arrived; Wait returns the response once they are
// durable.
func (c *Coordinator) StartOffsetCommit(req *kmsg.OffsetCommitRequest) *PendingCommit {
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.Version = req.Version
	pc := &PendingCommit{resp: resp, done: make(chan struct{})}
	_, routeErr := c.route(req.Group)
	var entries []commitEntry
	resp.Topics = make([]kmsg.OffsetCommitResponseTopic, len(req.Topics))
	for i := range req.Topics {
		t := &req.Topics[i]
		rt := &resp.Topics[i]
		*rt = kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		name, topicErr := t.Topic, (*kerr.Error)(nil)
		if req.Version >= 10 {
			var ok bool
			if name, ok = c.topicName(t.TopicID); !ok {
				topicErr = kerr.UnknownTopicID
			}
		}
		rt.Partitions = make([]kmsg.OffsetCommitResponseTopicPartition, len(t.Partitions))
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			rp := &rt.Partitions[j]
			*rp = kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = pt.Partition
			switch {
			case topicErr != nil:
				rp.ErrorCode = topicErr.Code
			case !c.partitionExists(name, pt.Partition):
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case routeErr != nil:
				rp.ErrorCode = routeErr.Code
			case pt.Metadata != nil && utf16Len(*pt.Metadata) > int(c.rules.metadataMax):
				rp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
			default:
				o := offset{offset: pt.Offset, leaderEpoch: -1, expireTime: -1}
				if req.Version >= 6 {
					o.leaderEpoch = pt.LeaderEpoch
				}
				if pt.Metadata != nil {
					o.metadata = *pt.Metadata
				}
				entries = append(entries, commitEntry{tp: tp{name, pt.Partition}, o: o})
				pc.slots = append(pc.slots, &rp.ErrorCode)
			}
		}
	}
	if len(entries) == 0 {
		pc.settle(nil)
		return pc
	}
	r := &commitRequest{memberID: req.MemberID, generation: req.Generation, entries: entries, retentionMs: -1}
	if req.Version >= 7 {
		r.instanceID = req.InstanceID
	}
	if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis >= 0 {
		r.retentionMs = req.RetentionTimeMillis
	}
	found, e := c.do(req.Group, req.Generation < 0, func(g *group, now int64) { g.commit(now, r, pc.settle) })
	switch {
	case e != nil:
		pc.settle(e)
	case !found && req.Version >= 9:
		pc.settle(kerr.GroupIDNotFound)
	case !found:
		pc.settle(kerr.IllegalGeneration) // a member of a group this coordinator does not know
	}
	return pc
}

// settle records the group's verdict; later calls are ignored, so the
// group never blocks on it.
func (pc *PendingCommit) settle(e *kerr.Error) {
	pc.once.Do(func() {
		pc.verdict = e
		close(pc.done)
	})
}

// Ready is closed once Wait returns without blocking.
func (pc *PendingCommit) Ready() <-chan struct{} { return pc.done }

// Wait returns the response once the commit is settled, or with
// REQUEST_TIMED_OUT for the offsets still pending when ctx is done.
func (pc *PendingCommit) Wait(ctx context.Context) *kmsg.OffsetCommitResponse {
	e := kerr.RequestTimedOut
	select {
	case <-pc.done:
		e = pc.verdict
	case <-ctx.Done():
		select {
		case <-pc.done:
			e = pc.verdict
		default:
		}
	}
	for _, s := range pc.slots {
		*s = code(e)
	}
	return pc.resp
}

// utf16Len is the length Java's String.length() gives: Kafka compares
// offset.metadata.max.bytes with it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// OffsetFetch handles OffsetFetch v0–v10: one group (v0–v7) or several
// (v8+), given partitions or all committed ones (null topics, v2+). A
// group this coordinator does not know has no offsets (-1), as in Kafka.
func (c *Coordinator) OffsetFetch(ctx context.Context, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := kmsg.NewPtrOffsetFetchResponse()
	resp.Version = req.Version
	requireStable := req.Version >= 7 && req.RequireStable
	if req.Version < 8 {
		var tps []tp
		if req.Topics != nil {
			tps = []tp{}
			for _, t := range req.Topics {
				for _, p := range t.Partitions {
					tps = append(tps, tp{t.Topic, p})
				}
			}
		}
		res, e := c.fetchGroup(ctx, req.Group, tps, requireStable)
		if e != nil {
			if req.Version >= 2 {
				resp.ErrorCode = e.Code
				return resp
			}
			res = make([]fetched, len(tps)) // v0–v1 carry the error per partition
			for i, t := range tps {
				res[i] = fetched{tp: t, o: offset{offset: -1, leaderEpoch: -1}, err: e}
			}
		}
		resp.Topics = topicsV0(res)
		return resp
	}
	type pending struct {
		ch    chan fetchResult
		found bool
		e     *kerr.Error
		tps   []tp
		ids   map[string][16]byte
		bad   map[[16]byte]bool // v10 topic ids nobody knows
	}
	ps := make([]pending, len(req.Groups))
	for i := range req.Groups {
		rg := &req.Groups[i]
		p := &ps[i]
		p.tps, p.ids, p.bad = c.fetchTopics(req.Version, rg.Topics)
		p.ch = make(chan fetchResult, 1)
		p.found, p.e = c.do(rg.Group, false, fetchOp(p.tps, requireStable, p.ch))
	}
	for i := range req.Groups {
		p := &ps[i]
		rg := kmsg.NewOffsetFetchResponseGroup()
		rg.Group = req.Groups[i].Group
		res := p.tps
		var got []fetched
		switch {
		case p.e != nil:
			rg.ErrorCode = p.e.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		case !p.found:
			got = noOffsets(res)
		default:
			fr := wait(ctx, p.ch, fetchResult{err: kerr.RequestTimedOut})
			if fr.err != nil {
				rg.ErrorCode = fr.err.Code
				resp.Groups = append(resp.Groups, rg)
				continue
			}
			got = fr.res
		}
		rg.Topics = c.topicsV8(req.Version, got, p.ids, p.bad, req.Groups[i].Topics)
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

type fetchResult struct {
	res []fetched
	err *kerr.Error
}

func fetchOp(tps []tp, requireStable bool, ch chan fetchResult) op {
	return func(g *group, _ int64) { ch <- fetchResult{res: g.fetch(tps, requireStable)} }
}

// fetchGroup fetches one group's offsets for tps (nil: all).
func (c *Coordinator) fetchGroup(ctx context.Context, group string, tps []tp, requireStable bool) ([]fetched, *kerr.Error) {
	ch := make(chan fetchResult, 1)
	found, e := c.do(group, false, fetchOp(tps, requireStable, ch))
	switch {
	case e != nil:
		return nil, e
	case !found:
		return noOffsets(tps), nil
	}
	fr := wait(ctx, ch, fetchResult{err: kerr.RequestTimedOut})
	return fr.res, fr.err
}

func noOffsets(tps []tp) []fetched {
	out := make([]fetched, len(tps))
	for i, t := range tps {
		out[i] = fetched{tp: t, o: offset{offset: -1, leaderEpoch: -1}}
	}
	return out
}

// fetchTopics turns a v8+ group's topics into partitions (nil: all). For
// v10 it resolves topic ids; ids nobody knows are answered
// UNKNOWN_TOPIC_ID without asking the group.
func (c *Coordinator) fetchTopics(version int16, topics []kmsg.OffsetFetchRequestGroupTopic) ([]tp, map[string][16]byte, map[[16]byte]bool) {
	if topics == nil {
		return nil, nil, nil
	}
	tps := []tp{}
	var ids map[string][16]byte
	var bad map[[16]byte]bool
	for _, t := range topics {
		name := t.Topic
		if version >= 10 {
			n, ok := c.topicName(t.TopicID)
			if !ok {
				if bad == nil {
					bad = map[[16]byte]bool{}
				}
				bad[t.TopicID] = true
				continue
			}
			name = n
			if ids == nil {
				ids = map[string][16]byte{}
			}
			ids[name] = t.TopicID
		}
		for _, p := range t.Partitions {
			tps = append(tps, tp{name, p})
		}
	}
	return tps, ids, bad
}

func fillPartition(f *fetched, offset *int64, epoch *int32, meta **string, ec *int16) {
	*offset, *epoch, *ec = f.o.offset, f.o.leaderEpoch, code(f.err)
	m := f.o.metadata
	*meta = &m
}

// topicsV0 groups results by topic, in the order they came (v0–v7).
func topicsV0(res []fetched) []kmsg.OffsetFetchResponseTopic {
	var out []kmsg.OffsetFetchResponseTopic
	for i := range res {
		f := &res[i]
		if len(out) == 0 || out[len(out)-1].Topic != f.tp.topic {
			t := kmsg.NewOffsetFetchResponseTopic()
			t.Topic = f.tp.topic
			out = append(out, t)
		}
		p := kmsg.NewOffsetFetchResponseTopicPartition()
		p.Partition = f.tp.partition
		fillPartition(f, &p.Offset, &p.LeaderEpoch, &p.Metadata, &p.ErrorCode)
		t := &out[len(out)-1]
		t.Partitions = append(t.Partitions, p)
	}
	return out
}

// topicsV8 groups a v8+ group's results by topic. For v10 it names topics
// by id: from the request, or looked up for all-partition fetches (topics
// whose id is unknown, deleted since, are left out); ids nobody knows get
// UNKNOWN_TOPIC_ID on each requested partition.
func (c *Coordinator) topicsV8(version int16, res []fetched, ids map[string][16]byte, bad map[[16]byte]bool, req []kmsg.OffsetFetchRequestGroupTopic) []kmsg.OffsetFetchResponseGroupTopic {
	var out []kmsg.OffsetFetchResponseGroupTopic
	for i := range res {
		f := &res[i]
		if len(out) == 0 || out[len(out)-1].Topic != f.tp.topic {
			t := kmsg.NewOffsetFetchResponseGroupTopic()
			t.Topic = f.tp.topic
			if version >= 10 {
				id, ok := ids[f.tp.topic]
				if !ok {
					if id, ok = c.topicID(f.tp.topic); !ok {
						continue
					}
				}
				t.TopicID = id
			}
			out = append(out, t)
		}
		p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		p.Partition = f.tp.partition
		fillPartition(f, &p.Offset, &p.LeaderEpoch, &p.Metadata, &p.ErrorCode)
		t := &out[len(out)-1]
		t.Partitions = append(t.Partitions, p)
	}
	for _, rt := range req {
		if !bad[rt.TopicID] {
			continue
		}
		t := kmsg.NewOffsetFetchResponseGroupTopic()
		t.TopicID = rt.TopicID
		for _, part := range rt.Partitions {
			p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			p.Partition, p.Offset, p.ErrorCode = part, -1, kerr.UnknownTopicID.Code
			t.Partitions = append(t.Partitions, p)
		}
		out = append(out, t)
	}
	return out
}

func (c *Coordinator) partitionExists(topic string, partition int32) bool {
	return c.cfg.PartitionExists == nil || c.cfg.PartitionExists(topic, partition)
}

func (c *Coordinator) topicName(id [16]byte) (string, bool) {
	if c.cfg.TopicName == nil {
		return "", false
	}
	return c.cfg.TopicName(id)
}

func (c *Coordinator) topicID(name string) ([16]byte, bool) {
	if c.cfg.TopicID == nil {
		return [16]byte{}, false
	}
	return c.cfg.TopicID(name)
}
