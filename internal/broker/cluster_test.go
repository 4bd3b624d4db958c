package broker_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// What a cluster does for its users across a broker's departure and
// return, through real brokers in-process and franz-go.

// leaders returns each partition's leader.
func leaders(t *testing.T, adm *kadm.Client, topic string, n int32) []int32 {
	out := make([]int32, n)
	for p := range n {
		l, _, _, err := clustertest.PartitionState(adm, topic, p)
		if err != nil {
			return nil
		}
		out[p] = l
	}
	return out
}

// A broker that leaves takes its leaderships with it; when it is back in
// sync the controller gives them back (auto.leader.rebalance.enable),
// so load does not pile up on the survivors.
func TestPreferredLeadersReturn(t *testing.T) {
	c := clustertest.StartN(t, 3, clustertest.WithProps(map[string]string{
		"leader.imbalance.check.interval.seconds": "1",
	}))
	adm := c.Admin(t)
	c.CreateTopic(t, "t", 6, 3, nil)
	preferred := make([]int32, 6)
	for p := range int32(6) {
		_, replicas, _, err := clustertest.PartitionState(adm, "t", p)
		if err != nil {
			t.Fatal(err)
		}
		preferred[p] = replicas[0]
	}
	clustertest.WaitFor(t, "every partition led by its preferred leader", 30*time.Second, func() (bool, string) {
		got := leaders(t, adm, "t", 6)
		return slices.Equal(got, preferred), fmt.Sprintf("leaders %v, preferred %v", got, preferred)
	})

	c.StopNode(0)
	clustertest.WaitFor(t, "broker 1's leaderships move", 30*time.Second, func() (bool, string) {
		got := leaders(t, adm, "t", 6)
		return got != nil && !slices.Contains(got, 1) && !slices.Contains(got, -1), fmt.Sprintf("leaders %v", got)
	})
	c.StartNode(0)
	clustertest.WaitFor(t, "the preferred leaders return", 60*time.Second, func() (bool, string) {
		got := leaders(t, adm, "t", 6)
		return slices.Equal(got, preferred), fmt.Sprintf("leaders %v, preferred %v", got, preferred)
	})
}

// A consumer group keeps consuming when the broker that coordinates it
// stops: the leadership of its __consumer_offsets partition moves, the new
// leader loads the group's commits, and nothing committed is lost or read
// again by a consumer that starts afterwards.
func TestGroupSurvivesCoordinatorFailover(t *testing.T) {
	c := clustertest.StartN(t, 3, clustertest.WithProps(map[string]string{
		"offsets.topic.num.partitions": "3",
	}))
	adm := c.Admin(t)
	c.CreateTopic(t, "t", 3, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")})
	producer := c.Client(t)
	produce := func(from, to int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: "t", Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
		}
		if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	seen := map[string]int{}
	consumer := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond))
	consume := func(total int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for len(seen) < total {
			fs := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d distinct records, want %d", len(seen), total)
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
			if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
				t.Logf("commit: %v (retried with the next poll)", err)
			}
		}
	}
	produce(0, 300)
	consume(300)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	coord := adm.FindGroupCoordinators(ctx, "g")
	if err := coord.Error(); err != nil {
		t.Fatalf("find coordinator: %v", err)
	}
	var coordinator int32
	coord.Each(func(d kadm.FindCoordinatorResponse) { coordinator = d.NodeID })
	before, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopping the coordinator, broker %d", coordinator)
	c.StopNode(int(coordinator - 1))

	produce(300, 600)
	consume(600)
	clustertest.WaitFor(t, "the group's commits reach the end of every partition", 30*time.Second, func() (bool, string) {
		fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer fcancel()
		// A fresh client: adm still has the stopped coordinator cached.
		offs, err := kadm.NewClient(c.Client(t)).FetchOffsets(fctx, "g")
		if err != nil {
			return false, err.Error()
		}
		total := int64(0)
		regressed := ""
		offs.Each(func(o kadm.OffsetResponse) {
			total += o.At
			if b, ok := before.Lookup(o.Topic, o.Partition); ok && o.At < b.At {
				regressed = fmt.Sprintf("partition %d went back from %d to %d", o.Partition, b.At, o.At)
			}
		})
		if regressed != "" {
			t.Fatal(regressed)
		}
		return total == 600, fmt.Sprintf("committed %d of 600", total)
	})
	consumer.Close()

	// A new member of the group starts from the commits: nothing is read twice.
	again := c.Client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(100*time.Millisecond))
	produce(600, 610)
	got := 0
	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	for got < 10 {
		fs := again.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("the new member read %d of the 10 new records", got)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if n, _ := strconv.Atoi(string(r.Value)); n < 600 {
				t.Errorf("record %d read again after its commit", n)
			}
			got++
		})
	}
}
