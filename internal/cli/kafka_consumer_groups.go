package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafka_consumer_groups.go is the kafka-consumer-groups.sh personality
// (Kafka's ConsumerGroupCommand): the options and their checks and --list
// here; --describe in kafka_consumer_groups_describe.go; --reset-offsets in
// kafka_consumer_groups_reset.go; --delete and --delete-offsets in
// kafka_consumer_groups_delete.go. Output, column widths and messages are
// Kafka 4.x's ("Error: ..." on stdout after a blank line, state notes such
// as "Consumer group 'G' has no active members." on stderr).
//
// Where samsa differs: a failed operation exits 1 (Kafka's tool prints the
// error and exits 0); usage errors exit 2; rows Kafka prints in hash order
// are sorted by group, topic and partition; the checks of --reset-offsets
// that do not depend on the group (scenario, scope, date and duration
// syntax) are made before connecting.

// groupsOpts are kafka-consumer-groups.sh's parsed options and, once
// connected, its clients.
type groupsOpts struct {
	f                                *flagSet
	conn                             *kafkaConn
	groups, topics                   *[]string
	state, typ                       *string
	timeoutMs, toOffset, shiftBy     *int64
	fromFile, toDatetime, byDuration *string
	cl                               *kgo.Client
	adm                              *kadm.Client
}

var groupsActions = []string{"list", "describe", "delete", "reset-offsets", "delete-offsets"}

// resetScenarios are the --reset-offsets specifications, in the order
// Kafka's tool checks them.
var resetScenarios = []string{"to-offset", "to-datetime", "by-duration", "to-earliest", "to-latest", "to-current", "shift-by", "from-file"}

func kafkaConsumerGroups(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-consumer-groups.sh --bootstrap-server HOST:PORT (--list|--describe|--delete|--reset-offsets|--delete-offsets) [options]",
		"This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.")
	o := &groupsOpts{f: f}
	o.conn = addKafkaConn(f, "Property file containing configs to be passed to Admin Client and Consumer.")
	f.Bool("list", "List all consumer groups.")
	f.Bool("describe", "Describe consumer group and list offset lag (number of messages not yet processed) related to given group.")
	f.Bool("delete", "Pass in groups to delete topic partition offsets and ownership information over the entire consumer group.")
	f.Bool("reset-offsets", "Reset offsets of consumer group; one of the --to-... specifications, --dry-run (the default) or --execute.")
	f.Bool("delete-offsets", "Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics.")
	o.groups = f.Strings("group", "GROUP", "The consumer group we wish to act on; repeatable.")
	f.Bool("all-groups", "Apply to all consumer groups.")
	o.topics = f.Strings("topic", "TOPIC[:P,P]", "The topic (and partitions) to reset offsets of or delete offsets of; repeatable.")
	f.Bool("all-topics", "Consider all topics assigned to a group in the `reset-offsets` process.")
	f.Bool("members", "With --describe: the members of the group.")
	f.Bool("offsets", "With --describe: the partitions of the group with their offset lag (the default).")
	o.state = f.Optional("state", "", "", "STATE,...", "With --describe: the state of the group. With --list: the state of each group, or only groups in these states.")
	o.typ = f.Optional("type", "", "", "TYPE,...", "With --list: the type of each group, or only groups of these types (classic, consumer).")
	f.Bool("verbose", "With --describe: additional information (leader epochs, member and target assignments).")
	o.timeoutMs = f.Int64("timeout", 5000, "MS", "How long each request to the cluster may take.")
	f.Bool("dry-run", "Only show results without executing changes on Consumer Groups. Supported operations: reset-offsets.")
	f.Bool("execute", "Execute operation. Supported operations: reset-offsets.")
	f.Bool("export", "Export operation execution to a CSV file. Supported operations: reset-offsets.")
	o.toOffset = f.Int64("to-offset", 0, "OFFSET", "Reset offsets to a specific offset.")
	f.Bool("to-earliest", "Reset offsets to earliest offset.")
	f.Bool("to-latest", "Reset offsets to latest offset.")
	f.Bool("to-current", "Reset offsets to current offset.")
	o.shiftBy = f.Int64("shift-by", 0, "N", "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.")
	o.toDatetime = f.String("to-datetime", "", "DATETIME", "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'")
	o.byDuration = f.String("by-duration", "", "DURATION", "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'")
	o.fromFile = f.String("from-file", "", "CSV", "Reset offsets to values defined in CSV file.")
	if len(args) == 0 {
		return e.usageFail(f, usagef("List all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets."))
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if err := o.check(e); err != nil {
		return e.usageFail(f, err)
	}
	var err error
	if o.cl, err = o.conn.client(e, roleAdmin); err != nil {
		return e.fail(err)
	}
	o.adm = kadm.NewClient(o.cl)
	defer o.adm.Close()
	var ok bool
	switch {
	case f.Changed("list"):
		ok, err = o.list(ctx, e)
	case f.Changed("describe"):
		ok, err = o.describe(ctx, e)
	case f.Changed("delete"):
		ok, err = o.delete(ctx, e)
	case f.Changed("reset-offsets"):
		ok, err = o.reset(ctx, e)
	case f.Changed("delete-offsets"):
		ok, err = o.deleteOffsets(ctx, e)
	}
	if ue, isUsage := errors.AsType[*usageError](err); isUsage {
		return e.usageFail(f, ue)
	}
	if err != nil {
		printKafkaError(e, "Executing consumer group command failed due to "+javaErr(err))
		return 1
	}
	return exitFor(ok)
}

