package api

// Fetch, versions 4–18.
//
// KIPs: 74 (max_bytes; the first batch is returned whole even when larger,
// so a consumer can always make progress), 227 (incremental fetch sessions,
// fetch_session.go), 320 (current leader epoch: FENCED_LEADER_EPOCH and
// UNKNOWN_LEADER_EPOCH; last fetched epoch: a diverging epoch instead of
// records), 516 (topic ids from v13), 951 (the current leader in
// NOT_LEADER_OR_FOLLOWER answers, with its endpoint from v16).
//
// Records are read up to the high watermark (read_uncommitted) or last
// stable offset (read_committed) and are never copied: the response carries
// file regions that the connection writes with sendfile. When fewer than
// min_bytes are available the fetch waits, until an append moves a fetched
// partition's high watermark or max_wait_ms passes; the wait happens in the
// connection's writer, so it costs no goroutine and responses stay in order.
//
// Fetches from a replica id are followers replicating (fetch_replica.go):
// they read up to the log end offset, and their fetch offset tells the
// leader how far the follower has the log, which moves the high watermark
// and the ISR.

import (
	"context"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/auth"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/wire"
)

// fetchItem is one partition of a fetch, in response order.
type fetchItem struct {
	key       sessionKey
	params    partition.FetchParams
	session   *sessionPartition // nil without a session
	p         *partition.Partition
	lookupErr *kerr.Error
}

// fetchPlan is a fetch resolved against its session.
type fetchPlan struct {
	version     int16
	items       []fetchItem
	session     *fetchSession // nil = sessionless
	incremental bool
	maxBytes    int32
	minBytes    int32

	replica      int32       // the follower's id; -1 for a consumer
	replicaEpoch int64       // its broker epoch
	refused      *kerr.Error // every partition's error when the replica claim is refused
}

func (h *Handler) fetch(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.FetchRequest)
	plan, errCode := h.planFetch(c, req)
	if errCode != 0 {
		return h.respondFetch(c, &fetchResp{version: c.Version, errorCode: errCode}, nil, false), nil
	}
	pass := h.fetchPass(plan)
	deadline := c.Received.Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	var reply wire.Reply
	if pass.satisfied(plan) || req.MaxWaitMillis <= 0 {
		reply = h.finishFetch(c, plan, pass)
	} else {
		pass.release()
		reply = wire.Reply{Wait: func(ctx context.Context) *wire.Response {
			return h.awaitFetch(ctx, c, plan, deadline)
		}}
	}
	reply.Follower = plan.replica >= 0
	return reply, nil
}

// awaitFetch waits for data, the deadline or ctx, then answers.
func (h *Handler) awaitFetch(ctx context.Context, c *call, plan *fetchPlan, deadline time.Time) *wire.Response {
	w := partition.NewWaiter()
	for _, it := range plan.items {
		if it.p != nil {
			it.p.Watch(w, plan.replica >= 0)
			defer it.p.Unwatch(w)
		}
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		// Watching started before this pass, so no append after it is missed.
		pass := h.fetchPass(plan)
		if pass.satisfied(plan) {
			return h.finishFetch(c, plan, pass).Resp
		}
		select {
		case <-w.C:
			pass.release()
		case <-timer.C:
			return h.finishFetch(c, plan, pass).Resp
		case <-ctx.Done():
			return h.finishFetch(c, plan, pass).Resp
		}
	}
}

