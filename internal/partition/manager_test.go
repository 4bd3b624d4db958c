package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/storage"
)

// node is a Manager on broker self that follows an in-memory metadata
// log, where the test plays the controller. Its topic "orders" has
// partition 0 on brokers 1 and 2, led by 1 with the ISR [1], and
// partition 1 on brokers 2 and 3, led by 2.
type node struct {
	t      *testing.T
	dir    string
	broker *config.Broker
	meta   *metadata.Loader
	next   uint64 // the next metadata offset
	topic  metadata.UUID
	m      *Manager

	mu    sync.Mutex
	roles []Role // what OnRole was told for partition 0, oldest first
	now   time.Time
}

// newNode starts a node; setup, when set, adjusts the manager's
// configuration first.
func newNode(t *testing.T, setup func(*ManagerConfig)) *node {
	t.Helper()
	n := &node{t: t, dir: t.TempDir(), meta: metadata.NewLoader(slog.New(slog.DiscardHandler)),
		next: 1, topic: metadata.NewUUID(), now: time.Now()}
	n.broker = brokerConfig(t, n.dir)
	n.m = n.open(setup)
	n.meta.Subscribe(n.m.Apply)
	n.m.Start(n.meta.Image)
	n.apply(metadata.TopicRecord{Name: "orders", ID: n.topic},
		metadata.PartitionRecord{TopicID: n.topic, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1},
		metadata.PartitionRecord{TopicID: n.topic, Partition: 1, Replicas: []int32{2, 3}, ISR: []int32{2, 3}, Leader: 2})
	return n
}

// brokerConfig is broker self's configuration with its log in dir.
func brokerConfig(t *testing.T, dir string) *config.Broker {
	t.Helper()
	b, _, err := config.FromMap(map[string]string{
		"node.id": fmt.Sprint(self), "log.dirs": dir,
		"log.flush.interval.messages": pageCache, // an append is durable at once
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// open returns a manager over the node's directory, closed at the end of
// the test.
func (n *node) open(setup func(*ManagerConfig)) *Manager {
	n.t.Helper()
	d, err := storage.OpenDir(n.dir, storage.DirOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	cfg := ManagerConfig{
		NodeID: self, Broker: n.broker, Dirs: []*storage.Dir{d}, Logger: slog.New(slog.DiscardHandler),
		Now: n.clock,
		OnRole: func(p *Partition, r Role) {
			if p.ID == 0 {
				n.mu.Lock()
				n.roles = append(n.roles, r)
				n.mu.Unlock()
			}
		},
	}
	if setup != nil {
		setup(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() {
		if err := m.Close(); err != nil {
			n.t.Error(err)
		}
	})
	return m
}

// clock is the manager's clock, which the test moves.
func (n *node) clock() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.now
}

func (n *node) advance(d time.Duration) {
	n.mu.Lock()
	n.now = n.now.Add(d)
	n.mu.Unlock()
}

// apply commits one metadata entry.
func (n *node) apply(recs ...metadata.Record) {
	n.meta.Apply([]uint64{n.next}, [][]byte{metadata.Encode(recs)})
	n.next++
}

// change commits a change of partition 0.
func (n *node) change(c metadata.PartitionChangeRecord) {
	c.TopicID, c.Partition = n.topic, 0
	if c.Leader == 0 {
		c.Leader = metadata.NoChange
	}
	n.apply(c)
}

// part returns the node's replica of orders-part.
func (n *node) part(part int32) *Partition {
	n.t.Helper()
	p, err := n.m.Lookup(n.meta.Image(), "orders", part)
	if err != nil {
		n.t.Fatalf("Lookup(orders, %d): %v", part, err)
	}
	return p
}

func (n *node) lastRole() Role {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.roles) == 0 {
		n.t.Fatal("OnRole was never called")
	}
	return n.roles[len(n.roles)-1]
}

func (n *node) numRoles() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.roles)
}

// run runs the manager's periodic work until the test ends.
func (n *node) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.m.Run(ctx)
	}()
	n.t.Cleanup(func() { cancel(); <-done })
}

// isrOf returns the ISR a replica holds as committed.
func isrOf(p *Partition) []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.isr)
}

// pending returns the ISR change a replica waits on the controller for.
func pending(p *Partition) []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.pendingISR)
}

