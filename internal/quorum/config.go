package quorum

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Voter is one controller node of the quorum, as listed in Kafka's
// controller.quorum.voters (id@host:port).
type Voter struct {
	ID   uint64 // node.id of the controller; never 0
	Addr string // host:port of its controller listener
}

// Config configures a Node. The zero value of every optional field selects the
// documented default; Open validates the result.
type Config struct {
	// NodeID is this node's node.id. It must not be 0.
	NodeID uint64

	// Voters are the controller nodes. A node whose NodeID is not among them
	// follows the log as a learner (a broker-only node) once the leader adds
	// it with AddLearner. Their ids are the configuration of a new log; once
	// a log exists, the configuration recorded in it wins and a difference is
	// logged as a warning. Their addresses are always used.
	Voters []Voter

	// Dir holds the write-ahead log and the snapshots, for example
	// <metadata.log.dir>/__cluster_metadata-0. It is created if missing and
	// must not be shared with another Node (a lock file enforces it).
	Dir string

	// TickInterval is the length of one raft tick. Default 100ms.
	TickInterval time.Duration

	// ElectionTicks is the election timeout in ticks (randomised by raft in
	// [ElectionTicks, 2*ElectionTicks)). Default 10, which with the default
	// TickInterval matches Kafka's controller.quorum.election.timeout.ms=1000.
	ElectionTicks int

	// HeartbeatTicks is the leader's heartbeat interval in ticks. Default 1.
	HeartbeatTicks int

	// SnapshotEntries is how many applied entries trigger a new snapshot after
	// the previous one. Default 10000.
	SnapshotEntries uint64

	// MaxEntryBytes is the largest proposal Propose accepts, in bytes.
	// Default 1 MiB; at most 32 MiB.
	MaxEntryBytes int

	// Transport carries raft messages between nodes. Nil is allowed only when
	// this node is the sole voter. Once Open succeeds the Node owns it: Start
	// starts it and Stop stops it. If Open fails, the caller still owns it.
	Transport Transport

	// Logger receives lifecycle and raft logs. Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultTickInterval    = 100 * time.Millisecond
	defaultElectionTicks   = 10
	defaultHeartbeatTicks  = 1
	defaultSnapshotEntries = 10000
	defaultMaxEntryBytes   = 1 << 20
	maxMaxEntryBytes       = 32 << 20

	// maxInflightProposals bounds concurrent Propose calls.
	maxInflightProposals = 1024
	// maxProposalBatch is how many queued proposals one fsync may cover.
	maxProposalBatch = 256
	// recvQueue is the capacity of the inbound message queue; a full queue
	// drops messages, which raft retransmits.
	recvQueue = 4096

	// Raft flow control. Metadata entries are small; these keep a slow
	// follower from pinning unbounded memory on the leader.
	maxSizePerMsg             = 1 << 20
	maxInflightMsgs           = 256
	maxUncommittedEntriesSize = 64 << 20
	maxCommittedSizePerReady  = 16 << 20
)

// withDefaults returns a copy of c with zero optional fields set.
func (c Config) withDefaults() Config {
	if c.TickInterval == 0 {
		c.TickInterval = defaultTickInterval
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = defaultElectionTicks
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = defaultHeartbeatTicks
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = defaultSnapshotEntries
	}
	if c.MaxEntryBytes == 0 {
		c.MaxEntryBytes = defaultMaxEntryBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Voters = slices.Clone(c.Voters)
	return c
}

// Validate reports the first problem with c after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.NodeID == 0 {
		return errors.New("quorum: NodeID must not be 0")
	}
	if len(c.Voters) == 0 {
		return errors.New("quorum: Voters must not be empty")
	}
	seen := make(map[uint64]bool, len(c.Voters))
	for _, v := range c.Voters {
		if v.ID == 0 {
			return errors.New("quorum: voter id 0 is not allowed")
		}
		if seen[v.ID] {
			return fmt.Errorf("quorum: voter %d listed twice", v.ID)
		}
		seen[v.ID] = true
	}
	if c.Dir == "" {
		return errors.New("quorum: Dir must be set")
	}
	if c.TickInterval < 0 || c.ElectionTicks < 0 || c.HeartbeatTicks < 0 {
		return errors.New("quorum: TickInterval, ElectionTicks and HeartbeatTicks must not be negative")
	}
	if c.ElectionTicks <= c.HeartbeatTicks {
		return fmt.Errorf("quorum: ElectionTicks (%d) must exceed HeartbeatTicks (%d)", c.ElectionTicks, c.HeartbeatTicks)
	}
	if c.MaxEntryBytes < 0 || c.MaxEntryBytes > maxMaxEntryBytes {
		return fmt.Errorf("quorum: MaxEntryBytes %d outside [1, %d]", c.MaxEntryBytes, maxMaxEntryBytes)
	}
	if c.Transport == nil && (len(c.Voters) > 1 || !seen[c.NodeID]) {
		return errors.New("quorum: a Transport is required unless this node is the only voter")
	}
	return nil
}

// voterIDs returns the ids of c.Voters in ascending order.
func (c Config) voterIDs() []uint64 {
	ids := make([]uint64, 0, len(c.Voters))
	for _, v := range c.Voters {
		ids = append(ids, v.ID)
	}
	slices.Sort(ids)
	return ids
}
