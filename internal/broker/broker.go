// Package broker is samsa's composition root: it builds the parts of a node
// from its configuration and owns their start and stop order. It holds no
// logic of its own beyond that order and the broker's lifecycle towards the
// controller (registration and heartbeats, registration.go).
//
// Start order: log directories and the log cleaner → metadata image, the
// group coordinator and the partition manager listening to it → the metadata
// log (which replays into the image) → controller → broker registration,
// and once the broker is unfenced, the partitions follow the metadata and
// the client listeners serve; replication follows the roles the metadata
// gives. Stop begins with a controlled shutdown, while everything still
// serves: the controller moves this node's leaderships to caught-up
// followers. Then it runs the other way, answering in-flight requests
// first: stop reading requests, make appended data durable so waiting
// acknowledgements go out, stop the group coordinator, the fetchers and
// leading (parked joins and long-polling fetches answer at once), drain the
// connections, stop the metadata log, stop the cleaner, close the logs
// (writing the clean-shutdown marker so the next start skips recovery).
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/auth"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/quorum"
	"github.com/samsa-io/samsa/internal/replication"
	"github.com/samsa-io/samsa/internal/server"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/samsa-io/samsa/internal/txn"
)

// shutdownGrace bounds how long in-flight requests may take to be answered
// during a clean shutdown.
const shutdownGrace = 10 * time.Second

// Broker is one samsa node.
type Broker struct {
	cfg  *config.Broker
	base *slog.Logger // as given; the quorum adds the node id itself
	log  *slog.Logger // base with the node id
	// logLevel is the level of the logger's handler, when it can change
	// at run time (SetLogLevel).
	logLevel *slog.LevelVar

	dirs        []*storage.Dir
	cleaner     *storage.Cleaner // compacts logs with cleanup.policy=compact
	meta        *metadata.Loader
	quotas      *auth.Quotas // client and connection quotas, measured on this broker
	partitions  *partition.Manager
	replication *replication.Manager // the follower side: fetchers from leaders
	quorum      *quorum.Node
	controller  *controller.Controller
	client      *controller.Client
	groups      *group.Coordinator
	server      *server.Server // client listeners
	ctrlServer  *server.Server // the controller listener; nil without the controller role
	muxes       []*mux         // listeners shared between raft and the Kafka protocol
	metrics     *nodeMetrics   // nil without metrics.listener
	raftLn      net.Listener   // the quorum transport's side of a mux
	raftAddr    string         // that listener's address
	// The TLS of the connections this node opens to other nodes'
	// inter-broker listener and to the controllers' listener; nil: plain.
	// ApplyTLS replaces them.
	interTLS, ctrlTLS atomic.Pointer[tls.Config]
	// tlsListeners are the SSL listeners' served configurations, by
	// listener name, which ApplyTLS changes at run time.
	tlsListeners map[string]*auth.Reloadable
	// committedTLS is this broker's dynamic TLS settings as last applied
	// from the metadata (tlsreload.go).
	committedTLSMu sync.Mutex
	committedTLS   map[string]string
	connLimitsMu   sync.Mutex // one applyConnectionLimits at a time
	reg            *registration
	voterTurn      atomic.Uint32 // which voter a broker-only node asks next (controllerAddr)

	ready   chan struct{}      // closed once the listeners serve
	stopRun context.CancelFunc // ends the goroutines Start began
	wg      sync.WaitGroup     // those goroutines
}

// New opens the node's storage and metadata log. Nothing listens until Run.
func New(cfg *config.Broker, log *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, base: log, log: log.With("node_id", cfg.NodeID), ready: make(chan struct{})}
	if err := b.open(); err != nil {
		b.stopMetrics()
		b.closeStorage()
		return nil, err
	}
	return b, nil
}

// SetLogLevel names the level variable of the logger New was given, so
// that IncrementalAlterConfigs on this broker's BROKER_LOGGER resource can
// change it. Call it before Run.
func (b *Broker) SetLogLevel(v *slog.LevelVar) { b.logLevel = v }

