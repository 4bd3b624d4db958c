package quorum

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
)

// run is the node's loop: the only goroutine that touches the RawNode, the
// store and the state machine after Open. Each turn handles one event (a
// tick, inbound messages, proposals, a barrier, transport reports, a status
// request) and then drains raft's Ready queue in handleReady.
func (n *Node) run(ctx context.Context) {
	defer n.wg.Done()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	var round []*proposal // proposals handed to raft this turn
	err := n.handleReady()
	for err == nil {
		select {
		case <-ctx.Done():
			n.shutdown(nil)
			return
		case <-ticker.C:
			n.tick()
		case m := <-n.in.recvc:
			n.step(m)
			n.drainRecv()
		case p := <-n.propc:
			round = n.propose(round[:0], p)
		case b := <-n.readc:
			n.startBarrier(b)
		case <-n.in.signal:
			n.applyReports()
		case c := <-n.statusc:
			c <- n.status()
		}
		err = n.handleReady()
		for _, p := range round {
			if p.index == 0 && n.pending[p.id.seq] == p {
				// Raft accepted the message but did not append it; it does
				// that to a configuration change while another is pending.
				n.finishProposal(p, result{err: fmt.Errorf("%w: raft did not append it", ErrProposalDropped)})
			}
		}
		round = round[:0]
	}
	n.shutdown(err)
}

// shutdown fails everything still waiting and marks the loop as exited.
func (n *Node) shutdown(err error) {
	if err != nil {
		n.err = err
		n.logger.Error("quorum node stopped by a fatal error", "err", err)
	}
	stopped := ErrStopped
	if n.err != nil {
		stopped = fmt.Errorf("%w: %w", ErrStopped, n.err)
	}
	for _, p := range n.pending {
		n.finishProposal(p, result{err: stopped})
	}
	for id, b := range n.reads {
		b.done <- stopped
		delete(n.reads, id)
	}
	close(n.done)
}

// drainRecv steps messages that are already queued, so that one fsync
// covers them all.
func (n *Node) drainRecv() {
	for range recvQueue {
		select {
		case m := <-n.in.recvc:
			n.step(m)
		default:
			return
		}
	}
}

func (n *Node) tick() {
	n.ticks++
	n.rn.Tick()
	n.retryBarriers()
}

// step hands an inbound message to raft and notes when its sender was last
// heard from.
func (n *Node) step(m *pb.Message) {
	from := m.GetFrom()
	seen := n.peers[from]
	if seen == nil {
		seen = &peerSeen{}
		n.peers[from] = seen
	}
	now := time.Now()
	seen.lastContact = now
	_ = n.rn.Step(m) // errors only reject messages from unknown or local senders
	if n.role != raft.StateLeader {
		return
	}
	if t := m.GetType(); t != pb.MsgAppResp && t != pb.MsgHeartbeatResp {
		return
	}
	last, _ := n.store.mem.LastIndex()
	n.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if id == from && pr.Match >= last {
			seen.caughtUp = now
		}
	})
}

// propose hands p, and any other proposals already queued, to raft.
func (n *Node) propose(round []*proposal, p *proposal) []*proposal {
	for {
		if n.role != raft.StateLeader {
			p.done <- result{err: &NotLeaderError{Leader: n.lt.leader, Term: n.lt.term}}
		} else {
			var err error
			if p.cc != nil {
				err = n.rn.ProposeConfChange(p.cc)
			} else {
				err = n.rn.Propose(p.data)
			}
			if err != nil {
				p.done <- result{err: fmt.Errorf("%w: %w", ErrProposalDropped, err)}
			} else {
				n.pending[p.id.seq] = p
				round = append(round, p)
			}
		}
		if len(round) >= maxProposalBatch {
			return round
		}
		select {
		case p = <-n.propc:
		default:
			return round
		}
	}
}

func (n *Node) finishProposal(p *proposal, r result) {
	delete(n.pending, p.id.seq)
	p.done <- r
}

func (n *Node) applyReports() {
	unreachable, snaps := n.in.takeReports()
	for _, id := range unreachable {
		n.rn.ReportUnreachable(id)
	}
	for _, s := range snaps {
		st := raft.SnapshotFinish
		if !s.ok {
			st = raft.SnapshotFailure
		}
		n.rn.ReportSnapshot(s.id, st)
	}
}

// handleReady drains raft's Ready queue, honouring its contract in order:
// persist the snapshot, hard state and entries (synced when raft says so);
// then send messages; then apply committed entries; then Advance.
func (n *Node) handleReady() error {
	for {
		if !n.rn.HasReady() && !n.checkReplayed() {
			return nil
		}
		if !n.rn.HasReady() {
			continue
		}
		rd := n.rn.Ready()
		lead, term := n.lt.leader, n.lt.term
		wasLeader := n.role == raft.StateLeader
		if rd.SoftState != nil {
			n.role, lead = rd.SoftState.RaftState, rd.SoftState.Lead
		}
		if rd.HardState != nil {
			term = rd.HardState.GetTerm()
		}
		if err := n.store.saveReady(&rd); err != nil {
			return fmt.Errorf("persist raft state: %w", err)
		}
		n.noteAppended(rd.Entries)
		if len(rd.Messages) > 0 {
			n.tr.Send(rd.Messages)
		}
		if !raft.IsEmptySnap(rd.Snapshot) {
			if err := n.restore(rd.Snapshot); err != nil {
				return err
			}
		}
		n.noteReadStates(rd.ReadStates)
		if err := n.apply(rd.CommittedEntries); err != nil {
			return err
		}
		if wasLeader && n.role != raft.StateLeader {
			n.abandonPending()
		}
		n.rn.Advance(rd)
		n.publishLeader(lead, term)
		n.answerBarriers()
		if err := n.maybeSnapshot(); err != nil {
			return err
		}
	}
}

// abandonPending fails every proposal still waiting when this node stops
// leading: a deposed leader may never learn what was committed at their
// indexes (check-quorum steps it down when it is cut off, and the entries
// may or may not survive under the next leader), and its callers must not
// wait for a quorum that may never come back.
func (n *Node) abandonPending() {
	for _, p := range n.pending {
		n.finishProposal(p, result{err: fmt.Errorf("%w: this node stopped leading before index %d was committed",
			ErrOutcomeUnknown, p.index)})
	}
}

// noteAppended records the index at which each pending proposal entered the
// log.
func (n *Node) noteAppended(ents []*pb.Entry) {
	if len(n.pending) == 0 {
		return
	}
	for _, e := range ents {
		if id, ok := proposalIDOf(e); ok && id.nonce == n.nonce {
			if p := n.pending[id.seq]; p != nil {
				p.index = e.GetIndex()
			}
		}
	}
}

// checkReplayed releases Start once the log found by Open is applied, and
// reports whether it gave raft new work. A sole voter then campaigns at once
// instead of waiting out an election timeout; with pre-vote this is harmless,
// and it is the only member that can win.
func (n *Node) checkReplayed() bool {
	select {
	case <-n.replayed:
		return false
	default:
	}
	if n.applied < n.replayTo {
		return false
	}
	close(n.replayed)
	cs := n.confState
	if len(cs.GetVoters()) != 1 || cs.GetVoters()[0] != n.cfg.NodeID || len(cs.GetVotersOutgoing()) != 0 ||
		n.role == raft.StateLeader {
		return false
	}
	_ = n.rn.Campaign()
	return true
}

// peerSeen is what the loop remembers about another node for Status.
type peerSeen struct {
	lastContact time.Time // last message received from it
	caughtUp    time.Time // last response showing its log reached ours (leader only)
}
