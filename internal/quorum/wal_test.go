package quorum

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	pb "go.etcd.io/raft/v3/raftpb"
)

// logBuffer is a slog sink the test can search.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// writeOneVoterLog runs a one-voter node on dir, proposes vals and stops.
func writeOneVoterLog(t *testing.T, cfg Config, vals []string) {
	t.Helper()
	n := startOne(t, cfg, &kvSM{})
	proposeAll(t, n, vals)
	n.Stop()
}

// lastSegment returns the path of dir's newest segment.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	seqs, err := listSegments(dir)
	if err != nil || len(seqs) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	return filepath.Join(dir, segmentName(seqs[len(seqs)-1]))
}

// recordOffsets returns the offset of every record in a segment file.
func recordOffsets(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for off := 0; off < len(data); {
		_, n, err := decodeRecord(data[off:])
		if err != nil {
			t.Fatalf("%s at %d: %v", path, off, err)
		}
		offs = append(offs, off)
		off += n
	}
	return offs
}

func TestRecovery(t *testing.T) {
	t.Run("a torn tail is truncated with a warning and every entry before it is kept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			want := values("t", 6)
			writeOneVoterLog(t, cfg, want)
			seg := lastSegment(t, cfg.Dir)
			torn := appendEntryRecord(nil, walEntry{index: 99, term: 9, data: []byte("never acknowledged")})
			appendFile(t, seg, torn[:len(torn)-5])

			logs := &logBuffer{}
			cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			sm := &kvSM{}
			startOne(t, cfg, sm)
			if got := sm.values(); !slices.Equal(got, want) {
				t.Fatalf("after truncating the tail the state machine holds %v, want %v", got, want)
			}
			if !logs.contains("truncating torn wal tail") {
				t.Fatal("no warning about the torn tail")
			}
			synctest.Wait()
			recordOffsets(t, seg) // fails on any record that does not decode
		})
	})

	t.Run("zeroes at the tail are truncated", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			writeOneVoterLog(t, cfg, []string{"z"})
			appendFile(t, lastSegment(t, cfg.Dir), make([]byte, 4096))
			sm := &kvSM{}
			startOne(t, cfg, sm)
			if !slices.Equal(sm.values(), []string{"z"}) {
				t.Fatalf("state machine holds %v", sm.values())
			}
		})
	})

	t.Run("a damaged record followed by valid ones refuses to start, naming file and offset", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			writeOneVoterLog(t, cfg, values("m", 6))
			seg := lastSegment(t, cfg.Dir)
			offs := recordOffsets(t, seg)
			bad := offs[len(offs)/2]
			flipByte(t, seg, int64(bad+recordHeaderLen+2))
			_, err := Open(cfg, &kvSM{})
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != seg || ce.Offset != int64(bad) {
				t.Fatalf("Open: %v, want a CorruptError for %s at offset %d", err, seg, bad)
			}
		})
	})

	t.Run("damage at the end of a segment that is not the last refuses to start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			smallSegments(t)
			cfg := oneVoterConfig(t, t.TempDir())
			writeOneVoterLog(t, cfg, values("s", 30))
			seqs, _ := listSegments(cfg.Dir)
			if len(seqs) < 3 {
				t.Fatalf("want several segments, got %v", seqs)
			}
			first := filepath.Join(cfg.Dir, segmentName(seqs[0]))
			offs := recordOffsets(t, first)
			fi, _ := os.Stat(first)
			if err := os.Truncate(first, fi.Size()-3); err != nil { // tear its last record
				t.Fatal(err)
			}
			_, err := Open(cfg, &kvSM{})
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != first || ce.Offset != int64(offs[len(offs)-1]) {
				t.Fatalf("Open: %v, want a CorruptError for %s at offset %d", err, first, offs[len(offs)-1])
			}
		})
	})

	t.Run("many segments replay in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			smallSegments(t)
			cfg := oneVoterConfig(t, t.TempDir())
			want := values("g", 30)
			writeOneVoterLog(t, cfg, want)
			sm := &kvSM{}
			startOne(t, cfg, sm)
			if !slices.Equal(sm.values(), want) {
				t.Fatalf("state machine holds %v, want %v", sm.values(), want)
			}
		})
	})

	t.Run("a snapshot compacts the log to one segment and two snapshot files", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			smallSegments(t)
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.SnapshotEntries = 10
			writeOneVoterLog(t, cfg, values("c", 50))
			snaps, _ := listSnapshots(cfg.Dir)
			if len(snaps) != 2 {
				t.Fatalf("snapshot files %v, want the newest and one previous", snaps)
			}
			seqs, _ := listSegments(cfg.Dir)
			if len(seqs) > 3 {
				t.Fatalf("%d segments remain after snapshots every 10 entries", len(seqs))
			}
		})
	})

	t.Run("leftovers of a crash during a snapshot are cleaned up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.SnapshotEntries = 4
			n := startOne(t, cfg, &kvSM{})
			proposeAll(t, n, values("o", 2))
			synctest.Wait()
			early := copyDir(t, cfg.Dir) // holds segment 1, from before any snapshot
			want := values("o", 10)
			proposeAll(t, n, want[2:])
			n.Stop()
			// A crash after a full cut, before the old segments were removed;
			// one while writing a file; one after writing a snapshot file but
			// before the segment naming it.
			copyFile(t, filepath.Join(early, segmentName(1)), filepath.Join(cfg.Dir, segmentName(1)))
			os.WriteFile(filepath.Join(cfg.Dir, segmentName(99)+tmpSuffix), []byte("half"), 0o644)
			saveSnapshotFile(cfg.Dir, testSnapshot(1000, 5, nil))

			sm := &kvSM{}
			startOne(t, cfg, sm)
			if !slices.Equal(sm.values(), want) {
				t.Fatalf("state machine holds %v, want %v", sm.values(), want)
			}
			names, _ := readDirNames(cfg.Dir)
			for _, name := range names {
				if name == segmentName(1) || strings.HasSuffix(name, tmpSuffix) || name == snapName(5, 1000) {
					t.Errorf("%s survived recovery", name)
				}
			}
		})
	})

	t.Run("a missing snapshot named by the log refuses to start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.SnapshotEntries = 3
			writeOneVoterLog(t, cfg, values("x", 5))
			snaps, _ := listSnapshots(cfg.Dir)
			path := filepath.Join(cfg.Dir, snaps[len(snaps)-1].name)
			os.Remove(path)
			_, err := Open(cfg, &kvSM{})
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != path {
				t.Fatalf("Open: %v, want a CorruptError naming %s", err, path)
			}
		})
	})

	t.Run("a damaged snapshot refuses to start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.SnapshotEntries = 3
			writeOneVoterLog(t, cfg, values("x", 5))
			snaps, _ := listSnapshots(cfg.Dir)
			path := filepath.Join(cfg.Dir, snaps[len(snaps)-1].name)
			flipByte(t, path, snapFixedLen+1)
			_, err := Open(cfg, &kvSM{})
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != path {
				t.Fatalf("Open: %v, want a CorruptError naming %s", err, path)
			}
		})
	})
}