// planFetch resolves the request's partitions, opening, updating or closing
// its fetch session. A non-zero code is a session error for the whole
// response.
func (h *Handler) planFetch(c *call, req *kmsg.FetchRequest) (*fetchPlan, int16) {
	version := c.Version
	plan := &fetchPlan{version: version, maxBytes: req.MaxBytes, minBytes: req.MinBytes, replica: -1}
	if limit := h.cfg.Broker.Network.FetchMaxBytes; limit > 0 && plan.maxBytes > limit {
		plan.maxBytes = limit
	}
	img := h.image()
	if id, epoch := replicaOf(req, version); id >= 0 {
		err, whole := h.checkReplica(c, img, id, epoch)
		switch {
		case err != nil && whole:
			return nil, err.Code
		case err != nil:
			plan.refused = err
		default:
			plan.replica, plan.replicaEpoch = id, epoch
		}
	}
	if plan.replica < 0 && h.cfg.Quotas != nil {
		// A consumer under a consumer_byte_rate never gets more in one
		// response than its quota allows over the least span a rate is
		// measured over, or that response alone would put it over and be
		// throttled away every time (at least one batch still goes out,
		// KIP-74).
		if w := h.cfg.Quotas.WindowBytes(auth.FetchQuota, c.Conn.Principal, c.ClientID); w >= 0 && int64(plan.maxBytes) > w {
			plan.maxBytes = int32(max(w, 1))
		}
	}
	keyOf := func(t *kmsg.FetchRequestTopic, part int32) sessionKey {
		if version >= 13 {
			name := ""
			if mt, ok := img.TopicByID(t.TopicID); ok {
				name = mt.Name
			}
			return sessionKey{topic: name, topicID: t.TopicID, part: part}
		}
		return sessionKey{topic: t.Topic, part: part}
	}
	paramsOf := func(p *kmsg.FetchRequestTopicPartition) sessionPartition {
		return sessionPartition{
			fetchOffset: p.FetchOffset, currentLeaderEpoch: p.CurrentLeaderEpoch,
			lastFetchedEpoch: p.LastFetchedEpoch, logStartOffset: p.LogStartOffset, maxBytes: p.PartitionMaxBytes,
		}
	}

	switch {
	case version < 7 || (req.SessionID == 0 && req.SessionEpoch == finalEpoch):
		// Sessionless full fetch.
	case req.SessionEpoch == finalEpoch:
		h.sessions.remove(req.SessionID)
	case req.SessionEpoch == initialEpoch:
		if req.SessionID != 0 {
			h.sessions.remove(req.SessionID)
		}
		plan.session = h.sessions.create() // nil when full: served sessionless
	default:
		fs := h.sessions.get(req.SessionID)
		if fs == nil {
			return nil, kerr.FetchSessionIDNotFound.Code
		}
		plan.session, plan.incremental = fs, true
	}

	if plan.session == nil {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				sp := paramsOf(&t.Partitions[j])
				sp.key = keyOf(t, t.Partitions[j].Partition)
				plan.items = append(plan.items, h.fetchItemFor(img, sp, nil, req.IsolationLevel, version >= 13))
			}
		}
		return plan, 0
	}

	fs := plan.session
	fs.mu.Lock()
	defer fs.mu.Unlock()
	// The epoch moves on when a fetch is accepted, not when it is answered,
	// so a duplicate sent while this one waits is refused.
	if plan.incremental {
		if req.SessionEpoch != fs.epoch {
			return nil, kerr.InvalidFetchSessionEpoch.Code
		}
		fs.epoch = nextSessionEpoch(fs.epoch)
	}
	for _, ft := range req.ForgottenTopics {
		for _, part := range ft.Partitions {
			if version >= 13 {
				fs.forget(sessionKey{topicID: ft.TopicID, part: part, topic: keyOf(&kmsg.FetchRequestTopic{TopicID: ft.TopicID}, part).topic})
			} else {
				fs.forget(sessionKey{topic: ft.Topic, part: part})
			}
		}
	}
	for i := range req.Topics {
		t := &req.Topics[i]
		for j := range t.Partitions {
			sp := paramsOf(&t.Partitions[j])
			sp.key = keyOf(t, t.Partitions[j].Partition)
			fs.upsert(sp)
		}
	}
	for _, sp := range fs.partitions {
		plan.items = append(plan.items, h.fetchItemFor(img, *sp, sp, req.IsolationLevel, version >= 13))
	}
	return plan, 0
}

func (h *Handler) fetchItemFor(img *metadata.Image, sp sessionPartition, cached *sessionPartition, isolation int8, byID bool) fetchItem {
	it := fetchItem{
		key:     sp.key,
		session: cached,
		params: partition.FetchParams{
			Offset: sp.fetchOffset, MaxBytes: sp.maxBytes, Isolation: isolation,
			CurrentLeaderEpoch: sp.currentLeaderEpoch, LastFetchedEpoch: sp.lastFetchedEpoch,
		},
	}
	var err *kerr.Error
	if byID {
		it.p, err = h.cfg.Partitions.LookupID(img, sp.key.topicID, sp.key.part)
	} else {
		it.p, err = h.cfg.Partitions.Lookup(img, sp.key.topic, sp.key.part)
	}
	it.lookupErr = err
	return it
}

// passResult is one read of every partition of a fetch.
type passResult struct {
	results []partition.FetchResult
	errs    []*kerr.Error
	bytes   int64 // read
	// available is what min_bytes is held against, as Kafka counts it
	// (DelayedFetch): a partition's bytes up to its partition_max_bytes, so
	// one whose read a limit cut short counts as its whole limit.
	available int64
	anyErr    bool
}

