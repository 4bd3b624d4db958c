package replication_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// Replication through real brokers: three in-process nodes on loopback,
// franz-go as the client. Crashes need real processes (package e2e); these
// tests cover what clean stops and starts show.

func waitISR(t *testing.T, adm *kadm.Client, topic string, part int32, want []int32) {
	t.Helper()
	clustertest.WaitFor(t, fmt.Sprintf("ISR of %s-%d becomes %v", topic, part, want), 30*time.Second, func() (bool, string) {
		leader, _, isr, err := clustertest.PartitionState(adm, topic, part)
		return err == nil && slices.Equal(isr, want), fmt.Sprintf("leader %d isr %v err %v", leader, isr, err)
	})
}

// produceSeq writes values prefix-from..prefix-(to-1) to one partition with
// acks=all and fails the test on any error.
func produceSeq(t *testing.T, cl *kgo.Client, topic string, part int32, prefix string, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: part, Value: []byte(prefix + "-" + strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// readAll consumes a partition from the start to its high watermark.
func readAll(t *testing.T, c *clustertest.Cluster, topic string, part int32) []string {
	t.Helper()
	cl := c.Client(t,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {part: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(200*time.Millisecond))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var end kadm.ListedOffset
	clustertest.WaitFor(t, "the partition's end offset", 30*time.Second, func() (bool, string) {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			end, _ = ends.Lookup(topic, part)
			err = end.Err
		}
		return err == nil, fmt.Sprint(err)
	})
	var out []string
	next := int64(0)
	for next < end.Offset {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s-%d: got %d records, up to offset %d of %d", topic, part, len(out), next, end.Offset)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, string(r.Value))
			next = r.Offset + 1
		})
	}
	return out
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, prefix+"-"+strconv.Itoa(i))
	}
	return out
}

// With acks=all every in-sync replica has every acknowledged record: the
// records survive the loss of the leader and then of the next leader.
func TestAcknowledgedRecordsSurviveTheLeaders(t *testing.T) {
	// Five voters, so the metadata quorum outlives two of the replicas.
	c := clustertest.StartN(t, 5)
	adm := c.Admin(t)
	c.CreateTopic(t, "t", 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")})
	cl := c.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSeq(t, cl, "t", 0, "v", 0, 500)
	_, replicas, _, err := clustertest.PartitionState(adm, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	waitISR(t, adm, "t", 0, slices.Sorted(slices.Values(replicas)))

	stopped := map[int32]bool{}
	for range 2 {
		leader, _, _, err := clustertest.PartitionState(adm, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		c.StopNode(int(leader - 1))
		stopped[leader] = true
		clustertest.WaitFor(t, "a new leader", 30*time.Second, func() (bool, string) {
			l, _, isr, err := clustertest.PartitionState(adm, "t", 0)
			return err == nil && l >= 0 && !stopped[l], fmt.Sprintf("leader %d isr %v err %v", l, isr, err)
		})
		if got, want := readAll(t, c, "t", 0), seq("v", 0, 500); !slices.Equal(got, want) {
			t.Fatalf("after stopping broker %d: read %d records, want %d in order", leader, len(got), len(want))
		}
	}
}

// A follower that was away catches up when it comes back and rejoins the
// ISR; the leader's min.insync.replicas check refuses acks=all writes while
// the ISR is too small and accepts them again after.
func TestFollowerRejoinsTheISR(t *testing.T) {
	// Five voters for three replicas, so that stopping every replica but
	// one still leaves the metadata quorum a majority to elect it.
	c := clustertest.StartN(t, 5, clustertest.WithProps(map[string]string{"replica.lag.time.max.ms": "2000"}))
	adm := c.Admin(t)
	c.CreateTopic(t, "t", 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("3")})
	cl := c.Client(t, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(0), kgo.DisableIdempotentWrite(), kgo.RequestRetries(0))
	produceSeq(t, cl, "t", 0, "a", 0, 100)
	leader, replicas, _, err := clustertest.PartitionState(adm, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	replicas = slices.Sorted(slices.Values(replicas))
	var follower int32
	for _, r := range replicas {
		if r != leader {
			follower = r
			break
		}
	}
	c.StopNode(int(follower - 1))
	want := slices.DeleteFunc(slices.Clone(replicas), func(r int32) bool { return r == follower })
	waitISR(t, adm, "t", 0, want)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Partition: 0, Value: []byte("refused")}).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with an ISR of 2 and min.insync.replicas=3: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	one := c.Client(t, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSeq(t, one, "t", 0, "b", 0, 100) // acks=1 still works

	c.StartNode(int(follower - 1))
	waitISR(t, adm, "t", 0, replicas)
	produceSeq(t, cl, "t", 0, "c", 0, 10)

	// The returned follower has everything: make it the only live replica.
	for _, id := range want {
		c.StopNode(int(id - 1))
	}
	clustertest.WaitFor(t, "the returned follower leads", 30*time.Second, func() (bool, string) {
		l, _, isr, err := clustertest.PartitionState(adm, "t", 0)
		return err == nil && l == follower, fmt.Sprintf("leader %d isr %v err %v", l, isr, err)
	})
	got := readAll(t, c, "t", 0)
	wantVals := append(append(seq("a", 0, 100), seq("b", 0, 100)...), seq("c", 0, 10)...)
	if !slices.Equal(got, wantVals) {
		t.Fatalf("the returned follower holds %d records, want %d in order", len(got), len(wantVals))
	}
}

// A client that claims to be a replica is refused: follower fetches read
// past the high watermark and move the ISR, so only brokers may send them.
// Broker 1 exists and the client connects from its address, but cannot
// name its broker epoch.
func TestReplicaFetchFromAClientIsRefused(t *testing.T) {
	c := clustertest.StartN(t, 1)
	adm := c.Admin(t)
	c.CreateTopic(t, "t", 1, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t)
	for _, id := range []int32{1, 7} {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.ReplicaState.ID = id, id
		req.MaxBytes, req.SessionEpoch = 1<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "t", md.Topics["t"].ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("replica %d: unexpected response %+v", id, resp)
		}
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
			t.Fatalf("fetch claiming replica %d from a client: %v, want TOPIC_AUTHORIZATION_FAILED", id, kerr.ErrorForCode(code))
		}
	}
}
