package quorum

import (
	"testing"
	"time"
)

// Benchmarks of Propose: latency is ns/op of the sequential case (one
// proposal in flight, so one fsync each); throughput is entries/s with 64
// proposers per CPU, where one fsync covers every proposal queued meanwhile.
// They use real time and real files in the test's temp dir, so the numbers
// are those of that file system.

var benchPayload = make([]byte, 100)

func benchOneVoter(b *testing.B) *Node {
	cfg := oneVoterConfig(b, b.TempDir())
	n, err := Open(cfg, &kvSM{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(n.Stop)
	if err := n.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	eventually(b, 10*time.Second, "node 1 to lead", func() bool { id, _ := n.Leader(); return id == 1 })
	return n
}

func benchThreeVoters(b *testing.B) *Node {
	c := newCluster(b, 3, func(cfg *Config) { cfg.TickInterval = 10 * time.Millisecond })
	return c.nodes[c.waitLeader()]
}

func runPropose(b *testing.B, n *Node, parallel bool) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	start := time.Now()
	if parallel {
		b.SetParallelism(64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := n.Propose(b.Context(), benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if _, err := n.Propose(b.Context(), benchPayload); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

func BenchmarkProposeOneVoter(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { runPropose(b, benchOneVoter(b), false) })
	b.Run("parallel", func(b *testing.B) { runPropose(b, benchOneVoter(b), true) })
}

func BenchmarkProposeThreeVoters(b *testing.B) {
	b.Run("sequential", func(b *testing.B) { runPropose(b, benchThreeVoters(b), false) })
	b.Run("parallel", func(b *testing.B) { runPropose(b, benchThreeVoters(b), true) })
}
