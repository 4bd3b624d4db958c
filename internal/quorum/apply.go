package quorum

import (
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The apply path, run by the loop: committed entries to the state machine,
// snapshots from the leader into it, and snapshots out of it.

// apply hands committed entries to the state machine in order, applies
// configuration changes to raft, and answers the proposals they settle.
func (n *Node) apply(ents []*pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	var batch []Entry
	flush := func() {
		if len(batch) > 0 {
			n.sm.Apply(batch)
			n.smIndex = batch[len(batch)-1].Index
			batch = nil // the state machine may keep the slice
		}
	}
	var settled []result
	var settledSeq []uint64
	for _, e := range ents {
		idx := e.GetIndex()
		if idx != n.applied+1 {
			panic(fmt.Sprintf("quorum: raft delivered entry %d after applied index %d", idx, n.applied))
		}
		var id proposalID
		switch e.GetType() {
		case pb.EntryNormal:
			if len(e.GetData()) == 0 {
				break // a new leader's empty entry
			}
			var payload []byte
			var err error
			if id, payload, err = parseEnvelope(e.GetData()); err != nil {
				return fmt.Errorf("committed entry %d: %w", idx, err)
			}
			batch = append(batch, Entry{Index: idx, Term: e.GetTerm(), Data: payload})
		case pb.EntryConfChange, pb.EntryConfChangeV2:
			flush()
			var err error
			if id, err = n.applyConfChange(e); err != nil {
				return fmt.Errorf("committed entry %d: %w", idx, err)
			}
		}
		n.applied = idx
		if id.nonce == n.nonce && id.seq != 0 {
			settled = append(settled, result{index: idx})
			settledSeq = append(settledSeq, id.seq)
		}
	}
	flush()
	n.appliedIdx.Store(n.applied)
	for i, seq := range settledSeq {
		if p := n.pending[seq]; p != nil {
			n.finishProposal(p, settled[i])
		}
	}
	// A proposal whose index is now applied but which was not settled above
	// lost its place to another entry after a leader change.
	for _, p := range n.pending {
		if p.index != 0 && p.index <= n.applied {
			n.finishProposal(p, result{err: fmt.Errorf("%w: index %d committed with another entry after a leader change",
				ErrProposalDropped, p.index)})
		}
	}
	return nil
}

// applyConfChange applies a committed configuration change to raft and to
// the transport's peer list, and returns the proposal id it carried.
func (n *Node) applyConfChange(e *pb.Entry) (proposalID, error) {
	var cc pb.ConfChangeI
	var ctx []byte
	if e.GetType() == pb.EntryConfChange {
		var c pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &c); err != nil {
			return proposalID{}, fmt.Errorf("configuration change: %w", err)
		}
		cc, ctx = &c, c.GetContext()
	} else {
		var c pb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &c); err != nil {
			return proposalID{}, fmt.Errorf("configuration change: %w", err)
		}
		cc, ctx = &c, c.GetContext()
	}
	id, addr, err := parseEnvelope(ctx)
	if err != nil {
		id, addr = proposalID{}, nil // a change proposed without an address
	}
	n.confState = n.rn.ApplyConfChange(cc)
	for _, ch := range cc.AsV2().GetChanges() {
		peer := ch.GetNodeId()
		switch ch.GetType() {
		case pb.ConfChangeAddNode, pb.ConfChangeAddLearnerNode:
			if !n.configuredVoter(peer) {
				n.setPeer(peer, string(addr))
			}
		case pb.ConfChangeRemoveNode:
			delete(n.peerAddrs, peer)
			n.tr.RemovePeer(peer)
		}
	}
	n.logger.Info("applied quorum configuration change", "index", e.GetIndex(),
		"voters", n.confState.GetVoters(), "learners", n.confState.GetLearners())
	return id, nil
}

func (n *Node) configuredVoter(id uint64) bool {
	for _, v := range n.cfg.Voters {
		if v.ID == id {
			return true
		}
	}
	return false
}

// restore installs a snapshot received from the leader, already persisted by
// the store, into the state machine.
func (n *Node) restore(snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	index := md.GetIndex()
	peers, smData, err := decodeSnapData(snap.GetData())
	if err != nil {
		return fmt.Errorf("snapshot %d from the leader: %w", index, err)
	}
	if err := n.sm.Restore(smData, index); err != nil {
		return fmt.Errorf("restore snapshot %d: %w", index, err)
	}
	for id, addr := range peers {
		if !n.configuredVoter(id) {
			n.setPeer(id, addr)
		}
	}
	n.confState = md.GetConfState()
	n.applied, n.smIndex, n.snapIndex = index, index, index
	n.appliedIdx.Store(index)
	for _, p := range n.pending {
		if p.index != 0 && p.index <= index {
			n.finishProposal(p, result{err: fmt.Errorf("%w: skipped index %d by installing snapshot %d",
				ErrOutcomeUnknown, p.index, index)})
		}
	}
	n.logger.Info("installed snapshot from the leader", "index", index, "term", md.GetTerm())
	return nil
}

// maybeSnapshot takes a snapshot once SnapshotEntries entries have been
// applied since the last one, and compacts the log up to it.
func (n *Node) maybeSnapshot() error {
	if n.applied-n.snapIndex < n.cfg.SnapshotEntries {
		return nil
	}
	data, index := n.sm.Snapshot()
	if index != n.smIndex {
		panic(fmt.Sprintf("quorum: state machine snapshot is at index %d, but the last entry it was given is %d",
			index, n.smIndex))
	}
	// The state as of smIndex is the state as of applied: the entries in
	// between were raft's own and did not reach the state machine.
	if err := n.store.createSnapshot(n.applied, n.confState, encodeSnapData(n.peerAddrs, data)); err != nil {
		return fmt.Errorf("snapshot at %d: %w", n.applied, err)
	}
	n.snapIndex = n.applied
	n.logger.Info("took metadata snapshot", "index", n.applied, "bytes", len(data))
	return nil
}
