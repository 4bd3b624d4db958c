package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_reassign_partitions.go is the kafka-reassign-partitions.sh
// personality: --generate, --execute, --verify, --cancel and --list over
// KIP-455's AlterPartitionReassignments and ListPartitionReassignments, with
// Kafka's JSON files, checks and output lines:
//
//	Current partition replica assignment
//	{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],"log_dirs":["any","any","any"]}]}
//	Successfully started partition reassignment for t-0
//	Status of partition reassignment:
//	Reassignment of partition t-0 is completed.
//
// Two things Kafka's tool can ask for samsa does not do, and the tool says
// so before it changes anything: replication throttles (--throttle,
// --replica-alter-log-dirs-throttle; samsa replicates at full speed) and
// moving a replica to a named log directory (a "log_dirs" entry other than
// "any"). --verify and --cancel still clear the topic-level throttle
// configs as Kafka's do (samsa accepts those configs and does not enforce
// them); samsa has no broker-level throttle configs, so the line about
// clearing those is not printed. --timeout only bounds log directory moves
// in Kafka and is accepted for the same reason.

// reassignActions are the actions, in the order Kafka's message names them.
var reassignActions = []string{"generate", "execute", "verify", "cancel", "list"}

// reassignArgs is what each action requires and permits besides itself
// (ReassignPartitionsCommand.validateAndParseArgs).
var reassignArgs = map[string]struct{ required, permitted []string }{
	"verify":   {[]string{"reassignment-json-file"}, []string{"preserve-throttles"}},
	"generate": {[]string{"topics-to-move-json-file", "broker-list"}, []string{"disable-rack-aware"}},
	"execute":  {[]string{"reassignment-json-file"}, []string{"additional", "throttle", "replica-alter-log-dirs-throttle", "timeout"}},
	"cancel":   {[]string{"reassignment-json-file"}, []string{"preserve-throttles", "timeout"}},
	"list":     {},
}

func kafkaReassignPartitions(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-reassign-partitions.sh --bootstrap-server HOST:PORT (--generate | --execute | --verify | --cancel | --list) [options]",
		"This tool helps to move topic partitions between replicas.\n"+
			"samsa does not throttle replication and does not move replicas between log directories:\n"+
			"--throttle, --replica-alter-log-dirs-throttle and log_dirs other than \"any\" are refused.")
	conn := addKafkaConn(f, "Property file containing configs to be passed to Admin Client.")
	f.Bool("generate", "Generate a candidate partition reassignment configuration. It is only printed, not executed.")
	f.Bool("execute", "Kick off the reassignment as specified by the --reassignment-json-file option.")
	f.Bool("verify", "Verify if the reassignment completed as specified by the --reassignment-json-file option, and then clear topic throttle configs.")
	f.Bool("cancel", "Cancel an active reassignment.")
	f.Bool("list", "List all active partition reassignments.")
	planFile := f.String("reassignment-json-file", "", "FILE",
		`the partition reassignment: {"version":1,"partitions":[{"topic":"foo","partition":1,"replicas":[1,2,3]}]} ("log_dirs" optional, "any" only)`)
	topicsFile := f.String("topics-to-move-json-file", "", "FILE",
		`with --generate, the topics whose partitions move to --broker-list: {"version":1,"topics":[{"topic":"foo"}]}`)
	brokerList := f.String("broker-list", "", "ID,...", `with --generate, the brokers to move the partitions to, in the form "0,1,2"`)
	f.Bool("disable-rack-aware", "Disable rack aware replica assignment")
	throttle := f.Int64("throttle", -1, "BYTES/SEC", "refused: samsa does not throttle replication")
	dirThrottle := f.Int64("replica-alter-log-dirs-throttle", -1, "BYTES/SEC", "refused: samsa does not move replicas between log directories")
	f.Int64("timeout", 10000, "MS", "the time to wait for log directory moves to begin (accepted; samsa has none)")
	f.Bool("additional", "Execute this reassignment in addition to any other ongoing ones.")
	f.Bool("preserve-throttles", "Do not modify topic throttle configs.")
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	action, err := checkReassignArgs(f)
	if err != nil {
		return e.usageFail(f, err)
	}
	if action == "execute" && (*throttle >= 0 || *dirThrottle >= 0) {
		return e.fail(errors.New("samsa does not throttle replication: run the reassignment without --throttle and --replica-alter-log-dirs-throttle"))
	}

	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	c := &reassignCmd{out: e.stdout, cl: cl, adm: kadm.NewClient(cl)}
	switch action {
	case "generate":
		err = c.generate(ctx, *topicsFile, *brokerList, !f.Changed("disable-rack-aware"))
	case "execute":
		err = c.execute(ctx, *planFile, f.Changed("additional"))
	case "verify":
		err = c.verify(ctx, *planFile, f.Changed("preserve-throttles"))
	case "cancel":
		err = c.cancel(ctx, *planFile, f.Changed("preserve-throttles"))
	case "list":
		err = c.list(ctx)
	}
	if err != nil {
		return e.fail(err)
	}
	return 0
}

