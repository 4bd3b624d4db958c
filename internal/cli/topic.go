package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// topic.go is `samsa topic`: create, list, delete and add-partitions here;
// describe in topic_describe.go; alter-config and trim-prefix in
// topic_change.go. Commands that act on several topics print a TOPIC STATUS
// table (OK, or the Kafka error name and message) and exit 1 if any topic
// failed.

func runTopic(ctx context.Context, e *env, args []string) int {
	return runSub(ctx, e, []subcommand{
		{"create", "create topics", topicCreate},
		{"list", "list topics", topicList},
		{"describe", "show a topic's summary, configs and partitions", topicDescribe},
		{"delete", "delete topics", topicDelete},
		{"add-partitions", "add partitions to topics", topicAddPartitions},
		{"alter-config", "set or delete topic configs", topicAlterConfig},
		{"trim-prefix", "delete records before an offset (DeleteRecords)", topicTrimPrefix},
	}, args)
}

// kafkaUUID prints a topic ID the way Kafka does (URL-safe base64, no padding).
func kafkaUUID(id kadm.TopicID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// statusTable prints TOPIC STATUS rows in the order of topics and reports
// whether every topic succeeded.
func statusTable(e *env, topics []string, status func(topic string) (ok bool, text string)) bool {
	t := newTable(e.stdout, "TOPIC", "STATUS")
	allOK := true
	for _, topic := range topics {
		ok, text := status(topic)
		if ok {
			text = "OK"
		}
		allOK = allOK && ok
		t.row(topic, text)
	}
	t.flush()
	return allOK
}

func exitFor(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func topicCreate(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic create TOPIC... [flags]",
		"Create topics. Prints a TOPIC STATUS table and exits 1 if any topic could not be created.")
	f.TopicArgs()
	conn := addConnFlags(f)
	parts := f.Int("partitions,p", -1, "N", "partitions per topic (default: the broker's num.partitions)")
	rf := f.Int("replicas,r", -1, "N", "replication factor (default: the broker's default.replication.factor)")
	cfgs := f.Strings("topic-config,c", "KEY=VALUE", "topic config, e.g. cleanup.policy=compact; repeatable")
	dry := f.Bool("dry-run", "only ask the broker whether the topics could be created")
	f.Alias("dry-run", "dry", "d")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one topic"))
	}
	if *rf == 0 || *rf > 32767 || *rf < -1 {
		return e.usageFail(f, usagef("--replicas must be between 1 and 32767"))
	}
	if *parts == 0 || *parts < -1 {
		return e.usageFail(f, usagef("--partitions must be greater than 0"))
	}
	configs, err := topicConfigs(*cfgs)
	if err != nil {
		return e.usageFail(f, err)
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	create := adm.CreateTopics
	if *dry {
		create = adm.ValidateCreateTopics
	}
	resps, err := create(ctx, int32(*parts), int16(*rf), configs, f.Args()...)
	if err != nil {
		return e.fail(err)
	}
	ok := statusTable(e, f.Args(), func(topic string) (bool, string) {
		r, found := resps[topic]
		if !found {
			return false, "no response from the broker"
		}
		if r.Err != nil {
			return false, kafkaErrText(r.Err, createErrMessage(ctx, adm, r.Err, r.ErrMessage, topic, *rf))
		}
		return true, ""
	})
	return exitFor(ok)
}

// topicConfigs parses KEY=VALUE topic configs.
func topicConfigs(list []string) (map[string]*string, error) {
	out := map[string]*string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usagef("invalid topic config %q: want KEY=VALUE", kv)
		}
		v = strings.TrimSpace(v)
		out[k] = &v
	}
	return out, nil
}

// createErrMessage returns the broker's message for a failed create, or the
// text Kafka's broker would have sent for the common failures when the
// broker sent none.
func createErrMessage(ctx context.Context, adm *kadm.Client, err error, brokerMsg, topic string, rf int) string {
	if brokerMsg != "" {
		return brokerMsg
	}
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Sprintf("Topic '%s' already exists.", topic)
	case errors.Is(err, kerr.InvalidReplicationFactor) && rf > 0:
		if brokers, berr := adm.ListBrokers(ctx); berr == nil {
			return fmt.Sprintf("Replication factor: %d larger than available brokers: %d.", rf, len(brokers))
		}
	case errors.Is(err, kerr.InvalidPartitions):
		return "Number of partitions must be larger than 0."
	}
	return ""
}

