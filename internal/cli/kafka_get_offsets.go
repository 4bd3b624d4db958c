package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_get_offsets.go is the kafka-get-offsets.sh personality (Kafka's
// GetOffsetShell): the offset ListOffsets answers for each chosen
// partition, one line each on stdout,
//
//	topic:partition:offset
//
// in the order of Kafka's TreeMap of results, which compares the strings
// "topic-partition", so that t-10 comes before t-2. A partition the broker
// has no offset for (offset -1: no record at or after --time, nothing in
// tiered storage) gets no line, as in Kafka. A partition whose lookup
// failed gets none either, only "Skip getting offsets for topic-partition
// t-0 due to error: ..." on stderr, and the exit code stays 0. Choosing no
// partition at all is Kafka's "Could not match any topic-partitions with
// the specified filters" and exit 1.
//
// The partitions are those of the topics Metadata lists, internal ones
// too unless --exclude-internal-topics, that --topic-partitions selects (a
// comma separated list of TOPIC_REGEX[:PARTITIONS] rules, PARTITIONS being
// N, N-M with M excluded, N- or -M) or --topic REGEX with --partitions
// N,N,... do. A regex must match the whole name. Kafka's quirks are kept:
// a comma in --topic means "or", a trailing comma is dropped, an empty
// rule selects every partition.
//
// --time is a timestamp in ms or one of ListOffsets' special timestamps,
// by number or name (offsetTimes). They are sent to the broker as they
// are, so that against a Kafka cluster with tiered storage -4, -5 and -6
// mean what they mean there. A broker without tiered storage, samsa's as
// Kafka's with remote.log.storage.system.enable=false, answers -4
// (earliest-local) with the log start offset, as for -2, and -5
// (latest-tiered) and -6 (earliest-pending-upload) with offset -1, so that
// those print nothing; Kafka's GetOffsetShellTest expects the same empty
// output from a Kafka broker.
//
// -1 to -5 go through kadm; timestamps and -6 are sent as a ListOffsets
// of their own, because kadm's ListOffsetsAfterMilli answers the end
// offset where no record is at or after the time, where Kafka prints
// nothing, and kadm has no call for -6.
//
// Where samsa differs: --bootstrap-server is not required (the cluster is
// found as for every command); --broker-list, which Kafka 4.0 removed, is
// still accepted; there is no --bootstrap-controller, as in Kafka
// (ListOffsets is answered by brokers); regexes are Go's RE2, without
// Java's lookaround and backreferences; errors print without Java's stack
// trace, and argument errors exit 2 with the usage (kafka.go).

// offsetTimes are the names --time accepts and the ListOffsets timestamps
// they stand for, in the order Kafka's message lists them.
var offsetTimes = []struct {
	name string
	ts   int64
}{
	{"latest", -1},
	{"earliest", -2},
	{"max-timestamp", -3},
	{"earliest-local", -4},
	{"latest-tiered", -5},
	{"earliest-pending-upload", -6},
}

// topicPartitionRule is Kafka's TOPIC_PARTITION_PATTERN for one
// --topic-partitions rule: a topic regex, then nothing, ":N" or ":N-M"
// with either bound optional.
var topicPartitionRule = regexp.MustCompile(`^([^:,]*)(?::(?:([0-9]*)|(?:([0-9]*)-([0-9]*))))?$`)

// bootstrapHostPort is what Kafka's Utils.getPort needs of each
// --bootstrap-server entry: a port at the end.
var bootstrapHostPort = regexp.MustCompile(`^.*?\[?([0-9a-zA-Z\-%._:]*)\]?:([0-9]+)$`)

var commaSep = regexp.MustCompile(",")

// partitionRule selects partitions: those of topics topic matches whose
// number allow accepts.
type partitionRule struct {
	topic *regexp.Regexp
	allow func(p int32) bool
}

// partitionSelector is a list of rules; a partition is chosen if any rule
// selects it.
type partitionSelector []partitionRule

func (s partitionSelector) selects(tp topicPartition) bool {
	return slices.ContainsFunc(s, func(r partitionRule) bool {
		return r.topic.MatchString(tp.topic) && r.allow(tp.partition)
	})
}

// names reports whether a rule's regex matches topic.
func (s partitionSelector) names(topic string) bool {
	return slices.ContainsFunc(s, func(r partitionRule) bool { return r.topic.MatchString(topic) })
}

func kafkaGetOffsets(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-get-offsets.sh --bootstrap-server HOST:PORT [--topic-partitions RULES | --topic REGEX [--partitions IDS]] [--time TIME] [options]",
		"An interactive shell for getting topic-partition offsets.\n"+
			"Prints topic:partition:offset for each partition; none for a partition with no offset at --time.\n"+
			"Regexes are Go's RE2 syntax, not Java's. samsa keeps every record local: earliest-local is earliest,\n"+
			"and latest-tiered and earliest-pending-upload find no offset.")
	conn := addKafkaConn(f, "the admin client's properties, by their Kafka names")
	f.Alias("bootstrap-server", "broker-list")
	rules := f.String("topic-partitions", "", "RULES",
		"comma separated TOPIC_REGEX[:N | :N-M | :N- | :-M] rules, M excluded (topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3); an empty regex matches every topic; not with --topic or --partitions")
	topic := f.String("topic", "", "REGEX", "the topics to get offsets for, a regex (default all)")
	partitions := f.String("partitions", "", "IDS", "comma separated partition ids to get offsets for (default all)")
	timeFlag := f.String("time", "latest", "TIME",
		"a timestamp in ms (the first offset at or after it), or -1|latest, -2|earliest, -3|max-timestamp, -4|earliest-local, -5|latest-tiered, -6|earliest-pending-upload")
	f.Bool("exclude-internal-topics", "leave out internal topics (__consumer_offsets, __transaction_state, ...)")
	if len(args) == 0 {
		return e.usageFail(f, usagef("An interactive shell for getting topic-partition offsets."))
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if f.Changed("bootstrap-server") {
		if err := checkBootstrapServer(*conn.bootstrap); err != nil {
			return e.usageFail(f, err)
		}
	}
	if f.Changed("topic-partitions") && (f.Changed("topic") || f.Changed("partitions")) {
		return e.usageFail(f, usagef("--topic-partitions cannot be used with --topic or --partitions"))
	}
	ts, err := parseOffsetTime(*timeFlag)
	if err != nil {
		return e.usageFail(f, err)
	}
	var sel partitionSelector
	if f.Changed("topic-partitions") {
		sel, err = parseTopicPartitionRules(*rules)
	} else {
		re := ".*"
		if f.Changed("topic") {
			re = *topic
		}
		sel, err = topicAndPartitionsRule(re, *partitions)
	}
	if err != nil {
		return e.usageFail(f, err)
	}

	p, err := conn.load(e)
	if err != nil {
		return e.fail(err)
	}
	cl, err := e.newClient(e.seedBrokers(*conn.bootstrap, p), p, roleAdmin, kgo.ClientID("GetOffsetShell"))
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	tps, err := selectPartitions(ctx, kadm.NewClient(cl), sel, f.Changed("exclude-internal-topics"))
	if err != nil {
		return e.fail(err)
	}
	if len(tps) == 0 {
		return e.fail(errors.New("Could not match any topic-partitions with the specified filters"))
	}
	answers := listOffsetsAt(ctx, cl, ts, tps)
	for _, tp := range tps {
		if a := answers[tp]; a.err != nil {
			fmt.Fprintf(e.stderr, "Skip getting offsets for topic-partition %s due to error: %s\n", tp, javaErr(a.err))
		}
	}
	for _, tp := range tps {
		if a := answers[tp]; a.err == nil && a.offset != -1 {
			fmt.Fprintf(e.stdout, "%s:%d:%d\n", tp.topic, tp.partition, a.offset)
		}
	}
	return 0
}

// checkBootstrapServer is Kafka's ToolsUtils.validateBootstrapServer.
func checkBootstrapServer(list string) error {
	if strings.TrimSpace(list) == "" {
		return usagef("Error while validating the bootstrap address")
	}
	entries := javaSplit(commaSep, list)
	if len(entries) == 0 {
		return usagef("Please provide valid host:port like host1:9091,host2:9092")
	}
	for _, hp := range entries {
		if !bootstrapHostPort.MatchString(hp) {
			return usagef("Please provide valid host:port like host1:9091,host2:9092")
		}
	}
	return nil
}

// parseOffsetTime reads --time as Kafka's parseOffsetSpec does. Negative
// numbers other than the special ones are sent on as timestamps, as
// Kafka's tool sends them.
func parseOffsetTime(s string) (int64, error) {
	for _, t := range offsetTimes {
		if s == t.name {
			return t.ts, nil
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, usagef("Malformed time argument %s. Please use -1 or latest / -2 or earliest / -3 or max-timestamp / "+
			"-4 or earliest-local / -5 or latest-tiered / -6 or earliest-pending-upload, or a specified long format timestamp", s)
	}
	return ts, nil
}

// parseTopicPartitionRules reads --topic-partitions. Like Java's split,
// it drops trailing empty rules but keeps an empty value as one rule.
func parseTopicPartitionRules(s string) (partitionSelector, error) {
	specs := []string{""}
	if s != "" {
		specs = javaSplit(commaSep, s)
	}
	var sel partitionSelector
	for _, spec := range specs {
		m := topicPartitionRule.FindStringSubmatch(spec)
		if m == nil {
			return nil, usagef("Invalid rule specification: %s", spec)
		}
		re := m[1]
		if re == "" {
			re = ".*"
		}
		topic, err := topicRegex(re)
		if err != nil {
			return nil, err
		}
		allow, err := partitionPattern(m[2], m[3], m[4])
		if err != nil {
			return nil, err
		}
		sel = append(sel, partitionRule{topic, allow})
	}
	return sel, nil
}

// partitionPattern is the partition part of a rule: one partition, or
// the range from lo (default 0) up to but not including hi (default
// Integer.MAX_VALUE).
func partitionPattern(one, lo, hi string) (func(int32) bool, error) {
	if one != "" {
		n, err := javaParseInt(one)
		return func(p int32) bool { return p == n }, err
	}
	from, to := int32(0), int32(1<<31-1)
	var err error
	if lo != "" {
		if from, err = javaParseInt(lo); err != nil {
			return nil, err
		}
	}
	if hi != "" {
		if to, err = javaParseInt(hi); err != nil {
			return nil, err
		}
	}
	return func(p int32) bool { return p >= from && p < to }, nil
}

// topicAndPartitionsRule is the one rule of --topic and --partitions; no
// partitions, or an empty list, means all.
func topicAndPartitionsRule(re, partitions string) (partitionSelector, error) {
	topic, err := topicRegex(re)
	if err != nil {
		return nil, err
	}
	ids := map[int32]bool{}
	if partitions != "" {
		for _, s := range javaSplit(commaSep, partitions) {
			p, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return nil, usagef("--partitions expects a comma separated list of numeric partition ids, but received: %s", partitions)
			}
			ids[int32(p)] = true
		}
	}
	return partitionSelector{{topic, func(p int32) bool { return len(ids) == 0 || ids[p] }}}, nil
}

// topicRegex compiles a topic regex as Kafka's TopicFilter does: trimmed,
// commas read as "|", spaces and surrounding quotes dropped, and matched
// against the whole topic name.
func topicRegex(raw string) (*regexp.Regexp, error) {
	re := strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	re = strings.ReplaceAll(strings.ReplaceAll(re, ",", "|"), " ", "")
	re = strings.TrimRight(strings.TrimLeft(re, `"'`), `"'`)
	rx, err := regexp.Compile(`^(?:` + re + `)$`)
	if err != nil {
		return nil, usagef("%s is an invalid regex.", re)
	}
	return rx, nil
}

// javaParseInt parses a partition of a rule, with the message of Java's
// NumberFormatException when it does not fit an int.
func javaParseInt(s string) (int32, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, usagef("For input string: %q", s)
	}
	return int32(n), nil
}

