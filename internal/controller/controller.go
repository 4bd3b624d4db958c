// Package controller is the active controller: it validates admin
// operations against the current metadata image, decides (replica placement,
// leaders, ISR changes, producer-id blocks), and turns each decision into
// metadata records proposed to the metadata log. It never changes state any
// other way: a decision takes effect when its records are committed and
// applied, on this node and every other.
//
// What it owns:
//
//   - Broker lifecycle (brokers.go, liveness.go): registration, heartbeats,
//     fencing a broker whose heartbeats stop for broker.session.timeout.ms,
//     unfencing one that has caught up, and controlled shutdown (moving a
//     stopping broker's leaderships and ISR memberships away before it says
//     it may stop).
//   - Elections (election.go): one set of rules, used by fencing,
//     unfencing, controlled shutdown, reassignment, ElectLeaders and the
//     automatic leader rebalance. Leaders come from the ISR; a replica
//     outside it leads only when unclean.leader.election.enable allows it.
//   - ISR changes (alter_partition.go): AlterPartition from partition
//     leaders, checked against broker and partition epochs.
//   - Reassignment (reassign.go): AlterPartitionReassignments and
//     ListPartitionReassignments, completed when the new replicas join the
//     ISR.
//   - Topics, configs and producer ids (topics.go, placement.go,
//     configs.go, producer_ids.go), and DescribeQuorum (quorum.go).
//
// Operations are serialized: each one runs with mu held, reads the latest
// image, proposes its records and returns once they are applied locally, so
// the next operation validates against a state that includes the previous
// one. Requests and responses are Kafka's own types (kmsg), which is what
// lets a broker that is not the active controller forward a request
// unchanged (see Client).
//
// Broker liveness is the one piece of state kept outside the log: the time
// of each broker's last heartbeat and the metadata offset it reported. It
// lives in memory on the active controller only and is rebuilt on every
// activation, where every registered broker starts with a full session, as
// in Kafka. Time comes from Config.Now; periodic work (fencing, unclean
// elections, leader rebalancing) runs in Tick, which Run calls on a ticker.
//
// Where to start reading: election.go, then brokers.go and liveness.go,
// alter_partition.go, reassign.go, elect_leaders.go; topics.go for the
// admin operations.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/quorum"
)

// Log is the metadata log as the controller sees it.
type Log interface {
	// Propose appends an encoded entry and returns its index once it is
	// committed and applied to the local image.
	Propose(ctx context.Context, data []byte) (uint64, error)
}

// Config configures a Controller.
type Config struct {
	NodeID   int32
	Broker   *config.Broker
	Log      Log
	Metadata *metadata.Loader
	Logger   *slog.Logger
	Rand     *rand.Rand // placement randomness; nil = seeded randomly

	// AddLearner makes a broker-only node a learner of the metadata quorum,
	// reached at addr; nil when the quorum has no network (tests).
	AddLearner func(ctx context.Context, id int32, addr string) error

	// Now is the clock of broker sessions and periodic checks; nil means
	// time.Now. Tests drive it by hand.
	Now func() time.Time

	// QuorumStatus reports the metadata quorum as this node sees it, for
	// DescribeQuorum; nil answers DescribeQuorum with an error.
	QuorumStatus func() quorum.Status
}

// Controller is the active controller's logic. It is safe for concurrent
// use; operations run one at a time.
type Controller struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	// activations counts Activate and Deactivate calls; active is the state
	// the last one set. They are atomics so that both calls return at once
	// even while an operation holds mu (the quorum's leader-change callback
	// may make them).
	activations atomic.Uint64
	active      atomic.Bool

	mu   sync.Mutex // serializes operations; guards the fields below
	rand *rand.Rand
	live liveness // per-activation state, reset when activations moves
}

// New returns a controller. It starts inactive: Tick does nothing until
// Activate.
func New(cfg Config) *Controller {
	r := cfg.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Controller{cfg: cfg, log: cfg.Logger, rand: r, now: now}
}

// Activate tells the controller that this node became the active
// controller. Every registered broker gets a full session from the next
// operation on, and periodic checks start over. It never blocks.
func (c *Controller) Activate() {
	c.active.Store(true)
	c.activations.Add(1)
}

// Deactivate tells the controller that this node stopped being the active
// controller: Tick does nothing until the next Activate. It never blocks.
func (c *Controller) Deactivate() {
	c.active.Store(false)
	c.activations.Add(1)
}

// ErrNotActive means this node is not the active controller, or stopped
// being it before its records were committed: nothing was changed, and the
// request can be sent to the active controller.
var ErrNotActive = errors.New("controller: not the active controller")

// proposeTimeout bounds how long one operation waits for its records to
// commit (Kafka's default request.timeout.ms).
const proposeTimeout = 30 * time.Second

// propose encodes recs and proposes them; called with mu held. It returns
// ErrNotActive when the records were certainly not committed because this
// node does not (or no longer) lead the metadata log; other errors leave
// the outcome unknown.
func (c *Controller) propose(ctx context.Context, recs []metadata.Record) error {
	if len(recs) == 0 {
		return nil
	}
	// The quorum settles a proposal when it commits or when this node stops
	// leading; the bound is a second line of defence, since every other
	// operation waits for mu meanwhile.
	ctx, cancel := context.WithTimeout(ctx, proposeTimeout)
	defer cancel()
	if _, err := c.cfg.Log.Propose(ctx, metadata.Encode(recs)); err != nil {
		if errors.Is(err, quorum.ErrNotLeader) || errors.Is(err, quorum.ErrProposalDropped) {
			return fmt.Errorf("%w: %v", ErrNotActive, err)
		}
		return fmt.Errorf("propose %d metadata records: %w", len(recs), err)
	}
	return nil
}

func (c *Controller) image() *metadata.Image { return c.cfg.Metadata.Image() }

// EnsureClusterID writes a cluster id into a log that has none. The active
// controller calls it after winning its election; clusterID is the id found
// in the node's meta.properties, or "" to generate one.
func (c *Controller) EnsureClusterID(ctx context.Context, clusterID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.image().ClusterID() != "" {
		return nil
	}
	if clusterID == "" {
		clusterID = metadata.NewUUID().String()
	}
	return c.propose(ctx, []metadata.Record{metadata.ClusterRecord{ClusterID: clusterID}})
}
