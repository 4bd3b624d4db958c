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

// kafka_topics.go is the kafka-topics.sh personality (Kafka's TopicCommand):
// --create, --list, --alter and --delete here, --describe in
// kafka_topics_describe.go. Output and messages follow Kafka 4.x: "Created
// topic X.", nothing on a successful --alter or --delete, "Error while
// executing topic command : ..." on stdout when the broker refuses.

// topicsOpts are kafka-topics.sh's parsed options.
type topicsOpts struct {
	f                                          *flagSet
	conn                                       *kafkaConn
	cl                                         *kgo.Client // for the raw requests kadm does not cover
	topic, topicID, assignment                 *string
	partitions, rf, sizeLimit                  *int
	configs                                    *[]string
	ifExists, ifNotExists, excludeInternal     *bool
	underReplicated, unavailable               *bool
	underMinISR, atMinISR, topicsWithOverrides *bool
}

var topicsActions = []string{"create", "list", "alter", "describe", "delete"}

func kafkaTopics(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-topics.sh --bootstrap-server HOST:PORT (--create|--list|--describe|--alter|--delete) [options]",
		"This tool helps to create, delete, describe, or change a topic.")
	o := &topicsOpts{f: f}
	o.conn = addKafkaConn(f, "property file containing configs to be passed to the admin client")
	f.Bool("create", "Create a new topic.")
	f.Bool("list", "List all available topics.")
	f.Bool("describe", "List details for the given topics.")
	f.Bool("alter", "Alter the number of partitions and replica assignment. (To alter topic configurations, use kafka-configs.sh.)")
	f.Bool("delete", "Delete a topic.")
	o.topic = f.String("topic", "", "TOPIC", "the topic to create, alter, describe or delete; a regular expression except with --create")
	o.topicID = f.String("topic-id", "", "ID", "the topic id to describe")
	o.partitions = f.Int("partitions", -1, "N", "partitions for the topic being created or altered (create default: the broker's num.partitions)")
	o.rf = f.Int("replication-factor", -1, "N", "replication factor for the topic being created (default: the broker's default)")
	o.assignment = f.String("replica-assignment", "", "B1:B2,B1:B2,...", "manual partition-to-broker assignment for --create or --alter")
	o.configs = f.Strings("config", "NAME=VALUE", "a topic config override for the topic being created; repeatable")
	f.Strings("delete-config", "NAME", "no longer supported (since Kafka 4.0); use kafka-configs.sh")
	f.Hide("delete-config")
	o.ifExists = f.Bool("if-exists", "with --alter, --delete or --describe: act only if the topic exists")
	o.ifNotExists = f.Bool("if-not-exists", "with --create: do not fail if the topic already exists")
	o.excludeInternal = f.Bool("exclude-internal", "leave internal topics out of --list and --describe")
	o.underReplicated = f.Bool("under-replicated-partitions", "with --describe: only under-replicated partitions")
	o.unavailable = f.Bool("unavailable-partitions", "with --describe: only partitions whose leader is not available")
	o.underMinISR = f.Bool("under-min-isr-partitions", "with --describe: only partitions whose ISR is smaller than min.insync.replicas")
	o.atMinISR = f.Bool("at-min-isr-partitions", "with --describe: only partitions whose ISR equals min.insync.replicas")
	o.topicsWithOverrides = f.Bool("topics-with-overrides", "with --describe: only topics that override configs")
	o.sizeLimit = f.Int("partition-size-limit-per-response", 2000, "N", "partitions per DescribeTopicPartitions response")
	if len(args) == 0 {
		return e.usageFail(f, usagef("Create, delete, describe, or change a topic."))
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if err := o.check(e); err != nil {
		return e.usageFail(f, err)
	}
	cl, err := o.conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	o.cl = cl
	adm := kadm.NewClient(cl)
	defer adm.Close()
	switch {
	case f.Changed("create"):
		err = o.create(ctx, e, adm)
	case f.Changed("list"):
		err = o.list(ctx, e, adm)
	case f.Changed("alter"):
		err = o.alter(ctx, e, adm)
	case f.Changed("describe"):
		err = o.describe(ctx, e, adm)
	case f.Changed("delete"):
		err = o.delete(ctx, e, adm)
	}
	return topicsExit(e, err)
}

// illegalArg is Kafka's IllegalArgumentException. ConfigCommand prints
// it alone on stderr; TopicCommand, which catches every error its
// commands throw, prints it as any other (topicsExit).
type illegalArg struct{ msg string }

func (e *illegalArg) Error() string { return e.msg }

// topicsExit prints err the way TopicCommand does, on stdout after
// "Error while executing topic command : " (a bad value given on the
// command line, an unknown topic or a broker's refusal alike), and returns
// the exit code.
func topicsExit(e *env, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(e.stdout, "Error while executing topic command : %v\n", err)
	return 1
}

