// Package replication is the follower's side of partition replication
// (DESIGN.md decision 4): for every partition this broker follows, it
// fetches from the leader with Kafka's own Fetch API, as a replica (replica
// id and broker epoch set, KIP-903), and appends what it gets to the local
// log. One fetcher goroutine serves all the partitions led by one broker,
// in one sessionless Fetch request per round.
//
// Truncation never trusts the high watermark alone. Each fetch names the
// epoch of the last batch the follower has (LastFetchedEpoch, KIP-595's
// form of KIP-101/279's OffsetForLeaderEpoch); when the leader's history
// diverges from it, the leader answers with the end offset of the largest
// epoch it shares, and the follower truncates to the smaller of that and
// its own end for the epoch, asking again until the histories agree.
//
// With the fsync flush policy a follower makes what it appended durable
// before its next fetch, because that fetch's offset is what tells the
// leader the records are replicated: the leader's high watermark, and so
// acks=all, never counts a record a follower could still lose to a crash.
package replication

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/kclient"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
)

// Config configures a Manager.
type Config struct {
	NodeID      int32
	Broker      *config.Broker
	Image       func() *metadata.Image // the current metadata image
	BrokerEpoch func() int64           // this broker's epoch, sent with every fetch
	// LocalIP, when set, binds outgoing connections (tests run nodes on
	// 127.0.0.x so address-based faults mean something).
	LocalIP net.IP
	// TLS, when set, gives how fetchers connect to leaders now (the
	// inter-broker listener is SSL).
	TLS    func() *tls.Config
	Logger *slog.Logger
}

// Manager runs the fetchers: one per leader this broker follows. Follow and
// Unfollow are called from the metadata listener as roles change; they never
// block on the network.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	pool *kclient.Pool

	mu       sync.Mutex // guards fetchers, of and closed
	fetchers map[int32]*fetcher
	of       map[*partition.Partition]*fetcher // which fetcher follows each partition
	closed   bool
	wg       sync.WaitGroup // the fetcher goroutines
}

// New returns a manager with no fetchers.
func New(cfg Config) *Manager {
	pool := kclient.NewPool("samsa-replica-"+strconv.Itoa(int(cfg.NodeID)), cfg.LocalIP, cfg.TLS)
	pool.SetReceiveBuffer(int(cfg.Broker.Replication.SocketReceiveBufferBytes))
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "replication"),
		pool:     pool,
		fetchers: map[int32]*fetcher{},
		of:       map[*partition.Partition]*fetcher{},
	}
}

// Follow makes p follow leader under leaderEpoch, moving it from the fetcher
// of its previous leader if it had one.
func (m *Manager) Follow(p *partition.Partition, leader, leaderEpoch int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if f := m.of[p]; f != nil && f.leader != leader {
		m.removeLocked(p, f)
	}
	f := m.fetchers[leader]
	if f == nil {
		f = newFetcher(m, leader)
		m.fetchers[leader] = f
		m.wg.Add(1)
		go func() { defer m.wg.Done(); f.run() }()
	}
	m.of[p] = f
	f.add(p, leaderEpoch)
}

// Unfollow stops fetching for p (it leads now, has no leader, or was
// removed from this broker).
func (m *Manager) Unfollow(p *partition.Partition) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.of[p]; f != nil {
		m.removeLocked(p, f)
	}
}

func (m *Manager) removeLocked(p *partition.Partition, f *fetcher) {
	delete(m.of, p)
	if f.remove(p) == 0 {
		f.cancel()
		delete(m.fetchers, f.leader)
	}
}

// Following returns how many partitions are being followed (for tests and
// status).
func (m *Manager) Following() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.of)
}

// Close stops every fetcher and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for id, f := range m.fetchers {
		f.cancel()
		delete(m.fetchers, id)
	}
	m.of = map[*partition.Partition]*fetcher{}
	m.mu.Unlock()
	m.wg.Wait()
	m.pool.Close()
}

// fetcher follows the partitions one broker leads.
type fetcher struct {
	m      *Manager
	leader int32
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex // guards parts
	parts map[*partition.Partition]*followState
	wake  chan struct{} // signalled when parts changes

	// respBuf holds the last fetch response; the run loop owns it, and
	// handle has appended every batch before the next fetch reuses it.
	respBuf []byte
}

// followState is one followed partition.
type followState struct {
	epoch int32     // the leader epoch it follows under
	delay time.Time // not fetched before this (after an error)
}

func newFetcher(m *Manager, leader int32) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &fetcher{
		m: m, leader: leader, log: m.log.With("leader", leader),
		ctx: ctx, cancel: cancel,
		parts: map[*partition.Partition]*followState{},
		wake:  make(chan struct{}, 1),
	}
}

func (f *fetcher) add(p *partition.Partition, epoch int32) {
	f.mu.Lock()
	f.parts[p] = &followState{epoch: epoch}
	f.mu.Unlock()
	f.signal()
}

// remove drops p and returns how many partitions are left.
func (f *fetcher) remove(p *partition.Partition) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.parts, p)
	return len(f.parts)
}

