package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kfake has transactions, so one left open shows every column of
// kafka-transactions.sh's tables.
func TestKafkaTransactions(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "tx"))
	ctx := context.Background()
	newClient := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addr), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	// An idempotent producer writes three records to partition 0, then a
	// transactional one begins a transaction there at offset 3.
	idem := newClient()
	for i := range 3 {
		if err := idem.ProduceSync(ctx, &kgo.Record{Topic: "tx", Value: fmt.Appendf(nil, "%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	txn := newClient(kgo.TransactionalID("orders-1"))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Topic: "tx", Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tool := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-transactions.sh", "--bootstrap-server", c.addr}, args...)...)
	}

	// describe-producers: Kafka's table, each cell padded and followed by
	// a tab. kfake lists transactional producers only (samsa lists the
	// idempotent ones too: TestDescribeProducersListsIdempotentProducers).
	out := tool("describe-producers", "--topic", "tx", "--partition", "0").ok(t)
	if !regexp.MustCompile(`^ProducerId +\tProducerEpoch\tLatestCoordinatorEpoch\tLastSequence\tLastTimestamp\tCurrentTransactionStartOffset\t\n` +
		`\d+ *\t0 +\t\d+ +\t0 +\t\d+\t3 +\t\n$`).MatchString(out) {
		t.Errorf("describe-producers shows no transaction starting at offset 3:\n%s", out)
	}
	if out := tool("describe-producers", "--topic", "tx", "--partition", "1").ok(t); strings.Count(out, "\n") != 1 {
		t.Errorf("partition 1 has producers:\n%s", out)
	}

	// list and describe show the open transaction.
	if out := tool("list").ok(t); !regexp.MustCompile(`^TransactionalId\tCoordinator\tProducerId +\tTransactionState\t\norders-1 +\t\d+ +\t\d+ *\tOngoing +\t\n$`).MatchString(out) {
		t.Errorf("list printed\n%s", out)
	}
	out = tool("describe", "--transactional-id", "orders-1").ok(t)
	if !regexp.MustCompile(`^CoordinatorId\tTransactionalId\tProducerId +\tProducerEpoch\tTransactionState\tTransactionTimeoutMs\tCurrentTransactionStartTimeMs\tTransactionDurationMs\tTopicPartitions\t\n` +
		`\d+ +\torders-1 +\t\d+ *\t0 +\tOngoing +\t\d+ +\t\d+ +\t\d+ +\ttx-0 +\t\n$`).MatchString(out) {
		t.Errorf("describe printed\n%s", out)
	}
	if r := tool("describe", "--transactional-id", "nobody").wantCode(t, 1); !strings.HasPrefix(r.stderr, "Failed to describe transaction state of transactional-id `nobody`: ") {
		t.Errorf("describe of an unknown id: stderr %q", r.stderr)
	}

	// find-hanging: the open transaction is its coordinator's, so it is not
	// hanging.
	for _, scope := range [][]string{{"--topic", "tx"}, {"--broker-id", "0"}, {"--topic", "tx", "--partition", "0", "--broker-id", "0"}} {
		args := append([]string{"find-hanging", "--max-transaction-timeout", "0"}, scope...)
		if out := tool(args...).ok(t); out != "Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\tStartOffset\tLastTimestamp\tDuration(min)\t\n" {
			t.Errorf("find-hanging %v printed\n%s", scope, out)
		}
	}

	// abort --start-offset finds the transaction and writes its abort
	// marker.
	if r := tool("abort", "--topic", "tx", "--partition", "0", "--start-offset", "2").wantCode(t, 1); r.stderr != "Could not find any open transactions starting at offset 2 on partition tx-0\n" {
		t.Errorf("abort at a wrong offset: stderr %q", r.stderr)
	}
	tool("abort", "--topic", "tx", "--partition", "0", "--start-offset", "3").ok(t)

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "too few arguments"},
		{[]string{"nope"}, 2, "invalid choice: 'nope'"},
		{[]string{"list", "--topic", "tx"}, 2, "unrecognized arguments: '--topic'"},
		{[]string{"describe"}, 2, "argument --transactional-id is required"},
		{[]string{"describe-producers", "--topic", "tx"}, 2, "argument --partition is required"},
		{[]string{"describe-producers", "--topic", "tx", "--partition", "x"}, 2, "could not convert 'x' to Integer"},
		{[]string{"describe-producers", "--topic", "tx", "--partition", "9"}, 1, "Failed to describe producers for partition tx-9 on leader: "},
		{[]string{"find-hanging"}, 1, "The `find-hanging` command requires either --topic or --broker-id"},
		{[]string{"find-hanging", "--broker-id", "0", "--partition", "0"}, 1, "The --partition argument requires --topic"},
		{[]string{"abort", "--topic", "tx", "--partition", "0"}, 1, "must be identified either with --start-offset"},
		{[]string{"abort", "--topic", "tx", "--partition", "0", "--producer-id", "1"}, 1, "Missing required argument --producer-epoch"},
	} {
		r := tool(tc.args...).wantCode(t, tc.code)
		if !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: stderr %q, want %q", tc.args, r.stderr, tc.msg)
		}
	}
}
