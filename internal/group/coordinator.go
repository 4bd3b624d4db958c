package group

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
)

// Log is one __consumer_offsets partition as the coordinator sees it while
// this broker leads it.
type Log interface {
	// Append appends one v2 record batch (built by the coordinator: no
	// producer id, base offset 0) as leader and returns once it is
	// committed (covered by the high watermark, i.e. durable on every
	// in-sync replica), or an error (not leader anymore, storage failure,
	// ctx done). On error the batch may or may not be in the log. Errors
	// carrying a *kerr.Error are mapped to group error codes as Kafka maps
	// them. The coordinator does not use batch after Append returns. It
	// calls Append concurrently (up to maxAppendsInFlight per partition),
	// never with two batches holding records of the same group, so the log
	// may order concurrent batches as it likes.
	Append(ctx context.Context, batch []byte) error
	// Read returns whole batches starting at offset, up to LoadEnd, at
	// most maxBytes (at least one batch); empty at the end. Used to load
	// state.
	Read(offset int64, maxBytes int32) ([]byte, error)
	LogStartOffset() int64
	// LoadEnd is where loading stops: the log end offset. A new leader's
	// log is what the partition commits from then on (Kafka's coordinator
	// loads to the log end too); a high watermark still catching up with
	// the followers would leave the newest commits out.
	LoadEnd() int64
}

// Config configures a Coordinator.
type Config struct {
	NodeID int32
	// Group holds the group.* and offsets.* settings. Zero values of
	// settings that cannot be zero take Kafka's defaults (see withDefaults).
	Group config.Group
	// PartitionExists reports whether a topic partition exists.
	// OffsetCommit and OffsetDelete answer UNKNOWN_TOPIC_OR_PARTITION for
	// those that do not. Nil: every partition exists.
	PartitionExists func(topic string, partition int32) bool
	// TopicName and TopicID translate topic ids, for OffsetCommit and
	// OffsetFetch v10+ (which name topics by id). Nil: no id is known
	// (UNKNOWN_TOPIC_ID).
	TopicName func(id [16]byte) (string, bool)
	TopicID   func(name string) ([16]byte, bool)
	// Now is the clock, time.Now when nil. Session, rebalance and retention
	// timers run on the runtime's timers for the durations it implies, so
	// it must advance with them: time.Now, or a testing/synctest bubble.
	Now    func() time.Time
	Logger *slog.Logger
}

// withDefaults fills the settings Kafka requires to be positive.
func (c Config) withDefaults() Config {
	g := &c.Group
	def := func(v *int32, d int32) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&g.OffsetsTopicPartitions, 50)
	def(&g.MaxSessionTimeoutMs, 1800000)
	def(&g.MaxSize, math.MaxInt32)
	def(&g.OffsetsRetentionMinutes, 10080)
	def(&g.OffsetCommitTimeoutMs, 5000)
	def(&g.OffsetsLoadBufferSize, 5<<20)
	def(&g.OffsetMetadataMaxBytes, 4096)
	if g.OffsetsRetentionCheckIntervalMs <= 0 {
		g.OffsetsRetentionCheckIntervalMs = 600000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Client identifies the connection a request came on, for DescribeGroups.
type Client struct {
	ID   string // client.id from the request header
	Host string // the client's address, as Kafka shows it ("/10.0.0.7")
}

// Coordinator is the group coordinator of one broker: it serves the groups
// whose __consumer_offsets partitions this broker leads. It is safe for
// concurrent use.
type Coordinator struct {
	cfg   Config
	log   *slog.Logger
	rules *rules
	codec record.Codec

	mu      sync.RWMutex
	parts   map[int32]*partition // guarded by mu; loading or loaded partitions
	stopped bool                 // guarded by mu

	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the coordinator starts
}

// New returns a coordinator that leads no partition yet.
func New(cfg Config) *Coordinator {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg:   cfg,
		log:   cfg.Logger.With("node_id", cfg.NodeID),
		codec: record.Codec(cfg.Group.OffsetsTopicCompressionCodec),
		parts: map[int32]*partition{},
		ctx:   ctx, cancel: cancel,
	}
	if c.codec < record.CodecNone || c.codec > record.CodecZstd {
		c.codec = record.CodecNone
	}
	c.rules = &rules{
		minSessionMs:   cfg.Group.MinSessionTimeoutMs,
		maxSessionMs:   cfg.Group.MaxSessionTimeoutMs,
		initialDelayMs: max(cfg.Group.InitialRebalanceDelayMs, 0),
		maxSize:        cfg.Group.MaxSize,
		retentionMs:    int64(cfg.Group.OffsetsRetentionMinutes) * 60 * 1000,
		metadataMax:    cfg.Group.OffsetMetadataMaxBytes,
		newMemberID:    randomMemberID,
		log:            c.log,
	}
	return c
}

