package partition

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

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

	// OnLeadership, when set, is told each time a replica starts leading
	// (or leads under a new leader epoch) and when it stops leading or is
	// removed. It runs on the metadata listener's goroutine and must not
	// block; coordinators use it to load and unload their state.
	OnLeadership func(p *Partition, leading bool)
}

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
}

// NewManager returns a manager over the log directories, which it takes
// ownership of.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, parts: map[key]*Partition{}, home: map[storage.TopicPartition]*storage.Dir{}}
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

func (m *Manager) notify(p *Partition, leading bool) {
	if m.cfg.OnLeadership != nil {
		m.cfg.OnLeadership(p, leading)
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
	m.applyLocked(metadata.Diff(metadata.Empty(), img), img)
	m.deleteStraysLocked(img)
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
			switch p.setRole(mp) {
			case roleLeading:
				m.notify(p, true)
			case roleNotLeader:
				m.notify(p, false)
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
	p = newPartition(t.Name, mp.ID, t.ID, m.cfg.NodeID, m.log)
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
	if p.stop() {
		m.notify(p, false)
	}
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

// settingsFor resolves a topic's configuration from the image.
func (m *Manager) settingsFor(img *metadata.Image, topic string) (*settings, error) {
	dynamic := img.Configs(metadata.ConfigResource{Type: metadata.ResourceBroker, Name: ""})
	t, err := m.cfg.Broker.ResolveTopic(img.TopicConfigs(topic), dynamic)
	if err != nil {
		return nil, fmt.Errorf("resolve config of topic %s: %w", topic, err)
	}
	return newSettings(t, int64(m.cfg.Broker.Txn.ProducerIDExpirationMs)), nil
}

// applyConfigs re-resolves the configuration of partitions whose topic (or
// the cluster-wide defaults) changed.
func (m *Manager) applyConfigs(d *metadata.Delta, img *metadata.Image) {
	all := d.ChangedConfigs[metadata.ConfigResource{Type: metadata.ResourceBroker, Name: ""}]
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
	retention := time.NewTicker(time.Duration(lc.RetentionCheckIntervalMs) * time.Millisecond)
	defer retention.Stop()
	checkpoint := time.NewTicker(time.Duration(lc.FlushOffsetCheckpointIntervalMs) * time.Millisecond)
	defer checkpoint.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retention.C:
			m.applyRetention()
		case <-checkpoint.C:
			m.checkpoint()
		}
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