func produceTo(t *testing.T, p *Partition, acks int16, n int) (AppendResult, *AppendError) {
	t.Helper()
	return p.Append(AppendParams{Records: records(t, n), Acks: acks, Now: time.Now().UnixMilli(), ProduceVersion: 9})
}

func TestManagerLookup(t *testing.T) {
	n := newNode(t, nil)
	img := n.meta.Image()
	for _, tc := range []struct {
		name   string
		lookup func() (*Partition, *kerr.Error)
		want   *kerr.Error
	}{
		{"finds a replica hosted here", func() (*Partition, *kerr.Error) { return n.m.Lookup(img, "orders", 0) }, nil},
		{"finds it by topic id", func() (*Partition, *kerr.Error) { return n.m.LookupID(img, n.topic, 0) }, nil},
		{"answers NOT_LEADER_FOR_PARTITION for a partition hosted elsewhere",
			func() (*Partition, *kerr.Error) { return n.m.Lookup(img, "orders", 1) }, kerr.NotLeaderForPartition},
		{"answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic",
			func() (*Partition, *kerr.Error) { return n.m.Lookup(img, "payments", 0) }, kerr.UnknownTopicOrPartition},
		{"answers UNKNOWN_TOPIC_OR_PARTITION for a partition past the topic's",
			func() (*Partition, *kerr.Error) { return n.m.Lookup(img, "orders", 2) }, kerr.UnknownTopicOrPartition},
		{"answers UNKNOWN_TOPIC_OR_PARTITION for a negative partition",
			func() (*Partition, *kerr.Error) { return n.m.LookupID(img, n.topic, -1) }, kerr.UnknownTopicOrPartition},
		{"answers UNKNOWN_TOPIC_ID for an unknown topic id",
			func() (*Partition, *kerr.Error) { return n.m.LookupID(img, metadata.NewUUID(), 0) }, kerr.UnknownTopicID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.lookup()
			if err != tc.want {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if tc.want == nil && (p == nil || p.Topic != "orders" || p.ID != 0 || !p.IsLeader()) {
				t.Errorf("found %+v, want the leading replica of orders-0", p)
			}
		})
	}
}

