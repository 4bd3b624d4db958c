package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// topic_change.go is `samsa topic alter-config` (IncrementalAlterConfigs)
// and `samsa topic trim-prefix` (DeleteRecords).

func topicAlterConfig(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic alter-config TOPIC... [--set KEY=VALUE]... [--delete KEY]... [flags]",
		"Change topic configs with IncrementalAlterConfigs: --set sets a value, --delete returns a key to\n"+
			"its default, --append and --subtract add to or remove from list values (cleanup.policy).")
	f.TopicArgs()
	conn := addConnFlags(f)
	sets := f.Strings("set,s", "KEY=VALUE", "set a config; repeatable")
	dels := f.CommaStrings("delete,d", "KEY", "delete a config (back to the default); repeatable")
	apps := f.Strings("append", "KEY=VALUE", "append a value to a list config; repeatable")
	subs := f.Strings("subtract", "KEY=VALUE", "remove a value from a list config; repeatable")
	dry := f.Bool("dry-run", "only ask the broker whether the change is valid")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one topic"))
	}
	var alters []kadm.AlterConfig
	for _, group := range []struct {
		op   kadm.IncrementalOp
		list []string
	}{{kadm.SetConfig, *sets}, {kadm.AppendConfig, *apps}, {kadm.SubtractConfig, *subs}} {
		for _, kv := range group.list {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return e.usageFail(f, usagef("invalid config %q: want KEY=VALUE", kv))
			}
			alters = append(alters, kadm.AlterConfig{Op: group.op, Name: strings.TrimSpace(k), Value: kadm.StringPtr(v)})
		}
	}
	for _, k := range *dels {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(alters) == 0 {
		return e.usageFail(f, usagef("nothing to change: give --set, --delete, --append or --subtract"))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	alter := adm.AlterTopicConfigs
	if *dry {
		alter = adm.ValidateAlterTopicConfigs
	}
	resps, err := alter(ctx, alters, f.Args()...)
	if err != nil {
		return e.fail(err)
	}
	ok := statusTable(e, f.Args(), func(topic string) (bool, string) {
		for _, r := range resps {
			if r.Name == topic {
				if r.Err != nil {
					return false, kafkaErrText(r.Err, r.ErrMessage)
				}
				return true, ""
			}
		}
		return false, "no response from the broker"
	})
	return exitFor(ok)
}

func topicTrimPrefix(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic trim-prefix TOPIC -o OFFSET [-p PARTITION,...] [flags]",
		"Delete the records before OFFSET (Kafka's DeleteRecords): the log start offset moves up and the\n"+
			"older records can no longer be read. OFFSET is a number, \"end\" (everything currently in the\n"+
			"partition) or @TIMESTAMP (every record older than the timestamp; see `samsa consume --help`).\n"+
			"There is no confirmation prompt.")
	f.TopicArgs()
	conn := addConnFlags(f)
	offset := f.String("offset,o", "", "OFFSET", "N, end or @TIMESTAMP (required)")
	partsFlag := f.String("partitions,p", "", "P,...", "only these partitions (default all)")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) != 1 {
		return e.usageFail(f, usagef("name exactly one topic"))
	}
	if *offset == "" {
		return e.usageFail(f, usagef("-o OFFSET is required"))
	}
	topic := f.Args()[0]
	only, err := parsePartitionList(*partsFlag)
	if err != nil {
		return e.usageFail(f, err)
	}
	var exact int64 = -1
	var atMillis int64
	byTime := strings.HasPrefix(*offset, "@")
	switch {
	case *offset == "end":
	case byTime:
		if atMillis, err = parseTimestamp((*offset)[1:], nowFunc()); err != nil {
			return e.usageFail(f, err)
		}
	default:
		if exact, err = strconv.ParseInt(*offset, 10, 64); err != nil || exact < 0 {
			return e.usageFail(f, usagef("-o must be a non-negative offset, end or @TIMESTAMP"))
		}
	}

	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return e.fail(err)
	}
	if err := ends.Error(); err != nil {
		return e.fail(fmt.Errorf("%s: %s", topic, kafkaErrText(err, "")))
	}
	var byTs kadm.ListedOffsets
	if byTime {
		if byTs, err = adm.ListOffsetsAfterMilli(ctx, atMillis, topic); err != nil {
			return e.fail(err)
		}
	}
	var req kadm.Offsets
	for p, end := range ends[topic] {
		if len(only) > 0 && !only[p] {
			continue
		}
		at := end.Offset
		switch {
		case exact >= 0:
			at = exact
		case byTime:
			if o, ok := byTs.Lookup(topic, p); ok && o.Err == nil && o.Offset >= 0 && o.Offset < at {
				at = o.Offset
			}
		}
		req.AddOffset(topic, p, at, -1)
	}
	for p := range only {
		if _, ok := ends[topic][p]; !ok {
			return e.fail(fmt.Errorf("%s has no partition %d", topic, p))
		}
	}
	resps, err := adm.DeleteRecords(ctx, req)
	if err != nil {
		return e.fail(err)
	}
	t := newTable(e.stdout, "TOPIC", "PARTITION", "NEW-START-OFFSET", "STATUS")
	allOK := true
	for _, r := range resps.Sorted() {
		status, start := "OK", fmt.Sprint(r.LowWatermark)
		if r.Err != nil {
			allOK = false
			status, start = kafkaErrText(r.Err, ""), "-"
		}
		t.row(r.Topic, r.Partition, start, status)
	}
	t.flush()
	return exitFor(allOK)
}

// parsePartitionList parses "0,2,5" into a set; "" is the empty set.
func parsePartitionList(s string) (map[int32]bool, error) {
	out := map[int32]bool{}
	if s == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 32)
		if err != nil || n < 0 {
			return nil, usagef("bad partition %q: want a comma-separated list of partition numbers", part)
		}
		out[int32(n)] = true
	}
	return out, nil
}
