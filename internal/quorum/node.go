package quorum

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Entry is one committed proposal, handed to StateMachine.Apply.
type Entry struct {
	Index uint64 // raft log index; strictly increasing across Apply calls
	Term  uint64 // term in which the entry was proposed
	Data  []byte // the bytes given to Propose; read-only, may be retained
}

// StateMachine is what the log is applied to. The Node calls its methods
// from one goroutine at a time and never concurrently: first Restore (if the
// log has a snapshot) during Open, then Apply, Snapshot and, when this node
// falls far behind the leader, Restore again, all from the node's loop.
type StateMachine interface {
	// Apply applies committed entries in log order, each exactly once per
	// process lifetime after the last Restore. Entries raft adds for its own
	// purposes (empty leader entries, configuration changes) are not passed.
	Apply(entries []Entry)

	// Snapshot serialises the state. index must be the Index of the last
	// entry passed to Apply, or the index of the last Restore if none since
	// (0 for a state machine that has seen neither).
	Snapshot() (data []byte, index uint64)

	// Restore replaces the state with a snapshot's data, which reflects
	// every entry up to raft index index. An error stops the node.
	Restore(data []byte, index uint64) error
}

// Node is one member of the metadata quorum. Its exported methods are safe
// for concurrent use.
type Node struct {
	cfg    Config // immutable after Open
	logger *slog.Logger
	sm     StateMachine
	store  *store
	tr     Transport
	in     *inbox
	nonce  uint64 // random per Open: tags this process's proposals

	// Owned by the loop goroutine (and by Open before Start).
	rn        *raft.RawNode
	confState *pb.ConfState     // configuration as of applied
	applied   uint64            // last applied raft index
	smIndex   uint64            // last index the state machine saw
	snapIndex uint64            // index of the newest snapshot
	replayTo  uint64            // commit index found by Open
	role      raft.StateType    // from the last SoftState
	lt        leaderTerm        // last published leader and term
	peerAddrs map[uint64]string // known addresses of other nodes
	peers     map[uint64]*peerSeen
	pending   map[uint64]*proposal // by proposal seq
	reads     map[uint64]*barrier  // by read request id
	ticks     uint64
	readSeq   uint64

	// Requests into the loop.
	propc   chan *proposal
	readc   chan *barrier
	statusc chan chan Status

	// Published by the loop.
	appliedIdx atomic.Uint64
	leader     atomic.Pointer[leaderTerm]
	replayed   chan struct{} // closed once the log found by Open is applied
	done       chan struct{} // closed when the loop has exited
	err        error         // why the loop exited; written before done closes

	seq atomic.Uint64 // last proposal sequence number
	sem chan struct{} // bounds concurrent Propose calls

	mu        sync.Mutex
	listeners []*listener        // guarded by mu
	started   bool               // guarded by mu
	stopped   bool               // guarded by mu
	cancel    context.CancelFunc // guarded by mu
	leaderSig chan struct{}      // capacity 1: the leader changed
	wg        sync.WaitGroup
	stopOnce  sync.Once
}

type leaderTerm struct{ leader, term uint64 }

// Open loads the log in cfg.Dir (creating it if needed) and restores sm from
// the newest snapshot by calling sm.Restore, unless the log has never been
// snapshotted. The committed entries after the snapshot are applied by Start,
// which returns once they are. Open starts no goroutines; Stop releases what
// it holds.
func Open(cfg Config, sm StateMachine) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	logger := cfg.Logger.With("node_id", cfg.NodeID)
	st, snap, err := openStore(cfg.Dir, cfg.voterIDs(), logger)
	if err != nil {
		return nil, fmt.Errorf("open quorum log %s: %w", cfg.Dir, err)
	}
	n, err := newNode(cfg, logger, st, snap, sm)
	if err != nil {
		st.close()
		return nil, err
	}
	return n, nil
}

