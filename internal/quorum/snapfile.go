package quorum

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Snapshot files: one per snapshot, named <term>-<index>.snap in 16 hex digits
// each, written atomically. The layout is drawn in doc.go.

const (
	snapMagic      = "SAMSASNP"
	snapVersion    = 1
	snapFixedLen   = 44 // magic, crc, version, index, term, conf len, data len
	snapSuffix     = ".snap"
	maxConfStateSz = 1 << 20
)

func snapName(term, index uint64) string {
	return fmt.Sprintf("%016x-%016x%s", term, index, snapSuffix)
}

// encodeSnapshot serialises snap into the snapshot file format.
func encodeSnapshot(snap *pb.Snapshot) ([]byte, error) {
	md := snap.GetMetadata()
	cs, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb.EnsureConfState(md.GetConfState()))
	if err != nil {
		return nil, fmt.Errorf("marshal conf state: %w", err)
	}
	data := snap.GetData()
	b := make([]byte, 0, snapFixedLen+len(cs)+len(data))
	b = append(b, snapMagic...)
	b = append(b, 0, 0, 0, 0) // crc, filled below
	b = binary.LittleEndian.AppendUint32(b, snapVersion)
	b = binary.LittleEndian.AppendUint64(b, md.GetIndex())
	b = binary.LittleEndian.AppendUint64(b, md.GetTerm())
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cs)))
	b = append(b, cs...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[12:], castagnoli))
	return b, nil
}

// decodeSnapshot parses a snapshot file. Data aliases b.
func decodeSnapshot(b []byte) (*pb.Snapshot, error) {
	if len(b) < snapFixedLen {
		return nil, fmt.Errorf("file of %d bytes is shorter than a snapshot header", len(b))
	}
	if string(b[:8]) != snapMagic {
		return nil, errors.New("bad magic")
	}
	if got, want := binary.LittleEndian.Uint32(b[8:]), crc32.Checksum(b[12:], castagnoli); got != want {
		return nil, fmt.Errorf("crc mismatch: stored %#08x, computed %#08x", got, want)
	}
	if v := binary.LittleEndian.Uint32(b[12:]); v != snapVersion {
		return nil, fmt.Errorf("unknown snapshot version %d", v)
	}
	index := binary.LittleEndian.Uint64(b[16:])
	term := binary.LittleEndian.Uint64(b[24:])
	c := uint64(binary.LittleEndian.Uint32(b[32:]))
	rest := b[36:]
	if c > maxConfStateSz || c+8 > uint64(len(rest)) {
		return nil, fmt.Errorf("conf state length %d out of bounds", c)
	}
	cs := &pb.ConfState{}
	if err := proto.Unmarshal(rest[:c], cs); err != nil {
		return nil, fmt.Errorf("conf state: %w", err)
	}
	rest = rest[c:]
	d := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	if d != uint64(len(rest)) {
		return nil, fmt.Errorf("data length %d, %d bytes follow", d, len(rest))
	}
	data := rest
	if len(data) == 0 {
		data = nil
	}
	return &pb.Snapshot{
		Data: data,
		Metadata: &pb.SnapshotMetadata{
			ConfState: pb.EnsureConfState(cs),
			Index:     new(index),
			Term:      new(term),
		},
	}, nil
}

// saveSnapshotFile writes snap atomically into dir.
func saveSnapshotFile(dir string, snap *pb.Snapshot) error {
	b, err := encodeSnapshot(snap)
	if err != nil {
		return err
	}
	md := snap.GetMetadata()
	name := snapName(md.GetTerm(), md.GetIndex())
	if err := writeFileAtomic(dir, name, b); err != nil {
		return fmt.Errorf("save snapshot %s: %w", name, err)
	}
	return nil
}

// loadSnapshotFile reads the snapshot (term, index) that the WAL starts
// after. A missing or damaged file is a *CorruptError: the entries it
// replaced are gone from the log.
func loadSnapshotFile(dir string, term, index uint64) (*pb.Snapshot, error) {
	path := filepath.Join(dir, snapName(term, index))
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &CorruptError{File: path, Reason: "snapshot named by the wal is missing"}
		}
		return nil, err
	}
	snap, err := decodeSnapshot(b)
	if err == nil && (snap.GetMetadata().GetIndex() != index || snap.GetMetadata().GetTerm() != term) {
		err = errors.New("snapshot contents do not match its name")
	}
	if err != nil {
		return nil, &CorruptError{File: path, Reason: err.Error()}
	}
	return snap, nil
}

// snapFile is a snapshot file found in a directory.
type snapFile struct {
	name        string
	term, index uint64
}

func listSnapshots(dir string) ([]snapFile, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	var out []snapFile
	for _, name := range names {
		base, ok := strings.CutSuffix(name, snapSuffix)
		if !ok {
			continue
		}
		var s snapFile
		if _, err := fmt.Sscanf(base, "%016x-%016x", &s.term, &s.index); err != nil || len(base) != 33 {
			return nil, fmt.Errorf("unexpected file %s in %s", name, dir)
		}
		s.name = name
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b snapFile) int { return cmp.Compare(a.index, b.index) })
	return out, nil
}

// removeOldSnapshots keeps the snapshot at index and the newest one before
// it, and deletes every other snapshot file, including ones newer than index
// that a crash left without a WAL segment naming them. Failures are logged.
func removeOldSnapshots(dir string, index uint64, logger *slog.Logger) {
	snaps, err := listSnapshots(dir)
	if err != nil {
		logger.Warn("list snapshots", "dir", dir, "err", err)
		return
	}
	keptPrevious := false
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		switch {
		case s.index == index:
			continue
		case s.index < index && !keptPrevious:
			keptPrevious = true
			continue
		}
		if err := os.Remove(filepath.Join(dir, s.name)); err != nil {
			logger.Warn("remove snapshot", "file", s.name, "err", err)
		}
	}
}