func (f *fetcher) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// delayAll holds every partition back by d (the leader is unreachable).
func (f *fetcher) delayAll(d time.Duration) {
	until := time.Now().Add(d)
	f.mu.Lock()
	for _, st := range f.parts {
		st.delay = until
	}
	f.mu.Unlock()
}

// delay holds one partition back by d, if it still follows under epoch.
func (f *fetcher) delay(p *partition.Partition, epoch int32, d time.Duration) {
	f.mu.Lock()
	if st := f.parts[p]; st != nil && st.epoch == epoch {
		st.delay = time.Now().Add(d)
	}
	f.mu.Unlock()
}

// item is one partition of one fetch round.
type item struct {
	p     *partition.Partition
	epoch int32
	start int64 // the fetch offset
}

// ready returns the partitions to fetch now, or how long until one is.
func (f *fetcher) ready() ([]item, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	var out []item
	next := time.Duration(-1)
	for p, st := range f.parts {
		if wait := st.delay.Sub(now); wait > 0 {
			if next < 0 || wait < next {
				next = wait
			}
			continue
		}
		out = append(out, item{p: p, epoch: st.epoch})
	}
	return out, next
}

func (f *fetcher) run() {
	cfg := f.m.cfg.Broker.Replication
	backoff := time.Duration(cfg.FetchBackoffMs) * time.Millisecond
	for f.ctx.Err() == nil {
		items, next := f.ready()
		if len(items) == 0 {
			var timer <-chan time.Time
			if next >= 0 {
				timer = time.After(next)
			}
			select {
			case <-f.ctx.Done():
			case <-f.wake:
			case <-timer:
			}
			continue
		}
		addr, ok := f.leaderAddr()
		if !ok {
			f.log.Debug("leader has no inter-broker endpoint yet")
			f.delayAll(backoff)
			continue
		}
		req := f.request(items)
		ctx, cancel := context.WithTimeout(f.ctx, time.Duration(cfg.FetchWaitMaxMs)*time.Millisecond+time.Duration(cfg.SocketTimeoutMs)*time.Millisecond)
		resp, err := f.m.pool.RequestInto(ctx, addr, req, &f.respBuf)
		cancel()
		if err != nil {
			if f.ctx.Err() == nil {
				f.log.Debug("fetch from leader failed", "addr", addr, "err", err)
				f.delayAll(backoff)
			}
			continue
		}
		f.handle(items, resp.(*kmsg.FetchResponse))
	}
}

// leaderAddr is the leader's inter-broker endpoint.
func (f *fetcher) leaderAddr() (string, bool) {
	b, ok := f.m.cfg.Image().Broker(f.leader)
	if !ok {
		return "", false
	}
	e, ok := b.Endpoint(f.m.cfg.Broker.InterBrokerListenerName)
	if !ok {
		return "", false
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))), true
}

// request builds one sessionless Fetch for items, recording each fetch
// offset.
func (f *fetcher) request(items []item) *kmsg.FetchRequest {
	cfg := f.m.cfg.Broker.Replication
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(req.MaxVersion())
	req.ReplicaID = f.m.cfg.NodeID
	req.ReplicaState.ID, req.ReplicaState.Epoch = f.m.cfg.NodeID, f.m.cfg.BrokerEpoch()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = cfg.FetchWaitMaxMs, cfg.FetchMinBytes, cfg.FetchResponseMaxBytes
	req.SessionID, req.SessionEpoch = 0, -1
	topics := map[metadata.UUID]int{}
	for i := range items {
		it := &items[i]
		l := it.p.Log()
		it.start = l.LogEndOffset()
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = it.p.ID
		rp.CurrentLeaderEpoch = it.epoch
		rp.FetchOffset = it.start
		rp.LastFetchedEpoch = l.LatestEpoch()
		rp.LogStartOffset = l.LogStartOffset()
		rp.PartitionMaxBytes = cfg.FetchMaxBytes
		j, ok := topics[it.p.TopicID]
		if !ok {
			j = len(req.Topics)
			topics[it.p.TopicID] = j
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = it.p.Topic, it.p.TopicID
			req.Topics = append(req.Topics, t)
		}
		req.Topics[j].Partitions = append(req.Topics[j].Partitions, rp)
	}
	return req
}