func (r *passResult) release() {
	for i := range r.results {
		r.results[i].Release()
	}
}

// satisfied reports whether the fetch can be answered now: enough bytes,
// or an error the client must hear about at once. min_bytes is never more
// than max_bytes (after fetch.max.bytes and a quota's cap), as in Kafka.
func (r *passResult) satisfied(plan *fetchPlan) bool {
	return r.anyErr || r.available >= int64(min(plan.minBytes, plan.maxBytes))
}

// fetchPass reads every partition of the plan within the byte budgets.
func (h *Handler) fetchPass(plan *fetchPlan) *passResult {
	pr := &passResult{results: make([]partition.FetchResult, len(plan.items)), errs: make([]*kerr.Error, len(plan.items))}
	budget := int64(plan.maxBytes)
	for i := range plan.items {
		it := &plan.items[i]
		if it.lookupErr != nil {
			pr.errs[i], pr.anyErr = it.lookupErr, true
			continue
		}
		if plan.refused != nil {
			pr.errs[i], pr.anyErr = plan.refused, true
			continue
		}
		fp := it.params
		fp.MaxBytes = int32(min(int64(fp.MaxBytes), max(budget, 0)))
		fp.MinOneBatch = pr.bytes == 0 // KIP-74: the first data is returned whole
		var (
			res partition.FetchResult
			err *kerr.Error
		)
		if plan.replica >= 0 {
			res, err = it.p.FetchForFollower(plan.replica, plan.replicaEpoch, fp)
		} else {
			res, err = it.p.Fetch(fp)
		}
		if err != nil {
			pr.errs[i], pr.anyErr = err, true
			// The result still carries the offsets the client should know.
		}
		pr.results[i] = res
		n := int64(res.Records.Size)
		pr.bytes += n
		budget -= n
		pr.available += n
		if n > 0 && res.Records.LastOffset+1 < res.HighWatermark {
			// Cut short by a limit: more is there than was read.
			pr.available += max(int64(it.params.MaxBytes)-n, 0)
		}
	}
	return pr
}

// finishFetch builds the response from a pass and updates the session.
func (h *Handler) finishFetch(c *call, plan *fetchPlan, pass *passResult) wire.Reply {
	resp := &fetchResp{version: plan.version}
	if plan.session != nil {
		resp.sessionID = plan.session.id
		plan.session.mu.Lock()
		defer plan.session.mu.Unlock()
	}
	if plan.replica < 0 {
		// A consumer over its consumer_byte_rate gets no records, only the
		// throttle time, and they do not count against it (as in Kafka);
		// its session learns nothing, so the next answer tells what this
		// one did not.
		var n int64
		for i := range pass.results {
			if pass.errs[i] == nil {
				n += int64(pass.results[i].Records.Size)
			}
		}
		if d := h.throttle(c, auth.FetchQuota, n); d > 0 {
			h.cfg.Quotas.Unrecord(auth.FetchQuota, c.Conn.Principal, c.ClientID, n, time.Now())
			resp.throttle = d
			if plan.session != nil && !plan.incremental {
				// A session this fetch opened is not kept: the client
				// starts over with a full fetch, as Kafka's answer (session
				// id 0) tells it to.
				h.sessions.remove(plan.session.id)
				resp.sessionID = 0
			}
			pass.release()
			reply := h.respondFetch(c, resp, nil, plan.replica >= 0)
			reply.Resp.Throttle = d // from when it is written
			return reply
		}
	}
	h.countFetched(plan, pass)
	img := h.image()
	leaders := map[int32]bool{}
	var served []*sessionPartition // partitions of an incremental session that returned records
	for i := range plan.items {
		it := &plan.items[i]
		res := &pass.results[i]
		rp := fetchRespPartition{
			partition: it.key.part, highWatermark: res.HighWatermark, lastStableOffset: res.LastStableOffset,
			logStartOffset: res.LogStartOffset, divergingEpoch: -1, leaderID: -1,
		}
		if err := pass.errs[i]; err != nil {
			rp.errorCode = err.Code
			if plan.replica < 0 || err != kerr.OffsetOutOfRange {
				// A follower out of range learns the leader's log start and
				// high watermark, to know which way to truncate.
				rp.highWatermark, rp.lastStableOffset, rp.logStartOffset = -1, -1, -1
			}
			if err == kerr.NotLeaderForPartition || err == kerr.FencedLeaderEpoch {
				if mp, ok := img.Partition(it.key.topic, it.key.part); ok && mp.Leader >= 0 {
					rp.leaderID, rp.leaderEpoch = mp.Leader, mp.LeaderEpoch
					leaders[mp.Leader] = true
				}
			}
		} else {
			rp.records = wire.Chunk{File: res.Records.File, Pos: res.Records.Pos, Size: int64(res.Records.Size)}
			if res.Diverging {
				rp.divergingEpoch, rp.divergingEnd = res.DivergingEpoch, res.DivergingEndOffset
			}
		}
		if it.params.Isolation == 1 {
			rp.aborted = []abortedTxn{}
		}
		if plan.incremental && !news(it.session, &rp) {
			continue
		}
		if it.session != nil {
			s := it.session
			s.highWatermark, s.lastStableOffset, s.respLogStart, s.errorCode, s.told =
				rp.highWatermark, rp.lastStableOffset, rp.logStartOffset, rp.errorCode, true
			if plan.incremental && rp.records.Size > 0 {
				served = append(served, s)
			}
		}
		appendFetchPartition(resp, it.key, rp)
	}
	plan.session.moveToBack(served)
	for id := range leaders {
		if b, ok := img.Broker(id); ok {
			if e, ok := b.Endpoint(c.Conn.Listener); ok {
				ep := fetchRespEndpoint{nodeID: id, host: e.Host, port: e.Port}
				if b.Rack != "" {
					ep.rack = &b.Rack
				}
				resp.endpoints = append(resp.endpoints, ep)
			}
		}
	}
	return h.respondFetch(c, resp, pass, plan.replica >= 0)
}