// printKafkaError is ConsumerGroupCommand.printError: a blank line and
// "Error: msg" on stdout.
func printKafkaError(e *env, msg string) {
	fmt.Fprintf(e.stdout, "\nError: %s\n", msg)
}

// check ports ConsumerGroupCommandOptions.checkArgs and the action count
// check of ConsumerGroupCommand.main, in their order.
func (o *groupsOpts) check(e *env) error {
	f := o.f
	has := f.Changed
	available := []struct {
		opt string
		if_ []string
	}{
		{"members", []string{"describe"}}, {"verbose", []string{"describe"}}, {"offsets", []string{"describe"}},
		{"state", []string{"describe", "list"}}, {"type", []string{"list"}},
	}
	for _, a := range available {
		if has(a.opt) && !slices.ContainsFunc(a.if_, has) {
			return usagef("Option(s) [%s] are unavailable given other options on the command line", a.opt)
		}
	}
	scope := "Option [%s] takes one of these options: [group], [all-groups]"
	if has("describe") {
		if !has("group") && !has("all-groups") {
			return usagef(scope, "describe")
		}
		n := 0
		for _, v := range []string{"members", "offsets", "state"} {
			if has(v) {
				n++
			}
		}
		if n > 1 {
			return usagef("Option [describe] takes at most one of these options: [members], [offsets], [state]")
		}
		if has("state") && *o.state != "" {
			return usagef("Option [describe] does not take a value for [state]")
		}
	}
	if has("delete") {
		if !has("group") && !has("all-groups") {
			return usagef(scope, "delete")
		}
		if has("topic") {
			return usagef("The consumer does not support topic-specific offset deletion from a consumer group.")
		}
	}
	if has("delete-offsets") && (!has("group") || !has("topic")) {
		return usagef("Option [delete-offsets] takes the following options: [group], [topic]")
	}
	if has("reset-offsets") {
		if err := o.checkReset(e); err != nil {
			return err
		}
	}
	if has("group") && has("all-groups") {
		return kafkaOptionConflict("group", "all-groups")
	}
	if has("group") && has("list") {
		return kafkaOptionConflict("group", "list")
	}
	for _, a := range []string{"list", "describe"} {
		if has("topic") && has(a) {
			return kafkaOptionConflict("topic", a)
		}
	}
	n := 0
	for _, a := range groupsActions {
		if has(a) {
			n++
		}
	}
	if n != 1 {
		return usagef("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets")
	}
	if has("list") {
		if _, err := parseGroupStates(*o.state); err != nil {
			return err
		}
		if _, err := parseGroupTypes(*o.typ); err != nil {
			return err
		}
	}
	return nil
}

// checkReset checks the --reset-offsets options. The scope and scenario
// checks Kafka's tool makes only once it has found an inactive group are
// made here, before connecting: they do not depend on the group.
func (o *groupsOpts) checkReset(e *env) error {
	has := o.f.Changed
	if has("dry-run") && has("execute") {
		return usagef("Option [reset-offsets] only accepts one of [execute] and [dry-run]")
	}
	if !has("dry-run") && !has("execute") {
		fmt.Fprintln(e.stderr, "WARN: No action will be performed as the --execute option is missing."+
			"In a future major release, the default behavior of this command will be to prompt the user before "+
			"executing the reset rather than doing a dry run. You should add the --dry-run option explicitly "+
			"if you are scripting this command and want to keep the current default behavior without prompting.")
	}
	if !has("group") && !has("all-groups") {
		return usagef("Option [reset-offsets] takes one of these options: [group], [all-groups]")
	}
	for i, s := range resetScenarios {
		for _, other := range resetScenarios[i+1:] {
			if has(s) && has(other) {
				return kafkaOptionConflict(s, other)
			}
		}
	}
	if !slices.ContainsFunc(resetScenarios, has) {
		return usagef("Option '[reset-offsets]' requires one of the following scenarios: [[%s]]", strings.Join(resetScenarios, "], ["))
	}
	if !has("all-topics") && !has("topic") && !has("from-file") {
		return usagef("One of the reset scopes should be defined: --all-topics, --topic.")
	}
	for _, t := range *o.topics {
		if _, _, err := parseTopicArg(t); err != nil {
			return err
		}
	}
	if has("to-datetime") {
		if _, err := parseKafkaDateTime(*o.toDatetime); err != nil {
			return err
		}
	}
	if has("by-duration") {
		if _, err := parseJavaDuration(*o.byDuration); err != nil {
			return err
		}
	}
	return nil
}