// Start starts the offset expiry check, every
// offsets.retention.check.interval.ms. ctx bounds it; Stop ends it too.
func (c *Coordinator) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.wg.Go(func() {
		t := time.NewTicker(max(config.Millis(c.cfg.Group.OffsetsRetentionCheckIntervalMs), time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.ctx.Done():
				return
			case <-t.C:
				c.expireOffsets()
			}
		}
	})
}

// Stop unloads every partition (parked requests get NOT_COORDINATOR) and
// waits for every goroutine the coordinator started. Requests after Stop
// get COORDINATOR_NOT_AVAILABLE.
func (c *Coordinator) Stop() {
	c.mu.Lock()
	c.stopped = true
	parts := c.parts
	c.parts = map[int32]*partition{}
	c.mu.Unlock()
	for _, p := range parts {
		p.unload()
	}
	c.cancel()
	c.wg.Wait()
}

// Load makes this broker the coordinator of the groups in __consumer_offsets
// partition id, whose log is log: it reads the partition into memory in the
// background; until that is done, requests for its groups get
// COORDINATOR_LOAD_IN_PROGRESS. Loading a partition that is already loaded
// unloads it first (a new leader epoch may mean a different log).
func (c *Coordinator) Load(id int32, log Log) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	old := c.parts[id]
	p := newPartition(c, id, log)
	c.parts[id] = p
	c.mu.Unlock()
	if old != nil {
		old.unload()
	}
	c.log.Info("loading group coordinator partition", "partition", id)
	c.wg.Go(p.load)
}

// Unload stops serving the groups of partition id: parked JoinGroup and
// SyncGroup requests and commits not yet durable get NOT_COORDINATOR, and
// every later request for those groups too. It returns without waiting for
// the partition's goroutines (Stop does).
func (c *Coordinator) Unload(id int32) {
	c.mu.Lock()
	p := c.parts[id]
	delete(c.parts, id)
	c.mu.Unlock()
	if p != nil {
		c.log.Info("unloading group coordinator partition", "partition", id)
		p.unload()
	}
}

// route finds the loaded partition of groupID, or the error a request for it
// answers with.
func (c *Coordinator) route(groupID string) (*partition, *kerr.Error) {
	id := PartitionFor(groupID, c.cfg.Group.OffsetsTopicPartitions)
	c.mu.RLock()
	p, stopped := c.parts[id], c.stopped
	c.mu.RUnlock()
	switch {
	case stopped:
		return nil, kerr.CoordinatorNotAvailable
	case p == nil:
		return nil, kerr.NotCoordinator
	case !p.ready.Load():
		return nil, kerr.CoordinatorLoadInProgress
	}
	return p, nil
}

// partitions returns the partitions this broker leads.
func (c *Coordinator) partitions() []*partition {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*partition, 0, len(c.parts))
	for _, p := range c.parts {
		out = append(out, p)
	}
	return out
}

// expireOffsets runs the retention check on every loaded group.
func (c *Coordinator) expireOffsets() {
	for _, p := range c.partitions() {
		if !p.ready.Load() {
			continue
		}
		for _, a := range p.actors() {
			a.post(func(g *group, now int64) { g.expire(now) })
		}
	}
}

func (c *Coordinator) now() int64 { return c.cfg.Now().UnixMilli() }