func (b *Broker) open() error {
	if err := b.bind(); err != nil {
		return err
	}
	for _, path := range b.cfg.LogDirs {
		d, err := storage.OpenDir(path, storage.DirOptions{Logger: b.log.With("dir", path), Flushed: b.metrics.logFlushed()})
		if err != nil {
			return fmt.Errorf("open log dir %s: %w", path, err)
		}
		b.dirs = append(b.dirs, d)
		if m, ok := d.Meta(); ok && m.NodeID != b.cfg.NodeID {
			return fmt.Errorf("log dir %s belongs to node %d, not %d (node.id)", path, m.NodeID, b.cfg.NodeID)
		}
	}
	cc := storage.DefaultCleanerConfig()
	lc := b.cfg.Log
	cc.Enable, cc.Threads, cc.DedupeBufferSize = lc.CleanerEnable, int(lc.CleanerThreads), lc.CleanerDedupeBufferSize
	cc.DedupeLoadFactor, cc.IOBufferSize, cc.BackoffMs = lc.CleanerIOBufferLoadFactor, int(lc.CleanerIOBufferSize), lc.CleanerBackoffMs
	cc.IOMaxBytesPerSecond = lc.CleanerIOMaxBytesPerSecond
	cc.Logger = b.log.With("component", "cleaner")
	cleaner, err := storage.NewCleaner(cc, b.dirs...)
	if err != nil {
		return fmt.Errorf("log cleaner: %w", err)
	}
	b.cleaner = cleaner
	b.meta = metadata.NewLoader(b.log.With("component", "metadata"))
	b.quotas = auth.NewQuotas(b.meta.Image, int(b.cfg.Security.QuotaWindowNum),
		time.Duration(b.cfg.Security.QuotaWindowSizeSeconds)*time.Second)
	b.groups = group.New(group.Config{
		NodeID:          b.cfg.NodeID,
		Group:           b.cfg.Group,
		PartitionExists: b.partitionExists,
		TopicName:       b.topicName,
		TopicID:         b.topicID,
		Logger:          b.log.With("component", "groups"),
	})
	b.replication = replication.New(replication.Config{
		NodeID: b.cfg.NodeID, Broker: b.cfg, Image: b.meta.Image,
		BrokerEpoch: b.brokerEpoch, LocalIP: b.localIP(), TLS: b.interTLS.Load, Logger: b.log,
	})
	pm, err := partition.NewManager(partition.ManagerConfig{
		NodeID: b.cfg.NodeID, Broker: b.cfg, Dirs: b.dirs, Logger: b.log,
		OnRole:         b.onRole,
		AlterPartition: b.alterPartition,
		BrokerEpoch:    b.brokerEpoch,
		Lease:          b.leaseHeld,
		ISRChanged:     b.metrics.isrChanged(),
	})
	if err != nil {
		return err
	}
	b.partitions = pm
	b.meta.Subscribe(pm.Apply)
	b.meta.Subscribe(b.checkClusterID)
	b.meta.Subscribe(b.followTLSConfigs)
	b.meta.Subscribe(b.followBrokerConfigs)

	transport, err := b.transport()
	if err != nil {
		return err
	}
	q, err := quorum.Open(quorum.Config{
		NodeID:        uint64(b.cfg.NodeID),
		Voters:        voters(b.cfg),
		Dir:           filepath.Join(b.cfg.Quorum.MetadataLogDir, partition.MetadataTopic+"-0"),
		TickInterval:  quorumTick,
		ElectionTicks: max(int(b.cfg.Quorum.ElectionTimeoutMs)/int(quorumTick.Milliseconds()), 2),
		Transport:     transport,
		Logger:        b.base.With("component", "quorum"),
	}, stateMachine{b.meta})
	if err != nil {
		return fmt.Errorf("open metadata log: %w", err)
	}
	b.quorum = q
	if b.isVoter() {
		b.controller = controller.New(controller.Config{
			NodeID: b.cfg.NodeID, Broker: b.cfg, Log: q, Metadata: b.meta,
			Logger:       b.log.With("component", "controller"),
			QuorumStatus: q.Status,
			AddLearner: func(ctx context.Context, id int32, addr string) error {
				return q.AddLearner(ctx, uint64(id), addr)
			},
		})
	}
	b.client = controller.NewClient(controller.ClientConfig{
		Local:    b.controller,
		Active:   b.isActiveController,
		Leader:   b.controllerAddr,
		LocalIP:  b.localIP(),
		TLS:      b.ctrlTLS.Load,
		ClientID: fmt.Sprintf("samsa-broker-%d", b.cfg.NodeID),
		Logger:   b.log.With("component", "controller-client"),
	})
	return nil
}

