package replication

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

// These tests drive two replicas of one partition through leadership
// changes by hand: each is a real partition.Manager on its own directory,
// both following one in-memory metadata log, and "fetching" is the leader's
// FetchForFollower answer handed to the follower's fetcher logic (apply),
// so what is tested is exactly what crosses the wire, without the network.

type replicaPair struct {
	t      *testing.T
	meta   *metadata.Loader
	next   uint64 // next metadata offset
	topic  metadata.UUID
	mgrs   map[int32]*partition.Manager
	fetch  *fetcher
	logger *slog.Logger
}

func newReplicaPair(t *testing.T) *replicaPair {
	t.Helper()
	rp := &replicaPair{t: t, meta: metadata.NewLoader(slog.New(slog.DiscardHandler)), next: 1,
		topic: metadata.NewUUID(), mgrs: map[int32]*partition.Manager{}, logger: slog.New(slog.DiscardHandler)}
	for _, id := range []int32{1, 2} {
		dir := t.TempDir()
		cfg, _, err := config.FromMap(map[string]string{"node.id": fmt.Sprint(id), "log.dirs": dir, "min.insync.replicas": "1"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := storage.OpenDir(dir, storage.DirOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := partition.NewManager(partition.ManagerConfig{NodeID: id, Broker: cfg, Dirs: []*storage.Dir{d}, Logger: rp.logger})
		if err != nil {
			t.Fatal(err)
		}
		rp.meta.Subscribe(m.Apply)
		m.Start(rp.meta.Image)
		rp.mgrs[id] = m
		t.Cleanup(func() { m.Close() })
	}
	cfg, _, _ := config.FromMap(map[string]string{"node.id": "2"})
	rp.fetch = &fetcher{m: &Manager{cfg: Config{Broker: cfg}, log: rp.logger}, log: rp.logger}
	rp.apply(metadata.TopicRecord{Name: "t", ID: rp.topic},
		metadata.PartitionRecord{TopicID: rp.topic, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1})
	return rp
}

func (rp *replicaPair) apply(recs ...metadata.Record) {
	rp.meta.Apply([]uint64{rp.next}, [][]byte{metadata.Encode(recs)})
	rp.next++
}

// lead makes id the leader (bumping the leader epoch), with an ISR of
// itself alone so it can append without waiting for the other.
func (rp *replicaPair) lead(id int32) {
	rp.apply(metadata.PartitionChangeRecord{TopicID: rp.topic, Partition: 0, Leader: id, ISR: []int32{id}})
}

func (rp *replicaPair) part(id int32) *partition.Partition {
	p, err := rp.mgrs[id].Lookup(rp.meta.Image(), "t", 0)
	if err != nil {
		rp.t.Fatal(err)
	}
	return p
}

// produce appends n one-record batches with values prefix-0... to id, which
// must lead.
func (rp *replicaPair) produce(id int32, prefix string, n int) {
	rp.t.Helper()
	p := rp.part(id)
	for i := range n {
		batch := oneRecord(fmt.Sprintf("%s-%d", prefix, i))
		if _, err := p.Append(partition.AppendParams{Records: batch, Acks: 1, Now: time.Now().UnixMilli(), ProduceVersion: 9}); err != nil {
			rp.t.Fatalf("append to %d: %v", id, err.Code)
		}
	}
	// Committed (the ISR is the leader alone): the high watermark covers it.
	if err := p.WaitAcked(context.Background(), p.Log().LogEndOffset(), p.LeaderEpoch(), -1); err != nil {
		rp.t.Fatal(err)
	}
}

// sync replicates from leader to follower until the follower's log stops
// changing, returning how many rounds that took.
func (rp *replicaPair) sync(leader, follower int32) int {
	rp.t.Helper()
	lp, fp := rp.part(leader), rp.part(follower)
	epoch := fp.Role().LeaderEpoch
	for round := 1; round <= 10; round++ {
		l := fp.Log()
		it := item{p: fp, epoch: epoch, start: l.LogEndOffset()}
		res, kerrCode := lp.FetchForFollower(follower, 1, partition.FetchParams{
			Offset: it.start, MaxBytes: 1 << 20, MinOneBatch: true,
			CurrentLeaderEpoch: epoch, LastFetchedEpoch: l.LatestEpoch(),
		})
		resp := kmsg.NewFetchResponseTopicPartition()
		resp.HighWatermark, resp.LogStartOffset = res.HighWatermark, res.LogStartOffset
		if kerrCode != nil {
			resp.ErrorCode = kerrCode.Code
		}
		if res.Diverging {
			resp.DivergingEpoch.Epoch, resp.DivergingEpoch.EndOffset = res.DivergingEpoch, res.DivergingEndOffset
		}
		if res.Records.Size > 0 {
			resp.RecordBatches = make([]byte, res.Records.Size)
			if _, err := res.Records.File.ReadAt(resp.RecordBatches, res.Records.Pos); err != nil {
				rp.t.Fatal(err)
			}
		}
		res.Release()
		before := l.LogEndOffset()
		if err := rp.fetch.apply(it, &resp); err != nil {
			rp.t.Fatalf("round %d: %v", round, err)
		}
		if l.LogEndOffset() == before && !res.Diverging && res.Records.Size == 0 {
			return round
		}
	}
	rp.t.Fatal("replication did not settle in 10 rounds")
	return 0
}

// oneRecord builds a batch of one uncompressed record, as a client sends it.
func oneRecord(value string) []byte {
	b := record.NewBuilder(record.CodecNone)
	b.Add(time.Now().UnixMilli(), nil, []byte(value), nil)
	batch, err := b.Build(nil)
	if err != nil {
		panic(err)
	}
	return batch
}

// values reads every record value of id's log.
func (rp *replicaPair) values(id int32) []string {
	rp.t.Helper()
	l := rp.part(id).Log()
	data, err := l.ReadBytes(l.LogStartOffset(), l.LogEndOffset(), 1<<30)
	if err != nil {
		rp.t.Fatal(err)
	}
	var out []string
	for len(data) > 0 {
		size, err := record.BatchSize(data)
		if err != nil {
			rp.t.Fatal(err)
		}
		h, err := record.ParseHeader(data)
		if err != nil {
			rp.t.Fatal(err)
		}
		it := record.NewIter(data[record.HeaderSize:size], h.NumRecords)
		var r record.Record
		for it.Next(&r) {
			out = append(out, string(r.Value))
		}
		if err := it.Err(); err != nil {
			rp.t.Fatal(err)
		}
		data = data[size:]
	}
	return out
}

func TestFollowerCopiesTheLeader(t *testing.T) {
	rp := newReplicaPair(t)
	rp.produce(1, "a", 5)
	rp.sync(1, 2)
	if got, want := rp.values(2), rp.values(1); !slices.Equal(got, want) {
		t.Fatalf("follower has %q, leader %q", got, want)
	}
	if hw := rp.part(2).HighWatermark(); hw != 5 {
		t.Errorf("follower high watermark %d, want 5 (the leader's)", hw)
	}
}

// The old leader wrote records nobody else got (it never committed them);
// a new leader wrote others at the same offsets. Following the new leader,
// the old one must drop its tail and take the new leader's records, even
// though it has as many records as the leader: truncation goes by leader
// epochs, never by offsets or the high watermark alone.
func TestFollowerTruncatesADivergentTail(t *testing.T) {
	rp := newReplicaPair(t)
	rp.produce(1, "a", 3)
	rp.sync(1, 2) // both hold a-0..a-2
	rp.produce(1, "lost", 4)
	rp.lead(2) // 2 leads without the lost records
	rp.produce(2, "b", 4)
	rounds := rp.sync(2, 1)
	want := []string{"a-0", "a-1", "a-2", "b-0", "b-1", "b-2", "b-3"}
	if got := rp.values(1); !slices.Equal(got, want) {
		t.Fatalf("old leader has %q after following, want %q", got, want)
	}
	if got := rp.values(2); !slices.Equal(got, want) {
		t.Fatalf("new leader has %q, want %q", got, want)
	}
	if rounds < 2 {
		t.Errorf("settled in %d round(s): no diverging epoch was exchanged", rounds)
	}
	// The epoch history agrees too: the same epoch ends at the same offset.
	for _, e := range []int32{0, 1} {
		e1, end1 := rp.part(1).Log().EndOffsetForEpoch(e)
		e2, end2 := rp.part(2).Log().EndOffsetForEpoch(e)
		if e1 != e2 || end1 != end2 {
			t.Errorf("epoch %d: old leader says (%d, %d), new leader (%d, %d)", e, e1, end1, e2, end2)
		}
	}
}

// Several leaderships back: the follower's last epoch is one the leader
// never saw, so it must step back epoch by epoch.
func TestFollowerStepsBackThroughUnknownEpochs(t *testing.T) {
	rp := newReplicaPair(t)
	rp.produce(1, "a", 2)
	rp.sync(1, 2)
	rp.lead(1) // epoch 1, only on replica 1
	rp.produce(1, "x", 2)
	rp.lead(1) // epoch 2, only on replica 1
	rp.produce(1, "y", 2)
	rp.lead(2) // epoch 3: replica 2 never saw epochs 1 and 2
	rp.produce(2, "b", 1)
	rp.sync(2, 1)
	want := []string{"a-0", "a-1", "b-0"}
	if got := rp.values(1); !slices.Equal(got, want) {
		t.Fatalf("old leader has %q, want %q", got, want)
	}
}

// A follower whose log ends before the leader's log start (retention or
// DeleteRecords removed what it lacks) starts over at the leader's start.
func TestFollowerBehindLogStartStartsOver(t *testing.T) {
	rp := newReplicaPair(t)
	rp.produce(1, "a", 6)
	if _, err := rp.part(1).DeleteRecords(4); err != nil {
		t.Fatal(err)
	}
	rp.sync(1, 2)
	l := rp.part(2).Log()
	if l.LogStartOffset() != 4 || l.LogEndOffset() != 6 {
		t.Fatalf("follower log [%d, %d), want [4, 6)", l.LogStartOffset(), l.LogEndOffset())
	}
	if got := rp.values(2); !slices.Equal(got, []string{"a-4", "a-5"}) {
		t.Fatalf("follower has %q", got)
	}
}

// Nothing fetched under an old leadership may land once the replica leads.
func TestFollowerWritesAreRefusedAfterARoleChange(t *testing.T) {
	rp := newReplicaPair(t)
	rp.produce(1, "a", 1)
	p := rp.part(2)
	old := p.Role().LeaderEpoch
	rp.lead(2)
	batch := oneRecord("stale")
	if err := p.AppendAsFollower(old, batch); err != partition.ErrNotFollowing {
		t.Fatalf("append under the old epoch: %v, want ErrNotFollowing", err)
	}
	if err := p.TruncateTo(old, 0); err != partition.ErrNotFollowing {
		t.Fatalf("truncate under the old epoch: %v, want ErrNotFollowing", err)
	}
}

// A fetch from beyond the leader's log with no epoch to compare gets
// OFFSET_OUT_OF_RANGE, and the follower cuts back to the leader's high
// watermark instead of keeping records the leader does not have.
func TestFollowerAheadOfLeaderWithoutEpochs(t *testing.T) {
	rp := newReplicaPair(t)
	lp := rp.part(1)
	res, err := lp.FetchForFollower(2, 1, partition.FetchParams{Offset: 10, MaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
	res.Release()
	if err != kerr.OffsetOutOfRange {
		t.Fatalf("fetch beyond the end: %v, want OFFSET_OUT_OF_RANGE", err)
	}
}
