package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fsyncLatency is what one fsync costs on the machine this was tuned on.
const fsyncLatency = 500 * time.Microsecond

// benchCluster is a coordinator leading every partition of
// __consumer_offsets, each on an in-memory log whose appends wait for a
// simulated fsync of one shared disk (group commit across partitions).
type benchCluster struct {
	c      *Coordinator
	disk   *fakeDisk
	logs   []*memLog
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBenchCluster(b *testing.B, partitions int32, precise bool) *benchCluster {
	ctx, cancel := context.WithCancel(context.Background())
	bc := &benchCluster{cancel: cancel}
	disk := newFakeDisk(fsyncLatency)
	disk.precise = precise
	bc.disk = disk
	bc.wg.Go(func() { disk.run(ctx) })
	bc.c = testCoordinator(nil, func(cfg *Config) { cfg.Group.OffsetsTopicPartitions = partitions })
	for p := range partitions {
		l := &memLog{disk: disk}
		bc.logs = append(bc.logs, l)
		bc.c.Load(p, l)
	}
	eventually(b, func() bool { return isLoaded(bc.c) })
	return bc
}

func (bc *benchCluster) close() {
	bc.c.Stop()
	bc.cancel()
	bc.wg.Wait()
}

func (bc *benchCluster) appends() int {
	n := 0
	for _, l := range bc.logs {
		l.mu.Lock()
		n += l.appendOK
		l.mu.Unlock()
	}
	return n
}

// BenchmarkOffsetCommit measures durable OffsetCommit requests per second:
// 64 committers over 1,000 groups, each request answered only once its
// records are through the simulated fsync.
func BenchmarkOffsetCommit(b *testing.B) {
	for _, disk := range []struct {
		name    string
		precise bool
	}{
		{"fsync-0.5ms", true},        // the disk of the target machine
		{"fsync-timer-1.1ms", false}, // runtime timers: a slower disk
	} {
		for _, bc := range []struct {
			name       string
			partitions int32
			perCommit  int
		}{
			{"50-logs/1-partition", 50, 1},
			{"50-logs/10-partitions", 50, 10},
			{"1-log/1-partition", 1, 1},
		} {
			b.Run(disk.name+"/"+bc.name, func(b *testing.B) {
				benchmarkOffsetCommit(b, newBenchCluster(b, bc.partitions, disk.precise), bc.perCommit)
			})
		}
	}
}

func benchmarkOffsetCommit(b *testing.B, cl *benchCluster, perCommit int) {
	defer cl.close()
	offsets := make([]int64, perCommit)
	for i := range offsets {
		offsets[i] = int64(i)
	}
	var next atomic.Int64
	b.SetParallelism(64 / max(1, testingProcs()))
	b.ReportAllocs()
	start, before, fsyncs := time.Now(), cl.appends(), cl.disk.fsyncs.Load()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := next.Add(1)
			req := commitReq(fmt.Sprintf("group-%d", i%1000), "", -1, "topic", offsets...)
			for _, code := range commitCodes(cl.c.OffsetCommit(ctx, req)) {
				if code != 0 {
					b.Fatalf("commit: %v", kerr.ErrorForCode(code))
				}
			}
		}
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
	if n := cl.appends() - before; n > 0 {
		b.ReportMetric(float64(b.N)/float64(n), "commits/append")
	}
	if n := cl.disk.fsyncs.Load() - fsyncs; n > 0 {
		b.ReportMetric(float64(elapsed.Microseconds())/float64(n), "µs/fsync")
	}
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }

// simMember is a consumer in-process: it joins, syncs (assigning, when it
// leads), heartbeats every hb, rejoins when told to, and leaves on stop.
type simMember struct {
	c      *Coordinator
	group  string
	hb     time.Duration
	stop   chan struct{}
	stable chan<- int32 // the generation, after each successful SyncGroup
}

