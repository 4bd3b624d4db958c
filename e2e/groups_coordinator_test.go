package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A consumer group on a three-node cluster keeps consuming and committing
// when its coordinator is killed with SIGKILL: __consumer_offsets has three
// replicas, so the group moves to the broker that takes over the
// coordinator's partition, with every commit acknowledged before. Commits
// never go back, the group reads every record, and the commits are still
// there once the killed node is back.
func TestGroupSurvivesSIGKILLOfItsCoordinator(t *testing.T) {
	const (
		topic = "coordinated"
		group = "coordinated-group"
		batch = 300
	)
	c := startCluster(t, 3, withNodeProps(fastFailover...))
	adm := c.Admin(t)
	createReplicatedTopic(t, adm, topic, 3, 3, "min.insync.replicas", "2")
	producer := c.Client(t, fastClient...)
	produce := func(from, to int) {
		t.Helper()
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
		}
		if err := producer.ProduceSync(testContext(t, 60*time.Second), recs...).FirstErr(); err != nil {
			t.Fatalf("produce %d–%d: %v", from, to, err)
		}
	}

	seen := map[string]bool{}
	consumer := c.Client(t, append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100 * time.Millisecond)}, fastClient...)...)
	consume := func(total int) {
		t.Helper()
		ctx := testContext(t, 90*time.Second)
		for len(seen) < total {
			fs := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("the group read %d distinct records, want %d", len(seen), total)
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			// A commit refused while the coordinator moves is retried
			// with the next poll: what matters is that none goes back.
			if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
				t.Logf("commit: %v (retried)", err)
			}
		}
	}
	produce(0, batch)
	consume(batch)
	waitCommitted(t, c, group, topic, batch, nil)

	ctx := testContext(t, 30*time.Second)
	found := adm.FindGroupCoordinators(ctx, group)
	if err := found.Error(); err != nil {
		t.Fatalf("find the coordinator: %v", err)
	}
	var coordinator int32
	found.Each(func(d kadm.FindCoordinatorResponse) { coordinator = d.NodeID })
	before, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	killed := c.Node(coordinator)
	t.Logf("SIGKILL node %d, the group's coordinator", coordinator)
	killed.Kill()
	// Before anything is committed again, the new coordinator answers with
	// every commit the old one acknowledged.
	waitCommitted(t, c, group, topic, batch, before)

	produce(batch, 2*batch)
	consume(2 * batch)
	waitCommitted(t, c, group, topic, 2*batch, before)

	killed.Start()
	c.waitHealthy(topic, "__consumer_offsets")
	waitCommitted(t, c, group, topic, 2*batch, before)
}

// waitCommitted waits until the group's commits on topic add up to total
// (every record consumed and committed), failing at once if a partition's
// commit is below its commit in before.
func waitCommitted(t *testing.T, c *Cluster, group, topic string, total int64, before kadm.OffsetResponses) {
	t.Helper()
	waitUntil(t, 60*time.Second, fmt.Sprintf("the group's commits on %s add up to %d", topic, total), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A fresh client each time: an old one may still ask the killed
		// coordinator.
		cl, err := kgo.NewClient(c.connect()...)
		if err != nil {
			return err
		}
		defer cl.Close()
		offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		sum := int64(0)
		offs.Each(func(o kadm.OffsetResponse) {
			if o.Topic != topic {
				return
			}
			sum += o.At
			if b, ok := before.Lookup(o.Topic, o.Partition); ok && o.At < b.At {
				t.Fatalf("%s/%d: commit went back from %d to %d", o.Topic, o.Partition, b.At, o.At)
			}
		})
		if sum != total {
			return fmt.Errorf("commits add up to %d", sum)
		}
		return nil
	})
}
