package quorum

import (
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"
)

// Role is a node's part in the current term.
type Role uint8

const (
	RoleFollower     Role = iota // follows a leader, or waits for one; learners are always followers
	RolePreCandidate             // polling peers (pre-vote) before starting an election
	RoleCandidate                // asking for votes in a new term
	RoleLeader                   // the leader: the active controller
)

func (r Role) String() string {
	switch r {
	case RoleFollower:
		return "follower"
	case RolePreCandidate:
		return "pre-candidate"
	case RoleCandidate:
		return "candidate"
	case RoleLeader:
		return "leader"
	}
	return "unknown"
}

func roleOf(s raft.StateType) Role {
	switch s {
	case raft.StateLeader:
		return RoleLeader
	case raft.StateCandidate:
		return RoleCandidate
	case raft.StatePreCandidate:
		return RolePreCandidate
	}
	return RoleFollower
}

// Status is a point-in-time view of the quorum from one node: what Kafka's
// DescribeQuorum reports. Only the leader knows other replicas' log ends.
type Status struct {
	NodeID        uint64
	Role          Role
	Leader        uint64 // 0 if unknown
	Term          uint64 // current term: Kafka's leader epoch of the quorum
	HighWatermark uint64 // commit index: the last entry known committed
	AppliedIndex  uint64 // last entry applied to the state machine
	LogEndIndex   uint64 // last entry in this node's log
	SnapshotIndex uint64 // index of this node's newest snapshot (0: none)
	Voters        []ReplicaStatus
	Learners      []ReplicaStatus
}

// ReplicaStatus describes one member of the quorum as this node sees it.
type ReplicaStatus struct {
	ID   uint64
	Addr string // "" if unknown

	// LogEnd is the replica's last log index (its match index) as known by
	// the leader, or this node's own last index in its own entry; 0 when
	// unknown.
	LogEnd uint64

	// LastContact is when this node last received a message from the
	// replica (now for itself); zero if never since Start.
	LastContact time.Time

	// LastCaughtUp is when the replica's log end last reached the leader's;
	// only the leader tracks it (now for itself).
	LastCaughtUp time.Time
}

// Status returns the node's view of the quorum. Before Start and after the
// node stops it carries only what is known without the loop.
func (n *Node) Status() Status {
	n.mu.Lock()
	running := n.started
	n.mu.Unlock()
	if running {
		c := make(chan Status, 1)
		select {
		case n.statusc <- c:
			return <-c
		case <-n.done:
		}
	}
	lt := n.leader.Load()
	return Status{NodeID: n.cfg.NodeID, Leader: lt.leader, Term: lt.term, AppliedIndex: n.appliedIdx.Load()}
}

// status builds a Status; called by the loop.
func (n *Node) status() Status {
	bs := n.rn.BasicStatus()
	last, _ := n.store.mem.LastIndex()
	s := Status{
		NodeID:        n.cfg.NodeID,
		Role:          roleOf(bs.RaftState),
		Leader:        bs.Lead,
		Term:          bs.GetTerm(),
		HighWatermark: bs.GetCommit(),
		AppliedIndex:  n.applied,
		LogEndIndex:   last,
		SnapshotIndex: n.snapIndex,
	}
	var progress map[uint64]tracker.Progress
	if bs.RaftState == raft.StateLeader {
		progress = n.rn.Status().Progress
	}
	now := time.Now()
	replica := func(id uint64) ReplicaStatus {
		r := ReplicaStatus{ID: id, Addr: n.addrOf(id)}
		if id == n.cfg.NodeID {
			r.LogEnd, r.LastContact = last, now
			if s.Role == RoleLeader {
				r.LastCaughtUp = now
			}
			return r
		}
		if pr, ok := progress[id]; ok {
			r.LogEnd = pr.Match
		}
		if seen := n.peers[id]; seen != nil {
			r.LastContact, r.LastCaughtUp = seen.lastContact, seen.caughtUp
		}
		return r
	}
	cs := n.confState
	for _, id := range union(cs.GetVoters(), cs.GetVotersOutgoing()) {
		s.Voters = append(s.Voters, replica(id))
	}
	for _, id := range union(cs.GetLearners(), cs.GetLearnersNext()) {
		s.Learners = append(s.Learners, replica(id))
	}
	return s
}

func (n *Node) addrOf(id uint64) string {
	if a, ok := n.peerAddrs[id]; ok {
		return a
	}
	for _, v := range n.cfg.Voters {
		if v.ID == id {
			return v.Addr
		}
	}
	return ""
}

// union returns the sorted, de-duplicated ids of a and b.
func union(a, b []uint64) []uint64 {
	ids := slices.Concat(a, b)
	slices.Sort(ids)
	return slices.Compact(ids)
}