func newNode(cfg Config, logger *slog.Logger, st *store, snap *pb.Snapshot, sm StateMachine) (*Node, error) {
	md := snap.GetMetadata()
	n := &Node{
		cfg: cfg, logger: logger, sm: sm, store: st, tr: cfg.Transport, in: newInbox(),
		nonce:     randomUint64(),
		confState: md.GetConfState(),
		applied:   md.GetIndex(),
		smIndex:   md.GetIndex(),
		snapIndex: md.GetIndex(),
		peerAddrs: make(map[uint64]string),
		peers:     make(map[uint64]*peerSeen),
		pending:   make(map[uint64]*proposal),
		reads:     make(map[uint64]*barrier),
		propc:     make(chan *proposal, maxProposalBatch),
		readc:     make(chan *barrier),
		statusc:   make(chan chan Status),
		replayed:  make(chan struct{}),
		done:      make(chan struct{}),
		sem:       make(chan struct{}, maxInflightProposals),
		leaderSig: make(chan struct{}, 1),
	}
	if n.tr == nil {
		n.tr = noTransport{}
	}
	peers, smData, err := decodeSnapData(snap.GetData())
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", md.GetIndex(), err)
	}
	for id, addr := range peers {
		n.setPeer(id, addr)
	}
	for _, v := range cfg.Voters {
		n.setPeer(v.ID, v.Addr) // the configuration's addresses win
	}
	if ids := slices.Sorted(slices.Values(md.GetConfState().GetVoters())); !slices.Equal(ids, cfg.voterIDs()) {
		logger.Warn("configured voters differ from the quorum's configuration in the log; the log wins",
			"configured", cfg.voterIDs(), "log", ids)
	}
	if md.GetIndex() > 0 {
		if err := sm.Restore(smData, md.GetIndex()); err != nil {
			return nil, fmt.Errorf("restore snapshot %d: %w", md.GetIndex(), err)
		}
	}
	hs, _, _ := st.mem.InitialState()
	n.replayTo = hs.GetCommit()
	n.appliedIdx.Store(n.applied)
	n.leader.Store(&leaderTerm{term: hs.GetTerm()})
	n.lt.term = hs.GetTerm()
	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        cfg.NodeID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   st.mem,
		Applied:                   n.applied,
		MaxSizePerMsg:             maxSizePerMsg,
		MaxCommittedSizePerReady:  maxCommittedSizePerReady,
		MaxUncommittedEntriesSize: maxUncommittedEntriesSize,
		MaxInflightMsgs:           maxInflightMsgs,
		CheckQuorum:               true,
		PreVote:                   true,
		DisableProposalForwarding: true,
		StepDownOnRemoval:         true,
		Logger:                    raftLogger{logger},
	})
	if err != nil {
		return nil, err
	}
	n.rn = rn
	return n, nil
}

// setPeer records another node's address and tells the transport.
func (n *Node) setPeer(id uint64, addr string) {
	if id == n.cfg.NodeID || addr == "" {
		return
	}
	n.peerAddrs[id] = addr
	n.tr.AddPeer(id, addr)
}

func randomUint64() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// Start starts the node's goroutines (the raft loop, the leader-change
// notifier and the transport's) and returns once every entry that Open found
// committed has been applied. The node runs until Stop is called or ctx is
// canceled; Stop must be called in either case.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped || n.started {
		n.mu.Unlock()
		return errors.New("quorum: Start after Start or Stop")
	}
	n.started = true
	lctx, cancel := context.WithCancel(ctx)
	n.cancel = cancel
	n.wg.Add(2)
	n.mu.Unlock()

	if err := n.tr.Start(lctx, n.in); err != nil {
		n.err = fmt.Errorf("start transport: %w", err)
		cancel()
	}
	go n.run(lctx)
	go n.notifyLoop(lctx)
	select {
	case <-n.replayed:
		return nil
	case <-n.done:
		return n.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops the node's goroutines, waits for them, and closes the log. It is
// safe to call more than once, and without Start, but not from the state
// machine or a leader-change callback, which run on goroutines Stop waits
// for. Proposals in flight fail with ErrStopped; they may or may not have
// committed.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		n.mu.Lock()
		n.stopped = true
		cancel, started := n.cancel, n.started
		n.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		n.tr.Stop()
		n.wg.Wait()
		if !started {
			close(n.done)
		}
		if err := n.store.close(); err != nil {
			n.logger.Error("close quorum log", "err", err)
		}
	})
}

// Done is closed when the node has stopped running: after Stop, after the
// cancellation of Start's context, or after a fatal error (see Err).
func (n *Node) Done() <-chan struct{} { return n.done }

// Err returns the error that stopped the node, such as a failed fsync, or
// nil while it runs or after an orderly stop.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// Leader returns the leader this node knows of (0 if none) and its current
// term, Kafka's leader epoch of the metadata quorum.
func (n *Node) Leader() (id, term uint64) {
	lt := n.leader.Load()
	return lt.leader, lt.term
}

// AppliedIndex returns the index of the last entry applied to the state
// machine (or restored from a snapshot).
func (n *Node) AppliedIndex() uint64 { return n.appliedIdx.Load() }