func (m *simMember) run() {
	ctx := context.Background()
	id := ""
	for {
		req := joinReq(m.group, id, 9)
		req.Protocols[0].Metadata = subMeta("topic")
		j := m.c.JoinGroup(ctx, req, Client{ID: "sim"})
		switch j.ErrorCode {
		case 0:
		case kerr.MemberIDRequired.Code:
			id = j.MemberID
			continue
		case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code:
			return
		default:
			id = ""
			continue
		}
		id = j.MemberID
		s := kmsg.NewPtrSyncGroupRequest()
		s.Version, s.Group, s.MemberID, s.Generation = 5, m.group, id, j.Generation
		if j.LeaderID == id {
			s.GroupAssignment = rangeAssign(j.Members, "topic", 200)
		}
		if r := m.c.SyncGroup(ctx, s, Client{}); r.ErrorCode != 0 {
			continue
		}
		m.stable <- j.Generation
		if !m.heartbeat(ctx, id, j.Generation) {
			leave := kmsg.NewPtrLeaveGroupRequest()
			leave.Version, leave.Group = 5, m.group
			leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: id}}
			m.c.LeaveGroup(ctx, leave)
			return
		}
	}
}

// heartbeat heartbeats until the member must rejoin (true) or stop (false).
func (m *simMember) heartbeat(ctx context.Context, id string, gen int32) bool {
	t := time.NewTicker(m.hb)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return false
		case <-t.C:
		}
		r := kmsg.NewPtrHeartbeatRequest()
		r.Version, r.Group, r.MemberID, r.Generation = 4, m.group, id, gen
		if m.c.Heartbeat(ctx, r).ErrorCode != 0 {
			return true
		}
	}
}

// rangeAssign spreads n partitions of topic over the members, as the range
// assignor does, in the consumer protocol's assignment format.
func rangeAssign(members []kmsg.JoinGroupResponseMember, topic string, n int) []kmsg.SyncGroupRequestGroupAssignment {
	out := make([]kmsg.SyncGroupRequestGroupAssignment, len(members))
	for i, m := range members {
		var parts []int32
		for p := i; p < n; p += len(members) {
			parts = append(parts, int32(p))
		}
		b := binary.BigEndian.AppendUint16(nil, 0)
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(topic)))
		b = append(b, topic...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(parts)))
		for _, p := range parts {
			b = binary.BigEndian.AppendUint32(b, uint32(p))
		}
		b = binary.BigEndian.AppendUint32(b, 0xffffffff)
		out[i] = kmsg.SyncGroupRequestGroupAssignment{MemberID: m.MemberID, MemberAssignment: b}
	}
	return out
}

// BenchmarkRebalanceAfterLeave measures how long a 50-member group over
// 200 partitions takes to be Stable again after one member leaves: the
// others learn of the rebalance from their next heartbeat (every 3 ms
// here; Kafka's default is 3 s, which would dominate), rejoin, the leader
// assigns, and the new generation is durable.
func BenchmarkRebalanceAfterLeave(b *testing.B) {
	const members, hb = 50, 3 * time.Millisecond
	cl := newBenchCluster(b, 1, true)
	defer cl.close()
	stable := make(chan int32, 4*members)
	var wg sync.WaitGroup
	defer wg.Wait()
	var running []*simMember
	start := func() {
		m := &simMember{c: cl.c, group: "g", hb: hb, stop: make(chan struct{}), stable: stable}
		running = append(running, m)
		wg.Go(m.run)
	}
	// awaitStable waits until n members report the same new generation.
	awaitStable := func(n int, after int32) int32 {
		count := map[int32]int{}
		for {
			g := <-stable
			if g <= after {
				continue
			}
			if count[g]++; count[g] == n {
				return g
			}
		}
	}
	for range members {
		start()
	}
	gen := awaitStable(members, 0)
	b.ResetTimer()
	for range b.N {
		leaving := running[0]
		running = running[1:]
		close(leaving.stop)
		gen = awaitStable(members-1, gen)
		b.StopTimer()
		start()
		gen = awaitStable(members, gen)
		b.StartTimer()
	}
	b.StopTimer()
	for _, m := range running {
		close(m.stop)
	}
	go func() { // members still reporting must not block
		for range stable {
		}
	}()
	wg.Wait()
	close(stable)
}