func TestManagerIgnoresMetadataUntilStarted(t *testing.T) {
	// A restarting broker replays leaderships that may be long gone.
	dir := t.TempDir()
	d, err := storage.OpenDir(dir, storage.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	late, err := NewManager(ManagerConfig{NodeID: self, Broker: brokerConfig(t, dir), Dirs: []*storage.Dir{d}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.Close() })
	loader := metadata.NewLoader(slog.New(slog.DiscardHandler))
	loader.Subscribe(late.Apply)
	topic := metadata.NewUUID()
	loader.Apply([]uint64{1}, [][]byte{metadata.Encode([]metadata.Record{
		metadata.TopicRecord{Name: "orders", ID: topic},
		metadata.PartitionRecord{TopicID: topic, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	})})
	if _, err := late.Lookup(loader.Image(), "orders", 0); err != kerr.NotLeaderForPartition {
		t.Fatalf("Lookup before Start = %v, want NOT_LEADER_FOR_PARTITION: nothing hosted yet", err)
	}
	late.Start(loader.Image)
	p, kerrCode := late.Lookup(loader.Image(), "orders", 0)
	if kerrCode != nil || !p.IsLeader() {
		t.Errorf("Lookup after Start = %v; want the leading replica", kerrCode)
	}
}

func TestManagerReportsRoleChanges(t *testing.T) {
	n := newNode(t, nil)
	if got, want := n.lastRole(), (Role{Leading: true, Leader: 1, LeaderEpoch: 0, Replica: true}); got != want {
		t.Fatalf("role on creation = %+v, want %+v", got, want)
	}

	calls := n.numRoles()
	n.change(metadata.PartitionChangeRecord{ISR: []int32{1, 2}})
	if n.numRoles() != calls {
		t.Errorf("an ISR change was reported as a role change: %+v", n.lastRole())
	}
	if isr := isrOf(n.part(0)); !slices.Equal(isr, []int32{1, 2}) {
		t.Errorf("ISR = %v, want [1 2]", isr)
	}

	n.change(metadata.PartitionChangeRecord{Leader: 2})
	if got, want := n.lastRole(), (Role{Leading: false, Leader: 2, LeaderEpoch: 1, Replica: true}); got != want {
		t.Errorf("role after the leader moved = %+v, want %+v", got, want)
	}
	if n.part(0).IsLeader() {
		t.Error("still leading after the leadership moved to broker 2")
	}
}

func TestManagerRemovesAReplicaReassignedAway(t *testing.T) {
	n := newNode(t, nil)
	n.change(metadata.PartitionChangeRecord{Leader: 2, Replicas: []int32{2, 3}, ISR: []int32{2, 3}})
	if got := n.lastRole(); got.Replica || got.Leader != -1 || got.Leading {
		t.Errorf("role after the reassignment = %+v, want no role", got)
	}
	if _, err := n.m.Lookup(n.meta.Image(), "orders", 0); err != kerr.NotLeaderForPartition {
		t.Errorf("Lookup = %v, want NOT_LEADER_FOR_PARTITION", err)
	}
	if _, err := os.Stat(filepath.Join(n.dir, "orders-0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the replica's directory is still there: %v", err)
	}
}

func TestManagerRemovesADeletedTopic(t *testing.T) {
	n := newNode(t, nil)
	p := n.part(0)
	n.apply(metadata.RemoveTopicRecord{TopicID: n.topic})
	if got := n.lastRole(); got.Replica || got.Leader != -1 {
		t.Errorf("role after the deletion = %+v, want no role", got)
	}
	if p.IsLeader() {
		t.Error("the removed replica still leads")
	}
	if _, err := n.m.Lookup(n.meta.Image(), "orders", 0); err != kerr.UnknownTopicOrPartition {
		t.Errorf("Lookup = %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	if _, err := os.Stat(filepath.Join(n.dir, "orders-0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the replica's directory is still there: %v", err)
	}
}

func TestManagerCutOffFromTheControllerStopsLeading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNode(t, nil)
		n.change(metadata.PartitionChangeRecord{ISR: []int32{1, 2}})
		p := n.part(0)
		res, aerr := produceTo(t, p, -1, 1)
		if aerr != nil {
			t.Fatal(aerr.Code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		waiting := result(t, func() *kerr.Error { return p.WaitAcked(ctx, res.LastOffset+1, res.LeaderEpoch, -1) })
		synctest.Wait() // the produce waits for follower 2

		n.m.SetCutOff(true)
		if err := receive(t, waiting); err != kerr.NotLeaderForPartition {
			t.Errorf("waiting produce answered %v, want NOT_LEADER_FOR_PARTITION", err)
		}
		if _, aerr := produceTo(t, p, 1, 1); aerr == nil || aerr.Code != kerr.NotLeaderForPartition {
			t.Errorf("Append while cut off = %+v, want NOT_LEADER_FOR_PARTITION", aerr)
		}

		n.m.SetCutOff(false)
		if !p.IsLeader() {
			t.Error("not leading after the controller answered again")
		}
	})
}

func TestManagerAppliesConfigChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  metadata.ConfigRecord
	}{
		{"of the topic", metadata.ConfigRecord{ResourceType: metadata.ResourceTopic, ResourceName: "orders", Name: "min.insync.replicas", Value: "2"}},
		{"of the cluster-wide defaults", metadata.ConfigRecord{ResourceType: metadata.ResourceBroker, ResourceName: "", Name: "min.insync.replicas", Value: "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nil)
			p := n.part(0)
			if _, aerr := produceTo(t, p, -1, 1); aerr != nil {
				t.Fatalf("acks=all with min.insync.replicas=1: %v", aerr.Code)
			}
			n.apply(tc.rec)
			if _, aerr := produceTo(t, p, -1, 1); aerr == nil || aerr.Code != kerr.NotEnoughReplicas {
				t.Errorf("acks=all with min.insync.replicas=2 and the ISR [1] = %+v, want NOT_ENOUGH_REPLICAS", aerr)
			}
		})
	}
}