// smallSegments makes segments roll after 256 bytes until the test's
// cleanups, registered later, have stopped its nodes.
func smallSegments(t *testing.T) {
	old := segmentBytes
	segmentBytes = 256
	t.Cleanup(func() { segmentBytes = old })
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// FuzzWAL appends random bytes to a WAL that holds five acknowledged
// entries. Recovery must never panic; it either refuses with a CorruptError
// or keeps all five entries, and what it keeps of the file consists only of
// records that pass their CRC and re-encode to the same bytes.
func FuzzWAL(f *testing.F) {
	rec := appendEntryRecord(nil, walEntry{index: 6, term: 1, typ: pb.EntryNormal, data: []byte("six")})
	f.Add([]byte{})
	f.Add(rec)
	f.Add(rec[:len(rec)-1])
	f.Add(make([]byte, 64))
	f.Add(append(slices.Clone(rec), 1, 2, 3))
	f.Add(appendHardStateRecord(nil, hardState{term: 1, commit: 9}))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		w, err := createWAL(dir, quiet)
		if err != nil {
			t.Fatal(err)
		}
		var ents []*pb.Entry
		for i := uint64(1); i <= 5; i++ {
			ents = append(ents, walEntry{index: i, term: 1, data: []byte{byte(i)}}.proto())
		}
		if err := w.save(hardState{term: 1, commit: 5}.proto(), ents, true); err != nil {
			t.Fatal(err)
		}
		w.close()
		seg := filepath.Join(dir, segmentName(1))
		appendFile(t, seg, tail)

		seqs, err := listSegments(dir)
		if err != nil {
			t.Fatal(err)
		}
		w2, st, err := openWAL(dir, seqs, quiet)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("recovery failed with %v, want a CorruptError", err)
			}
			return
		}
		defer w2.close()
		if len(st.ents) < 5 {
			t.Fatalf("recovery kept %d of 5 acknowledged entries", len(st.ents))
		}
		for i, e := range st.ents[:5] {
			if e.index != uint64(i+1) || e.term != 1 || !bytes.Equal(e.data, []byte{byte(i + 1)}) {
				t.Fatalf("entry %d recovered as %+v", i+1, e)
			}
		}
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		var re []byte
		for off := 0; off < len(data); {
			r, n, err := decodeRecord(data[off:])
			if err != nil {
				t.Fatalf("recovered segment holds a bad record at %d: %v", off, err)
			}
			re = encodeRecord(re, r)
			off += n
		}
		if !bytes.Equal(re, data) {
			t.Fatal("recovered records do not re-encode to the bytes on disk")
		}
	})
}