// countFetched counts the record bytes a fetch answers with, a
// follower's apart from a consumer's, and a consumer's by topic too, as
// Kafka does.
func (h *Handler) countFetched(plan *fetchPlan, pass *passResult) {
	m := h.cfg.Counters
	if m == nil {
		return
	}
	follower := plan.replica >= 0
	var n int64
	var topic string
	var tc *TopicCounters
	for i := range pass.results {
		size := int64(pass.results[i].Records.Size)
		if pass.errs[i] != nil || size == 0 {
			continue
		}
		n += size
		if p := plan.items[i].p; !follower && p != nil {
			if tc == nil || p.Topic != topic {
				topic, tc = p.Topic, m.Topic(p.Topic)
			}
			tc.FetchedBytes.Add(uint64(size))
		}
	}
	if follower {
		m.ReplicatedBytes.Add(uint64(n))
	} else {
		m.FetchedBytes.Add(uint64(n))
	}
}

// nextSessionEpoch is the epoch after e: after the largest int32 comes 1,
// as in Kafka's clients.
func nextSessionEpoch(e int32) int32 {
	if e == math.MaxInt32 {
		return 1
	}
	return e + 1
}

// news reports whether an incremental response must include a partition.
// A partition with an error is always included, as in Kafka: a client
// still fetching it after an error must hear it again.
func news(s *sessionPartition, rp *fetchRespPartition) bool {
	return !s.told || rp.records.Len() > 0 || rp.errorCode != 0 || rp.errorCode != s.errorCode ||
		rp.highWatermark != s.highWatermark || rp.lastStableOffset != s.lastStableOffset ||
		rp.logStartOffset != s.respLogStart || rp.divergingEpoch >= 0
}

// appendFetchPartition adds a partition under its topic, keeping topics in
// first-seen order (consecutive partitions of one topic share an entry).
func appendFetchPartition(resp *fetchResp, k sessionKey, rp fetchRespPartition) {
	if n := len(resp.topics); n > 0 && resp.topics[n-1].name == k.topic && resp.topics[n-1].id == k.topicID {
		resp.topics[n-1].partitions = append(resp.topics[n-1].partitions, rp)
		return
	}
	resp.topics = append(resp.topics, fetchRespTopic{name: k.topic, id: k.topicID, partitions: []fetchRespPartition{rp}})
}

// respondFetch encodes the response to a follower's fetch or a consumer's;
// the pass's file references are released once the response has been
// written.
func (h *Handler) respondFetch(c *call, resp *fetchResp, pass *passResult, follower bool) wire.Reply {
	if c.requests != nil {
		countFetchErrors(c.requests, c.Key, follower, resp)
	}
	bp := bufPool.Get().(*[]byte)
	chunks := encodeFetch((*bp)[:0], c.CorrelationID, resp)
	return wire.Reply{Resp: &wire.Response{
		Chunks: chunks,
		Release: func() {
			if pass != nil {
				pass.release()
			}
			if cap(*bp) <= 1<<20 {
				bufPool.Put(bp)
			}
		},
	}}
}
