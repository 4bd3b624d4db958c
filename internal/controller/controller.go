// Package controller is the active controller: it validates admin
// operations against the current metadata image, decides (replica placement,
// leaders, producer-id blocks), and turns each decision into metadata
// records proposed to the metadata log. It never changes state any other
// way: a decision takes effect when its records are committed and applied,
// on this node and every other.
//
// Operations are serialized: each one runs with mu held, reads the latest
// image, proposes its records and returns once they are applied locally, so
// the next operation validates against a state that includes the previous
// one. Requests and responses are Kafka's own types (kmsg), which is what
// lets a broker that is not the active controller forward a request
// unchanged (see Client).
//
// Where to start reading: topics.go (CreateTopics, DeleteTopics,
// CreatePartitions), placement.go, configs.go.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
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
}

// Controller is the active controller's logic. It is safe for concurrent
// use; operations run one at a time.
type Controller struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex // serializes operations; guards rand
	rand *rand.Rand
}

// New returns a controller.
func New(cfg Config) *Controller {
	r := cfg.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Controller{cfg: cfg, log: cfg.Logger, rand: r}
}

// errNoChange is returned by decide functions that have nothing to propose.
var errNoChange = errors.New("no change")

// propose encodes recs and proposes them; called with mu held.
func (c *Controller) propose(ctx context.Context, recs []metadata.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if _, err := c.cfg.Log.Propose(ctx, metadata.Encode(recs)); err != nil {
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
