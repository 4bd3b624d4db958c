package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_log_dirs.go is the kafka-log-dirs.sh personality (Kafka's
// LogDirsCommand): one DescribeLogDirs request for every partition to each
// broker of --broker-list (default: every broker in Metadata), the
// partitions then filtered by --topic-list. Output follows Kafka 4.x:
//
//	Querying brokers for log directories information
//	Received log directory information from brokers 0,1,2
//	{"brokers":[{"broker":0,"logDirs":[{"partitions":[{"partition":"t-0","size":123,"offsetLag":0,"isFuture":false}],"error":null,"logDir":"/data"}]}],"version":1}
//
// Kafka builds that JSON from java.util.HashMaps, so its keys and lists
// come in HashMap iteration order, fixed but not sorted; javaMapOrder (java.go)
// reproduces it, so the same answers from the brokers print the same bytes.
// The directory's total and usable bytes (KIP-827) are not printed, as
// Kafka does not print them; "error" is null or the name of the Java
// exception Kafka's client makes of the directory's error code.
//
// A broker id in --broker-list that is not in the cluster ends the command
// with Kafka's "ERROR: The given brokers do not exist ..." line and exit 1
// before anything is asked. A broker answering with no directory at all
// fails the command as in Kafka (its admin client reports
// ClusterAuthorizationException, or the response's error).
//
// Where samsa differs: --bootstrap-server is not required (the cluster is
// found as for every command); a --broker-list entry that is not a number is
// a usage error (exit 2) with Java's message; errors print without a Java
// stack trace; an error code Kafka's client has no exception for here is
// printed by its Kafka name (javaExceptionName).

func kafkaLogDirs(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-log-dirs.sh --bootstrap-server HOST:PORT --describe [--broker-list ID,...] [--topic-list TOPIC,...]",
		"This tool helps to query log directory usage on the specified brokers.")
	conn := addKafkaConn(f, "Property file containing configs to be passed to Admin Client.")
	f.Bool("describe", "Describe the specified log directories on the specified brokers.")
	brokerList := f.String("broker-list", "", "ID,...",
		`The list of brokers to be queried in the form "0,1,2". All brokers in the cluster will be queried if no broker list is specified`)
	topicList := f.String("topic-list", "", "TOPIC,...",
		`The list of topics to be queried in the form "topic1,topic2,topic3". All topics will be queried if no topic list is specified`)
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if !f.Changed("describe") {
		return e.usageFail(f, kafkaMissing("describe"))
	}
	input, err := parseBrokerIDs(*brokerList)
	if err != nil {
		return e.usageFail(f, err)
	}
	topics := nonEmptyStrings(strings.Split(*topicList, ","))

	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return e.fail(err)
	}
	var ids []int32
	for _, b := range md.Brokers {
		ids = append(ids, b.NodeID)
	}
	sets := logDirsBrokers(ids, input)
	if len(sets.missing) > 0 {
		return terse(e, fmt.Sprintf("ERROR: The given brokers do not exist from --broker-list: %s. Current existent brokers: %s",
			int32List(sets.missing), int32List(sets.cluster)))
	}

	fmt.Fprintln(e.stdout, "Querying brokers for log directories information")
	dirs := map[int32][]kmsg.DescribeLogDirsResponseDir{}
	for _, id := range sets.existing {
		d, err := describeBrokerLogDirs(ctx, cl, id)
		var refused *noLogDirsError
		switch {
		case errors.As(err, &refused):
			return terse(e, refused.Error())
		case err != nil:
			return e.fail(err)
		}
		dirs[id] = d
	}
	fmt.Fprintf(e.stdout, "Received log directory information from brokers %s\n", int32List(sets.existing))
	fmt.Fprint(e.stdout, logDirsJSON(sets.described, dirs, topics))
	return 0
}

// parseBrokerIDs reads a comma list of broker ids, skipping empty entries,
// as LogDirsCommand's Integer.valueOf does (no spaces allowed).
func parseBrokerIDs(list string) ([]int32, error) {
	var ids []int32
	for _, s := range nonEmptyStrings(strings.Split(list, ",")) {
		id, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, usagef(`For input string: "%s"`, s)
		}
		ids = append(ids, int32(id))
	}
	return ids, nil
}

func nonEmptyStrings(ss []string) []string {
	return slices.DeleteFunc(ss, func(s string) bool { return s == "" })
}

// logDirsSets are LogDirsCommand's broker sets, each in the order Kafka
// iterates it.
type logDirsSets struct {
	cluster   []int32 // every broker, for the error message
	missing   []int32 // in --broker-list but not in the cluster
	existing  []int32 // to ask, as "Received ... from brokers" lists them
	described []int32 // existing as the JSON lists them
}

