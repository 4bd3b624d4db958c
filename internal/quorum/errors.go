package quorum

import (
	"errors"
	"fmt"
)

var (
	// ErrNotLeader is matched (errors.Is) by a *NotLeaderError: this node is not
	// the leader, so it cannot accept a proposal or serve a barrier.
	ErrNotLeader = errors.New("quorum: not the leader")

	// ErrStopped is returned once the node has stopped, by Stop, by the
	// cancellation of Start's context, or by a fatal storage error (see
	// Node.Err). A proposal in flight at that moment may or may not commit.
	ErrStopped = errors.New("quorum: node stopped")

	// ErrProposalDropped means the proposal was definitely not committed: raft
	// refused it (for example during a leadership transfer or when too much
	// is uncommitted) or a different entry was committed at its index after a
	// leader change. Retrying is safe.
	ErrProposalDropped = errors.New("quorum: proposal dropped")

	// ErrOutcomeUnknown means the proposal was appended but this node cannot
	// tell whether that entry or another one was committed at its index: it
	// stopped leading before the entry committed, or skipped past the index
	// by installing a snapshot from the leader.
	ErrOutcomeUnknown = errors.New("quorum: proposal outcome unknown")

	// ErrTooLarge is returned by Propose for data over Config.MaxEntryBytes.
	ErrTooLarge = errors.New("quorum: proposal too large")
)

// NotLeaderError reports who this node believes leads. Leader is 0 when no
// leader is known (an election is in progress or this node is cut off).
type NotLeaderError struct {
	Leader uint64 // node id of the known leader, 0 if unknown
	Term   uint64 // this node's current term (Kafka: leader epoch of the quorum)
}

func (e *NotLeaderError) Error() string {
	if e.Leader == 0 {
		return fmt.Sprintf("quorum: not the leader (no leader known in term %d)", e.Term)
	}
	return fmt.Sprintf("quorum: not the leader (leader is node %d in term %d)", e.Leader, e.Term)
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// CorruptError reports bytes on disk that fail a check in a place where they
// cannot be a torn write: Open refuses to start rather than lose entries.
type CorruptError struct {
	File   string // path of the damaged file
	Offset int64  // byte offset of the first bad record in File
	Reason string // what check failed
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("quorum: corrupt %s at offset %d: %s", e.File, e.Offset, e.Reason)
}