// check ports TopicCommandOptions.checkArgs.
func (o *topicsOpts) check(e *env) error {
	f := o.f
	var action string
	n := 0
	for _, a := range topicsActions {
		if f.Changed(a) {
			action, n = a, n+1
		}
	}
	if n != 1 {
		return usagef("Command must include exactly one action: --list, --describe, --create, --alter or --delete")
	}
	if f.Changed("delete-config") {
		fmt.Fprintln(e.stderr, "delete-config option is no longer supported and deprecated since version 4.0. The config will be fully removed in future releases.")
	}
	if action == "describe" && *o.ifExists && *o.topic == "" && *o.topicID == "" {
		return usagef("--topic or --topic-id is required to describe a topic")
	}
	if action != "list" && action != "describe" && *o.topic == "" {
		return kafkaMissing("topic")
	}
	if action == "alter" {
		if f.Changed("config") {
			return usagef("Option \"[alter]\" can't be used with option \"[config]\" (To alter topic configurations, the kafka-configs tool can be used.)")
		}
		if !f.Changed("partitions") {
			return kafkaMissing("partitions")
		}
	}
	report := []string{"under-replicated-partitions", "unavailable-partitions", "under-min-isr-partitions", "at-min-isr-partitions"}
	allowed := map[string][]string{
		"config":                {"alter", "create"},
		"partitions":            {"alter", "create"},
		"replication-factor":    {"create"},
		"replica-assignment":    {"alter", "create"},
		"if-exists":             {"alter", "delete", "describe"},
		"if-not-exists":         {"create"},
		"exclude-internal":      {"list", "describe"},
		"topics-with-overrides": {"describe"},
	}
	for _, r := range report {
		allowed[r] = []string{"describe"}
	}
	for opt, actions := range allowed {
		if f.Changed(opt) && !slices.Contains(actions, action) {
			return kafkaOptionConflict(opt, action)
		}
	}
	if action == "create" && f.Changed("replica-assignment") {
		for _, opt := range []string{"partitions", "replication-factor"} {
			if f.Changed(opt) {
				return kafkaOptionConflict("replica-assignment", opt)
			}
		}
	}
	if f.Changed("topics-with-overrides") {
		for _, r := range report {
			if f.Changed(r) {
				return kafkaOptionConflict(r, "topics-with-overrides")
			}
		}
	}
	return nil
}

// parseReplicaAssignment reads "0:1,1:2" as partition 0 on brokers 0 and 1,
// partition 1 on brokers 1 and 2.
func parseReplicaAssignment(s string) ([][]int32, error) {
	var out [][]int32
	for i, part := range strings.Split(s, ",") {
		var brokers []int32
		seen := map[int32]bool{}
		var dups []string
		for b := range strings.SplitSeq(part, ":") {
			n, err := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("For input string: \"%s\"", strings.TrimSpace(b))
			}
			if seen[int32(n)] {
				dups = append(dups, strconv.Itoa(int(n)))
			}
			seen[int32(n)] = true
			brokers = append(brokers, int32(n))
		}
		if len(dups) > 0 {
			return nil, fmt.Errorf("Partition replica lists may not contain duplicate entries: %s", strings.Join(dups, ","))
		}
		if i > 0 && len(brokers) != len(out[0]) {
			return nil, fmt.Errorf("Partition %d has different replication factor: %s", i, javaList(brokers))
		}
		out = append(out, brokers)
	}
	return out, nil
}

// javaList prints [1, 2, 3] as Java's List.toString does.
func javaList(ids []int32) string {
	return "[" + strings.ReplaceAll(int32List(ids), ",", ", ") + "]"
}

// topicConfigPattern is TopicCommand's split of --config values.
var topicConfigPattern = regexp.MustCompile(`\s*=\s*`)