// quorumTick is the metadata quorum's tick; election timeouts are counted
// in ticks (controller.quorum.election.timeout.ms / quorumTick).
const quorumTick = 100 * time.Millisecond

// Run runs the node until ctx is done, then stops it cleanly.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.Start(ctx); err != nil {
		b.Stop()
		return err
	}
	<-ctx.Done()
	b.log.Info("shutting down")
	return b.Stop()
}

// Start starts every part and returns once the client listeners serve.
func (b *Broker) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	b.stopRun = cancel
	b.quorum.OnLeaderChange(func(leader, term uint64) {
		if b.controller == nil {
			return
		}
		if leader != uint64(b.cfg.NodeID) {
			b.controller.Deactivate()
			return
		}
		b.log.Info("became the active controller", "term", term)
		b.controller.Activate()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.activateController(runCtx)
		}()
	})
	if err := b.quorum.Start(runCtx); err != nil {
		return fmt.Errorf("start metadata log: %w", err)
	}
	// Metrics answer from here on, also while the broker waits to be
	// registered, when an operator most needs to see why.
	b.serveMetrics()
	b.serveController()
	if b.controller != nil {
		// Liveness, leader elections and rebalancing; idle unless active.
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.controller.Run(runCtx) }()
	}
	b.reg = newRegistration(b)
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.reg.run(runCtx) }()
	go func() { defer b.wg.Done(); b.partitions.Run(runCtx) }()
	b.cleaner.Start()
	b.groups.Start(runCtx)

	// Serve clients once this broker is registered and unfenced: before
	// that it leads nothing and Metadata would not list it.
	select {
	case <-b.reg.unfenced:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quorum.Done():
		return fmt.Errorf("metadata log stopped: %w", b.quorum.Err())
	case <-time.After(time.Duration(b.cfg.Quorum.InitialRegistrationTimeoutMs) * time.Millisecond):
		return errors.New("timed out registering with the controller (initial.broker.registration.timeout.ms)")
	}
	b.partitions.Start(b.meta.Image)
	b.serve()
	return nil
}

// advertised returns the listeners this broker registers: the advertised
// ones, with port 0 replaced by the port actually bound.
func (b *Broker) advertised() []config.Listener {
	bound := map[string]int{}
	for i, a := range b.server.Addrs() {
		if ta, ok := a.(*net.TCPAddr); ok {
			bound[b.cfg.BrokerListeners()[i].Name] = ta.Port
		}
	}
	out := b.cfg.AdvertisedBrokerListeners()
	for i := range out {
		if out[i].Port == 0 {
			out[i].Port = bound[out[i].Name]
		}
	}
	return out
}

// serve starts answering clients.
func (b *Broker) serve() {
	cfg := api.Config{
		NodeID:       b.cfg.NodeID,
		Broker:       b.cfg,
		Metadata:     b.meta,
		Controller:   b.client,
		Partitions:   b.partitions,
		ProducerIDs:  b.producerIDs(),
		Dirs:         b.dirs,
		Groups:       b.groups,
		Quotas:       b.quotas,
		TLS:          b,
		Logger:       b.log.With("component", "api"),
		LogLevel:     b.logLevel,
		ControllerID: b.activeControllerID,
	}
	if b.metrics != nil {
		cfg.Counters = b.metrics.counters
		cfg.Requests = b.metrics.requests
	}
	h := api.New(cfg)
	b.applyCommittedTLS(true)
	b.applyBrokerConfigs()
	b.server.Serve(h)
	close(b.ready)
	b.log.Info("samsa is ready", "cluster_id", b.meta.Image().ClusterID(), "listeners", b.advertised())
}

// Addrs returns the bound client listener addresses (useful with port 0).
// It must be called after Start returned successfully.
func (b *Broker) Addrs() []net.Addr { return b.server.Addrs() }