// checkReassignArgs finds the one action and checks the options given
// with it, with Kafka's messages.
func checkReassignArgs(f *flagSet) (string, error) {
	var given []string
	for _, a := range reassignActions {
		if f.Changed(a) {
			given = append(given, a)
		}
	}
	if len(given) != 1 {
		return "", usagef("Command must include exactly one action: --generate, --execute, --verify, --cancel, --list")
	}
	action := given[0]
	rules := reassignArgs[action]
	for _, r := range rules.required {
		if !f.Changed(r) {
			return "", kafkaMissing(r)
		}
	}
	common := []string{action, "bootstrap-server", "command-config"}
	for _, spec := range f.specs {
		name := spec.names[0]
		if spec.set && !slices.Contains(common, name) && !slices.Contains(rules.required, name) && !slices.Contains(rules.permitted, name) {
			return "", usagef("Option \"[%s]\" can't be used with action \"[%s]\"", name, action)
		}
	}
	return action, nil
}

// reassignCmd runs one action.
type reassignCmd struct {
	out io.Writer
	cl  *kgo.Client
	adm *kadm.Client
}

// reassignment is one partition's entry in a reassignment file.
type reassignment struct {
	tp       topicPartition
	replicas []int32
}

// reassignJSON is the file format, field order as Kafka writes it.
type reassignJSON struct {
	Version    int                     `json:"version"`
	Partitions []reassignJSONPartition `json:"partitions"`
}

type reassignJSONPartition struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs"`
}

