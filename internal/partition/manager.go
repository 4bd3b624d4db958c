package partition

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/storage"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	NodeID int32
	Broker *config.Broker
	Dirs   []*storage.Dir // the log directories, in log.dirs order
	Logger *slog.Logger
	Now    func() time.Time // nil = time.Now

	// OnRole, when set, is told each time a replica's leader or leader
	// epoch changes, and when the replica is removed (Role.Replica false).
	// It runs on the metadata listener's goroutine and must not block:
	// coordinators load and unload their state from it, and the
	// replication fetcher starts and stops following.
	OnRole func(p *Partition, r Role)

	// AlterPartition sends an ISR change to the active controller. Nil
	// means there is no controller to ask (tests): ISR changes are dropped.
	AlterPartition func(ctx context.Context, req *kmsg.AlterPartitionRequest) (*kmsg.AlterPartitionResponse, error)
	// BrokerEpoch is this broker's current epoch (0 before registration).
	BrokerEpoch func() int64
	// Lease, when set, reports whether the controller answered this broker
	// recently enough that it has certainly not been fenced; replicas lead
	// only while it holds (see SetCutOff). Called on every produce and
	// fetch: it must be cheap.
	Lease func() bool
	// ISRChanged, when set, is told how each ISR change this broker
	// proposed as a leader ended. It must not block.
	ISRChanged func(ISRChange)
}

// ISRChange is how an ISR change a leader proposed ended.
type ISRChange int

const (
	ISRShrunk       ISRChange = iota // the controller committed a smaller ISR (Kafka: IsrShrinksPerSec)
	ISRExpanded                      // a larger one (IsrExpandsPerSec)
	ISRChangeFailed                  // it refused the change or left it out of its answer (FailedIsrUpdatesPerSec)
)

// MetadataTopic is the directory name (with "-0") of the metadata log, which
// lives among the partition directories as in Kafka but is not a partition.
const MetadataTopic = "__cluster_metadata"

type key struct {
	topicID metadata.UUID
	part    int32
}

// Manager holds the replicas hosted on this broker and keeps them in step
// with the metadata: Apply is a metadata listener. Lookups are safe from any
// goroutine.
type Manager struct {
	cfg ManagerConfig
	log *slog.Logger

	mu    sync.RWMutex // guards parts and home
	parts map[key]*Partition
	home  map[storage.TopicPartition]*storage.Dir // where each partition's directory lives

	applyMu sync.Mutex // serializes Apply, Start and Close
	live    bool       // guarded by applyMu: Start was called
	closed  bool       // guarded by applyMu

	cutOff atomic.Bool // see SetCutOff

	alterMu   sync.Mutex             // guards alterQ
	alterQ    map[*Partition][]int32 // ISR changes waiting to be sent
	alterWake chan struct{}          // signalled when alterQ gains an entry
}

// NewManager returns a manager over the log directories, which it takes
// ownership of.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BrokerEpoch == nil {
		cfg.BrokerEpoch = func() int64 { return -1 }
	}
	m := &Manager{
		cfg: cfg, log: cfg.Logger,
		parts: map[key]*Partition{}, home: map[storage.TopicPartition]*storage.Dir{},
		alterQ: map[*Partition][]int32{}, alterWake: make(chan struct{}, 1),
	}
	for _, d := range cfg.Dirs {
		tps, err := d.Partitions()
		if err != nil {
			return nil, fmt.Errorf("list partitions in %s: %w", d.Path(), err)
		}
		for _, tp := range tps {
			if tp.Topic != MetadataTopic {
				m.home[tp.TopicPartition] = d
			}
		}
	}
	return m, nil
}

// Lookup returns the replica of a partition named by topic, if this broker
// hosts it: UNKNOWN_TOPIC_OR_PARTITION when the cluster has no such
// partition, NOT_LEADER_OR_FOLLOWER when it lives elsewhere.
func (m *Manager) Lookup(img *metadata.Image, topic string, part int32) (*Partition, *kerr.Error) {
	t, ok := img.Topic(topic)
	if !ok || part < 0 || int(part) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	return m.get(t.ID, part)
}

// LookupID is Lookup for a topic named by id (UNKNOWN_TOPIC_ID when there
// is no such topic).
func (m *Manager) LookupID(img *metadata.Image, id metadata.UUID, part int32) (*Partition, *kerr.Error) {
	t, ok := img.TopicByID(id)
	if !ok {
		return nil, kerr.UnknownTopicID
	}
	if part < 0 || int(part) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	return m.get(id, part)
}