// parseGroupStates is consumerGroupStatesFromString: a comma list of
// states in any case; "" (no value) filters nothing.
func parseGroupStates(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	out, ok := parseJavaList(s, groupStates)
	if !ok {
		return nil, usagef("Invalid state list '%s'. Valid states are: %s", s, strings.Join(groupStates, ", "))
	}
	return out, nil
}

// kafkaGroupTypes are GroupType's names as Kafka's tool prints them.
var kafkaGroupTypes = []string{"Consumer", "Classic", "Share", "Streams"}

// parseGroupTypes is consumerGroupTypesFromString; values come back lower
// case, as brokers spell types.
func parseGroupTypes(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	out, ok := parseJavaList(s, kafkaGroupTypes)
	if !ok {
		return nil, usagef("Invalid types list '%s'. Valid types are: %s", s, strings.Join(kafkaGroupTypes, ", "))
	}
	for i := range out {
		out[i] = strings.ToLower(out[i])
	}
	return out, nil
}

// parseJavaList splits s on commas as Java's String.split does (trailing
// empty items dropped) and maps each trimmed item to its name in names.
func parseJavaList(s string, names []string) ([]string, bool) {
	items := strings.Split(s, ",")
	for len(items) > 0 && items[len(items)-1] == "" {
		items = items[:len(items)-1]
	}
	var out []string
	for _, it := range items {
		c, ok := canonical(names, it)
		if !ok || strings.TrimSpace(it) == "" {
			return nil, false
		}
		out = append(out, c)
	}
	return out, len(out) > 0
}

// timed returns a context bounded by --timeout, Kafka's per-call timeout.
func (o *groupsOpts) timed(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(*o.timeoutMs)*time.Millisecond)
}

// consumerGroups lists the groups Kafka's Admin.listConsumerGroups returns:
// those whose members speak the consumer protocol, or that only hold
// committed offsets (no protocol type).
func (o *groupsOpts) consumerGroups(ctx context.Context) ([]listedGroup, error) {
	ctx, cancel := o.timed(ctx)
	defer cancel()
	all, err := listGroups(ctx, o.cl)
	if err != nil {
		return nil, err
	}
	var out []listedGroup
	for _, g := range all {
		if g.ProtocolType == "consumer" || g.ProtocolType == "" {
			out = append(out, g)
		}
	}
	return out, nil
}

// selectedGroups is --group's values, or every consumer group with
// --all-groups.
func (o *groupsOpts) selectedGroups(ctx context.Context) ([]string, error) {
	if !o.f.Changed("all-groups") {
		return *o.groups, nil
	}
	gs, err := o.consumerGroups(ctx)
	if err != nil {
		return nil, err
	}
	return groupNames(gs), nil
}

// list is listGroups: names only, or a GROUP [TYPE] [STATE] table with
// --type or --state.
func (o *groupsOpts) list(ctx context.Context, e *env) (bool, error) {
	groups, err := o.consumerGroups(ctx)
	if err != nil {
		return false, err
	}
	withState, withType := o.f.Changed("state"), o.f.Changed("type")
	if !withState && !withType {
		for _, g := range groups {
			fmt.Fprintln(e.stdout, g.Group)
		}
		return true, nil
	}
	states, _ := parseGroupStates(*o.state) // checked by check
	types, _ := parseGroupTypes(*o.typ)
	var rows []listedGroup
	width := 15
	for _, g := range groups {
		if len(states) > 0 && !slices.Contains(states, g.State) || len(types) > 0 && !slices.Contains(types, g.Type) {
			continue
		}
		rows = append(rows, g)
		width = max(width, len(g.Group))
	}
	width += 10
	line := func(group, typ, state string) {
		s := pad(group, width)
		if withType {
			s += " " + pad(typ, 20)
		}
		if withState {
			s += " " + pad(state, 20)
		}
		fmt.Fprintln(e.stdout, s)
	}
	line("GROUP", "TYPE", "STATE")
	for _, g := range rows {
		typ, _ := canonical(kafkaGroupTypes, g.Type)
		line(g.Group, orUnknown(typ), orUnknown(g.State))
	}
	return true, nil
}

// pad is Java's %-Ns: s left-justified in n columns, never cut.
func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
