package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// group.go is `samsa group`: list, delete and offset-delete here, describe
// in group_describe.go, seek in group_seek.go. What they read of a group
// comes from group_snapshot.go, shared with kafka-consumer-groups.sh.
// Commands that act on several groups or partitions print a status table
// (OK, or the Kafka error name and message) and exit 1 if any failed.

func runGroup(ctx context.Context, e *env, args []string) int {
	return runSub(ctx, e, []subcommand{
		{"list", "list groups with their state and type", groupList},
		{"describe", "show a group's members, committed offsets and lag per partition", groupDescribe},
		{"seek", "commit new offsets for an inactive group", groupSeek},
		{"delete", "delete inactive groups and their committed offsets", groupDelete},
		{"offset-delete", "delete a group's committed offsets for some partitions", groupOffsetDelete},
	}, args)
}

// filterValues canonicalises a comma list against names, case-insensitively.
func filterValues(flag string, values, names []string) ([]string, error) {
	var out []string
	for _, v := range values {
		c, ok := canonical(names, v)
		if !ok {
			return nil, usagef("unknown %s %q (want %s)", flag, v, strings.Join(names, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

func groupList(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa group list [flags]",
		"List the groups of every broker, sorted by name. TYPE is the group type (classic, or consumer for\n"+
			"KIP-848 groups); PROTOCOL-TYPE is what the members joined with (consumer, connect, ...).")
	conn := addConnFlags(f)
	states := f.CommaStrings("state,s", "STATE,...", "only groups in these states: "+strings.Join(groupStates, ", ")+" (any case)")
	types := f.CommaStrings("type,t", "TYPE,...", "only groups of these types: "+strings.Join(groupTypes, ", "))
	format := formatFlag(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if err := checkFormat(*format); err != nil {
		return e.usageFail(f, err)
	}
	if len(f.Args()) > 0 {
		return e.usageFail(f, usagef("unexpected argument %q", f.Args()[0]))
	}
	wantStates, err := filterValues("state", *states, groupStates)
	if err != nil {
		return e.usageFail(f, err)
	}
	wantTypes, err := filterValues("type", *types, groupTypes)
	if err != nil {
		return e.usageFail(f, err)
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	all, err := listGroups(ctx, cl)
	if err != nil {
		return e.fail(err)
	}
	rows := []listedGroup{}
	for _, g := range all {
		if len(wantStates) > 0 && !slices.Contains(wantStates, g.State) {
			continue
		}
		if len(wantTypes) > 0 && !slices.Contains(wantTypes, g.Type) {
			continue
		}
		rows = append(rows, g)
	}
	if *format == "json" {
		if err := writeJSON(e.stdout, rows); err != nil {
			return e.fail(err)
		}
		return 0
	}
	t := newTable(e.stdout, "GROUP", "STATE", "TYPE", "PROTOCOL-TYPE")
	for _, g := range rows {
		t.row(g.Group, g.State, g.Type, orDash(g.ProtocolType))
	}
	t.flush()
	return 0
}

// orDash prints an empty value as "-" so that tables keep their columns.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func groupDelete(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa group delete GROUP... [flags]",
		"Delete groups and their committed offsets. Only groups without members can be deleted.\n"+
			"Prints a GROUP STATUS table and exits 1 if any group could not be deleted.")
	conn := addConnFlags(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one group"))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	resps, err := adm.DeleteGroups(ctx, f.Args()...)
	if err != nil && len(resps) == 0 {
		return e.fail(err)
	}
	t := newTable(e.stdout, "GROUP", "STATUS")
	allOK := true
	for _, g := range f.Args() {
		status := "OK"
		if r, ok := resps[g]; !ok {
			status, allOK = "no response from the coordinator", false
		} else if r.Err != nil {
			status, allOK = kafkaErrText(r.Err, r.ErrMessage), false
		}
		t.row(g, status)
	}
	t.flush()
	return exitFor(allOK)
}

func groupOffsetDelete(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa group offset-delete GROUP --topic TOPIC[:P,P...]... [flags]",
		"Delete a group's committed offsets for whole topics or some of their partitions (OffsetDelete).\n"+
			"A group with members keeps the offsets of the topics it is subscribed to.\n"+
			"Prints a TOPIC PARTITION STATUS table and exits 1 if any partition failed.")
	conn := addConnFlags(f)
	topics := f.Strings("topic,t", "TOPIC[:P,P...]", "a topic, or some of its partitions; repeatable")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) != 1 {
		return e.usageFail(f, usagef("name exactly one group"))
	}
	if len(*topics) == 0 {
		return e.usageFail(f, usagef("name at least one --topic"))
	}
	for _, a := range *topics {
		if _, _, err := parseTopicArg(a); err != nil {
			return e.usageFail(f, err)
		}
	}
	group := f.Args()[0]
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	tps, missing, err := topicPartitions(ctx, adm, *topics)
	if err != nil {
		return e.fail(err)
	}
	set := kadm.TopicsSet{}
	for _, tp := range tps {
		set.Add(tp.topic, tp.partition)
	}
	resps, err := adm.DeleteOffsets(ctx, group, set)
	if err != nil {
		return e.fail(fmt.Errorf("group %s: %s", group, kafkaErrText(err, "")))
	}
	t := newTable(e.stdout, "TOPIC", "PARTITION", "STATUS")
	allOK := true
	for _, a := range *topics {
		name, _, _ := parseTopicArg(a)
		if err, ok := missing[name]; ok {
			t.row(name, "-", kafkaErrText(err, ""))
			allOK = false
			delete(missing, name)
		}
	}
	for _, tp := range tps {
		status := "OK"
		if err, ok := resps.Lookup(tp.topic, tp.partition); !ok {
			status, allOK = "no response from the coordinator", false
		} else if err != nil {
			status, allOK = kafkaErrText(err, ""), false
		}
		t.row(tp.topic, tp.partition, status)
	}
	t.flush()
	return exitFor(allOK)
}