func (m *Manager) get(id metadata.UUID, part int32) (*Partition, *kerr.Error) {
	m.mu.RLock()
	p := m.parts[key{id, part}]
	m.mu.RUnlock()
	if p == nil {
		return nil, kerr.NotLeaderForPartition
	}
	return p, nil
}

// All returns every hosted replica.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	return out
}

func (m *Manager) notify(p *Partition, r Role) {
	if m.cfg.OnRole != nil {
		m.cfg.OnRole(p, r)
	}
}

// SetCutOff makes every replica stop (on) or resume (off) serving as
// leader. The broker sets it when it has not heard from the controller for
// its session timeout: by then the controller has fenced it and elected
// other leaders, and a leader that went on accepting writes could lose
// them. Followers keep following.
func (m *Manager) SetCutOff(on bool) {
	if m.cutOff.Swap(on) == on {
		return
	}
	for _, p := range m.All() {
		p.wake() // waiters re-check leadership
	}
}

// DirOf returns the log directory holding a replica.
func (m *Manager) DirOf(p *Partition) *storage.Dir {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.home[storage.TopicPartition{Topic: p.Topic, Partition: p.ID}]
}

// Start makes the manager follow the metadata: it applies the whole
// current image, deletes partition directories the metadata no longer
// knows, and applies every image published afterwards. The broker calls it
// once it has caught up with the metadata log and been unfenced; until then
// Apply ignores images, so a restarting broker never acts on the stale
// leaderships it replays (Kafka's brokers wait for the same reason).
func (m *Manager) Start(current func() *metadata.Image) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if m.closed {
		return
	}
	m.live = true
	img := current()
	m.openExisting(img)
	m.applyLocked(metadata.Diff(metadata.Empty(), img), img)
	m.deleteStraysLocked(img)
}

// openExisting opens, before anything else is applied, the logs already on
// disk of the partitions assigned here, num.recovery.threads.per.data.dir
// per log directory at a time, as Kafka's LogManager loads its logs: after
// a crash each one recovers its tail, and a broker with many partitions
// should not do that one at a time. A log that fails to open is left to
// applyLocked, which tries again and reports it.
func (m *Manager) openExisting(img *metadata.Image) {
	type job struct {
		t  *metadata.Topic
		mp *metadata.Partition
	}
	var jobs []job
	m.mu.RLock()
	for _, name := range img.TopicNames() {
		t, _ := img.Topic(name)
		for i := range t.Partitions {
			mp := t.Partitions[i]
			_, onDisk := m.home[storage.TopicPartition{Topic: t.Name, Partition: mp.ID}]
			if onDisk && m.parts[key{t.ID, mp.ID}] == nil && slices.Contains(mp.Replicas, m.cfg.NodeID) {
				jobs = append(jobs, job{t, mp})
			}
		}
	}
	m.mu.RUnlock()
	workers := m.cfg.Broker.RecoveryThreadsPerDataDir(m.dynamic(img)) * len(m.cfg.Dirs)
	next := make(chan job)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				m.ensure(img, j.t, j.mp) // an error is reported by applyLocked
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// Apply brings the hosted replicas in line with a new metadata image: it
// opens the logs of partitions assigned here, removes those of deleted
// topics, applies roles and config changes. It is a metadata listener.
func (m *Manager) Apply(d *metadata.Delta, img *metadata.Image) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if m.closed || !m.live {
		return
	}
	m.applyLocked(d, img)
}

func (m *Manager) applyLocked(d *metadata.Delta, img *metadata.Image) {
	for id, t := range d.DeletedTopics {
		for i := range t.Partitions {
			m.remove(t.Name, key{id, int32(i)})
		}
	}
	for id := range d.ChangedTopics {
		t, ok := img.TopicByID(id)
		if !ok {
			continue
		}
		for _, mp := range t.Partitions {
			k := key{id, mp.ID}
			if !slices.Contains(mp.Replicas, m.cfg.NodeID) {
				m.remove(t.Name, k)
				continue
			}
			p, err := m.ensure(img, t, mp)
			if err != nil {
				m.log.Error("cannot open partition", "topic", t.Name, "partition", mp.ID, "err", err)
				continue
			}
			if p.setRole(mp, m.cfg.Now()) {
				m.notify(p, p.Role())
			}
		}
	}
	if len(d.ChangedConfigs) > 0 {
		m.applyConfigs(d, img)
	}
}