// Stop shuts the node down cleanly. It is safe to call once after Start,
// whether Start succeeded or not.
func (b *Broker) Stop() error {
	// Scrapes end first: the gauges read parts that stop below.
	b.stopMetrics()
	if b.reg != nil {
		// Controlled shutdown first, while this node still serves: its
		// followers stay caught up and take over its leaderships.
		sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
		b.reg.shutdown(sctx)
		scancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if b.server != nil {
		b.server.StopReading()
	}
	b.partitions.Flush(ctx)
	// Parked JoinGroup and SyncGroup requests would hold the drain below
	// for up to a rebalance timeout; the coordinator answers them now
	// (NOT_COORDINATOR: the client looks it up again after the restart).
	b.groups.Stop()
	b.replication.Close()
	b.partitions.StopServing()
	if b.server != nil {
		b.server.Close(ctx)
	}
	if b.ctrlServer != nil {
		b.ctrlServer.Close(ctx)
	}
	if b.stopRun != nil {
		b.stopRun()
	}
	b.wg.Wait()
	b.quorum.Stop()
	b.closeNetwork()
	return b.closeStorage()
}

func (b *Broker) closeStorage() error {
	if b.cleaner != nil {
		b.cleaner.Stop() // before the logs close under it
		b.cleaner = nil
	}
	if b.partitions != nil {
		err := b.partitions.Close()
		b.partitions = nil
		return err
	}
	var first error
	for _, d := range b.dirs {
		if err := d.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// activateController runs what a newly elected controller must do first.
func (b *Broker) activateController(ctx context.Context) {
	clusterID := ""
	for _, d := range b.dirs {
		if m, ok := d.Meta(); ok && m.ClusterID != "" {
			clusterID = m.ClusterID
			break
		}
	}
	if err := b.controller.EnsureClusterID(ctx, clusterID); err != nil && ctx.Err() == nil {
		b.log.Error("cannot set the cluster id", "err", err)
	}
}

// checkClusterID records the cluster id in every log directory once it is
// known, and refuses directories that belong to another cluster.
func (b *Broker) checkClusterID(d *metadata.Delta, img *metadata.Image) {
	if !d.ClusterIDChange || img.ClusterID() == "" {
		return
	}
	for _, dir := range b.dirs {
		m, ok := dir.Meta()
		if ok && m.ClusterID != "" && m.ClusterID != img.ClusterID() {
			b.log.Error("log dir belongs to another cluster", "dir", dir.Path(), "dir_cluster_id", m.ClusterID, "cluster_id", img.ClusterID())
			continue
		}
		if !ok || m.ClusterID == "" {
			m.Version, m.ClusterID, m.NodeID = 1, img.ClusterID(), b.cfg.NodeID
			if m.DirectoryID == metadata.ZeroUUID {
				m.DirectoryID = metadata.NewUUID()
			}
			if err := dir.SetMeta(m); err != nil {
				b.log.Error("cannot write meta.properties", "dir", dir.Path(), "err", err)
			}
		}
	}
}

// producerIDs returns the allocator InitProducerId draws from, fed with
// blocks from the controller under this broker's epoch.
func (b *Broker) producerIDs() *txn.IDAllocator {
	return txn.NewIDAllocator(func(ctx context.Context) (int64, int32, error) {
		return b.reg.allocateProducerIDs(ctx)
	})
}

func voters(cfg *config.Broker) []quorum.Voter {
	out := make([]quorum.Voter, 0, len(cfg.Quorum.Voters))
	for _, v := range cfg.Quorum.Voters {
		out = append(out, quorum.Voter{ID: uint64(v.ID), Addr: v.Addr()})
	}
	return out
}

// stateMachine feeds committed metadata log entries to the loader.
type stateMachine struct{ l *metadata.Loader }

func (s stateMachine) Apply(entries []quorum.Entry) {
	idx := make([]uint64, len(entries))
	data := make([][]byte, len(entries))
	for i, e := range entries {
		idx[i], data[i] = e.Index, e.Data
	}
	s.l.Apply(idx, data)
}

func (s stateMachine) Snapshot() ([]byte, uint64)              { return s.l.Snapshot() }
func (s stateMachine) Restore(data []byte, index uint64) error { return s.l.Restore(data, index) }
