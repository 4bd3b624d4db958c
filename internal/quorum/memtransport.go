package quorum

import (
	"context"
	"errors"
	"sync"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// MemNetwork connects nodes within one process, for tests. A message is
// cloned (as if it crossed a wire) and delivered at once to the receiving
// node's inbox, unless a fault set on the network drops it: partitions and
// one-way cuts act like a firewall that silently discards packets. A MemNetwork
// starts no goroutines.
type MemNetwork struct {
	mu      sync.Mutex
	ends    map[uint64]*memEndpoint // guarded by mu
	blocked map[memLink]bool        // guarded by mu; directed links that drop
	drop    func(*pb.Message) bool  // guarded by mu; nil keeps everything
}

type memLink struct{ from, to uint64 }

type memEndpoint struct {
	h       Handler         // nil until Start and after Stop
	peers   map[uint64]bool // ids this endpoint accepts messages from
	stopped bool
}

// NewMemNetwork returns a network with every link up.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{ends: make(map[uint64]*memEndpoint), blocked: make(map[memLink]bool)}
}

// Transport returns a new transport for node id, replacing any earlier one
// (a restarted node gets a fresh transport).
func (nw *MemNetwork) Transport(id uint64) Transport {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.ends[id] = &memEndpoint{peers: make(map[uint64]bool)}
	return &memTransport{nw: nw, id: id}
}

// Isolate cuts every link to and from node id.
func (nw *MemNetwork) Isolate(id uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for other := range nw.ends {
		if other != id {
			nw.blocked[memLink{id, other}] = true
			nw.blocked[memLink{other, id}] = true
		}
	}
}

// Partition cuts every link between nodes in different groups; links within
// a group are left as they are.
func (nw *MemNetwork) Partition(groups ...[]uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					nw.blocked[memLink{a, b}] = true
				}
			}
		}
	}
}

// Cut drops messages from one node to another (one way only).
func (nw *MemNetwork) Cut(from, to uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.blocked[memLink{from, to}] = true
}

// Heal restores every link and removes the drop function.
func (nw *MemNetwork) Heal() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.blocked)
	nw.drop = nil
}

// SetDrop installs f, which is asked about every message and drops it by
// returning true (for random loss or dropping one message type). f is called
// with the network's lock held and must not call back into it.
func (nw *MemNetwork) SetDrop(f func(m *pb.Message) bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.drop = f
}

// route decides the fate of m from node from: the handler to deliver it to
// (nil means drop) and the sender's handler for snapshot reports.
func (nw *MemNetwork) route(from uint64, m *pb.Message) (dst, src Handler) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if e := nw.ends[from]; e != nil {
		src = e.h
	}
	e := nw.ends[m.GetTo()]
	if e == nil || e.h == nil || !e.peers[from] || nw.blocked[memLink{from, m.GetTo()}] {
		return nil, src
	}
	if nw.drop != nil && nw.drop(m) {
		return nil, src
	}
	return e.h, src
}

// memTransport is one node's view of a MemNetwork.
type memTransport struct {
	nw *MemNetwork
	id uint64
}

func (t *memTransport) Start(_ context.Context, h Handler) error {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	e := t.nw.ends[t.id]
	if e.stopped {
		return errors.New("quorum: memory transport started after Stop")
	}
	e.h = h
	return nil
}

func (t *memTransport) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		dst, src := t.nw.route(t.id, m)
		if dst != nil {
			dst.Deliver(proto.Clone(m).(*pb.Message))
		}
		if m.GetType() == pb.MsgSnap && src != nil {
			src.ReportSnapshot(m.GetTo(), dst != nil)
		}
	}
}

func (t *memTransport) AddPeer(id uint64, _ string) {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	t.nw.ends[t.id].peers[id] = true
}

func (t *memTransport) RemovePeer(id uint64) {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	delete(t.nw.ends[t.id].peers, id)
}

func (t *memTransport) Stop() {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	e := t.nw.ends[t.id]
	e.h, e.stopped = nil, true
}
