package quorum

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// cluster is an in-process quorum over a MemNetwork. Tests that use it run
// inside testing/synctest, so its clock, and every election timeout, is fake.
type cluster struct {
	t      testing.TB
	net    *MemNetwork
	newTr  func(id uint64) Transport // nil: the MemNetwork
	voters []Voter
	dirs   map[uint64]string
	nodes  map[uint64]*Node // running nodes
	sms    map[uint64]*kvSM
	tweak  func(*Config)
}

func newCluster(t testing.TB, size int, tweak func(*Config)) *cluster {
	var voters []Voter
	for id := uint64(1); id <= uint64(size); id++ {
		voters = append(voters, Voter{ID: id, Addr: fmt.Sprintf("node-%d", id)})
	}
	return startCluster(t, voters, nil, tweak)
}

// startCluster starts a node per voter, each with a transport from newTr
// (nil: a shared MemNetwork).
func startCluster(t testing.TB, voters []Voter, newTr func(uint64) Transport, tweak func(*Config)) *cluster {
	c := &cluster{t: t, net: NewMemNetwork(), newTr: newTr, voters: voters, dirs: map[uint64]string{},
		nodes: map[uint64]*Node{}, sms: map[uint64]*kvSM{}, tweak: tweak}
	t.Cleanup(c.stopAll)
	for _, v := range c.voters {
		c.start(v.ID)
	}
	return c
}

func (c *cluster) config(id uint64) Config {
	if c.dirs[id] == "" {
		c.dirs[id] = c.t.TempDir()
	}
	var tr Transport
	if c.newTr != nil {
		tr = c.newTr(id)
	} else {
		tr = c.net.Transport(id)
	}
	cfg := Config{NodeID: id, Voters: c.voters, Dir: c.dirs[id], Transport: tr, Logger: testLogger(c.t)}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	return cfg
}

// start opens and starts node id with a fresh state machine, on the same
// directory as before if it ran earlier.
func (c *cluster) start(id uint64) {
	c.t.Helper()
	sm := &kvSM{}
	n, err := Open(c.config(id), sm)
	if err != nil {
		c.t.Fatalf("Open node %d: %v", id, err)
	}
	if err := n.Start(c.t.Context()); err != nil {
		n.Stop()
		c.t.Fatalf("Start node %d: %v", id, err)
	}
	c.nodes[id], c.sms[id] = n, sm
}

func (c *cluster) stop(id uint64) {
	c.nodes[id].Stop()
	delete(c.nodes, id)
}

func (c *cluster) stopAll() {
	for id := range c.nodes {
		c.stop(id)
	}
}

func (c *cluster) running() []uint64 {
	return slices.Sorted(maps.Keys(c.nodes))
}

const electionTimeout = defaultElectionTicks * defaultTickInterval

// waitLeader waits until one of the given nodes (default: all running) leads
// and all of them agree on it, and returns its id.
func (c *cluster) waitLeader(among ...uint64) uint64 {
	c.t.Helper()
	if len(among) == 0 {
		among = c.running()
	}
	var lead uint64
	eventually(c.t, 10*electionTimeout, fmt.Sprintf("a leader agreed by nodes %v", among), func() bool {
		lead, _ = c.nodes[among[0]].Leader()
		if !slices.Contains(among, lead) || c.nodes[lead].Status().Role != RoleLeader {
			return false
		}
		for _, id := range among {
			if l, _ := c.nodes[id].Leader(); l != lead {
				return false
			}
		}
		return true
	})
	return lead
}

// waitValues waits until node id's state machine holds exactly want.
func (c *cluster) waitValues(id uint64, want []string) {
	c.t.Helper()
	eventually(c.t, 20*electionTimeout, fmt.Sprintf("node %d to apply %d values", id, len(want)), func() bool {
		return slices.Equal(c.sms[id].values(), want)
	})
}

func (c *cluster) others(id uint64) []uint64 {
	return slices.DeleteFunc(c.running(), func(x uint64) bool { return x == id })
}