// logDirsBrokers follows the ids through the Java collections LogDirsCommand
// and its admin client put them in: cluster ids (in the order Metadata
// listed them) into a map by id and then a set; --broker-list into a set;
// copies of either set for the brokers to ask and the missing ones; the
// brokers asked into a map sized for them, a copy of it, and the map of
// descriptions, whose order the JSON has.
func logDirsBrokers(clusterIDs, input []int32) logDirsSets {
	byID := javaMapOrder(firstOccurrences(clusterIDs), javaIntHash, javaDefaultCapacity)
	cluster := javaMapOrder(byID, javaIntHash, javaDefaultCapacity)
	inputSet := javaMapOrder(firstOccurrences(input), javaIntHash, javaDefaultCapacity)
	src := inputSet
	if len(inputSet) == 0 {
		src = cluster
	}
	var s logDirsSets
	s.cluster = cluster
	for _, id := range javaMapOrder(src, javaIntHash, javaSetCopyCapacity(len(src))) {
		if slices.Contains(cluster, id) {
			s.existing = append(s.existing, id)
		}
	}
	for _, id := range javaMapOrder(inputSet, javaIntHash, javaSetCopyCapacity(len(inputSet))) {
		if !slices.Contains(cluster, id) {
			s.missing = append(s.missing, id)
		}
	}
	n := len(s.existing)
	futures := javaMapOrder(s.existing, javaIntHash, javaSizedCapacity(n))
	copied := javaMapOrder(futures, javaIntHash, javaCopyCapacity(n))
	s.described = javaMapOrder(copied, javaIntHash, javaSizedCapacity(n))
	return s
}

// noLogDirsError is a broker that listed no log directory, which Kafka's
// admin client takes for a refusal: it raises the response's error, or
// CLUSTER_AUTHORIZATION_FAILED if there is none (DescribeLogDirs before v3
// had no error code). Error is the exception as Kafka prints it.
type noLogDirsError struct{ code int16 }

func (e *noLogDirsError) Error() string { return javaExceptionText(e.code) }

// describeBrokerLogDirs asks one broker for all its log directories (a
// null topic list, as Kafka's admin client sends).
func describeBrokerLogDirs(ctx context.Context, cl *kgo.Client, id int32) ([]kmsg.DescribeLogDirsResponseDir, error) {
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Topics = nil
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil {
		return nil, fmt.Errorf("broker %d: %w", id, err)
	}
	if len(resp.Dirs) == 0 {
		code := resp.ErrorCode
		if code == 0 {
			code = kerr.ClusterAuthorizationFailed.Code
		}
		return nil, &noLogDirsError{code}
	}
	return resp.Dirs, nil
}

// logDirsDoc and the types below are the JSON document, fields in the
// order Kafka's HashMaps iterate them.
type logDirsDoc struct {
	Brokers []logDirsBroker `json:"brokers"`
	Version int             `json:"version"`
}

type logDirsBroker struct {
	Broker  int32        `json:"broker"`
	LogDirs []logDirJSON `json:"logDirs"`
}

type logDirJSON struct {
	Partitions []replicaJSON `json:"partitions"`
	Error      *string       `json:"error"`
	LogDir     string        `json:"logDir"`
}

type replicaJSON struct {
	Partition string `json:"partition"`
	Size      int64  `json:"size"`
	OffsetLag int64  `json:"offsetLag"`
	IsFuture  bool   `json:"isFuture"`
}

// logDirsJSON writes the JSON line for the brokers' directories, brokers in
// the order given, keeping only the partitions of topics (all if empty).
func logDirsJSON(brokers []int32, dirs map[int32][]kmsg.DescribeLogDirsResponseDir, topics []string) string {
	doc := logDirsDoc{Version: 1, Brokers: []logDirsBroker{}}
	for _, id := range brokers {
		doc.Brokers = append(doc.Brokers, logDirsBroker{Broker: id, LogDirs: logDirsOf(dirs[id], topics)})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // Jackson leaves <, > and & as they are
	if err := enc.Encode(doc); err != nil {
		panic(err) // strings, numbers and booleans always encode
	}
	return b.String()
}

// logDirsOf is one broker's directories in the order of Kafka's
// logDirDescriptions map (sized for the response's directories), a later
// entry for the same path replacing an earlier one as a put does.
func logDirsOf(dirs []kmsg.DescribeLogDirsResponseDir, topics []string) []logDirJSON {
	byPath := map[string]kmsg.DescribeLogDirsResponseDir{}
	var paths []string
	for _, d := range dirs {
		if _, ok := byPath[d.Dir]; !ok {
			paths = append(paths, d.Dir)
		}
		byPath[d.Dir] = d
	}
	out := []logDirJSON{}
	for _, path := range javaMapOrder(paths, javaStringHash, javaSizedCapacity(len(dirs))) {
		d := byPath[path]
		ld := logDirJSON{LogDir: path, Partitions: replicasOf(d, topics)}
		if d.ErrorCode != 0 {
			name := javaExceptionName(d.ErrorCode)
			ld.Error = &name
		}
		out = append(out, ld)
	}
	return out
}

// replicasOf is a directory's partitions in the order Kafka prints them:
// put in response order into a HashMap, filtered by topic into another.
func replicasOf(d kmsg.DescribeLogDirsResponseDir, topics []string) []replicaJSON {
	infos := map[topicPartition]kmsg.DescribeLogDirsResponseDirTopicPartition{}
	var tps []topicPartition
	for _, t := range d.Topics {
		for _, p := range t.Partitions {
			tp := topicPartition{t.Topic, p.Partition}
			tps = append(tps, tp)
			infos[tp] = p
		}
	}
	kept := slices.DeleteFunc(javaHashOrder(tps), func(tp topicPartition) bool {
		return len(topics) > 0 && !slices.Contains(topics, tp.topic)
	})
	out := []replicaJSON{}
	for _, tp := range javaHashOrder(kept) {
		p := infos[tp]
		out = append(out, replicaJSON{Partition: tp.String(), Size: p.Size, OffsetLag: p.OffsetLag, IsFuture: p.IsFuture})
	}
	return out
}