func topicList(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic list [TOPIC...] [flags]",
		"List topics with their partition count and replication factor, sorted by name.")
	f.TopicArgs()
	conn := addConnFlags(f)
	internal := f.Bool("internal,i", "include internal topics (__consumer_offsets, ...)")
	re := f.String("regex,r", "", "REGEX", "only topics whose whole name matches REGEX")
	format := formatFlag(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if err := checkFormat(*format); err != nil {
		return e.usageFail(f, err)
	}
	var match *regexp.Regexp
	if *re != "" {
		var err error
		if match, err = regexp.Compile("^(?:" + *re + ")$"); err != nil {
			return e.usageFail(f, usagef("bad --regex: %v", err))
		}
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	details, err := adm.ListTopicsWithInternal(ctx, f.Args()...)
	if err != nil {
		return e.fail(err)
	}
	type listed struct {
		Name       string `json:"name"`
		Partitions int    `json:"partitions"`
		Replicas   int    `json:"replicas"`
		Internal   bool   `json:"internal"`
	}
	var rows []listed
	for _, name := range details.Names() {
		d := details[name]
		if d.Err != nil {
			fmt.Fprintf(e.stderr, "%s: %s: %s\n", e.prog, name, kafkaErrText(d.Err, ""))
			continue
		}
		if (d.IsInternal || isInternalTopic(name)) && !*internal && len(f.Args()) == 0 {
			continue
		}
		if match != nil && !match.MatchString(name) {
			continue
		}
		rows = append(rows, listed{name, len(d.Partitions), replicationFactor(d), d.IsInternal || isInternalTopic(name)})
	}
	if *format == "json" {
		if rows == nil {
			rows = []listed{}
		}
		if err := writeJSON(e.stdout, rows); err != nil {
			return e.fail(err)
		}
		return 0
	}
	t := newTable(e.stdout, "NAME", "PARTITIONS", "REPLICAS")
	for _, r := range rows {
		t.row(r.Name, r.Partitions, r.Replicas)
	}
	t.flush()
	return 0
}

// isInternalTopic is Kafka's list of internal topics.
func isInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state" || name == "__share_group_state"
}

// replicationFactor is the replica count of the topic's lowest partition.
func replicationFactor(d kadm.TopicDetail) int {
	ps := d.Partitions.Sorted()
	if len(ps) == 0 {
		return 0
	}
	return len(ps[0].Replicas)
}

func topicDelete(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic delete TOPIC... [flags]",
		"Delete topics. Prints a TOPIC STATUS table and exits 1 if any topic could not be deleted.")
	f.TopicArgs()
	conn := addConnFlags(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one topic"))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	resps, err := adm.DeleteTopics(ctx, f.Args()...)
	if err != nil {
		return e.fail(err)
	}
	ok := statusTable(e, f.Args(), func(topic string) (bool, string) {
		r, found := resps[topic]
		if !found {
			return false, "no response from the broker"
		}
		if r.Err != nil {
			return false, kafkaErrText(r.Err, r.ErrMessage)
		}
		return true, ""
	})
	return exitFor(ok)
}

func topicAddPartitions(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic add-partitions TOPIC... -n N [flags]",
		"Add N partitions to each topic. Keyed records may map to other partitions afterwards.")
	f.TopicArgs()
	conn := addConnFlags(f)
	n := f.Int("num,n", 0, "N", "number of partitions to add")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one topic"))
	}
	if *n <= 0 {
		return e.usageFail(f, usagef("-n must be a positive number of partitions to add"))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	resps, err := adm.CreatePartitions(ctx, *n, f.Args()...)
	if err != nil {
		return e.fail(err)
	}
	ok := statusTable(e, f.Args(), func(topic string) (bool, string) {
		r, found := resps[topic]
		if !found {
			return false, kafkaErrText(kerr.UnknownTopicOrPartition, "")
		}
		if r.Err != nil {
			return false, kafkaErrText(r.Err, r.ErrMessage)
		}
		return true, ""
	})
	return exitFor(ok)
}
