package quorum

import (
	"bytes"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

func testSnapshot(index, term uint64, data []byte) *pb.Snapshot {
	return &pb.Snapshot{Data: data, Metadata: &pb.SnapshotMetadata{
		ConfState: pb.EnsureConfState(&pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}),
		Index:     new(index), Term: new(term)}}
}

func TestSnapshotFile(t *testing.T) {
	t.Run("a saved snapshot loads back", func(t *testing.T) {
		dir := t.TempDir()
		want := testSnapshot(42, 7, []byte("state"))
		if err := saveSnapshotFile(dir, want); err != nil {
			t.Fatal(err)
		}
		got, err := loadSnapshotFile(dir, 7, 42)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetMetadata().GetIndex() != 42 || got.GetMetadata().GetTerm() != 7 || string(got.GetData()) != "state" ||
			!slices.Equal(got.GetMetadata().GetConfState().GetLearners(), []uint64{4}) {
			t.Fatalf("loaded %v", got)
		}
	})
	t.Run("old snapshots are removed, keeping the newest and one before it", func(t *testing.T) {
		dir := t.TempDir()
		for _, i := range []uint64{0, 10, 20, 30, 40} {
			if err := saveSnapshotFile(dir, testSnapshot(i, 1, nil)); err != nil {
				t.Fatal(err)
			}
		}
		// 40 was written but a crash kept the log from naming it.
		removeOldSnapshots(dir, 30, slog.New(slog.NewTextHandler(io.Discard, nil)))
		snaps, _ := listSnapshots(dir)
		var got []uint64
		for _, s := range snaps {
			got = append(got, s.index)
		}
		if !slices.Equal(got, []uint64{20, 30}) {
			t.Fatalf("snapshots left %v, want [20 30]", got)
		}
	})
	t.Run("a snapshot renamed to another index is refused", func(t *testing.T) {
		dir := t.TempDir()
		saveSnapshotFile(dir, testSnapshot(5, 1, nil))
		os.Rename(dir+"/"+snapName(1, 5), dir+"/"+snapName(1, 6))
		if _, err := loadSnapshotFile(dir, 1, 6); err == nil {
			t.Fatal("loaded a snapshot whose contents name another index")
		}
	})
}

func TestSnapData(t *testing.T) {
	peers := map[uint64]string{2: "10.0.0.2:9093", 4: "broker-4:9093"}
	peersGot, sm, err := decodeSnapData(encodeSnapData(peers, []byte("image")))
	if err != nil || !maps.Equal(peersGot, peers) || string(sm) != "image" {
		t.Fatalf("round trip: %v %q %v", peersGot, sm, err)
	}
	if p, sm, err := decodeSnapData(nil); err != nil || p != nil || sm != nil {
		t.Fatalf("empty data: %v %q %v", p, sm, err)
	}
}

// FuzzSnapshotFile feeds random bytes to the snapshot decoders: they must
// not panic, and what decodeSnapshot accepts must encode back to the same
// bytes.
func FuzzSnapshotFile(f *testing.F) {
	b, _ := encodeSnapshot(testSnapshot(9, 2, encodeSnapData(map[uint64]string{2: "a:1"}, []byte("x"))))
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeSnapData(b)
		snap, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		decodeSnapData(snap.GetData())
		re, err := encodeSnapshot(snap)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, b) {
			t.Fatal("accepted snapshot does not re-encode to the same bytes")
		}
	})
}