// readReassignments reads a reassignment file as Kafka's
// parsePartitionReassignmentData does, keeping duplicates for the caller
// to refuse.
func readReassignments(path string) ([]reassignment, error) {
	var doc struct {
		Version    *int `json:"version"`
		Partitions []struct {
			Topic     *string   `json:"topic"`
			Partition *int32    `json:"partition"`
			Replicas  *[]int32  `json:"replicas"`
			LogDirs   *[]string `json:"log_dirs"`
		} `json:"partitions"`
	}
	if err := readJSONFile(path, &doc, &doc.Version); err != nil {
		return nil, err
	}
	var out []reassignment
	for _, p := range doc.Partitions {
		switch {
		case p.Topic == nil:
			return nil, errors.New("a partition in the reassignment has no \"topic\"")
		case p.Partition == nil:
			return nil, errors.New("a partition in the reassignment has no \"partition\"")
		case p.Replicas == nil:
			return nil, errors.New("a partition in the reassignment has no \"replicas\"")
		}
		r := reassignment{topicPartition{*p.Topic, *p.Partition}, *p.Replicas}
		if p.LogDirs != nil {
			dirs := *p.LogDirs
			if len(dirs) != len(r.replicas) {
				return nil, fmt.Errorf("Size of replicas list %s is different from size of log dirs list [%s] for partition %s",
					javaList(r.replicas), strings.Join(dirs, ", "), r.tp)
			}
			for _, d := range dirs {
				if d != "any" {
					return nil, fmt.Errorf("partition %s: samsa does not move replicas between log directories; log_dirs entries must be \"any\", not %q", r.tp, d)
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// readJSONFile decodes the one JSON document in a file into doc (anything
// after it is an error, as Jackson's full parse makes it) and checks its
// version field, which decoding set, is absent or 1.
func readJSONFile(path string, doc any, version **int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(doc); err != nil {
		return fmt.Errorf("The input string is not a valid JSON: %v", err)
	}
	if d.More() {
		return errors.New("The input string is not a valid JSON: data after the document")
	}
	if v := *version; v != nil && *v != 1 {
		return fmt.Errorf("Not supported version field value %d", *v)
	}
	return nil
}

// checkExecutable refuses what Kafka's parseExecuteAssignmentArgs refuses.
func checkExecutable(rs []reassignment) error {
	if len(rs) == 0 {
		return errors.New("Partition reassignment list cannot be empty")
	}
	seen := map[topicPartition]bool{}
	var dupParts []string
	var dupReplicas []string
	for _, r := range rs {
		if len(r.replicas) == 0 {
			return errors.New("Partition replica list cannot be empty")
		}
		if seen[r.tp] {
			dupParts = append(dupParts, r.tp.String())
		}
		seen[r.tp] = true
		if d := duplicates(r.replicas); len(d) > 0 {
			dupReplicas = append(dupReplicas, fmt.Sprintf("%s contains multiple entries for %s", r.tp, int32List(d)))
		}
	}
	if len(dupParts) > 0 {
		return fmt.Errorf("Partition reassignment contains duplicate topic partitions: %s", strings.Join(dupParts, ","))
	}
	if len(dupReplicas) > 0 {
		return fmt.Errorf("Partition replica lists may not contain duplicate entries: %s", strings.Join(dupReplicas, ". "))
	}
	return nil
}

// execute starts the reassignments in a file.
func (c *reassignCmd) execute(ctx context.Context, path string, additional bool) error {
	rs, err := readReassignments(path)
	if err != nil {
		return err
	}
	if err := checkExecutable(rs); err != nil {
		return err
	}
	ongoing, err := c.reassignments(ctx)
	if err != nil {
		return err
	}
	if !additional && len(ongoing) > 0 {
		return errors.New("Cannot execute because there is an existing partition assignment.  Use --additional to " +
			"override this and create a new partition assignment in addition to the existing one.")
	}
	md, err := c.adm.BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	known := md.Brokers.NodeIDs()
	for _, r := range rs {
		for _, id := range r.replicas {
			if !slices.Contains(known, id) {
				return fmt.Errorf("Unknown broker id %d", id)
			}
		}
	}
	current, err := c.currentReplicas(ctx, rs)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n",
		reassignmentJSON(current))

	var req kadm.AlterPartitionAssignmentsReq
	for _, r := range rs {
		req.Assign(r.tp.topic, r.tp.partition, r.replicas)
	}
	resps, err := c.adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return err
	}
	if failed := failedAssignments(resps); failed != "" {
		return fmt.Errorf("Error reassigning partition(s):\n%s", failed)
	}
	parts := sortedParts(rs)
	fmt.Fprintf(c.out, "Successfully started partition reassignment%s for %s\n", plural(len(parts)), strings.Join(parts, ","))
	return nil
}

// failedAssignments lists the partitions an AlterPartitionReassignments
// refused, one "t-p: message" line each, sorted; "" if none.
func failedAssignments(resps kadm.AlterPartitionAssignmentsResponses) string {
	var lines []string
	for _, r := range resps.Sorted() {
		if r.Err != nil {
			lines = append(lines, fmt.Sprintf("%s: %v", topicPartition{r.Topic, r.Partition}, kafkaError(r.Err, r.ErrMessage)))
		}
	}
	return strings.Join(lines, "\n")
}

// currentReplicas is the replica list of each partition in rs, which must
// all exist (getReplicaAssignmentForPartitions).
func (c *reassignCmd) currentReplicas(ctx context.Context, rs []reassignment) ([]reassignment, error) {
	topics := map[string]bool{}
	for _, r := range rs {
		topics[r.tp.topic] = true
	}
	details, err := c.describeTopics(ctx, slices.Sorted(maps.Keys(topics)), true)
	if err != nil {
		return nil, err
	}
	var out []reassignment
	var missing []string
	for _, r := range rs {
		p, ok := details[r.tp.topic].Partitions[r.tp.partition]
		if !ok {
			missing = append(missing, r.tp.String())
			continue
		}
		out = append(out, reassignment{r.tp, p.Replicas})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("Unable to find partition: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// describeTopics fetches the topics' metadata. With mustExist an unknown
// topic is an error, with Kafka's message; without, it is left out.
func (c *reassignCmd) describeTopics(ctx context.Context, topics []string, mustExist bool) (kadm.TopicDetails, error) {
	md, err := c.adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		d, ok := md.Topics[t]
		switch {
		case ok && d.Err == nil:
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			if mustExist {
				return nil, fmt.Errorf("Topic %s not found.", t)
			}
			delete(md.Topics, t)
		default:
			return nil, fmt.Errorf("topic %s: %w", t, d.Err)
		}
	}
	return md.Topics, nil
}

// reassignments lists every reassignment in progress: a
// ListPartitionReassignments with null topics, which kadm cannot send.
func (c *reassignCmd) reassignments(ctx context.Context) (map[topicPartition]kadm.ListPartitionReassignmentsResponse, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, kafkaError(err, deref(resp.ErrorMessage))
	}
	out := map[topicPartition]kadm.ListPartitionReassignmentsResponse{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[topicPartition{t.Topic, p.Partition}] = kadm.ListPartitionReassignmentsResponse{
				Topic: t.Topic, Partition: p.Partition,
				Replicas: p.Replicas, AddingReplicas: p.AddingReplicas, RemovingReplicas: p.RemovingReplicas,
			}
		}
	}
	return out, nil
}

// verify prints the state of each reassignment in a file and, once no
// reassignment is in progress anywhere, clears the topics' throttle
// configs.
func (c *reassignCmd) verify(ctx context.Context, path string, preserveThrottles bool) error {
	rs, err := readReassignments(path)
	if err != nil {
		return err
	}
	ongoing, err := c.reassignments(ctx)
	if err != nil {
		return err
	}
	var lookUp []string
	for _, r := range rs {
		if _, ok := ongoing[r.tp]; !ok && !slices.Contains(lookUp, r.tp.topic) {
			lookUp = append(lookUp, r.tp.topic)
		}
	}
	details := kadm.TopicDetails{}
	if len(lookUp) > 0 {
		if details, err = c.describeTopics(ctx, lookUp, false); err != nil {
			return err
		}
	}
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b reassignment) int { return compareTP(a.tp, b.tp) })
	fmt.Fprintln(c.out, "Status of partition reassignment:")
	for _, r := range sorted {
		if _, ok := ongoing[r.tp]; ok {
			fmt.Fprintf(c.out, "Reassignment of partition %s is still in progress.\n", r.tp)
			continue
		}
		// A topic or partition that is gone has no replicas, as in Kafka.
		current := details[r.tp.topic].Partitions[r.tp.partition].Replicas
		if slices.Equal(current, r.replicas) {
			fmt.Fprintf(c.out, "Reassignment of partition %s is completed.\n", r.tp)
		} else {
			fmt.Fprintf(c.out, "There is no active reassignment of partition %s, but replica set is %s rather than %s.\n",
				r.tp, int32List(current), int32List(r.replicas))
		}
	}
	// Kafka prints the state of log directory moves next, one line for
	// all of them: empty, as samsa refuses such moves.
	fmt.Fprintln(c.out)
	if len(ongoing) > 0 || preserveThrottles {
		return nil
	}
	return c.clearThrottles(ctx, rs)
}

// cancel cancels the reassignments in a file that are in progress.
func (c *reassignCmd) cancel(ctx context.Context, path string, preserveThrottles bool) error {
	rs, err := readReassignments(path)
	if err != nil {
		return err
	}
	set := kadm.TopicsSet{}
	for _, r := range rs {
		set.Add(r.tp.topic, r.tp.partition)
	}
	listed, err := c.adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return err
	}
	var req kadm.AlterPartitionAssignmentsReq
	var parts []topicPartition
	for _, l := range listed.Sorted() {
		// Kafka cancels only these: a reassignment that has replicas to
		// add and none to remove is left alone.
		if len(l.AddingReplicas) == 0 || len(l.RemovingReplicas) > 0 {
			req.CancelAssign(l.Topic, l.Partition)
			parts = append(parts, topicPartition{l.Topic, l.Partition})
		}
	}
	if len(parts) == 0 {
		fmt.Fprintln(c.out, "None of the specified partition reassignments are active.")
	} else {
		resps, err := c.adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			return err
		}
		if failed := failedAssignments(resps); failed != "" {
			return fmt.Errorf("Error cancelling partition reassignment%s for:\n%s", plural(strings.Count(failed, "\n")+1), failed)
		}
		names := make([]string, len(parts))
		for i, p := range parts {
			names[i] = p.String()
		}
		fmt.Fprintf(c.out, "Successfully cancelled partition reassignment%s for: %s\n", plural(len(parts)), strings.Join(names, ","))
	}
	// Kafka prints this without a line end, running it into the next
	// line; samsa ends the line.
	fmt.Fprintln(c.out, "None of the specified partition moves are active.")
	if preserveThrottles {
		return nil
	}
	return c.clearThrottles(ctx, rs)
}