// ensure returns the hosted replica of mp, opening (or creating) its log.
func (m *Manager) ensure(img *metadata.Image, t *metadata.Topic, mp *metadata.Partition) (*Partition, error) {
	k := key{t.ID, mp.ID}
	m.mu.RLock()
	p := m.parts[k]
	m.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	st, err := m.settingsFor(img, t.Name)
	if err != nil {
		return nil, err
	}
	p = newPartition(t.Name, mp.ID, t.ID, m.cfg.NodeID, &m.cutOff, m.cfg.Lease, m.log)
	p.now = m.cfg.Now
	p.alter = m.alterISR
	p.cfg.Store(st)
	lc := st.log
	lc.OnDurable = p.onDurable
	tp := storage.TopicPartition{Topic: t.Name, Partition: mp.ID}
	dir := m.dirFor(tp)
	l, err := dir.OpenLog(tp, t.ID, lc)
	if err != nil {
		return nil, err
	}
	p.log = l
	// What was committed before a restart stays committed; a replica never
	// claims more than its own log holds.
	p.hw.Store(min(max(l.CheckpointedHighWatermark(), l.LogStartOffset()), l.LogEndOffset()))
	m.mu.Lock()
	m.parts[k] = p
	m.home[tp] = dir
	m.mu.Unlock()
	return p, nil
}

// dirFor picks the log directory for a partition: where it already lives,
// else the directory holding the fewest partitions (Kafka's rule).
func (m *Manager) dirFor(tp storage.TopicPartition) *storage.Dir {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if d, ok := m.home[tp]; ok {
		return d
	}
	count := map[*storage.Dir]int{}
	for _, d := range m.home {
		count[d]++
	}
	best := m.cfg.Dirs[0]
	for _, d := range m.cfg.Dirs[1:] {
		if count[d] < count[best] {
			best = d
		}
	}
	return best
}

// remove stops hosting a replica and deletes its log.
func (m *Manager) remove(topic string, k key) {
	tp := storage.TopicPartition{Topic: topic, Partition: k.part}
	m.mu.Lock()
	p := m.parts[k]
	dir := m.home[tp]
	delete(m.parts, k)
	delete(m.home, tp)
	m.mu.Unlock()
	if p == nil || dir == nil {
		return
	}
	p.stop()
	m.notify(p, Role{Leader: -1})
	if err := dir.DeleteLog(tp); err != nil {
		m.log.Error("cannot delete partition", "topic", topic, "partition", k.part, "err", err)
		return
	}
	m.log.Info("deleted partition", "topic", topic, "partition", k.part)
}

// deleteStraysLocked removes partition directories that the metadata no
// longer knows (topics deleted while this broker was down).
func (m *Manager) deleteStraysLocked(img *metadata.Image) {
	for _, d := range m.cfg.Dirs {
		tps, err := d.Partitions()
		if err != nil {
			m.log.Error("cannot list partitions", "dir", d.Path(), "err", err)
			continue
		}
		for _, tp := range tps {
			if tp.Topic == MetadataTopic {
				continue // the metadata log, which package quorum owns
			}
			t, ok := img.Topic(tp.Topic)
			if ok && t.ID == tp.TopicID && int(tp.Partition) < len(t.Partitions) &&
				slices.Contains(t.Partitions[tp.Partition].Replicas, m.cfg.NodeID) {
				continue
			}
			m.log.Info("deleting stray partition", "topic", tp.Topic, "partition", tp.Partition)
			m.mu.Lock()
			delete(m.home, tp.TopicPartition)
			m.mu.Unlock()
			if err := d.DeleteLog(tp.TopicPartition); err != nil {
				m.log.Error("cannot delete stray partition", "topic", tp.Topic, "partition", tp.Partition, "err", err)
			}
		}
	}
}

// dynamic is this broker's dynamic configs in img.
func (m *Manager) dynamic(img *metadata.Image) config.Dynamic {
	return config.Dynamic{
		PerBroker:      img.Configs(metadata.BrokerResource(m.cfg.NodeID)),
		ClusterDefault: img.Configs(metadata.DefaultBrokerResource),
	}
}

// settingsFor resolves a topic's configuration from the image, with this
// broker's dynamic defaults.
func (m *Manager) settingsFor(img *metadata.Image, topic string) (*settings, error) {
	dyn := m.dynamic(img)
	t, err := m.cfg.Broker.ResolveTopic(img.TopicConfigs(topic), dyn)
	if err != nil {
		return nil, fmt.Errorf("resolve config of topic %s: %w", topic, err)
	}
	return newSettings(t, m.cfg.Broker.ProducerIDExpirationMs(dyn)), nil
}

