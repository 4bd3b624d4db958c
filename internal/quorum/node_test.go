package quorum

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func oneVoterConfig(t testing.TB, dir string) Config {
	return Config{
		NodeID: 1,
		Voters: []Voter{{ID: 1, Addr: "127.0.0.1:9093"}},
		Dir:    dir,
		Logger: testLogger(t),
	}
}

// startOne opens and starts a one-voter node and waits until it leads.
func startOne(t *testing.T, cfg Config, sm StateMachine) *Node {
	t.Helper()
	n, err := Open(cfg, sm)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(n.Stop)
	if err := n.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	eventually(t, 5*time.Second, "node 1 to lead", func() bool { id, _ := n.Leader(); return id == 1 })
	// Entries acknowledged before a crash whose commit index was not yet
	// durable are applied once the new term commits; Barrier waits for that.
	if err := n.Barrier(t.Context()); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	return n
}

func proposeAll(t *testing.T, n *Node, vals []string) []uint64 {
	t.Helper()
	var idx []uint64
	for _, v := range vals {
		i, err := n.Propose(t.Context(), []byte(v))
		if err != nil {
			t.Fatalf("Propose(%q): %v", v, err)
		}
		idx = append(idx, i)
	}
	return idx
}

func TestOneVoter(t *testing.T) {
	t.Run("a proposal returns after it is applied", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sm := &kvSM{}
			n := startOne(t, oneVoterConfig(t, t.TempDir()), sm)
			want := values("v", 5)
			idx := proposeAll(t, n, want)
			for i := 1; i < len(idx); i++ {
				if idx[i] <= idx[i-1] {
					t.Fatalf("indexes %v are not strictly increasing", idx)
				}
			}
			if got := sm.values(); !slices.Equal(got, want) {
				t.Fatalf("state machine holds %v, want %v", got, want)
			}
			if n.AppliedIndex() < idx[len(idx)-1] {
				t.Fatalf("AppliedIndex %d below the last proposal's index %d", n.AppliedIndex(), idx[len(idx)-1])
			}
			st := n.Status()
			if st.Role != RoleLeader || st.Leader != 1 || st.HighWatermark < idx[len(idx)-1] {
				t.Fatalf("status %+v: want leader 1 with high watermark ≥ %d", st, idx[len(idx)-1])
			}
			if len(st.Voters) != 1 || st.Voters[0].ID != 1 || st.Voters[0].LogEnd < idx[len(idx)-1] {
				t.Fatalf("status voters %+v", st.Voters)
			}
		})
	})

	t.Run("a restart restores the snapshot and replays the log after it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.SnapshotEntries = 4
			n := startOne(t, cfg, &kvSM{})
			want := values("r", 11)
			proposeAll(t, n, want)
			n.Stop()
			snaps, err := listSnapshots(cfg.Dir)
			if err != nil || len(snaps) == 0 {
				t.Fatalf("want snapshot files after 11 entries with SnapshotEntries=4, got %v (%v)", snaps, err)
			}
			sm := &kvSM{}
			n2 := startOne(t, cfg, sm)
			if sm.restoreCount() != 1 {
				t.Fatalf("Restore called %d times, want 1", sm.restoreCount())
			}
			if got := sm.values(); !slices.Equal(got, want) {
				t.Fatalf("after restart the state machine holds %v, want %v", got, want)
			}
			proposeAll(t, n2, []string{"after"})
			if got := sm.values(); got[len(got)-1] != "after" {
				t.Fatalf("proposal after restart not applied: %v", got)
			}
		})
	})

	t.Run("a copy of the directory taken while running (kill -9) keeps every acknowledged entry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.SnapshotEntries = 7
			n := startOne(t, cfg, &kvSM{})
			want := values("k", 20)
			proposeAll(t, n, want)
			synctest.Wait()                // the loop is idle: a consistent moment to die
			crashed := copyDir(t, cfg.Dir) // what the disk holds if the process dies now
			n.Stop()
			cfg.Dir = crashed
			sm := &kvSM{}
			startOne(t, cfg, sm)
			if got := sm.values(); !slices.Equal(got, want) {
				t.Fatalf("after the crash the state machine holds %v, want %v", got, want)
			}
		})
	})

	t.Run("oversized proposals are refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			cfg.MaxEntryBytes = 10
			n := startOne(t, cfg, &kvSM{})
			if _, err := n.Propose(t.Context(), make([]byte, 11)); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Propose of 11 bytes with MaxEntryBytes=10: %v, want ErrTooLarge", err)
			}
		})
	})

	t.Run("after Stop proposals fail with ErrStopped and Stop is idempotent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := startOne(t, oneVoterConfig(t, t.TempDir()), &kvSM{})
			n.Stop()
			n.Stop()
			if _, err := n.Propose(t.Context(), []byte("x")); !errors.Is(err, ErrStopped) {
				t.Fatalf("Propose after Stop: %v, want ErrStopped", err)
			}
			if err := n.Barrier(t.Context()); !errors.Is(err, ErrStopped) {
				t.Fatalf("Barrier after Stop: %v, want ErrStopped", err)
			}
		})
	})

	t.Run("Barrier returns once everything committed is applied", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := startOne(t, oneVoterConfig(t, t.TempDir()), &kvSM{})
			idx := proposeAll(t, n, []string{"a"})
			if err := n.Barrier(t.Context()); err != nil {
				t.Fatalf("Barrier: %v", err)
			}
			if n.AppliedIndex() < idx[0] {
				t.Fatalf("applied %d after Barrier, want ≥ %d", n.AppliedIndex(), idx[0])
			}
		})
	})

	t.Run("OnLeaderChange reports the node's own leadership", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n, err := Open(oneVoterConfig(t, t.TempDir()), &kvSM{})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Stop()
			got := make(chan [2]uint64, 16)
			n.OnLeaderChange(func(leader, term uint64) { got <- [2]uint64{leader, term} })
			if err := n.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			timeout := time.After(10 * electionTimeout)
			for {
				select {
				case c := <-got:
					if c[0] != 1 {
						continue
					}
					if _, term := n.Leader(); c[1] != term || term == 0 {
						t.Fatalf("notified term %d, Leader() term %d", c[1], term)
					}
					return
				case <-timeout:
					t.Fatal("no notification that node 1 leads")
				}
			}
		})
	})

	t.Run("a second node on the same directory is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cfg := oneVoterConfig(t, t.TempDir())
			n, err := Open(cfg, &kvSM{})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Stop()
			if n2, err := Open(cfg, &kvSM{}); err == nil {
				n2.Stop()
				t.Fatal("second Open of one directory succeeded")
			}
		})
	})
}

func TestConfigValidate(t *testing.T) {
	ok := Config{NodeID: 1, Voters: []Voter{{ID: 1}}, Dir: "d"}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"node id 0 is refused", func(c *Config) { c.NodeID = 0 }},
		{"no voters is refused", func(c *Config) { c.Voters = nil }},
		{"a duplicate voter is refused", func(c *Config) { c.Voters = []Voter{{ID: 1}, {ID: 1}} }},
		{"a missing dir is refused", func(c *Config) { c.Dir = "" }},
		{"election ticks not above heartbeat ticks are refused", func(c *Config) { c.ElectionTicks, c.HeartbeatTicks = 2, 2 }},
		{"several voters without a transport are refused", func(c *Config) { c.Voters = []Voter{{ID: 1}, {ID: 2}} }},
		{"a learner without a transport is refused", func(c *Config) { c.NodeID = 2 }},
		{"an entry limit above 32 MiB is refused", func(c *Config) { c.MaxEntryBytes = 33 << 20 }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			if c.Validate() == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
		})
	}
}

// copyDir copies the regular files of dir into a new temporary directory.
func copyDir(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	names, err := readDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		in, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}