func TestThreeVoters(t *testing.T) {
	t.Run("they elect a leader that replicates proposals to all", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			lead := c.waitLeader()
			want := values("x", 3)
			proposeAll(t, c.nodes[lead], want)
			for _, id := range c.running() {
				c.waitValues(id, want)
			}
		})
	})

	t.Run("a follower's Barrier returns after it applied what the leader committed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			lead := c.waitLeader()
			f := c.others(lead)[0]
			c.net.Cut(lead, f) // the follower lags until the barrier's own traffic
			idx := proposeAll(t, c.nodes[lead], values("b", 3))
			c.net.Heal()
			if err := c.nodes[f].Barrier(t.Context()); err != nil {
				t.Fatalf("Barrier on follower %d: %v", f, err)
			}
			if got := c.nodes[f].AppliedIndex(); got < idx[len(idx)-1] {
				t.Fatalf("follower applied %d after Barrier, want ≥ %d", got, idx[len(idx)-1])
			}
		})
	})

	t.Run("the leader's status shows every voter's log end and contact", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			lead := c.waitLeader()
			idx := proposeAll(t, c.nodes[lead], []string{"s"})[0]
			eventually(t, 5*electionTimeout, "every voter's log end to reach the proposal", func() bool {
				st := c.nodes[lead].Status()
				if st.HighWatermark < idx || len(st.Voters) != 3 {
					return false
				}
				for _, v := range st.Voters {
					if v.LogEnd < idx || v.LastContact.IsZero() || v.LastCaughtUp.IsZero() {
						return false
					}
				}
				return true
			})
		})
	})

	t.Run("a follower refuses proposals and names the leader", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			lead := c.waitLeader()
			f := c.others(lead)[0]
			_, err := c.nodes[f].Propose(t.Context(), []byte("y"))
			var nle *NotLeaderError
			if !errors.As(err, &nle) || !errors.Is(err, ErrNotLeader) || nle.Leader != lead {
				t.Fatalf("Propose on follower %d: %v, want NotLeaderError naming %d", f, err, lead)
			}
		})
	})

	t.Run("a new leader takes over within a few election timeouts after the leader stops", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			old := c.waitLeader()
			proposeAll(t, c.nodes[old], []string{"before"})
			c.stop(old)
			stopped := time.Now()
			lead := c.waitLeader()
			if took := time.Since(stopped); took > 4*electionTimeout {
				t.Fatalf("new leader after %v, want within 4 election timeouts", took)
			}
			proposeAll(t, c.nodes[lead], []string{"after"})
			for _, id := range c.running() {
				c.waitValues(id, []string{"before", "after"})
			}
		})
	})

	t.Run("a partitioned leader cannot commit, fails what it holds, and healing catches it up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			old := c.waitLeader()
			proposeAll(t, c.nodes[old], []string{"a"})
			c.net.Isolate(old)
			lost := make(chan error, 1)
			go func() {
				_, err := c.nodes[old].Propose(t.Context(), []byte("lost"))
				lost <- err
			}()
			lead := c.waitLeader(c.others(old)...)
			proposeAll(t, c.nodes[lead], []string{"b"})
			eventually(t, 5*electionTimeout, "the isolated leader to step down (check quorum)", func() bool {
				return c.nodes[old].Status().Role != RoleLeader
			})
			// Stepping down settles what it held: nobody waits on a quorum
			// that may never come back.
			select {
			case err := <-lost:
				if !errors.Is(err, ErrOutcomeUnknown) {
					t.Fatalf("the deposed leader's proposal returned %v, want ErrOutcomeUnknown", err)
				}
			case <-time.After(electionTimeout):
				t.Fatal("the deposed leader's proposal is still pending after it stepped down")
			}
			for _, id := range c.running() {
				if c.sms[id].has("lost") {
					t.Fatalf("node %d applied an entry the isolated leader could not commit", id)
				}
			}
			c.net.Heal()
			for _, id := range c.running() {
				c.waitValues(id, []string{"a", "b"})
			}
		})
	})

	t.Run("a follower far behind catches up from a snapshot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.SnapshotEntries = 10 })
			lead := c.waitLeader()
			lag := c.others(lead)[0]
			c.net.Isolate(lag)
			want := values("s", 40)
			proposeAll(t, c.nodes[lead], want)
			if st := c.nodes[lead].Status(); st.SnapshotIndex <= c.nodes[lag].AppliedIndex() {
				t.Fatalf("leader snapshot at %d has not passed the lagging node's %d", st.SnapshotIndex, c.nodes[lag].AppliedIndex())
			}
			c.net.Heal()
			c.waitValues(lag, want)
			if c.sms[lag].restoreCount() == 0 {
				t.Fatal("the lagging node caught up without installing a snapshot")
			}
		})
	})

	t.Run("restarting every node keeps every committed entry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.SnapshotEntries = 8 })
			want := values("p", 20)
			proposeAll(t, c.nodes[c.waitLeader()], want)
			for _, id := range c.running() {
				c.waitValues(id, want)
			}
			c.stopAll()
			for _, v := range c.voters {
				c.start(v.ID)
			}
			for _, id := range c.running() {
				c.waitValues(id, want)
			}
			proposeAll(t, c.nodes[c.waitLeader()], []string{"after"})
			for _, id := range c.running() {
				c.waitValues(id, append(slices.Clone(want), "after"))
			}
		})
	})

	t.Run("acknowledged entries survive message loss in the same order everywhere", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			rng := rand.New(rand.NewPCG(1, 2))
			c.net.SetDrop(func(*pb.Message) bool { return rng.IntN(5) == 0 })
			var acked []string
			for _, v := range values("l", 30) {
				ctx, cancel := context.WithTimeout(t.Context(), 20*electionTimeout)
				for {
					_, err := c.nodes[c.waitLeader()].Propose(ctx, []byte(v))
					if err == nil {
						acked = append(acked, v)
						break
					}
					if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrProposalDropped) {
						t.Fatalf("Propose(%s): %v", v, err)
					}
				}
				cancel()
			}
			c.net.Heal()
			for _, id := range c.running() {
				c.waitValues(id, acked)
			}
		})
	})
}

