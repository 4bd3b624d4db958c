package partition

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

// These tests drive one replica by hand, on broker 1 (self): the test plays
// the controller (setRole, alterDone), the followers (FetchForFollower) and
// the leader a follower copies from (AppendAsFollower and friends). Every
// log runs in page-cache mode unless a test says otherwise, so an append
// is durable when Append returns and the high watermark moves at once,
// without waiting for the flusher.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// self is the broker the replica under test lives on.
const self int32 = 1

// pageCache is the flush.messages that selects page-cache mode.
const pageCache = "1000000"

// replica is a Partition under test with the scaffolding Manager would
// otherwise provide.
type replica struct {
	*Partition
	t      *testing.T
	cutOff atomic.Bool
	start  time.Time // the time setRole is given: when each leadership began

	mu       sync.Mutex
	proposed [][]int32          // ISR changes the replica sent to the "controller", oldest first
	role     metadata.Partition // what the last setRole call named
}

// newReplica returns the replica of orders-0 on broker self, with an empty
// log and no role yet. overrides are topic configs on top of page-cache
// mode.
func newReplica(t *testing.T, overrides map[string]string) *replica {
	t.Helper()
	dir := t.TempDir()
	broker, _, err := config.FromMap(map[string]string{"node.id": fmt.Sprint(self), "log.dirs": dir})
	if err != nil {
		t.Fatal(err)
	}
	topicCfg := map[string]string{"flush.messages": pageCache}
	maps.Copy(topicCfg, overrides)
	tc, err := broker.ResolveTopic(topicCfg, config.Dynamic{})
	if err != nil {
		t.Fatal(err)
	}
	st := newSettings(tc, 0)

	r := &replica{t: t, start: time.Now()}
	topicID := metadata.NewUUID()
	r.Partition = newPartition("orders", 0, topicID, self, &r.cutOff, nil, slog.New(slog.DiscardHandler))
	r.alter = func(_ *Partition, isr []int32) {
		r.mu.Lock()
		r.proposed = append(r.proposed, slices.Clone(isr))
		r.mu.Unlock()
	}
	r.cfg.Store(st)

	d, err := storage.OpenDir(dir, storage.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	lc := st.log
	lc.OnDurable = r.onDurable
	l, err := d.OpenLog(storage.TopicPartition{Topic: "orders", Partition: 0}, topicID, lc)
	if err != nil {
		t.Fatal(err)
	}
	r.log = l
	return r
}

// setRole gives the replica the role a metadata image would: leader leads
// replicas under leaderEpoch with the ISR isr. Each call bumps the
// partition epoch, as every controller change does.
func (r *replica) setRole(leader, leaderEpoch int32, replicas, isr []int32) {
	r.t.Helper()
	r.mu.Lock()
	r.role = metadata.Partition{
		Topic: "orders", TopicID: r.TopicID, ID: 0,
		Replicas: replicas, ISR: isr, Leader: leader,
		LeaderEpoch: leaderEpoch, PartitionEpoch: r.role.PartitionEpoch + 1,
	}
	mp := r.role
	r.mu.Unlock()
	r.Partition.setRole(&mp, r.start)
}

// lead makes self the leader under leaderEpoch.
func (r *replica) lead(leaderEpoch int32, replicas, isr []int32) {
	r.setRole(self, leaderEpoch, replicas, isr)
}

// partitionEpoch is the partition epoch of the last setRole.
func (r *replica) partitionEpoch() int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.role.PartitionEpoch
}

// proposals returns the ISR changes proposed so far.
func (r *replica) proposals() [][]int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.proposed)
}

// isr returns the ISR the replica holds as committed.
func (r *replica) isr() []int32 {
	r.Partition.mu.Lock()
	defer r.Partition.mu.Unlock()
	return slices.Clone(r.Partition.isr)
}

// produce appends a batch of n records as leader with acks=1 and returns
// where it landed.
func (r *replica) produce(n int) AppendResult {
	r.t.Helper()
	res, aerr := r.Append(AppendParams{Records: records(r.t, n), Acks: 1, Now: time.Now().UnixMilli(), ProduceVersion: 9})
	if aerr != nil {
		r.t.Fatalf("Append: %v %s", aerr.Code, aerr.Message)
	}
	return res
}

// fetchAs fetches for follower id at offset under the current leader epoch
// and returns the high watermark the leader answers with.
func (r *replica) fetchAs(id int32, offset int64) int64 {
	r.t.Helper()
	res, kerrCode := r.FetchForFollower(id, 1, FetchParams{Offset: offset, MaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
	res.Release()
	if kerrCode != nil {
		r.t.Fatalf("FetchForFollower(%d, offset %d): %v", id, offset, kerrCode)
	}
	return res.HighWatermark
}

// records returns a batch of n keyed records as a producer sends it.
func records(t testing.TB, n int) []byte {
	t.Helper()
	b := record.NewBuilder(record.CodecNone)
	now := time.Now().UnixMilli()
	for i := range n {
		b.Add(now, fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "v%d", i), nil)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// leaderBatch returns a batch of n records as a leader's log holds it:
// starting at base, stamped with leaderEpoch.
func leaderBatch(t testing.TB, base int64, leaderEpoch int32, n int) []byte {
	t.Helper()
	b := record.NewBuilder(record.CodecNone)
	b.SetBaseOffset(base)
	b.SetPartitionLeaderEpoch(leaderEpoch)
	now := time.Now().UnixMilli()
	for i := range n {
		b.Add(now, fmt.Appendf(nil, "k%d", i), []byte("from the leader"), nil)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// headers returns the headers of the batches in [from, to) of l.
func headers(t testing.TB, l *storage.Log, from, to int64) []record.Header {
	t.Helper()
	var out []record.Header
	for from < to {
		b, err := l.ReadBytes(from, to, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		for len(b) > 0 {
			h, err := record.ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, h)
			b = b[h.Size():]
			from = h.NextOffset()
		}
	}
	return out
}

// result runs fn on its own goroutine, owned by the test, and returns a
// channel that receives its answer.
func result[T any](t *testing.T, fn func() T) <-chan T {
	ch := make(chan T, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ch <- fn()
	}()
	t.Cleanup(wg.Wait)
	return ch
}

// receive waits for what ch delivers, failing the test after a generous
// deadline.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no answer within 5s")
		panic("unreachable")
	}
}
