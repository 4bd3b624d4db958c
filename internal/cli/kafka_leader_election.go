package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_leader_election.go is the kafka-leader-election.sh personality
// (Kafka's LeaderElectionCommand): one ElectLeaders request for a topic
// partition (--topic with --partition), the partitions of a JSON file
// (--path-to-json-file, {"partitions":[{"topic":"t","partition":0}]}) or
// every partition (--all-topic-partitions, sent as a null list). Output
// follows Kafka 4.x, on stdout:
//
//	Successfully completed leader election (PREFERRED) for partitions t-0, t-1
//	Valid replica already elected for partitions t-2
//	Error completing leader election (PREFERRED) for partition: t-3: PREFERRED_LEADER_NOT_AVAILABLE: ...
//
// and, after any error line, "N replica(s) could not be elected" on stderr
// and exit 1. Each line lists its partitions in the order Kafka's HashSets
// iterate them (javaHashOrder), so for the same answer from the broker the
// lists read as Kafka's do. Where Kafka prints a Java exception in an error
// line we print the Kafka error's name and message.
//
// The request is built with kmsg rather than kadm.ElectLeaders, which sends
// an empty partition set as null (electing every partition, where Kafka
// elects none) and drops a top-level error other than an authorization
// failure (samsa's broker answers REQUEST_TIMED_OUT there when the
// controller cannot be reached; Kafka reports a timeout and exits 1).
//
// Where samsa differs: --bootstrap-server is not required (the cluster is
// found as for every command); --admin.config, which Kafka 4.2 deprecates
// for --command-config (KIP-1147), is accepted without the deprecation line;
// errors print Kafka's message without a Java stack trace, and Kafka's
// argument errors exit 2 with the usage (kafka.go).

// electionType is Kafka's ElectionType: its name as printed and its code in
// ElectLeaders (KIP-460).
type electionType struct {
	name string
	code int8
}

var electionTypes = []electionType{{"PREFERRED", 0}, {"UNCLEAN", 1}}

// leaderElectionTimeout is the default.api.timeout.ms LeaderElectionCommand
// sets (30 s), bounding the whole call; electRequestTimeout is the
// request.timeout.ms it sets, half of that, sent as the controller's wait.
const (
	leaderElectionTimeout = 30 * time.Second
	electRequestTimeout   = 15 * time.Second
)

func kafkaLeaderElection(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-leader-election.sh --bootstrap-server HOST:PORT --election-type preferred|unclean (--all-topic-partitions | --topic T --partition P | --path-to-json-file FILE)",
		"This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.")
	conn := addKafkaConn(f, "config properties file to pass to the admin client")
	adminConfig := f.String("admin.config", "", "FILE", "the spelling of --command-config before Kafka 4.2")
	f.Hide("admin.config")
	typeFlag := f.String("election-type", "", "preferred|unclean",
		"preferred: move leadership to the preferred replica where it is not the leader; unclean: elect a leader, from outside the ISR if need be, where there is none")
	f.Bool("all-topic-partitions", "every partition eligible for the election type; not with --topic or --path-to-json-file")
	topic := f.String("topic", "", "TOPIC", "the topic of the partition to elect for; needs --partition")
	partition := f.String("partition", "", "ID", "the partition to elect for; only with --topic")
	jsonFile := f.String("path-to-json-file", "", "FILE",
		`the partitions to elect for: {"partitions": [{"topic": "foo", "partition": 1}, ...]}`)
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if err := checkLeaderElectionArgs(f); err != nil {
		return e.usageFail(f, err)
	}
	// Kafka reads the values in this order, after checking the options.
	i := slices.IndexFunc(electionTypes, func(t electionType) bool { return strings.EqualFold(t.name, *typeFlag) })
	if i < 0 {
		return e.usageFail(f, usagef("Cannot parse argument '%s' of option election-type", *typeFlag))
	}
	el := &election{typ: electionTypes[i], all: f.Changed("all-topic-partitions")}
	switch {
	case f.Changed("path-to-json-file"):
		data, err := os.ReadFile(*jsonFile)
		if err != nil {
			return e.fail(err)
		}
		if el.partitions, err = parseElectionJSON(data); err != nil {
			return terse(e, err.Error())
		}
	case f.Changed("topic"):
		p, err := strconv.ParseInt(*partition, 10, 32)
		if err != nil {
			return e.usageFail(f, usagef("Cannot parse argument '%s' of option partition", *partition))
		}
		el.partitions = []topicPartition{{*topic, int32(p)}}
	}
	if f.Changed("admin.config") {
		*conn.config = *adminConfig
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	return el.run(ctx, e, cl)
}