// clearThrottles removes the topic-level throttle configs of the topics in
// rs (Kafka's clearTopicLevelThrottles).
func (c *reassignCmd) clearThrottles(ctx context.Context, rs []reassignment) error {
	topics := map[string]bool{}
	for _, r := range rs {
		topics[r.tp.topic] = true
	}
	names := slices.Sorted(maps.Keys(topics))
	fmt.Fprintf(c.out, "Clearing topic-level throttles on topic%s %s\n", plural(len(names)), strings.Join(names, ","))
	ops := []kadm.AlterConfig{
		{Op: kadm.DeleteConfig, Name: "leader.replication.throttled.replicas"},
		{Op: kadm.DeleteConfig, Name: "follower.replication.throttled.replicas"},
	}
	resps, err := c.adm.AlterTopicConfigs(ctx, ops, names...)
	if err != nil {
		return err
	}
	for _, r := range resps {
		if r.Err != nil {
			return fmt.Errorf("topic %s: %v", r.Name, kafkaError(r.Err, r.ErrMessage))
		}
	}
	return nil
}

// list prints every reassignment in progress.
func (c *reassignCmd) list(ctx context.Context) error {
	ongoing, err := c.reassignments(ctx)
	if err != nil {
		return err
	}
	if len(ongoing) == 0 {
		fmt.Fprintln(c.out, "No partition reassignments found.")
		return nil
	}
	fmt.Fprintln(c.out, "Current partition reassignments:")
	for _, tp := range slices.SortedFunc(maps.Keys(ongoing), compareTP) {
		r := ongoing[tp]
		line := fmt.Sprintf("%s: replicas: %s.", tp, int32List(r.Replicas))
		if len(r.AddingReplicas) > 0 {
			line += fmt.Sprintf(" adding: %s.", int32List(r.AddingReplicas))
		}
		if len(r.RemovingReplicas) > 0 {
			line += fmt.Sprintf(" removing: %s.", int32List(r.RemovingReplicas))
		}
		fmt.Fprintln(c.out, line)
	}
	return nil
}