// handle applies one fetch response, then makes what it appended durable
// before the next fetch reports it to the leader.
func (f *fetcher) handle(items []item, resp *kmsg.FetchResponse) {
	backoff := time.Duration(f.m.cfg.Broker.Replication.FetchBackoffMs) * time.Millisecond
	if resp.ErrorCode != 0 {
		f.log.Debug("fetch refused", "err", kerr.ErrorForCode(resp.ErrorCode))
		f.delayAll(backoff)
		return
	}
	byKey := map[partKey]*kmsg.FetchResponseTopicPartition{}
	for i := range resp.Topics {
		t := &resp.Topics[i]
		for j := range t.Partitions {
			byKey[partKey{t.TopicID, t.Partitions[j].Partition}] = &t.Partitions[j]
		}
	}
	var appended []item
	for _, it := range items {
		rp := byKey[partKey{it.p.TopicID, it.p.ID}]
		if rp == nil {
			continue // not answered this round (the response was full)
		}
		if err := f.apply(it, rp); err != nil {
			if !errors.Is(err, partition.ErrNotFollowing) {
				f.log.Warn("replication failed", "topic", it.p.Topic, "partition", it.p.ID, "err", err)
			}
			f.delay(it.p, it.epoch, backoff)
			continue
		}
		if it.p.Log().LogEndOffset() > it.start {
			appended = append(appended, it)
		}
	}
	for _, it := range appended {
		end := it.p.Log().LogEndOffset()
		if err := it.p.Log().WaitDurable(f.ctx, end); err != nil && f.ctx.Err() == nil {
			f.log.Warn("cannot make replicated records durable", "topic", it.p.Topic, "partition", it.p.ID, "err", err)
			f.delay(it.p, it.epoch, backoff)
		}
	}
}

// leaderCatchUpRetry is how soon a fetch refused because the leader has not
// yet applied the leadership is repeated.
const leaderCatchUpRetry = 50 * time.Millisecond

type partKey struct {
	topic metadata.UUID
	part  int32
}

// apply handles one partition's part of a fetch response.
func (f *fetcher) apply(it item, rp *kmsg.FetchResponseTopicPartition) error {
	p := it.p
	backoff := time.Duration(f.m.cfg.Broker.Replication.FetchBackoffMs) * time.Millisecond
	switch err := kerr.ErrorForCode(rp.ErrorCode); err {
	case nil:
	case kerr.OffsetOutOfRange:
		return f.outOfRange(it, rp)
	case kerr.FencedLeaderEpoch:
		// The metadata moved on: a role change re-registers the partition;
		// until then, wait.
		f.delay(p, it.epoch, backoff)
		return nil
	case kerr.NotLeaderForPartition, kerr.UnknownLeaderEpoch, kerr.UnknownTopicOrPartition, kerr.UnknownTopicID:
		// Usually the new leader has not applied the metadata this replica
		// already follows (or this replica is behind, and a role change
		// will re-register the partition). The leader catches up within
		// milliseconds, and its ISR, hence every acks=all write, waits for
		// this fetch: ask again soon rather than after a full backoff.
		f.delay(p, it.epoch, min(backoff, leaderCatchUpRetry))
		return nil
	default:
		return err
	}
	if rp.DivergingEpoch.Epoch >= 0 || rp.DivergingEpoch.EndOffset >= 0 {
		return f.truncate(it, rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset)
	}
	if len(rp.RecordBatches) > 0 {
		if err := p.AppendAsFollower(it.epoch, rp.RecordBatches); err != nil {
			return err
		}
	}
	return p.FollowLeader(it.epoch, rp.HighWatermark, rp.LogStartOffset)
}

// truncate handles a diverging epoch: the leader's history differs after
// the end of leaderEpoch, which ends at leaderEnd on the leader.
func (f *fetcher) truncate(it item, leaderEpoch int32, leaderEnd int64) error {
	p := it.p
	l := p.Log()
	if leaderEnd < 0 {
		// The leader knows no epoch at or before ours: only what was
		// committed is certain to be shared.
		return p.TruncateTo(it.epoch, p.HighWatermark())
	}
	ownEpoch, ownEnd := l.EndOffsetForEpoch(leaderEpoch)
	switch {
	case ownEpoch == leaderEpoch:
		return p.TruncateTo(it.epoch, min(ownEnd, leaderEnd))
	case ownEpoch >= 0:
		// We do not know the leader's epoch: cut back to the end of the
		// largest epoch before it and let the next fetch compare again.
		return p.TruncateTo(it.epoch, ownEnd)
	default:
		return p.TruncateTo(it.epoch, min(leaderEnd, l.LogEndOffset()))
	}
}

// outOfRange handles OFFSET_OUT_OF_RANGE: the fetch offset is before the
// leader's log start (retention removed what this replica lacks) or, with
// no epoch to compare, beyond the leader's end.
func (f *fetcher) outOfRange(it item, rp *kmsg.FetchResponseTopicPartition) error {
	p := it.p
	switch {
	case rp.LogStartOffset >= 0 && it.start < rp.LogStartOffset:
		return p.TruncateFullyAndStartAt(it.epoch, rp.LogStartOffset)
	case rp.HighWatermark >= 0 && it.start > rp.HighWatermark:
		f.log.Warn("fetch offset beyond the leader's log; truncating to its high watermark",
			"topic", p.Topic, "partition", p.ID, "offset", it.start, "leader_high_watermark", rp.HighWatermark)
		if rp.HighWatermark < p.Log().LogStartOffset() {
			return p.TruncateFullyAndStartAt(it.epoch, rp.HighWatermark)
		}
		return p.TruncateTo(it.epoch, rp.HighWatermark)
	}
	return kerr.OffsetOutOfRange
}