func TestFiveVoters(t *testing.T) {
	t.Run("two failures are tolerated, three are not", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newCluster(t, 5, nil)
			lead := c.waitLeader()
			for _, id := range c.others(lead)[:2] {
				c.stop(id)
			}
			proposeAll(t, c.nodes[lead], []string{"three of five"})
			c.stop(c.others(lead)[0])
			ctx, cancel := context.WithTimeout(t.Context(), 5*electionTimeout)
			defer cancel()
			if _, err := c.nodes[lead].Propose(ctx, []byte("two of five")); err == nil {
				t.Fatal("a proposal committed with two of five voters running")
			}
			for _, id := range c.running() {
				if c.sms[id].has("two of five") {
					t.Fatalf("node %d applied an entry without a quorum", id)
				}
			}
		})
	})
}

func TestLearner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, nil)
		const learner = 4
		c.start(learner)
		lead := c.waitLeader(1, 2, 3)
		proposeAll(t, c.nodes[lead], []string{"before"})
		if err := c.nodes[lead].AddLearner(t.Context(), learner, "node-4"); err != nil {
			t.Fatalf("AddLearner: %v", err)
		}
		proposeAll(t, c.nodes[lead], []string{"after"})
		c.waitValues(learner, []string{"before", "after"})

		st := c.nodes[lead].Status()
		if len(st.Learners) != 1 || st.Learners[0].ID != learner || st.Learners[0].Addr != "node-4" || st.Learners[0].LogEnd == 0 {
			t.Fatalf("leader status learners %+v, want node 4 at node-4 with a log end", st.Learners)
		}
		if len(st.Voters) != 3 {
			t.Fatalf("leader status voters %+v, want 3", st.Voters)
		}
		_, err := c.nodes[learner].Propose(t.Context(), []byte("x"))
		var nle *NotLeaderError
		if !errors.As(err, &nle) || nle.Leader != lead {
			t.Fatalf("Propose on the learner: %v, want NotLeaderError naming %d", err, lead)
		}

		// The learner never leads: without the old leader the two voters
		// elect one of themselves, and the learner follows it.
		c.stop(lead)
		next := c.waitLeader()
		if next == learner {
			t.Fatal("the learner became leader")
		}
		proposeAll(t, c.nodes[next], []string{"later"})
		c.waitValues(learner, []string{"before", "after", "later"})
	})
}
