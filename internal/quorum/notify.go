package quorum

import "context"

// listener is one OnLeaderChange registration.
type listener struct {
	fn   func(leader, term uint64)
	last leaderTerm // last value delivered; guarded by Node.mu
}

// OnLeaderChange registers fn to be called with the leader (0 if none) and
// term whenever either changes, and soon after registration if the node
// already knows a leader or term. Calls come from one goroutine owned by the
// node, in order; changes that happen while fn runs are coalesced, so fn sees
// the latest state but may miss intermediate ones. fn must not block for long
// and must not call Stop.
//
// A node that learns it leads must still call Barrier before serving reads
// from the state machine: entries of earlier terms may be unapplied.
func (n *Node) OnLeaderChange(fn func(leader, term uint64)) {
	n.mu.Lock()
	n.listeners = append(n.listeners, &listener{fn: fn})
	n.mu.Unlock()
	n.signalLeader()
}

func (n *Node) signalLeader() {
	select {
	case n.leaderSig <- struct{}{}:
	default:
	}
}

// publishLeader is called by the loop after each Ready: it publishes a new
// (leader, term) and wakes the notifier.
func (n *Node) publishLeader(lead, term uint64) {
	lt := leaderTerm{leader: lead, term: term}
	if lt == n.lt {
		return
	}
	n.lt = lt
	n.leader.Store(&lt)
	n.logger.Info("quorum leader changed", "leader", lead, "term", term, "role", roleOf(n.role))
	n.signalLeader()
}

// notifyLoop delivers leader changes to listeners.
func (n *Node) notifyLoop(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.leaderSig:
		}
		for {
			cur := *n.leader.Load()
			l := n.nextListener(cur)
			if l == nil {
				break
			}
			l.fn(cur.leader, cur.term)
		}
	}
}

// nextListener returns a listener that has not yet seen cur and marks it as
// having seen it.
func (n *Node) nextListener(cur leaderTerm) *listener {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.listeners {
		if l.last != cur {
			l.last = cur
			return l
		}
	}
	return nil
}
