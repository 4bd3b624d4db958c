package quorum

import (
	"context"
	"sync"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Transport carries raft messages between the nodes of one quorum. Raft
// tolerates loss, duplication and reordering, so a transport may drop
// messages whenever it must rather than block: raft retransmits.
//
// The Node owns its Transport: it calls AddPeer for the voters it knows,
// then Start, and Stop when it stops. Send, AddPeer and RemovePeer may be
// called from any goroutine, before or after Start.
type Transport interface {
	// Start begins delivering inbound messages to h and sending queued ones.
	// Goroutines it starts stop when ctx is canceled or Stop is called.
	Start(ctx context.Context, h Handler) error

	// Send queues msgs for delivery. It must not block on the network. The
	// transport must not modify the messages; it may keep them until sent.
	// A message to an unknown peer is dropped (and reported unreachable).
	Send(msgs []*pb.Message)

	// AddPeer records (or changes) the address of node id.
	AddPeer(id uint64, addr string)

	// RemovePeer forgets node id and closes any connection to it.
	RemovePeer(id uint64)

	// Stop closes the transport and waits for its goroutines. It is safe to
	// call more than once and without Start.
	Stop()
}

// Handler receives what a Transport has to tell its node. Its methods never
// block for long and may be called from any goroutine.
type Handler interface {
	// Deliver hands over an inbound message addressed to this node. The
	// receiver owns m.
	Deliver(m *pb.Message)

	// ReportUnreachable says a message to node id could not be sent.
	ReportUnreachable(id uint64)

	// ReportSnapshot says whether a MsgSnap to node id was sent (ok) or not.
	// Every MsgSnap handed to Send must be reported exactly once.
	ReportSnapshot(id uint64, ok bool)
}

// inbox is the Node's Handler: it queues inbound messages and transport
// reports for the node's loop, which alone may touch the raft state.
type inbox struct {
	recvc chan *pb.Message // inbound messages; full means drop

	signal chan struct{} // capacity 1: reports are waiting

	mu          sync.Mutex
	unreachable map[uint64]bool // guarded by mu
	snapReports []snapReport    // guarded by mu; never dropped
}

type snapReport struct {
	id uint64
	ok bool
}

func newInbox() *inbox {
	return &inbox{
		recvc:       make(chan *pb.Message, recvQueue),
		signal:      make(chan struct{}, 1),
		unreachable: make(map[uint64]bool),
	}
}

// Deliver queues m, dropping it if the loop is this far behind.
func (b *inbox) Deliver(m *pb.Message) {
	select {
	case b.recvc <- m:
	default:
	}
}

func (b *inbox) ReportUnreachable(id uint64) {
	b.mu.Lock()
	b.unreachable[id] = true
	b.mu.Unlock()
	b.notify()
}

// ReportSnapshot queues the report; unlike messages these are never dropped,
// because raft keeps a follower waiting for its snapshot until it hears.
func (b *inbox) ReportSnapshot(id uint64, ok bool) {
	b.mu.Lock()
	b.snapReports = append(b.snapReports, snapReport{id: id, ok: ok})
	b.mu.Unlock()
	b.notify()
}

func (b *inbox) notify() {
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// takeReports returns and clears the queued reports.
func (b *inbox) takeReports() (unreachable []uint64, snaps []snapReport) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.unreachable {
		unreachable = append(unreachable, id)
	}
	clear(b.unreachable)
	snaps, b.snapReports = b.snapReports, nil
	return unreachable, snaps
}

// noTransport serves a sole voter configured without a Transport: there is
// nobody to talk to, so every message is dropped.
type noTransport struct{}

func (noTransport) Start(context.Context, Handler) error { return nil }
func (noTransport) Send([]*pb.Message)                   {}
func (noTransport) AddPeer(uint64, string)               {}
func (noTransport) RemovePeer(uint64)                    {}
func (noTransport) Stop()                                {}