// generate proposes a placement of the topics' partitions on the brokers
// of brokerList and prints it beside the current one.
func (c *reassignCmd) generate(ctx context.Context, path, brokerList string, rackAware bool) error {
	var brokers []int32
	for _, s := range strings.Split(brokerList, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return fmt.Errorf("--broker-list: %q is not a broker id", s)
		}
		brokers = append(brokers, int32(id))
	}
	if d := duplicates(brokers); len(d) > 0 {
		return fmt.Errorf("Broker list contains duplicate entries: %s", javaList(d))
	}
	topics, err := readTopicsToMove(path)
	if err != nil {
		return err
	}
	details, err := c.describeTopics(ctx, topics, true)
	if err != nil {
		return err
	}
	md, err := c.adm.BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	var placeOn []brokerRack
	for _, b := range md.Brokers {
		if !slices.Contains(brokers, b.NodeID) {
			continue
		}
		br := brokerRack{id: b.NodeID}
		if rackAware && b.Rack != nil {
			br.rack, br.hasRack = *b.Rack, true
		}
		placeOn = append(placeOn, br)
	}
	racked := 0
	for _, b := range placeOn {
		if b.hasRack {
			racked++
		}
	}
	if rackAware && racked != 0 && racked != len(placeOn) {
		return errors.New("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.")
	}
	var current, proposed []reassignment
	for _, t := range topics {
		parts := details[t].Partitions
		if len(parts) == 0 {
			continue
		}
		for _, p := range parts.Sorted() {
			current = append(current, reassignment{topicPartition{t, p.Partition}, p.Replicas})
		}
		// Kafka keeps the replication factor of a partition of the topic.
		rf := len(parts.Sorted()[0].Replicas)
		placed, err := placeReplicas(placeOn, len(parts), rf, rand.IntN)
		if err != nil {
			return err
		}
		for i, replicas := range placed {
			proposed = append(proposed, reassignment{topicPartition{t, int32(i)}, replicas})
		}
	}
	fmt.Fprintf(c.out, "Current partition replica assignment\n%s\n\n", reassignmentJSON(current))
	fmt.Fprintf(c.out, "Proposed partition reassignment configuration\n%s\n", reassignmentJSON(proposed))
	return nil
}