// selectPartitions lists every topic (less the internal ones if asked)
// and returns the partitions sel chooses, in Kafka's output order.
func selectPartitions(ctx context.Context, adm *kadm.Client, sel partitionSelector, excludeInternal bool) ([]topicPartition, error) {
	topics, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, err
	}
	if excludeInternal {
		topics.FilterInternal()
	}
	var tps []topicPartition
	for _, td := range topics {
		if td.Err != nil {
			// Kafka's describe of the topics it selected fails likewise.
			if sel.names(td.Topic) {
				return nil, fmt.Errorf("topic %s: %w", td.Topic, td.Err)
			}
			continue
		}
		for p := range td.Partitions {
			if tp := (topicPartition{td.Topic, p}); sel.selects(tp) {
				tps = append(tps, tp)
			}
		}
	}
	slices.SortFunc(tps, func(a, b topicPartition) int { return strings.Compare(a.String(), b.String()) })
	return tps, nil
}

// offsetAnswer is one partition's answer: an offset (-1 for none) or the
// error that kept it from being found.
type offsetAnswer struct {
	offset int64
	err    error
}

// listOffsetsAt asks the partitions' leaders for the offset at ts. Every
// partition in tps gets an answer.
func listOffsetsAt(ctx context.Context, cl *kgo.Client, ts int64, tps []topicPartition) map[topicPartition]offsetAnswer {
	adm := kadm.NewClient(cl)
	list := map[int64]func(context.Context, ...string) (kadm.ListedOffsets, error){
		-1: adm.ListEndOffsets,
		-2: adm.ListStartOffsets,
		-3: adm.ListMaxTimestampOffsets,
		-4: adm.ListLocalLogStartOffsets,
		-5: adm.ListLatestRemoteOffsets,
	}[ts]
	if list == nil {
		return listOffsetsRaw(ctx, cl, ts, tps)
	}
	var topics []string
	for _, tp := range tps {
		if !slices.Contains(topics, tp.topic) {
			topics = append(topics, tp.topic)
		}
	}
	listed, err := list(ctx, topics...)
	out := map[topicPartition]offsetAnswer{}
	for _, tp := range tps {
		if lo, ok := listed.Lookup(tp.topic, tp.partition); ok {
			out[tp] = offsetAnswer{lo.Offset, lo.Err}
			continue
		}
		// Not answered: the shard it was in failed, the call failed,
		// or the topic went away after it was listed.
		why := shardErrFor(err, tp)
		if why == nil {
			why = err
		}
		if lo, ok := listed.Lookup(tp.topic, -1); why == nil && ok {
			why = lo.Err
		}
		if why == nil {
			why = kerr.UnknownTopicOrPartition
		}
		out[tp] = offsetAnswer{-1, why}
	}
	return out
}