func TestManagerKeepsTheHighWatermarkAcrossARestart(t *testing.T) {
	// The high watermark is checkpointed on close and read back on open
	// (Kafka's replication-offset-checkpoint): consumers of a restarted
	// replica see what was committed at once.
	n := newNode(t, nil)
	n.change(metadata.PartitionChangeRecord{ISR: []int32{1, 2}})
	p := n.part(0)
	for range 5 {
		if _, aerr := produceTo(t, p, 1, 1); aerr != nil {
			t.Fatal(aerr.Code)
		}
	}
	if _, err := p.FetchForFollower(2, 1, FetchParams{Offset: 3, MaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1}); err != nil {
		t.Fatal(err)
	}
	if err := n.m.Close(); err != nil {
		t.Fatal(err)
	}

	m := n.open(nil)
	m.Start(n.meta.Image)
	p, err := m.Lookup(n.meta.Image(), "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Committed stays committed; what was not proven committed is not.
	if hw, leo := p.HighWatermark(), p.Log().LogEndOffset(); hw != 3 || leo != 5 {
		t.Errorf("after the restart: high watermark %d, log end offset %d; want 3, 5", hw, leo)
	}
}

// After a crash a restarted broker opens, and recovers, the logs it hosts
// several at a time (num.recovery.threads.per.data.dir), and every one
// comes back whole.
func TestManagerRecoversEveryLogAfterACrash(t *testing.T) {
	n := newNode(t, nil)
	other := metadata.NewUUID()
	recs := []metadata.Record{metadata.TopicRecord{Name: "events", ID: other}}
	for i := range int32(12) {
		recs = append(recs, metadata.PartitionRecord{TopicID: other, Partition: i, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	}
	n.apply(recs...)
	for i := range int32(12) {
		p, err := n.m.Lookup(n.meta.Image(), "events", i)
		if err != nil {
			t.Fatal(err)
		}
		if _, aerr := produceTo(t, p, 1, int(i)+1); aerr != nil {
			t.Fatal(aerr.Code)
		}
	}
	if err := n.m.Close(); err != nil {
		t.Fatal(err)
	}
	// As after kill -9: no clean-shutdown marker, so every log recovers.
	if err := os.Remove(filepath.Join(n.dir, ".kafka_cleanshutdown")); err != nil {
		t.Fatal(err)
	}
	n.broker.Log.RecoveryThreadsPerDataDir = 4
	m := n.open(nil)
	m.Start(n.meta.Image)
	for i := range int32(12) {
		p, err := m.Lookup(n.meta.Image(), "events", i)
		if err != nil {
			t.Fatal(err)
		}
		if leo := p.Log().LogEndOffset(); leo != int64(i)+1 {
			t.Errorf("events-%d: log end offset %d after recovery, want %d", i, leo, i+1)
		}
	}
}

// controller is a fake active controller answering AlterPartition.
type controller struct {
	requests chan *kmsg.AlterPartitionRequest
	refuse   *kerr.Error // when set, every partition's change is refused with it
}

func (c *controller) alterPartition(_ context.Context, req *kmsg.AlterPartitionRequest) (*kmsg.AlterPartitionResponse, error) {
	resp := kmsg.NewPtrAlterPartitionResponse()
	for _, rt := range req.Topics {
		t := kmsg.NewAlterPartitionResponseTopic()
		t.TopidID, t.Topic = rt.TopicID, rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewAlterPartitionResponseTopicPartition()
			p.Partition, p.LeaderID, p.LeaderEpoch = rp.Partition, req.BrokerID, rp.LeaderEpoch
			if c.refuse != nil {
				p.ErrorCode = c.refuse.Code
			} else {
				p.ISR, p.PartitionEpoch = rp.NewISR, rp.PartitionEpoch+1
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	c.requests <- req
	return resp, nil
}

// startWithController starts a node whose ISR changes go to c.
func startWithController(t *testing.T, c *controller) *node {
	n := newNode(t, func(cfg *ManagerConfig) {
		cfg.AlterPartition = c.alterPartition
		cfg.BrokerEpoch = func() int64 { return 7 }
	})
	n.run()
	return n
}

// sentISR returns the ISR change and broker epochs one AlterPartition
// request names for orders-0.
func sentISR(t *testing.T, req *kmsg.AlterPartitionRequest) (isr []int32, epochs map[int32]int64) {
	t.Helper()
	if req.BrokerID != self || req.BrokerEpoch != 7 {
		t.Errorf("request from broker %d epoch %d, want %d epoch 7", req.BrokerID, req.BrokerEpoch, self)
	}
	if len(req.Topics) != 1 || len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0].Partition != 0 {
		t.Fatalf("request names %+v, want orders-0 alone", req.Topics)
	}
	rp := req.Topics[0].Partitions[0]
	epochs = map[int32]int64{}
	for _, e := range rp.NewEpochISR {
		epochs[e.BrokerID] = e.BrokerEpoch
	}
	return rp.NewISR, epochs
}

// The tests of ISR changes run in a synctest bubble: synctest.Wait
// returns once the manager has sent what it had to and applied the answer.

func TestManagerSendsACaughtUpFollowerToTheController(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &controller{requests: make(chan *kmsg.AlterPartitionRequest, 4)}
		n := startWithController(t, c)
		p := n.part(0)
		if _, aerr := produceTo(t, p, 1, 2); aerr != nil {
			t.Fatal(aerr.Code)
		}
		if _, err := p.FetchForFollower(2, 42, FetchParams{Offset: 2, MaxBytes: 1 << 20, CurrentLeaderEpoch: 0, LastFetchedEpoch: -1}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()

		isr, epochs := sentISR(t, receive(t, c.requests))
		if !slices.Equal(isr, []int32{1, 2}) {
			t.Errorf("proposed ISR %v, want [1 2]", isr)
		}
		if epochs[1] != 7 || epochs[2] != 42 {
			t.Errorf("broker epochs %v, want 1:7 (its own) and 2:42 (from the follower's fetch)", epochs)
		}
		if isr := isrOf(p); !slices.Equal(isr, []int32{1, 2}) {
			t.Fatalf("ISR = %v after the controller accepted, want [1 2]", isr)
		}

		// Follower 2 now holds the high watermark back.
		res, aerr := produceTo(t, p, -1, 1)
		if aerr != nil {
			t.Fatal(aerr.Code)
		}
		if done, _ := p.Acked(res.LastOffset+1, res.LeaderEpoch, -1); done {
			t.Error("acks=all answered before the new ISR member had the batch")
		}
	})
}

func TestManagerKeepsTheISRWhenTheControllerRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &controller{requests: make(chan *kmsg.AlterPartitionRequest, 4), refuse: kerr.IneligibleReplica}
		n := startWithController(t, c)
		p := n.part(0)
		if _, err := p.FetchForFollower(2, 42, FetchParams{Offset: 0, MaxBytes: 1 << 20, CurrentLeaderEpoch: 0, LastFetchedEpoch: -1}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if len(c.requests) != 1 {
			t.Fatalf("%d requests sent, want 1", len(c.requests))
		}
		if isr := isrOf(p); !slices.Equal(isr, []int32{1}) || pending(p) != nil {
			t.Errorf("ISR = %v, pending %v after a refusal; want [1], none", isr, pending(p))
		}
	})
}

func TestManagerProposesToDropALaggingFollower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &controller{requests: make(chan *kmsg.AlterPartitionRequest, 4)}
		n := startWithController(t, c)
		n.change(metadata.PartitionChangeRecord{ISR: []int32{1, 2}}) // follower 2 never fetches
		p := n.part(0)
		lagMax := time.Duration(n.broker.Replication.LagTimeMaxMs) * time.Millisecond

		n.advance(lagMax)
		n.m.shrinkISRs(lagMax)
		synctest.Wait()
		if len(c.requests) != 0 {
			t.Fatalf("proposed %v within the lag time", pending(p))
		}

		n.advance(time.Millisecond)
		n.m.shrinkISRs(lagMax)
		synctest.Wait()
		isr, _ := sentISR(t, receive(t, c.requests))
		if !slices.Equal(isr, []int32{1}) {
			t.Errorf("proposed ISR %v, want [1]", isr)
		}
		if isr := isrOf(p); !slices.Equal(isr, []int32{1}) {
			t.Errorf("ISR = %v after the controller accepted, want [1]", isr)
		}
	})
}

// A follower's fetch is timed by the manager's clock, as the lag check
// is: a follower that fetched just now is not lagging, whatever the wall
// clock says.
func TestManagerTimesFollowerFetchesByItsClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &controller{requests: make(chan *kmsg.AlterPartitionRequest, 4)}
		n := startWithController(t, c)
		n.change(metadata.PartitionChangeRecord{ISR: []int32{1, 2}})
		p := n.part(0)
		lagMax := time.Duration(n.broker.Replication.LagTimeMaxMs) * time.Millisecond

		n.advance(10 * lagMax) // the manager's clock runs ahead of the wall clock
		if _, err := p.FetchForFollower(2, 42, FetchParams{Offset: 0, MaxBytes: 1 << 20, CurrentLeaderEpoch: 0, LastFetchedEpoch: -1}); err != nil {
			t.Fatal(err)
		}
		n.m.shrinkISRs(lagMax)
		synctest.Wait()
		if len(c.requests) != 0 {
			t.Fatalf("proposed %v for a follower that just fetched", pending(p))
		}
	})
}
