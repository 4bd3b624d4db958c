package quorum

import (
	"context"
	"encoding/binary"

	"go.etcd.io/raft/v3"
)

// Barrier is raft's ReadIndex: a request, identified by an 8-byte request
// context, that the leader answers with its commit index once a quorum
// confirms it still leads; the caller is released when that index is applied.

// barrier is one Barrier call: a raft ReadIndex request.
type barrier struct {
	id        uint64 // request context; loop-assigned
	index     uint64 // read index once raft answers
	answered  bool
	issuedAt  uint64 // tick count when last sent to raft
	done      chan error
	ctxExpire <-chan struct{}
}

// Barrier returns once this node has applied every entry committed when it
// was called (raft's ReadIndex): state machine reads after it are
// linearizable. The controller calls it after winning an election, before
// serving from its state. Without a known leader it returns a
// *NotLeaderError; while messages are lost it retries until ctx ends.
func (n *Node) Barrier(ctx context.Context) error {
	b := &barrier{done: make(chan error, 1), ctxExpire: ctx.Done()}
	select {
	case n.readc <- b:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return n.stoppedErr()
	}
	select {
	case err := <-b.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return n.stoppedErr()
	}
}

func (n *Node) startBarrier(b *barrier) {
	if n.lt.leader == 0 {
		b.done <- &NotLeaderError{Term: n.lt.term}
		return
	}
	n.readSeq++
	b.id = n.readSeq
	n.reads[b.id] = b
	n.issueBarrier(b)
}

func (n *Node) issueBarrier(b *barrier) {
	b.issuedAt = n.ticks
	n.rn.ReadIndex(binary.LittleEndian.AppendUint64(nil, b.id))
}

// retryBarriers re-sends requests unanswered for an election timeout (raft
// drops them when there is no leader, and the network may lose them) and
// forgets those whose caller has gone.
func (n *Node) retryBarriers() {
	for id, b := range n.reads {
		select {
		case <-b.ctxExpire:
			delete(n.reads, id)
			continue
		default:
		}
		if !b.answered && n.lt.leader != 0 && n.ticks-b.issuedAt >= uint64(n.cfg.ElectionTicks) {
			n.issueBarrier(b)
		}
	}
}

func (n *Node) noteReadStates(states []raft.ReadState) {
	for _, rs := range states {
		id, ok := readID(rs.RequestCtx)
		if b := n.reads[id]; ok && b != nil && !b.answered {
			b.index, b.answered = rs.Index, true
		}
	}
}

func (n *Node) answerBarriers() {
	for id, b := range n.reads {
		if b.answered && n.applied >= b.index {
			b.done <- nil
			delete(n.reads, id)
		}
	}
}

func readID(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}