// shardErrFor is the error of the failed shard of a kadm ListOffsets or
// DeleteRecords that asked for tp, if err holds one.
func shardErrFor(err error, tp topicPartition) error {
	var se *kadm.ShardErrors
	if !errors.As(err, &se) {
		return nil
	}
	for _, s := range se.Errs {
		if asksFor(s.Req, tp) {
			return s.Err
		}
	}
	return nil
}

// asksFor reports whether a ListOffsets or DeleteRecords request names tp.
func asksFor(req kmsg.Request, tp topicPartition) bool {
	switch r := req.(type) {
	case *kmsg.ListOffsetsRequest:
		for _, t := range r.Topics {
			if t.Topic == tp.topic && slices.ContainsFunc(t.Partitions, func(p kmsg.ListOffsetsRequestTopicPartition) bool {
				return p.Partition == tp.partition
			}) {
				return true
			}
		}
	case *kmsg.DeleteRecordsRequest:
		for _, t := range r.Topics {
			if t.Topic == tp.topic && slices.ContainsFunc(t.Partitions, func(p kmsg.DeleteRecordsRequestTopicPartition) bool {
				return p.Partition == tp.partition
			}) {
				return true
			}
		}
	}
	return false
}

// listOffsetsRaw sends one ListOffsets for exactly tps at ts, split by
// leader, and takes the broker's answers as they are.
func listOffsetsRaw(ctx context.Context, cl *kgo.Client, ts int64, tps []topicPartition) map[topicPartition]offsetAnswer {
	req := kmsg.NewPtrListOffsetsRequest()
	at := map[string]int{}
	for _, tp := range tps {
		i, ok := at[tp.topic]
		if !ok {
			i = len(req.Topics)
			at[tp.topic] = i
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = tp.topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = tp.partition, ts
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	out := map[topicPartition]offsetAnswer{}
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			for _, t := range shard.Req.(*kmsg.ListOffsetsRequest).Topics {
				for _, p := range t.Partitions {
					out[topicPartition{t.Topic, p.Partition}] = offsetAnswer{-1, shard.Err}
				}
			}
			continue
		}
		for _, t := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				out[topicPartition{t.Topic, p.Partition}] = offsetAnswer{p.Offset, kerr.ErrorForCode(p.ErrorCode)}
			}
		}
	}
	for _, tp := range tps {
		if _, ok := out[tp]; !ok {
			out[tp] = offsetAnswer{-1, kerr.UnknownTopicOrPartition}
		}
	}
	return out
}