// readTopicsToMove reads a --topics-to-move-json-file, refusing duplicates.
func readTopicsToMove(path string) ([]string, error) {
	var doc struct {
		Version *int `json:"version"`
		Topics  []struct {
			Topic *string `json:"topic"`
		} `json:"topics"`
	}
	if err := readJSONFile(path, &doc, &doc.Version); err != nil {
		return nil, err
	}
	var topics []string
	for _, t := range doc.Topics {
		if t.Topic == nil {
			return nil, errors.New("a topic in the topics to move has no \"topic\"")
		}
		topics = append(topics, *t.Topic)
	}
	if dups := duplicates(topics); len(dups) > 0 {
		return nil, fmt.Errorf("List of topics to reassign contains duplicate entries: [%s]", strings.Join(dups, ", "))
	}
	return topics, nil
}

// brokerRack is a broker to place replicas on.
type brokerRack struct {
	id      int32
	rack    string
	hasRack bool
}

// placeReplicas assigns n partitions of rf replicas each to brokers the way
// Kafka's AdminUtils.assignReplicasToBrokers does, so that --generate
// proposes what Kafka's tool would: leaders round robin from a random
// start, followers shifted so that partitions do not repeat one sequence,
// and with racks, the broker list alternated by rack and followers biased
// to racks (then brokers) that have no replica yet. randN(k) picks in
// [0, k).
func placeReplicas(brokers []brokerRack, n, rf int, randN func(int) int) ([][]int32, error) {
	switch {
	case n <= 0:
		return nil, errors.New("Number of partitions must be larger than 0.")
	case rf <= 0:
		return nil, errors.New("Replication factor must be larger than 0.")
	case rf > len(brokers):
		return nil, fmt.Errorf("Replication factor: %d larger than available brokers: %d.", rf, len(brokers))
	}
	rackOf := map[int32]string{}
	ids := make([]int32, len(brokers))
	for i, b := range brokers {
		ids[i] = b.id
		if b.hasRack {
			rackOf[b.id] = b.rack
		}
	}
	racks := 0
	if len(rackOf) > 0 {
		ids = rackAlternated(rackOf)
		racks = len(slices.Compact(slices.Sorted(maps.Values(rackOf))))
	}
	nb := len(ids)
	start, shift := randN(nb), randN(nb)
	out := make([][]int32, n)
	for p := range n {
		if p > 0 && p%nb == 0 {
			shift++
		}
		first := (p + start) % nb
		replicas := []int32{ids[first]}
		if racks == 0 {
			for j := range rf - 1 {
				replicas = append(replicas, ids[followerIndex(first, shift, j, nb)])
			}
			out[p] = replicas
			continue
		}
		withRack := map[string]bool{rackOf[ids[first]]: true}
		withReplica := map[int32]bool{ids[first]: true}
		for k := 0; len(replicas) < rf; k++ {
			b := ids[followerIndex(first, shift*racks, k, nb)]
			r := rackOf[b]
			if (!withRack[r] || len(withRack) == racks) && (!withReplica[b] || len(withReplica) == nb) {
				replicas = append(replicas, b)
				withRack[r], withReplica[b] = true, true
			}
		}
		out[p] = replicas
	}
	return out, nil
}

