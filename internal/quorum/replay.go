package quorum

import "fmt"

// logState rebuilds the raft log from WAL records in file order. It is pure:
// the WAL reader feeds it decoded records and turns its errors into
// CorruptErrors that name the file and offset.
//
// Replay starts at the newest full segment. Its header says which snapshot the
// log starts after and carries the hard state at the time of the cut; entry
// records then append with raft's truncate-at-first-index rule (the same rule
// raft.MemoryStorage.Append applies while the node runs), and hard state
// records replace the hard state.
type logState struct {
	started   bool
	snapIndex uint64 // the log holds entries after this index
	snapTerm  uint64 // term of the entry at snapIndex
	hs        hardState
	ents      []walEntry // ents[i].index == snapIndex+1+i
}

func (s *logState) lastIndex() uint64 { return s.snapIndex + uint64(len(s.ents)) }

// term returns the term of the entry at i, which must be in
// [snapIndex, lastIndex].
func (s *logState) term(i uint64) uint64 {
	if i == s.snapIndex {
		return s.snapTerm
	}
	return s.ents[i-s.snapIndex-1].term
}

func (s *logState) apply(r record) error {
	switch r.typ {
	case recHeader:
		return s.applyHeader(r.header)
	case recEntry:
		return s.applyEntry(r.entry)
	case recHardState:
		s.hs = r.hs
		return nil
	}
	return fmt.Errorf("unexpected record type %d", r.typ)
}

func (s *logState) applyHeader(h segHeader) error {
	if !s.started {
		if h.kind != segKindFull {
			return fmt.Errorf("replay starts at a continued segment")
		}
		s.started = true
		s.snapIndex, s.snapTerm, s.hs = h.snapIndex, h.snapTerm, h.hs
		s.ents = nil
		return nil
	}
	if h.kind != segKindContinued {
		return fmt.Errorf("full segment header after the start of replay")
	}
	if h.snapIndex != s.snapIndex || h.snapTerm != s.snapTerm {
		return fmt.Errorf("continued segment names snapshot %d/%d, log is after %d/%d",
			h.snapIndex, h.snapTerm, s.snapIndex, s.snapTerm)
	}
	s.hs = h.hs
	return nil
}

func (s *logState) applyEntry(e walEntry) error {
	if !s.started {
		return fmt.Errorf("entry before the segment header")
	}
	if e.index <= s.snapIndex {
		// Raft may hand back entries the snapshot already covers; the live
		// storage ignores them too.
		return nil
	}
	last := s.lastIndex()
	if e.index > last+1 {
		return fmt.Errorf("entry %d leaves a gap after last index %d", e.index, last)
	}
	if prev := s.term(e.index - 1); e.term < prev {
		return fmt.Errorf("entry %d has term %d below the previous entry's %d", e.index, e.term, prev)
	}
	s.ents = append(s.ents[:e.index-s.snapIndex-1], e)
	return nil
}

// finish checks the recovered state and returns the hard state to hand raft.
// The commit index is raised to the snapshot (a snapshot is committed by
// definition) and lowered to the last index if a torn tail took the entries a
// commit index referred to: the WAL writes a batch's hard state before its
// entries, so only an unsynced (never acknowledged) batch can leave that
// state. clamped reports the second case.
func (s *logState) finish() (hs hardState, clamped bool, err error) {
	if !s.started {
		return hardState{}, false, fmt.Errorf("no segment header")
	}
	hs = s.hs
	hs.commit = max(hs.commit, s.snapIndex)
	if last := s.lastIndex(); hs.commit > last {
		hs.commit, clamped = last, true
	}
	if n := len(s.ents); n > 0 && s.ents[n-1].term > hs.term {
		return hardState{}, false, fmt.Errorf("last entry term %d above hard state term %d", s.ents[n-1].term, hs.term)
	}
	return hs, clamped, nil
}
