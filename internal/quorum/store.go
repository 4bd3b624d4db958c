package quorum

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// store is a node's durable raft state: the WAL and snapshot files under Dir,
// mirrored in a raft.MemoryStorage that raft reads. Every method but mem's
// own is called from one goroutine at a time (Open, then the node's loop).
//
// Invariant: whatever mem holds was written to the WAL first, and was synced
// whenever raft's Ready said MustSync; a snapshot's file is durable before
// the WAL segment that names it.
type store struct {
	dir    string
	logger *slog.Logger
	lock   *os.File
	wal    *wal
	mem    *raft.MemoryStorage // raft.Storage; safe for concurrent use
}

// openStore loads dir, creating a new log whose configuration is voters if
// dir holds none. It returns the snapshot the log starts after (index 0, with
// no data, for a log that has never snapshotted).
func openStore(dir string, voters []uint64, logger *slog.Logger) (*store, *pb.Snapshot, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create quorum dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	s := &store{dir: dir, logger: logger, lock: lock}
	snap, err := s.load(voters)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, snap, nil
}

func (s *store) load(voters []uint64) (*pb.Snapshot, error) {
	if err := removeTmpFiles(s.dir); err != nil {
		return nil, err
	}
	seqs, err := listSegments(s.dir)
	if err != nil {
		return nil, err
	}
	var st *logState
	if len(seqs) == 0 {
		if st, err = s.bootstrap(voters); err != nil {
			return nil, err
		}
	} else if s.wal, st, err = openWAL(s.dir, seqs, s.logger); err != nil {
		return nil, err
	}
	hs, clamped, err := st.finish()
	if err != nil {
		return nil, &CorruptError{File: filepath.Join(s.dir, segmentName(s.wal.seq)), Offset: -1, Reason: err.Error()}
	}
	if clamped {
		s.logger.Warn("commit index beyond the recovered log; lowered to its last entry",
			"dir", s.dir, "commit", hs.commit)
	}
	snap, err := loadSnapshotFile(s.dir, st.snapTerm, st.snapIndex)
	if err != nil {
		return nil, err
	}
	s.mem = raft.NewMemoryStorage()
	if err := s.mem.ApplySnapshot(snap); err != nil {
		return nil, err
	}
	if err := s.mem.SetHardState(hs.proto()); err != nil {
		return nil, err
	}
	ents := make([]*pb.Entry, len(st.ents))
	for i, e := range st.ents {
		ents[i] = e.proto()
	}
	if err := s.mem.Append(ents); err != nil {
		return nil, err
	}
	removeOldSnapshots(s.dir, st.snapIndex, s.logger)
	return snap, nil
}

// bootstrap writes the empty snapshot that carries the initial configuration
// and the first segment.
func (s *store) bootstrap(voters []uint64) (*logState, error) {
	if snaps, err := listSnapshots(s.dir); err != nil || len(snaps) > 0 {
		if err == nil {
			err = fmt.Errorf("quorum dir %s has snapshots but no wal segments", s.dir)
		}
		return nil, err
	}
	snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{
		ConfState: pb.EnsureConfState(&pb.ConfState{Voters: voters}),
		Index:     new(uint64(0)),
		Term:      new(uint64(0)),
	}}
	if err := saveSnapshotFile(s.dir, snap); err != nil {
		return nil, err
	}
	w, err := createWAL(s.dir, s.logger)
	if err != nil {
		return nil, err
	}
	s.wal = w
	return &logState{started: true}, nil
}

// saveReady persists what rd asks to persist, before any of rd's messages
// are sent: a snapshot from the leader, the hard state and new entries.
func (s *store) saveReady(rd *raft.Ready) error {
	if !raft.IsEmptySnap(rd.Snapshot) {
		return s.installSnapshot(rd.Snapshot, rd.HardState, rd.Entries)
	}
	if err := s.wal.save(rd.HardState, rd.Entries, rd.MustSync); err != nil {
		return err
	}
	if rd.HardState != nil {
		if err := s.mem.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	return s.mem.Append(rd.Entries)
}

// installSnapshot replaces the log with a snapshot received from the leader:
// the file first, then a full segment that names it.
func (s *store) installSnapshot(snap *pb.Snapshot, hs *pb.HardState, ents []*pb.Entry) error {
	if err := saveSnapshotFile(s.dir, snap); err != nil {
		return err
	}
	if err := s.mem.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("apply snapshot %d: %w", snap.GetMetadata().GetIndex(), err)
	}
	if hs != nil {
		s.wal.hs = hardStateOf(hs)
		if err := s.mem.SetHardState(hs); err != nil {
			return err
		}
	}
	if err := s.mem.Append(ents); err != nil {
		return err
	}
	return s.compactTo(snap.GetMetadata().GetIndex(), snap.GetMetadata().GetTerm())
}

// createSnapshot records data as the state as of applied index index, whose
// configuration is cs, and compacts the log up to it.
func (s *store) createSnapshot(index uint64, cs *pb.ConfState, data []byte) error {
	snap, err := s.mem.CreateSnapshot(index, cs, data)
	if err != nil {
		return fmt.Errorf("create snapshot %d: %w", index, err)
	}
	if err := saveSnapshotFile(s.dir, snap); err != nil {
		return err
	}
	if err := s.mem.Compact(index); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return fmt.Errorf("compact to %d: %w", index, err)
	}
	return s.compactTo(index, snap.GetMetadata().GetTerm())
}

// compactTo cuts a full segment after snapshot (index, term), rewriting the
// entries after it, which removes every older segment, then drops old
// snapshot files.
func (s *store) compactTo(index, term uint64) error {
	last, err := s.mem.LastIndex()
	if err != nil {
		return err
	}
	var ents []*pb.Entry
	if last > index {
		if ents, err = s.mem.Entries(index+1, last+1, math.MaxUint64); err != nil {
			return fmt.Errorf("read entries after snapshot %d: %w", index, err)
		}
	}
	if err := s.wal.cut(segKindFull, index, term, ents); err != nil {
		return err
	}
	removeOldSnapshots(s.dir, index, s.logger)
	return nil
}

// close syncs and closes the WAL and releases the directory lock.
func (s *store) close() error {
	var err error
	if s.wal != nil {
		err = s.wal.close()
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}
