package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_transactions.go is the kafka-transactions.sh personality (Kafka's
// TransactionsCommand): list, describe, describe-producers, abort and
// find-hanging, with Kafka's tables (prettyPrintTable) and error lines
// ("Failed to …: <error>. Enable debug logging for additional detail.",
// exit 1).
//
// Against samsa, which has no transactions yet: list prints only its
// header (ListTransactions is always empty), describe fails because no
// broker coordinates transactional ids, describe-producers shows the
// idempotent producers a partition remembers, find-hanging finds nothing
// and abort finds no open transaction. Against a Kafka cluster the tool
// does what Kafka's does.

type txnCommand struct {
	name    string
	options []string
}

// transactionsCommands are the sub-commands, in Kafka's order, with the
// options each takes besides the connection ones.
var transactionsCommands = []txnCommand{
	{"list", nil},
	{"describe", []string{"transactional-id"}},
	{"describe-producers", []string{"broker-id", "topic", "partition"}},
	{"abort", []string{"topic", "partition", "start-offset", "producer-id", "producer-epoch", "coordinator-epoch"}},
	{"find-hanging", []string{"broker-id", "max-transaction-timeout", "topic", "partition"}},
}

var (
	describeProducersHeaders = []string{"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"}
	describeTxnHeaders       = []string{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"}
	listTxnHeaders           = []string{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}
	hangingHeaders           = []string{"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"}
)

// txnOpts are the parsed options of kafka-transactions.sh. The integer
// options keep their text until a command needs them, so that each is
// converted (and its error reported) as argparse4j would.
type txnOpts struct {
	topic, txnID                               *string
	partition, brokerID, maxTimeout            *string
	startOffset, producerID, producerEpoch, ce *string
	f                                          *flagSet
}

func kafkaTransactions(ctx context.Context, e *env, args []string) int {
	names := make([]string, len(transactionsCommands))
	for i, c := range transactionsCommands {
		names[i] = c.name
	}
	f := newFlagSet("kafka-transactions.sh --bootstrap-server HOST:PORT [--command-config FILE] COMMAND ...",
		"This tool is used to analyze the transactional state of producers in the cluster. It can be used to detect and recover from hanging transactions.\n"+
			"Commands: "+strings.Join(names, ", ")+".\n"+
			"samsa has no transactions yet: list finds none, and describe-producers shows the idempotent producers of a partition.")
	conn := addKafkaConn(f, "property file containing configs to be passed to admin client")
	o := txnOpts{
		f:             f,
		txnID:         f.String("transactional-id", "", "ID", "describe: the transactional id"),
		topic:         f.String("topic", "", "TOPIC", "describe-producers, abort: the topic; find-hanging: the topic to limit the search to"),
		partition:     f.String("partition", "", "N", "describe-producers, abort, find-hanging: the partition"),
		brokerID:      f.String("broker-id", "", "ID", "describe-producers: the replica to ask (default the leader); find-hanging: the broker to search"),
		maxTimeout:    f.String("max-transaction-timeout", "15", "MINUTES", "find-hanging: transactions open longer than this are candidates"),
		startOffset:   f.String("start-offset", "", "OFFSET", "abort: the start offset of the transaction to abort"),
		producerID:    f.String("producer-id", "", "ID", "abort (brokers before 3.0): the producer id"),
		producerEpoch: f.String("producer-epoch", "", "EPOCH", "abort (brokers before 3.0): the producer epoch"),
		ce:            f.String("coordinator-epoch", "", "EPOCH", "abort (brokers before 3.0): the coordinator epoch"),
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	cmd, err := transactionsCommand(f)
	if err != nil {
		return e.usageFail(f, err)
	}
	if *conn.bootstrap == "" {
		return e.usageFail(f, usagef("argument --bootstrap-server is required"))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	switch cmd {
	case "list":
		return listTransactions(ctx, e, cl)
	case "describe":
		return describeTransaction(ctx, e, cl, o)
	case "describe-producers":
		return describeProducersCmd(ctx, e, cl, o)
	case "abort":
		return abortTransaction(ctx, e, cl, o)
	default:
		return findHanging(ctx, e, cl, o)
	}
}

// transactionsCommand checks the positional arguments and the options as
// argparse4j's sub-parsers do: one known command, its required options
// given, and no option of another command.
func transactionsCommand(f *flagSet) (string, error) {
	args := f.Args()
	if len(args) == 0 {
		return "", usagef("too few arguments")
	}
	i := slices.IndexFunc(transactionsCommands, func(c txnCommand) bool { return c.name == args[0] })
	if i < 0 {
		var quoted []string
		for _, c := range transactionsCommands {
			quoted = append(quoted, "'"+c.name+"'")
		}
		return "", usagef("argument COMMAND: invalid choice: '%s' (choose from %s)", args[0], strings.Join(quoted, ", "))
	}
	if len(args) > 1 {
		return "", usagef("unrecognized arguments: '%s'", strings.Join(args[1:], " "))
	}
	cmd := transactionsCommands[i]
	for _, c := range transactionsCommands {
		for _, opt := range c.options {
			if f.Changed(opt) && !slices.Contains(cmd.options, opt) {
				return "", usagef("unrecognized arguments: '--%s'", opt)
			}
		}
	}
	var required []string
	switch cmd.name {
	case "describe":
		required = []string{"transactional-id"}
	case "describe-producers", "abort":
		required = []string{"topic", "partition"}
	}
	for _, opt := range required {
		if !f.Changed(opt) {
			return "", usagef("argument --%s is required", opt)
		}
	}
	return cmd.name, nil
}

// intOpt converts an integer option as argparse4j does for Integer, Long
// and Short arguments.
func intOpt(name, s, javaType string, bits int) (int64, error) {
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, usagef("argument --%s: could not convert '%s' to %s", name, s, javaType)
	}
	return n, nil
}

// txnFail prints Kafka's TransactionsCommand.printErrorAndExit line, with
// the first shard's error rather than kadm's summary of them.
func txnFail(e *env, what string, err error) int {
	if se, ok := errors.AsType[*kadm.ShardErrors](err); ok && len(se.Errs) > 0 {
		err = se.Errs[0].Err
	}
	fmt.Fprintf(e.stderr, "%s: %s. Enable debug logging for additional detail.\n", what, strings.TrimSuffix(err.Error(), "."))
	return 1
}

func listTransactions(ctx context.Context, e *env, cl *kgo.Client) int {
	listed, err := kadm.NewClient(cl).ListTransactions(ctx, nil, nil)
	if err != nil {
		return txnFail(e, "Failed to list transactions", err)
	}
	var rows [][]string
	for _, l := range listed.Sorted() {
		rows = append(rows, []string{l.TxnID, strconv.Itoa(int(l.Coordinator)), strconv.FormatInt(l.ProducerID, 10), l.State})
	}
	prettyPrintTable(e.stdout, listTxnHeaders, rows)
	return 0
}

func describeTransaction(ctx context.Context, e *env, cl *kgo.Client, o txnOpts) int {
	id := *o.txnID
	adm := kadm.NewClient(cl)
	// The coordinator lookup first, for its error message (kadm drops it
	// from authorization errors): samsa's says why there is none.
	if err := txnCoordinatorErr(ctx, cl, id); err != nil {
		return txnFail(e, "Failed to describe transaction state of transactional-id `"+id+"`", err)
	}
	described, err := adm.DescribeTransactions(ctx, id)
	d, ok := described[id]
	if err == nil && !ok {
		err = kerr.TransactionalIDNotFound
	}
	if err == nil {
		err = d.Err
	}
	if err != nil {
		return txnFail(e, "Failed to describe transaction state of transactional-id `"+id+"`", err)
	}
	start, duration := "None", "None"
	if d.StartTimestamp >= 0 {
		start = strconv.FormatInt(d.StartTimestamp, 10)
		duration = strconv.FormatInt(time.Now().UnixMilli()-d.StartTimestamp, 10)
	}
	var parts []string
	for _, tp := range d.Topics.Sorted() {
		for _, p := range tp.Partitions {
			parts = append(parts, fmt.Sprintf("%s-%d", tp.Topic, p))
		}
	}
	prettyPrintTable(e.stdout, describeTxnHeaders, [][]string{{
		strconv.Itoa(int(d.Coordinator)), id, strconv.FormatInt(d.ProducerID, 10), strconv.Itoa(int(d.ProducerEpoch)),
		d.State, strconv.Itoa(int(d.TimeoutMillis)), start, duration, strings.Join(parts, ","),
	}})
	return 0
}

// txnCoordinatorErr looks up id's transaction coordinator and returns the
// error of the answer, with the broker's message.
func txnCoordinatorErr(ctx context.Context, cl *kgo.Client, id string) error {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = 1, id, []string{id}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	code, msg := resp.ErrorCode, resp.ErrorMessage
	if len(resp.Coordinators) == 1 {
		code, msg = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].ErrorMessage
	}
	if err = kerr.ErrorForCode(code); err != nil && msg != nil {
		return errors.New(kafkaErrText(err, *msg))
	}
	return err
}

// partitionProducers is one partition's DescribeProducers answer.
type partitionProducers struct {
	topic     string
	partition int32
	producers []kmsg.DescribeProducersResponseTopicPartitionActiveProducer
}

// describeProducers asks broker (or, when it is nil, each partition's
// leader) for the producers of the partitions in s; the first partition
// error fails the whole call, as the Java admin client's all() does.
func describeProducers(ctx context.Context, cl *kgo.Client, broker *int32, s kadm.TopicsSet) ([]partitionProducers, error) {
	var out []partitionProducers
	if broker == nil {
		described, err := kadm.NewClient(cl).DescribeProducers(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, p := range described.SortedPartitions() {
			if p.Err != nil {
				return nil, p.Err
			}
			pp := partitionProducers{topic: p.Topic, partition: p.Partition}
			for _, d := range p.ActiveProducers.Sorted() {
				pp.producers = append(pp.producers, kmsg.DescribeProducersResponseTopicPartitionActiveProducer{
					ProducerID: d.ProducerID, ProducerEpoch: int32(d.ProducerEpoch), LastSequence: d.LastSequence,
					LastTimestamp: d.LastTimestamp, CoordinatorEpoch: d.CoordinatorEpoch, CurrentTxnStartOffset: d.CurrentTxnStartOffset,
				})
			}
			out = append(out, pp)
		}
		return out, nil
	}
	req := kmsg.NewPtrDescribeProducersRequest()
	for _, t := range s.Sorted() {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = t.Topic, t.Partitions
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl.Broker(int(*broker)))
	if err != nil {
		return nil, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				if p.ErrorMessage != nil {
					return nil, fmt.Errorf("%w: %s", err, *p.ErrorMessage)
				}
				return nil, err
			}
			out = append(out, partitionProducers{topic: t.Topic, partition: p.Partition, producers: p.ActiveProducers})
		}
	}
	return out, nil
}

// partitionOpts reads --topic and --partition, and --broker-id when given.
func (o txnOpts) partitionOpts() (topic string, part int32, broker *int32, err error) {
	n, err := intOpt("partition", *o.partition, "Integer", 32)
	if err != nil {
		return "", 0, nil, err
	}
	broker, err = o.broker()
	return *o.topic, int32(n), broker, err
}

func (o txnOpts) broker() (*int32, error) {
	if !o.f.Changed("broker-id") {
		return nil, nil
	}
	n, err := intOpt("broker-id", *o.brokerID, "Integer", 32)
	b := int32(n)
	return &b, err
}

func describeProducersCmd(ctx context.Context, e *env, cl *kgo.Client, o txnOpts) int {
	topic, part, broker, err := o.partitionOpts()
	if err != nil {
		return e.usageFail(o.f, err)
	}
	res, err := describeProducers(ctx, cl, broker, kadm.TopicsSet{topic: {part: {}}})
	if err == nil && len(res) != 1 {
		err = kerr.UnknownTopicOrPartition
	}
	if err != nil {
		on := "leader"
		if broker != nil {
			on = fmt.Sprintf("broker %d", *broker)
		}
		return txnFail(e, fmt.Sprintf("Failed to describe producers for partition %s-%d on %s", topic, part, on), err)
	}
	var rows [][]string
	for _, p := range res[0].producers {
		start := "None"
		if p.CurrentTxnStartOffset >= 0 {
			start = strconv.FormatInt(p.CurrentTxnStartOffset, 10)
		}
		rows = append(rows, []string{
			strconv.FormatInt(p.ProducerID, 10), strconv.Itoa(int(p.ProducerEpoch)), strconv.Itoa(int(max(p.CoordinatorEpoch, -1))),
			strconv.Itoa(int(p.LastSequence)), strconv.FormatInt(p.LastTimestamp, 10), start,
		})
	}
	prettyPrintTable(e.stdout, describeProducersHeaders, rows)
	return 0
}

func abortTransaction(ctx context.Context, e *env, cl *kgo.Client, o txnOpts) int {
	topic, part, _, err := o.partitionOpts()
	if err != nil {
		return e.usageFail(o.f, err)
	}
	marker := kadm.TxnMarkers{Topics: kadm.TopicsSet{topic: {part: {}}}}
	switch {
	case o.f.Changed("start-offset"):
		start, err := intOpt("start-offset", *o.startOffset, "Long", 64)
		if err != nil {
			return e.usageFail(o.f, err)
		}
		res, err := describeProducers(ctx, cl, nil, marker.Topics)
		if err != nil {
			return txnFail(e, fmt.Sprintf("Failed to validate producer state for partition %s-%d", topic, part), err)
		}
		i := -1
		if len(res) == 1 {
			i = slices.IndexFunc(res[0].producers, func(p kmsg.DescribeProducersResponseTopicPartitionActiveProducer) bool {
				return p.CurrentTxnStartOffset == start
			})
		}
		if i < 0 {
			fmt.Fprintf(e.stderr, "Could not find any open transactions starting at offset %d on partition %s-%d\n", start, topic, part)
			return 1
		}
		p := res[0].producers[i]
		marker.ProducerID, marker.ProducerEpoch, marker.CoordinatorEpoch = p.ProducerID, int16(p.ProducerEpoch), max(p.CoordinatorEpoch, 0)
	case o.f.Changed("producer-id"):
		for _, opt := range []string{"producer-epoch", "coordinator-epoch"} {
			if !o.f.Changed(opt) {
				fmt.Fprintf(e.stderr, "Missing required argument --%s\n", opt)
				return 1
			}
		}
		id, err := intOpt("producer-id", *o.producerID, "Long", 64)
		var epoch, ce int64
		if err == nil {
			epoch, err = intOpt("producer-epoch", *o.producerEpoch, "Short", 16)
		}
		if err == nil {
			ce, err = intOpt("coordinator-epoch", *o.ce, "Integer", 32)
		}
		if err != nil {
			return e.usageFail(o.f, err)
		}
		// A transaction that hung before its first marker has coordinator
		// epoch -1; 0 is at most any real one, as Kafka's tool reasons.
		marker.ProducerID, marker.ProducerEpoch, marker.CoordinatorEpoch = id, int16(epoch), int32(max(ce, 0))
	default:
		fmt.Fprintln(e.stderr, "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)")
		return 1
	}
	resps, err := kadm.NewClient(cl).WriteTxnMarkers(ctx, marker)
	if err == nil {
		resps.EachPartition(func(p kadm.TxnMarkersPartitionResponse) {
			if err == nil {
				err = p.Err
			}
		})
	}
	if err != nil {
		spec := fmt.Sprintf("AbortTransactionSpec(topicPartition=%s-%d, producerId=%d, producerEpoch=%d, coordinatorEpoch=%d)",
			topic, part, marker.ProducerID, marker.ProducerEpoch, marker.CoordinatorEpoch)
		return txnFail(e, "Failed to abort transaction "+spec, err)
	}
	return 0
}

// openTxn is a find-hanging candidate: a producer with a transaction open
// on a partition for longer than the longest transaction timeout.
type openTxn struct {
	topic     string
	partition int32
	p         kmsg.DescribeProducersResponseTopicPartitionActiveProducer
}

func findHanging(ctx context.Context, e *env, cl *kgo.Client, o txnOpts) int {
	broker, err := o.broker()
	var maxMin int64
	if err == nil {
		maxMin, err = intOpt("max-transaction-timeout", *o.maxTimeout, "Integer", 32)
	}
	var part int64
	if err == nil && o.f.Changed("partition") {
		part, err = intOpt("partition", *o.partition, "Integer", 32)
	}
	if err != nil {
		return e.usageFail(o.f, err)
	}
	hasTopic := o.f.Changed("topic")
	if !hasTopic && broker == nil {
		fmt.Fprintln(e.stderr, "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search")
		return 1
	}
	if o.f.Changed("partition") && !hasTopic {
		fmt.Fprintln(e.stderr, "The --partition argument requires --topic to be provided")
		return 1
	}

	// The partitions to search: the one named, or those of the topic (or,
	// as Kafka's listTopics, of every topic but the internal ones) with a
	// replica on the broker.
	adm := kadm.NewClient(cl)
	search := kadm.TopicsSet{}
	nParts := 0
	if o.f.Changed("partition") {
		search.Add(*o.topic, int32(part))
		nParts = 1
	} else {
		var topics []string
		if hasTopic {
			topics = []string{*o.topic}
		}
		md, err := adm.Metadata(ctx, topics...)
		if err != nil {
			return txnFail(e, "Failed to describe topics", err)
		}
		for _, t := range md.Topics.Sorted() {
			if t.Err != nil {
				return txnFail(e, "Failed to describe 1 topics", t.Err)
			}
			if t.IsInternal && !hasTopic {
				continue
			}
			for _, p := range t.Partitions.Sorted() {
				if broker == nil || slices.Contains(p.Replicas, *broker) {
					search.Add(t.Topic, p.Partition)
					nParts++
				}
			}
		}
	}

	now := time.Now().UnixMilli()
	var candidates []openTxn
	if len(search) > 0 {
		res, err := describeProducers(ctx, cl, broker, search)
		if err != nil {
			on := "their leaders"
			if broker != nil {
				on = fmt.Sprintf("broker %d", *broker)
			}
			return txnFail(e, fmt.Sprintf("Failed to describe producers for %d partitions on %s", nParts, on), err)
		}
		for _, pp := range res {
			for _, p := range pp.producers {
				if p.CurrentTxnStartOffset >= 0 && now-p.LastTimestamp > maxMin*60_000 {
					candidates = append(candidates, openTxn{pp.topic, pp.partition, p})
				}
			}
		}
	}
	hanging, err := filterHanging(ctx, adm, candidates)
	if err != nil {
		return txnFail(e, "Failed to look up the transactions of "+strconv.Itoa(len(candidates))+" candidates", err)
	}
	var rows [][]string
	for _, h := range hanging {
		rows = append(rows, []string{
			h.topic, strconv.Itoa(int(h.partition)), strconv.FormatInt(h.p.ProducerID, 10), strconv.Itoa(int(h.p.ProducerEpoch)),
			strconv.Itoa(int(h.p.CoordinatorEpoch)), strconv.FormatInt(h.p.CurrentTxnStartOffset, 10),
			strconv.FormatInt(h.p.LastTimestamp, 10), strconv.FormatInt((now-h.p.LastTimestamp)/60_000, 10),
		})
	}
	prettyPrintTable(e.stdout, hangingHeaders, rows)
	return 0
}

// filterHanging keeps the candidates whose transaction its coordinator no
// longer knows: no transactional id lists the producer id, the id is not
// found, or its transaction does not include the partition.
func filterHanging(ctx context.Context, adm *kadm.Client, candidates []openTxn) ([]openTxn, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	var ids []int64
	for _, c := range candidates {
		if !slices.Contains(ids, c.p.ProducerID) {
			ids = append(ids, c.p.ProducerID)
		}
	}
	listed, err := adm.ListTransactions(ctx, ids, nil)
	if err != nil {
		return nil, err
	}
	txnOf := map[int64]string{}
	var txnIDs []string
	for _, l := range listed.Sorted() {
		if slices.Contains(ids, l.ProducerID) {
			txnOf[l.ProducerID] = l.TxnID
			txnIDs = append(txnIDs, l.TxnID)
		}
	}
	described := kadm.DescribedTransactions{}
	if len(txnIDs) > 0 {
		if described, err = adm.DescribeTransactions(ctx, txnIDs...); err != nil {
			return nil, err
		}
	}
	var hanging []openTxn
	for _, c := range candidates {
		id, ok := txnOf[c.p.ProducerID]
		d, found := described[id]
		switch {
		case !ok, !found, errors.Is(d.Err, kerr.TransactionalIDNotFound):
			hanging = append(hanging, c)
		case d.Err != nil:
			return nil, d.Err
		default:
			if _, in := d.Topics[c.topic][c.partition]; !in {
				hanging = append(hanging, c)
			}
		}
	}
	return hanging, nil
}