// applyConfigs re-resolves the configuration of partitions whose topic (or
// the cluster-wide or this broker's defaults) changed.
func (m *Manager) applyConfigs(d *metadata.Delta, img *metadata.Image) {
	all := d.ChangedConfigs[metadata.DefaultBrokerResource] || d.ChangedConfigs[metadata.BrokerResource(m.cfg.NodeID)]
	for _, p := range m.All() {
		if !all && !d.ChangedConfigs[metadata.ConfigResource{Type: metadata.ResourceTopic, Name: p.Topic}] {
			continue
		}
		st, err := m.settingsFor(img, p.Topic)
		if err != nil {
			m.log.Error("cannot apply config", "topic", p.Topic, "err", err)
			continue
		}
		lc := st.log
		lc.OnDurable = p.onDurable
		if err := p.log.SetConfig(lc); err != nil {
			m.log.Error("cannot apply config", "topic", p.Topic, "partition", p.ID, "err", err)
			continue
		}
		p.cfg.Store(st)
	}
}

// Run runs the periodic work until ctx is done: retention, producer-id
// expiry and recovery-point checkpoints.
func (m *Manager) Run(ctx context.Context) {
	lc := m.cfg.Broker.Log
	retention := time.NewTicker(max(config.Millis(lc.RetentionCheckIntervalMs), time.Millisecond))
	defer retention.Stop()
	// log.flush.offset.checkpoint.interval.ms=0 checkpoints only when the
	// broker stops, as Kafka's scheduler runs a task of period 0 once.
	var checkpointed <-chan time.Time
	if ms := lc.FlushOffsetCheckpointIntervalMs; ms > 0 {
		checkpoint := time.NewTicker(time.Duration(ms) * time.Millisecond)
		defer checkpoint.Stop()
		checkpointed = checkpoint.C
	}
	lagMax := config.Millis(m.cfg.Broker.Replication.LagTimeMaxMs)
	lagCheck := time.NewTicker(max(lagMax/2, 10*time.Millisecond))
	defer lagCheck.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); m.runAlters(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retention.C:
			m.applyRetention()
		case <-checkpointed:
			m.checkpoint()
		case <-lagCheck.C:
			m.shrinkISRs(lagMax)
		}
	}
}

// shrinkISRs proposes to drop, from the ISR of every partition led here,
// the followers that have not caught up for lagMax
// (replica.lag.time.max.ms).
func (m *Manager) shrinkISRs(lagMax time.Duration) {
	now := m.cfg.Now()
	for _, p := range m.All() {
		if isr := p.laggingISR(now, lagMax); isr != nil {
			p.logger.Info("shrinking ISR", "isr", isr)
			m.alterISR(p, isr)
		}
	}
}

// alterISR queues an ISR change of p for the controller; runAlters sends it.
// p has recorded it as pending, so there is at most one per partition.
func (m *Manager) alterISR(p *Partition, isr []int32) {
	if m.cfg.AlterPartition == nil {
		p.alterDone(nil, 0, 0, false)
		return
	}
	m.alterMu.Lock()
	m.alterQ[p] = isr
	m.alterMu.Unlock()
	select {
	case m.alterWake <- struct{}{}:
	default:
	}
}

// runAlters sends queued ISR changes to the controller, all pending ones in
// one AlterPartition request, until ctx is done.
func (m *Manager) runAlters(ctx context.Context) {
	backoff := time.Duration(m.cfg.Broker.Quorum.RetryBackoffMs) * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.alterWake:
		}
		m.alterMu.Lock()
		batch := m.alterQ
		m.alterQ = map[*Partition][]int32{}
		m.alterMu.Unlock()
		if len(batch) > 0 && !m.sendAlters(ctx, batch) {
			// Not sent: try again after a pause, merged with what came in.
			m.alterMu.Lock()
			for p, isr := range batch {
				if _, newer := m.alterQ[p]; !newer {
					m.alterQ[p] = isr
				}
			}
			m.alterMu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			select {
			case m.alterWake <- struct{}{}:
			default:
			}
		}
	}
}