// followerIndex is the broker index of a partition's j-th follower.
func followerIndex(first, shift, j, nb int) int {
	return (first + 1 + (shift+j)%(nb-1)) % nb
}

// rackAlternated lists brokers taking one from each rack in turn, racks in
// name order and brokers in id order within a rack: racks a:{1,2} b:{3}
// give 1,3,2.
func rackAlternated(rackOf map[int32]string) []int32 {
	byRack := map[string][]int32{}
	for id, r := range rackOf {
		byRack[r] = append(byRack[r], id)
	}
	names := slices.Sorted(maps.Keys(byRack))
	for _, r := range names {
		slices.Sort(byRack[r])
	}
	var out []int32
	for i := 0; len(out) < len(rackOf); i++ {
		for _, r := range names {
			if i < len(byRack[r]) {
				out = append(out, byRack[r][i])
			}
		}
	}
	return out
}

// reassignmentJSON writes rs as Kafka's formatAsReassignmentJson does:
// sorted by topic and partition, every log dir "any".
func reassignmentJSON(rs []reassignment) string {
	doc := reassignJSON{Version: 1, Partitions: []reassignJSONPartition{}}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b reassignment) int { return compareTP(a.tp, b.tp) })
	for _, r := range sorted {
		dirs := make([]string, len(r.replicas))
		for i := range dirs {
			dirs[i] = "any"
		}
		doc.Partitions = append(doc.Partitions, reassignJSONPartition{r.tp.topic, r.tp.partition, nonNil(r.replicas), dirs})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // plain strings and numbers always encode
	}
	return string(b)
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

// sortedParts names the partitions of rs in Kafka's order.
func sortedParts(rs []reassignment) []string {
	tps := make([]topicPartition, len(rs))
	for i, r := range rs {
		tps[i] = r.tp
	}
	slices.SortFunc(tps, compareTP)
	out := make([]string, len(tps))
	for i, tp := range tps {
		out[i] = tp.String()
	}
	return out
}

// duplicates are the values that occur more than once in xs, once each,
// in order of first repetition.
func duplicates[T comparable](xs []T) []T {
	seen := map[T]int{}
	var out []T
	for _, x := range xs {
		seen[x]++
		if seen[x] == 2 {
			out = append(out, x)
		}
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