// checkLeaderElectionArgs ports LeaderElectionCommandOptions.validate, less
// the required --bootstrap-server.
func checkLeaderElectionArgs(f *flagSet) error {
	if !f.Changed("election-type") {
		return usagef("Missing required option(s): election-type")
	}
	if f.Changed("admin.config") && f.Changed("command-config") {
		return kafkaOptionConflict("admin.config", "command-config")
	}
	selectors := []string{"topic", "all-topic-partitions", "path-to-json-file"}
	given := 0
	for _, s := range selectors {
		if f.Changed(s) {
			given++
		}
	}
	if given != 1 {
		return usagef("One and only one of the following options is required: %s", strings.Join(selectors, ", "))
	}
	if f.Changed("topic") && !f.Changed("partition") {
		return usagef("Missing required option(s): partition")
	}
	if !f.Changed("topic") && f.Changed("partition") {
		return usagef("Option partition is only allowed if topic is used")
	}
	return nil
}

// election is one ElectLeaders request.
type election struct {
	typ        electionType
	all        bool             // every partition: a null list
	partitions []topicPartition // without all: the partitions named, possibly none
}

func (el *election) run(ctx context.Context, e *env, cl *kgo.Client) int {
	ctx, cancel := context.WithTimeout(ctx, leaderElectionTimeout)
	defer cancel()
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = el.typ.code
	req.TimeoutMillis = int32(electRequestTimeout.Milliseconds())
	if !el.all {
		// Non-nil: an empty list asks for no partitions, where null means all.
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		for _, tp := range el.partitions {
			i := slices.IndexFunc(req.Topics, func(t kmsg.ElectLeadersRequestTopic) bool { return t.Topic == tp.topic })
			if i < 0 {
				t := kmsg.NewElectLeadersRequestTopic()
				t.Topic = tp.topic
				req.Topics, i = append(req.Topics, t), len(req.Topics)
			}
			req.Topics[i].Partitions = append(req.Topics[i].Partitions, tp.partition)
		}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode) // v0 has no top-level code: 0
	}
	var ke *kerr.Error
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kerr.RequestTimedOut):
		return electionAborted(e, "Timeout waiting for election results")
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		return electionAborted(e, "Not authorized to perform leader election")
	case errors.As(err, &ke):
		// Kafka prints the ExecutionException around the admin client's
		// exception; we print the Kafka error's name and description.
		return terse(e, kafkaErrText(err, ""))
	default:
		return e.fail(err)
	}
	return el.report(e, resp)
}

// electionAborted prints what Kafka prints when the request as a whole
// fails: msg on stdout, then as the exception's message on stderr.
func electionAborted(e *env, msg string) int {
	fmt.Fprintln(e.stdout, msg)
	return terse(e, msg)
}

