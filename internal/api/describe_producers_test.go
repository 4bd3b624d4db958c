package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// DescribeProducers (kafka-transactions.sh describe-producers, the admin
// clients' describeProducers) lists the idempotent producers a partition's
// log remembers, on its leader and on its followers, as Kafka does.
func TestDescribeProducersListsIdempotentProducers(t *testing.T) {
	c := clustertest.StartN(t, 2)
	a, b := c.Node(0).ID, c.Node(1).ID
	ctx := ctxT(t)
	admCl := c.Client(t)

	// Partition 0 led by a and followed by b; partition 1 on a only.
	createPlaced(t, admCl, "dp", []int32{a, b}, []int32{a})

	// Two idempotent producers write 3 and 5 single-record batches to
	// partition 0 with acks=all, so b has them too.
	start := time.Now().UnixMilli()
	want := map[int64]int32{} // producer id → last sequence
	for _, n := range []int{3, 5} {
		cl := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		for i := range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "dp", Partition: 0, Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		id, epoch, err := cl.ProducerID(ctx)
		if err != nil || epoch != 0 {
			t.Fatalf("producer id: %d epoch %d, %v", id, epoch, err)
		}
		want[id] = int32(n - 1)
	}
	check := func(where string, producers []kmsg.DescribeProducersResponseTopicPartitionActiveProducer) string {
		var problems []string
		if len(producers) != len(want) {
			problems = append(problems, fmt.Sprintf("%d producers, want %d", len(producers), len(want)))
		}
		for _, p := range producers {
			seq, ok := want[p.ProducerID]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("unknown producer %d", p.ProducerID))
			case p.ProducerEpoch != 0 || p.LastSequence != seq || p.LastTimestamp < start ||
				p.CoordinatorEpoch != -1 || p.CurrentTxnStartOffset != -1:
				problems = append(problems, fmt.Sprintf("%+v, want epoch 0, last sequence %d, timestamp ≥ %d, no transaction", p, seq, start))
			}
		}
		if problems == nil {
			return ""
		}
		return where + ": " + strings.Join(problems, "; ")
	}

	// Through kadm, which asks each partition's leader.
	described, err := kadm.NewClient(admCl).DescribeProducers(ctx, kadm.TopicsSet{"dp": {0: {}, 1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range described.SortedPartitions() {
		var got []kmsg.DescribeProducersResponseTopicPartitionActiveProducer
		for _, dp := range p.ActiveProducers.Sorted() {
			got = append(got, kmsg.DescribeProducersResponseTopicPartitionActiveProducer{
				ProducerID: dp.ProducerID, ProducerEpoch: int32(dp.ProducerEpoch), LastSequence: dp.LastSequence,
				LastTimestamp: dp.LastTimestamp, CoordinatorEpoch: dp.CoordinatorEpoch, CurrentTxnStartOffset: dp.CurrentTxnStartOffset,
			})
		}
		switch {
		case p.Err != nil || p.Leader != a:
			t.Errorf("partition %d: leader %d, %v", p.Partition, p.Leader, p.Err)
		case p.Partition == 0:
			if msg := check("leader", got); msg != "" {
				t.Error(msg)
			}
		case len(got) != 0:
			t.Errorf("partition 1 has producers %+v, want none", got)
		}
	}
	if len(described.SortedPartitions()) != 2 {
		t.Errorf("kadm described %+v, want partitions 0 and 1", described)
	}

	// Straight to the follower, with partitions that are not there.
	ask := func(node int32, topic string, parts ...int32) []kmsg.DescribeProducersResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrDescribeProducersRequest()
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = topic, parts
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, admCl.Broker(int(node)))
		if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != len(parts) {
			t.Fatalf("describe producers on %d: %v %+v", node, err, resp)
		}
		return resp.Topics[0].Partitions
	}
	clustertest.WaitFor(t, "the follower lists the producers", 10*time.Second, func() (bool, string) {
		p := ask(b, "dp", 0)[0]
		if p.ErrorCode != 0 {
			return false, kerr.ErrorForCode(p.ErrorCode).Error()
		}
		msg := check("follower", p.ActiveProducers)
		return msg == "", msg
	})
	for _, tc := range []struct {
		node  int32
		topic string
		part  int32
		want  *kerr.Error
	}{
		{b, "dp", 1, kerr.NotLeaderForPartition}, // the topic exists, the replica is not here
		{a, "dp", 2, kerr.UnknownTopicOrPartition},
		{a, "dp", -1, kerr.UnknownTopicOrPartition},
		{a, "no-such-topic", 0, kerr.UnknownTopicOrPartition},
	} {
		p := ask(tc.node, tc.topic, tc.part)[0]
		if p.Partition != tc.part || p.ErrorCode != tc.want.Code || len(p.ActiveProducers) != 0 {
			t.Errorf("%s/%d on %d: partition %d, %v, %d producers; want %v", tc.topic, tc.part, tc.node,
				p.Partition, kerr.ErrorForCode(p.ErrorCode), len(p.ActiveProducers), tc.want)
		}
	}
}

// With no transaction coordinator there are no transactions to list, but
// ListTransactions (kafka-transactions.sh list) answers, and checks its
// filters as Kafka does.
func TestListTransactionsIsEmpty(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	cl := c.Client(t)
	listed, err := kadm.NewClient(cl).ListTransactions(ctx, nil, nil)
	if err != nil || len(listed) != 0 {
		t.Fatalf("list: %v, %+v; want an empty list", err, listed)
	}

	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters = []string{"Ongoing", "Running", "PrepareAbort"}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 || len(resp.TransactionStates) != 0 ||
		!slices.Equal(resp.UnknownStateFilters, []string{"Running"}) {
		t.Errorf("states filter: %v %+v; want no transactions and Running unknown", err, resp)
	}

	for pattern, want := range map[string]int16{"^orders-.*": 0, "": 0, "orders-(": kerr.InvalidRegularExpression.Code} {
		req := kmsg.NewPtrListTransactionsRequest()
		req.TransactionalIDPattern = &pattern
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != want || len(resp.TransactionStates) != 0 {
			t.Errorf("pattern %q: %v %+v; want error code %d", pattern, err, resp, want)
		}
	}
}
