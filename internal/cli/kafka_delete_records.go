package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// kafka_delete_records.go is the kafka-delete-records.sh personality
// (Kafka's DeleteRecordsCommand): one DeleteRecords for the partitions of
// an --offset-json-file,
//
//	{"partitions":[{"topic":"t","partition":0,"offset":10}],"version":1}
//
// moving each partition's log start offset up to its offset (-1: the high
// watermark). It prints, on stdout,
//
//	Executing records delete operation
//	Records delete operation completed:
//	partition: t-0	low_watermark: 10
//	partition: t-1	error: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.
//
// a line per partition in the order Kafka's HashMap of results iterates
// them (javaHashOrder), and exits 0 whatever the partitions answered, as
// Kafka's does. The file is read as Kafka's Json and DecodeJson read it,
// with their messages; a partition named twice is refused before anything
// is deleted.
//
// Where samsa differs: --bootstrap-server is not required (the cluster is
// found as for every command); a partition that does not exist is
// reported at once as UnknownTopicOrPartitionException, where Kafka's
// admin client retries it until its timeout; errors print without Java's
// stack trace, and argument errors exit 2 with the usage (kafka.go).

// recordsToDelete is one entry of an offset JSON file.
type recordsToDelete struct {
	tp     topicPartition
	offset int64
}

func kafkaDeleteRecords(ctx context.Context, e *env, args []string) int {
	const about = "This tool helps to delete records of the given partitions down to the specified offset."
	f := newFlagSet("kafka-delete-records.sh --bootstrap-server HOST:PORT --offset-json-file FILE [--command-config FILE]", about)
	conn := addKafkaConn(f, "the admin client's properties, by their Kafka names")
	file := f.String("offset-json-file", "", "FILE",
		`the offset to delete up to for each partition: {"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version": 1}; offset -1 is the high watermark`)
	if len(args) == 0 {
		return e.usageFail(f, usagef(about))
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if !f.Changed("offset-json-file") {
		return e.usageFail(f, kafkaMissing("offset-json-file"))
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return e.fail(err)
	}
	deletes, err := parseOffsetJSON(data)
	if err != nil {
		return e.fail(err)
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()

	var req kadm.Offsets
	order := make([]topicPartition, len(deletes))
	for i, d := range deletes {
		req.AddOffset(d.tp.topic, d.tp.partition, d.offset, -1)
		order[i] = d.tp
	}
	fmt.Fprintln(e.stdout, "Executing records delete operation")
	resps, err := kadm.NewClient(cl).DeleteRecords(ctx, req)
	fmt.Fprintln(e.stdout, "Records delete operation completed:")
	for _, tp := range javaHashOrder(order) {
		r, ok := resps.Lookup(tp.topic, tp.partition)
		if !ok {
			// Not answered: the shard it was in failed, or the call did.
			r.Err = shardErrFor(err, tp)
			if r.Err == nil {
				r.Err = err
			}
			if r.Err == nil {
				r.Err = kerr.UnknownTopicOrPartition
			}
		}
		if r.Err != nil {
			fmt.Fprintf(e.stdout, "partition: %s\terror: %s\n", tp, javaErr(r.Err))
		} else {
			fmt.Fprintf(e.stdout, "partition: %s\tlow_watermark: %d\n", tp, r.LowWatermark)
		}
	}
	return 0
}

// parseOffsetJSON reads an offset JSON file as DeleteRecordsCommand does
// (parseOffsetJsonStringWithoutDedup, then its duplicate check), in
// file order. As Jackson's readTree, it reads the first JSON value and
// ignores what follows.
func parseOffsetJSON(data []byte) ([]recordsToDelete, error) {
	var root json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, errors.New("The input string is not a valid JSON")
	}
	doc, err := jsonObject(root)
	if err != nil {
		return nil, err
	}
	version := int64(1)
	if v, ok := doc["version"]; ok {
		if version, err = jsonInteger(v, "Integer", 32); err != nil {
			return nil, err
		}
	}
	if version != 1 {
		return nil, fmt.Errorf("Not supported version field value %d", version)
	}
	raw, ok := doc["partitions"]
	if !ok {
		return nil, errors.New("Missing partitions field")
	}
	entries, err := jsonArray(raw)
	if err != nil {
		return nil, err
	}
	var out []recordsToDelete
	seen := map[topicPartition]int{}
	var dups []topicPartition
	for _, entry := range entries {
		d, err := parseRecordsToDelete(entry)
		if err != nil {
			return nil, err
		}
		if seen[d.tp]++; seen[d.tp] == 2 {
			dups = append(dups, d.tp)
		}
		if seen[d.tp] == 1 {
			out = append(out, d)
		}
	}
	if len(dups) > 0 {
		names := make([]string, 0, len(dups))
		for _, tp := range javaHashOrder(dups) {
			names = append(names, tp.String())
		}
		return nil, fmt.Errorf("Offset json file contains duplicate topic partitions: %s", strings.Join(names, ","))
	}
	return out, nil
}

// parseRecordsToDelete reads one {"topic":…,"partition":…,"offset":…}.
func parseRecordsToDelete(raw json.RawMessage) (recordsToDelete, error) {
	var d recordsToDelete
	obj, err := jsonObject(raw)
	if err != nil {
		return d, err
	}
	field := func(name string) (json.RawMessage, error) {
		v, ok := obj[name]
		if !ok {
			return nil, fmt.Errorf("No such field exists: `%s`", name)
		}
		return v, nil
	}
	v, err := field("topic")
	if err != nil {
		return d, err
	}
	if v[0] != '"' || json.Unmarshal(v, &d.tp.topic) != nil {
		return d, jsonExpected("String", v)
	}
	if v, err = field("partition"); err != nil {
		return d, err
	}
	p, err := jsonInteger(v, "Integer", 32)
	if err != nil {
		return d, err
	}
	d.tp.partition = int32(p)
	if v, err = field("offset"); err != nil {
		return d, err
	}
	d.offset, err = jsonInteger(v, "Long", 64)
	return d, err
}

// jsonArray is raw as an array, or Kafka's JsonValue.asJsonArray error.
// (jsonObject, beside parseElectionJSON, is its twin for objects.)
func jsonArray(raw json.RawMessage) ([]json.RawMessage, error) {
	var arr []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &arr) != nil {
		return nil, fmt.Errorf("Expected JSON array, received %s", compactJSON(raw))
	}
	return arr, nil
}

// jsonInteger is raw as DecodeJson's DecodeInteger (bits 32) or DecodeLong
// (bits 64) takes it: a number written without fraction or exponent
// (Jackson's int or long node) that fits.
func jsonInteger(raw json.RawMessage, javaType string, bits int) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, bits)
	if err != nil {
		return 0, jsonExpected(javaType, raw)
	}
	return n, nil
}

// jsonExpected is DecodeJson's error for a value of the wrong type.
func jsonExpected(javaType string, raw json.RawMessage) error {
	return fmt.Errorf("Expected `%s` value, received %s", javaType, compactJSON(raw))
}