// sendAlters sends one AlterPartition request and applies its answer. It
// reports false when no controller answered.
func (m *Manager) sendAlters(ctx context.Context, batch map[*Partition][]int32) bool {
	req := kmsg.NewPtrAlterPartitionRequest()
	req.BrokerID, req.BrokerEpoch = m.cfg.NodeID, m.cfg.BrokerEpoch()
	topics := map[metadata.UUID]int{}
	before := make(map[*Partition]int, len(batch)) // each ISR's size as proposed against
	for p, isr := range batch {
		i, ok := topics[p.TopicID]
		if !ok {
			i = len(req.Topics)
			topics[p.TopicID] = i
			t := kmsg.NewAlterPartitionRequestTopic()
			t.TopicID, t.Topic = p.TopicID, p.Topic
			req.Topics = append(req.Topics, t)
		}
		leaderEpoch, partitionEpoch, isrLen, brokerEpoch := p.alterRequest()
		before[p] = isrLen
		rp := kmsg.NewAlterPartitionRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = p.ID, leaderEpoch, partitionEpoch
		for _, id := range isr {
			e := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
			e.BrokerID, e.BrokerEpoch = id, brokerEpoch(id)
			if id == m.cfg.NodeID {
				e.BrokerEpoch = req.BrokerEpoch
			}
			rp.NewEpochISR = append(rp.NewEpochISR, e)
			rp.NewISR = append(rp.NewISR, id)
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Duration(m.cfg.Broker.Replication.SocketTimeoutMs)*time.Millisecond)
	defer cancel()
	resp, err := m.cfg.AlterPartition(rctx, req)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("cannot send ISR changes to the controller", "partitions", len(batch), "err", err)
		}
		return false
	}
	if resp.ErrorCode != 0 {
		m.log.Warn("controller refused ISR changes", "err", kerr.ErrorForCode(resp.ErrorCode))
		for p := range batch {
			m.alterDone(p, before[p], nil, 0, 0, false)
		}
		return true
	}
	answered := map[*Partition]bool{}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			for p := range batch {
				if p.TopicID != t.TopidID || p.ID != rp.Partition {
					continue
				}
				answered[p] = true
				if rp.ErrorCode != 0 {
					// Retried after a pause; a fenced follower is refused
					// until it is unfenced, which can take a while.
					p.logger.Debug("controller refused ISR change", "isr", batch[p], "err", kerr.ErrorForCode(rp.ErrorCode))
					m.alterDone(p, before[p], nil, 0, 0, false)
					continue
				}
				p.logger.Info("ISR changed", "isr", rp.ISR, "partition_epoch", rp.PartitionEpoch)
				m.alterDone(p, before[p], rp.ISR, rp.LeaderEpoch, rp.PartitionEpoch, true)
			}
		}
	}
	for p := range batch {
		if !answered[p] {
			m.alterDone(p, before[p], nil, 0, 0, false)
		}
	}
	return true
}

// alterDone hands the controller's answer to an ISR change of p, proposed
// against an ISR of before replicas, to p, and tells ISRChanged how it
// ended. Whether the answer or the metadata reaches p first, the change is
// counted once, here.
func (m *Manager) alterDone(p *Partition, before int, isr []int32, leaderEpoch, partitionEpoch int32, ok bool) {
	p.alterDone(isr, leaderEpoch, partitionEpoch, ok)
	f := m.cfg.ISRChanged
	switch {
	case f == nil:
	case !ok:
		f(ISRChangeFailed)
	case len(isr) < before:
		f(ISRShrunk)
	case len(isr) > before:
		f(ISRExpanded)
	}
}

func (m *Manager) applyRetention() {
	now := m.cfg.Now().UnixMilli()
	for _, p := range m.All() {
		before := p.log.LogStartOffset()
		n, err := p.log.ApplyRetention(now, p.HighWatermark())
		if err != nil {
			p.logger.Error("retention failed", "err", err)
			continue
		}
		if n > 0 {
			p.logger.Info("deleted segments by retention", "segments", n, "log_start_offset", p.log.LogStartOffset(), "was", before)
			p.wake()
		}
		p.log.ExpireProducers(now)
	}
}

func (m *Manager) checkpoint() {
	for _, d := range m.cfg.Dirs {
		if err := d.Checkpoint(); err != nil {
			m.log.Error("checkpoint failed", "dir", d.Path(), "err", err)
		}
	}
}

// Flush waits until everything appended so far is durable, so that the
// acknowledgements produce requests wait for are given before shutdown.
func (m *Manager) Flush(ctx context.Context) {
	for _, p := range m.All() {
		if err := p.log.WaitDurable(ctx, p.log.LogEndOffset()); err != nil {
			p.logger.Error("flush failed", "err", err)
		}
	}
}

// StopServing makes every replica stop leading, so long-polling fetches
// answer at once (NOT_LEADER_OR_FOLLOWER, after which clients look for the
// new leader) instead of holding a shutdown up.
func (m *Manager) StopServing() {
	for _, p := range m.All() {
		p.stop()
	}
}

// Close closes every log directory (flushing, checkpointing and marking a
// clean shutdown). The manager ignores metadata afterwards.
func (m *Manager) Close() error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.closed = true
	for _, p := range m.All() {
		p.stop()
	}
	var first error
	for _, d := range m.cfg.Dirs {
		if err := d.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