func (o *topicsOpts) create(ctx context.Context, e *env, adm *kadm.Client) error {
	name := *o.topic
	if strings.ContainsAny(name, "._") {
		fmt.Fprintln(e.stdout, "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.")
	}
	if o.f.Changed("replication-factor") && (*o.rf > 32767 || *o.rf < 1) {
		return &illegalArg{"The replication factor must be between 1 and 32767 inclusive"}
	}
	if o.f.Changed("partitions") && *o.partitions < 1 {
		return &illegalArg{"The partitions must be greater than 0"}
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = name
	rt.NumPartitions = int32(*o.partitions)
	rt.ReplicationFactor = int16(*o.rf)
	for _, c := range *o.configs {
		kv := topicConfigPattern.Split(c, -1)
		for len(kv) > 0 && kv[len(kv)-1] == "" { // Java's split drops trailing empties
			kv = kv[:len(kv)-1]
		}
		if len(kv) != 2 {
			return &illegalArg{`requirement failed: Invalid topic config: all configs to be added must be in the format "key=val".`}
		}
		rc := kmsg.NewCreateTopicsRequestTopicConfig()
		rc.Name, rc.Value = strings.TrimSpace(kv[0]), kmsg.StringPtr(strings.TrimSpace(kv[1]))
		rt.Configs = append(rt.Configs, rc)
	}
	if *o.assignment != "" {
		assign, err := parseReplicaAssignment(*o.assignment)
		if err != nil {
			return err
		}
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
		for i, brokers := range assign {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition, ra.Replicas = int32(i), brokers
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
		}
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, o.cl)
	if err != nil {
		return err
	}
	if len(resp.Topics) != 1 {
		return errors.New("the broker did not answer for the topic")
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		if errors.Is(err, kerr.TopicAlreadyExists) && *o.ifNotExists {
			return nil
		}
		msg := createErrMessage(ctx, adm, err, deref(resp.Topics[0].ErrorMessage), name, *o.rf)
		return kafkaError(err, msg)
	}
	fmt.Fprintf(e.stdout, "Created topic %s.\n", name)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// kafkaError is a broker error as a Java exception's message: the broker's
// message if it sent one, else the error code's description.
func kafkaError(err error, msg string) error {
	if msg != "" {
		return errors.New(msg)
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return errors.New(ke.Description)
	}
	return err
}

// topicNames lists topics as TopicCommand.getTopics does: sorted, filtered
// by the --topic regex (whole-name match; commas mean "or"), internal
// topics included unless --exclude-internal.
func (o *topicsOpts) topicNames(ctx context.Context, e *env, adm *kadm.Client) ([]string, kadm.TopicDetails, error) {
	all, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, nil, err
	}
	var re *regexp.Regexp
	if *o.topic != "" {
		expr := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(*o.topic), ",", "|"), " ", "")
		expr = strings.Trim(expr, `"'`)
		if re, err = regexp.Compile("^(?:" + expr + ")$"); err != nil {
			return nil, nil, &illegalArg{expr + " is an invalid regex."}
		}
	}
	var names []string
	for _, n := range all.Names() {
		internal := all[n].IsInternal || isInternalTopic(n)
		if internal && *o.excludeInternal {
			continue
		}
		if re != nil && !re.MatchString(n) {
			continue
		}
		names = append(names, n)
	}
	return names, all, nil
}

// ensureExists is TopicCommand.ensureTopicExists.
func (o *topicsOpts) ensureExists(found []string) error {
	if *o.topic != "" && !*o.ifExists && len(found) == 0 {
		return &illegalArg{fmt.Sprintf("Topic '%s' does not exist as expected", *o.topic)}
	}
	return nil
}

func (o *topicsOpts) list(ctx context.Context, e *env, adm *kadm.Client) error {
	names, _, err := o.topicNames(ctx, e, adm)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, strings.Join(names, "\n"))
	return nil
}

func (o *topicsOpts) delete(ctx context.Context, e *env, adm *kadm.Client) error {
	names, _, err := o.topicNames(ctx, e, adm)
	if err != nil {
		return err
	}
	if err := o.ensureExists(names); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	resps, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return err
	}
	for _, n := range names {
		if r, ok := resps[n]; ok && r.Err != nil {
			return kafkaError(r.Err, r.ErrMessage)
		}
	}
	return nil
}

func (o *topicsOpts) alter(ctx context.Context, e *env, adm *kadm.Client) error {
	names, details, err := o.topicNames(ctx, e, adm)
	if err != nil {
		return err
	}
	if err := o.ensureExists(names); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	var assign [][]int32
	if *o.assignment != "" {
		if assign, err = parseReplicaAssignment(*o.assignment); err != nil {
			return err
		}
	}
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 30000
	for _, n := range names {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = n, int32(*o.partitions)
		if current := len(details[n].Partitions); assign != nil && current < len(assign) {
			for _, brokers := range assign[current:] {
				a := kmsg.NewCreatePartitionsRequestTopicAssignment()
				a.Replicas = brokers
				rt.Assignment = append(rt.Assignment, a)
			}
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, o.cl)
	if err != nil {
		return err
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			msg := deref(rt.ErrorMessage)
			if msg == "" && errors.Is(err, kerr.InvalidPartitions) {
				msg = partitionsMessage(len(details[rt.Topic].Partitions), *o.partitions)
			}
			return kafkaError(err, msg)
		}
	}
	return nil
}

// partitionsMessage is the broker's text for a partition count that does
// not grow the topic.
func partitionsMessage(current, requested int) string {
	if current == requested {
		return fmt.Sprintf("Topic already has %d partitions.", current)
	}
	return fmt.Sprintf("Topic currently has %d partitions, which is higher than the requested %d.", current, requested)
}