// report prints the answer per partition, in Kafka's three groups: elected,
// not needed (ELECTION_NOT_NEEDED), failed; any failure exits 1.
func (el *election) report(e *env, resp *kmsg.ElectLeadersResponse) int {
	// Kafka collects the answers in a HashMap, the later of two answers for
	// one partition winning, then splits them into HashSets.
	type answer struct {
		err error  // a *kerr.Error, nil if elected
		msg string // the broker's message, if any
	}
	var answered []topicPartition
	answers := map[topicPartition]answer{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			tp := topicPartition{t.Topic, p.Partition}
			answered = append(answered, tp)
			a := answer{err: kerr.ErrorForCode(p.ErrorCode)}
			if p.ErrorMessage != nil {
				a.msg = *p.ErrorMessage
			}
			answers[tp] = a
		}
	}
	var elected, noop, failed []topicPartition
	for _, tp := range javaHashOrder(answered) {
		switch err := answers[tp].err; {
		case err == nil:
			elected = append(elected, tp)
		case errors.Is(err, kerr.ElectionNotNeeded):
			noop = append(noop, tp)
		default:
			failed = append(failed, tp)
		}
	}
	if len(elected) > 0 {
		fmt.Fprintf(e.stdout, "Successfully completed leader election (%s) for partitions %s\n", el.typ.name, joinPartitions(javaHashOrder(elected)))
	}
	if len(noop) > 0 {
		fmt.Fprintf(e.stdout, "Valid replica already elected for partitions %s\n", joinPartitions(javaHashOrder(noop)))
	}
	if len(failed) == 0 {
		return 0
	}
	// Where Kafka prints the exception (its Java class name and message),
	// we print the Kafka error's name and the broker's message, or kerr's
	// description when the broker sent none: "UNKNOWN_TOPIC_OR_PARTITION:
	// This server does not host this topic-partition."
	for _, tp := range javaHashOrder(failed) {
		a := answers[tp]
		fmt.Fprintf(e.stdout, "Error completing leader election (%s) for partition: %s: %s\n", el.typ.name, tp, kafkaErrText(a.err, a.msg))
	}
	return terse(e, fmt.Sprintf("%d replica(s) could not be elected", len(failed)))
}

func joinPartitions(tps []topicPartition) string {
	parts := make([]string, len(tps))
	for i, tp := range tps {
		parts[i] = tp.String()
	}
	return strings.Join(parts, ", ")
}

// parseElectionJSON reads a --path-to-json-file document with Kafka's
// checks and messages. Like Kafka's parser it reads the first JSON value
// and ignores what follows, and takes the last of repeated keys.
func parseElectionJSON(data []byte) ([]topicPartition, error) {
	var doc json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, errors.New("Replica election data is empty") // Kafka's answer to any unparsable file
	}
	top, err := jsonObject(doc)
	if err != nil {
		return nil, err
	}
	list, ok := top["partitions"]
	if !ok {
		return nil, errors.New(`Replica election data is missing "partitions" field`)
	}
	var elems []json.RawMessage
	if list[0] != '[' || json.Unmarshal(list, &elems) != nil {
		return nil, fmt.Errorf("Expected JSON array, received %s", compactJSON(list))
	}
	tps := []topicPartition{}
	for _, el := range elems {
		obj, err := jsonObject(el)
		if err != nil {
			return nil, err
		}
		topic, ok := obj["topic"]
		if !ok {
			return nil, errors.New("No such field exists: `topic`")
		}
		var name string
		if topic[0] != '"' || json.Unmarshal(topic, &name) != nil {
			return nil, fmt.Errorf("Expected `String` value, received %s", compactJSON(topic))
		}
		part, ok := obj["partition"]
		if !ok {
			return nil, errors.New("No such field exists: `partition`")
		}
		// Only a JSON integer within int32 is an Integer to Jackson: 1.0
		// and 1e0 are doubles.
		p, err := strconv.ParseInt(string(part), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("Expected `Integer` value, received %s", compactJSON(part))
		}
		tps = append(tps, topicPartition{name, int32(p)})
	}
	count := map[topicPartition]int{}
	for _, tp := range tps {
		count[tp]++
	}
	var dups []topicPartition
	for _, tp := range tps {
		if count[tp] > 1 {
			dups = append(dups, tp)
		}
	}
	if len(dups) > 0 {
		// Kafka prints the HashSet of duplicates: [t-0, t-1].
		return nil, fmt.Errorf("Replica election data contains duplicate partitions: [%s]", joinPartitions(javaHashOrder(dups)))
	}
	return tps, nil
}

// jsonObject decodes an object's fields, or fails as Kafka's asJsonObject.
func jsonObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return nil, fmt.Errorf("Expected JSON object, received %s", compactJSON(raw))
	}
	return obj, nil
}

// compactJSON prints a value as Jackson's JsonNode.toString does, near
// enough: without insignificant whitespace.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
