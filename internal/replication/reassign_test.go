package replication_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// writer produces the values w-0, w-1, ... to one partition, idempotent
// with acks=all, until stopped, and remembers what was acknowledged.
type writer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	acked []string // in acknowledgement order
	errs  []error
}

func startWriter(t *testing.T, c *clustertest.Cluster, topic string, part int32) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{cancel: cancel, done: make(chan struct{}),
		cl: c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(time.Millisecond))}
	go func() {
		defer close(w.done)
		for i := 0; ctx.Err() == nil; i++ {
			v := "w-" + strconv.Itoa(i)
			r := &kgo.Record{Topic: topic, Partition: part, Value: []byte(v)}
			if err := w.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				if ctx.Err() == nil {
					w.mu.Lock()
					w.errs = append(w.errs, err)
					w.mu.Unlock()
				}
				return
			}
			w.mu.Lock()
			w.acked = append(w.acked, v)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) stop() {
	w.cancel()
	<-w.done
}

// waitMore waits until n more records than now are acknowledged.
func (w *writer) waitMore(t *testing.T, n int) {
	t.Helper()
	target := w.count() + n
	clustertest.WaitFor(t, fmt.Sprintf("%d more acknowledged records", n), 30*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.acked) >= target || len(w.errs) > 0, fmt.Sprintf("%d acked, errors %v", len(w.acked), w.errs)
	})
	if len(w.errs) > 0 {
		t.Fatalf("producer failed: %v", w.errs)
	}
}

// Growing from three brokers to four and moving a replica to the new one
// while a producer keeps writing: the new replica copies the log and joins
// the ISR before the old one leaves, the producer never fails, and the new
// broker alone can then serve everything that was acknowledged.
func TestReassignmentToANewBrokerMovesTheData(t *testing.T) {
	c := clustertest.StartN(t, 3)
	adm := c.Admin(t)
	c.CreateTopic(t, "t", 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")})
	w := startWriter(t, c, "t", 0)
	w.waitMore(t, 200)

	idx := c.AddBroker()
	newID := int32(idx + 1)
	leader, _, _, err := clustertest.PartitionState(adm, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Replace a follower (not the leader) by the new broker.
	var target []int32
	replaced := int32(-1)
	for _, r := range []int32{1, 2, 3} {
		if r != leader && replaced < 0 {
			replaced = r
			target = append(target, newID)
			continue
		}
		target = append(target, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("t", 0, target)
	resp, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatalf("reassign: %v", err)
	}
	w.waitMore(t, 200)

	want := slices.Clone(target)
	slices.Sort(want)
	clustertest.WaitFor(t, "the reassignment completes", 60*time.Second, func() (bool, string) {
		listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"t": {0: {}}})
		if err != nil {
			return false, err.Error()
		}
		md, err := adm.Metadata(ctx, "t")
		if err != nil {
			return false, err.Error()
		}
		p := md.Topics["t"].Partitions[0]
		replicas, isr := slices.Clone(p.Replicas), slices.Clone(p.ISR)
		slices.Sort(replicas)
		slices.Sort(isr)
		ongoing := 0
		listed.Each(func(kadm.ListPartitionReassignmentsResponse) { ongoing++ })
		return ongoing == 0 && slices.Equal(replicas, want) && slices.Equal(isr, want),
			fmt.Sprintf("ongoing %d replicas %v isr %v", ongoing, p.Replicas, p.ISR)
	})
	w.waitMore(t, 200)
	w.stop()
	acked := w.acked

	// Only the new broker and one other remain: the data must be there.
	for _, r := range []int32{1, 2, 3} {
		if r != replaced && r != leader {
			c.StopNode(int(r - 1))
		}
	}
	got := readAll(t, c, "t", 0)
	if !slices.Equal(got[:min(len(got), len(acked))], acked) || len(got) < len(acked) {
		t.Fatalf("after the move, read %d records; %d were acknowledged (first difference at %d)", len(got), len(acked), firstDiff(got, acked))
	}
	t.Logf("%d records acknowledged while the replica moved", len(acked))
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
