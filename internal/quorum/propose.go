package quorum

import (
	"context"
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// proposal is one Propose or AddLearner call on its way through the loop.
type proposal struct {
	id    proposalID
	data  []byte         // raft entry data (envelope + payload); nil for a conf change
	cc    *pb.ConfChange // configuration change, Context carrying the envelope
	index uint64         // raft index once appended; loop-owned
	done  chan result    // capacity 1; the loop sends exactly one result
}

type result struct {
	index uint64
	err   error
}

// Propose appends data to the log and returns its index once the entry is
// committed and applied to this node's state machine, so the caller can read
// its effect. Only the leader accepts proposals; elsewhere it returns a
// *NotLeaderError naming the leader if known.
//
// Errors other than ErrNotLeader, ErrTooLarge and ErrProposalDropped leave
// the outcome unknown: ctx's error, ErrStopped and ErrOutcomeUnknown mean the
// entry may still commit. Propose never reports success for an entry that
// was not committed. At most 1024 calls are in flight; more wait for a slot.
// Called before Start, it waits for Start.
func (n *Node) Propose(ctx context.Context, data []byte) (uint64, error) {
	if len(data) > n.cfg.MaxEntryBytes {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), n.cfg.MaxEntryBytes)
	}
	p := &proposal{id: n.nextID(), done: make(chan result, 1)}
	p.data = appendEnvelope(make([]byte, 0, envHeaderLen+len(data)), p.id, data)
	return n.submit(ctx, p)
}

// AddLearner adds node id, reachable at addr (its controller listener), to
// the quorum as a learner: it receives and applies the log but does not vote.
// Every node learns addr when the change applies. It must be called on the
// leader and returns once the change is applied here.
func (n *Node) AddLearner(ctx context.Context, id uint64, addr string) error {
	if id == 0 || addr == "" || len(addr) > 0xffff {
		return fmt.Errorf("quorum: invalid learner %d at %q", id, addr)
	}
	p := &proposal{id: n.nextID(), done: make(chan result, 1)}
	p.cc = &pb.ConfChange{
		Type:    pb.ConfChangeAddLearnerNode.Enum(),
		NodeId:  new(id),
		Context: appendEnvelope(nil, p.id, []byte(addr)),
	}
	_, err := n.submit(ctx, p)
	return err
}

func (n *Node) nextID() proposalID {
	return proposalID{nonce: n.nonce, seq: n.seq.Add(1)}
}

// submit hands p to the loop and waits for its result.
func (n *Node) submit(ctx context.Context, p *proposal) (uint64, error) {
	select {
	case n.sem <- struct{}{}:
		defer func() { <-n.sem }()
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.done:
		return 0, n.stoppedErr()
	}
	select {
	case n.propc <- p:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.done:
		return 0, n.stoppedErr()
	}
	select {
	case r := <-p.done:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.done:
		select {
		case r := <-p.done:
			return r.index, r.err
		default:
			return 0, n.stoppedErr()
		}
	}
}

func (n *Node) stoppedErr() error {
	if err := n.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return ErrStopped
}

// proposalIDOf returns the id carried by a raft entry, if it has one.
func proposalIDOf(e *pb.Entry) (proposalID, bool) {
	switch e.GetType() {
	case pb.EntryNormal:
		if id, _, err := parseEnvelope(e.GetData()); err == nil {
			return id, true
		}
	case pb.EntryConfChange:
		var cc pb.ConfChange
		if proto.Unmarshal(e.GetData(), &cc) == nil {
			if id, _, err := parseEnvelope(cc.GetContext()); err == nil {
				return id, true
			}
		}
	}
	return proposalID{}, false
}
