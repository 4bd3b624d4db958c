package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// confluentIdempotent produces argv[3] messages round-robin over argv[4]
// partitions of topic argv[2] with enable.idempotence=True, and prints one
// JSON line per delivery report.
const confluentIdempotent = `
import json, sys
from confluent_kafka import Producer

topic, n, parts = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reports = []
def on_delivery(err, msg):
    reports.append({'error': str(err) if err else None, 'partition': msg.partition(),
                    'offset': msg.offset(), 'value': msg.value().decode()})

p = Producer({'bootstrap.servers': sys.argv[1], 'enable.idempotence': True, 'linger.ms': 5})
for i in range(n):
    while True:
        try:
            p.produce(topic, value='m-%d' % i, partition=i % parts, on_delivery=on_delivery)
            break
        except BufferError:
            p.poll(0.1)
    p.poll(0)
left = p.flush(60)
for r in reports:
    print(json.dumps(r))
if left:
    print('UNDELIVERED %d' % left, file=sys.stderr)
    sys.exit(1)
`

type deliveryReport struct {
	Error     *string `json:"error"`
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Value     string  `json:"value"`
}

func TestConfluentIdempotentProducer(t *testing.T) {
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	b := startBroker(t)
	const topic, n, parts = "confluent", 2000, 3
	createTopic(t, b.Admin(t), topic, parts)

	out := python(t, confluentIdempotent, b.Addr, topic, "2000", "3")
	byPartition := map[int32][]deliveryReport{}
	reports := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r deliveryReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad delivery report %q: %v", line, err)
		}
		if r.Error != nil {
			t.Errorf("delivery of %s failed: %s", r.Value, *r.Error)
			continue
		}
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
		reports++
	}
	if reports != n {
		t.Fatalf("%d successful delivery reports, want %d", reports, n)
	}

	recs := readAll(t, b, topic)
	for p := int32(0); p < parts; p++ {
		rs := byPartition[p]
		slices.SortFunc(rs, func(a, b deliveryReport) int { return int(a.Offset - b.Offset) })
		// Offsets reported are 0, 1, 2, ... once each: nothing written twice,
		// nothing skipped.
		for i, r := range rs {
			if valueIndex(r.Value)%parts != int(p) {
				t.Fatalf("%s was sent to partition %d, reported on %d", r.Value, valueIndex(r.Value)%parts, p)
			}
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: report %d has offset %d; offsets must run from 0 without gaps or repeats", p, i, r.Offset)
			}
		}
		if len(recs[p]) != len(rs) {
			t.Fatalf("partition %d holds %d records, %d were reported delivered", p, len(recs[p]), len(rs))
		}
		for i, r := range recs[p] {
			if r.Offset != rs[i].Offset || string(r.Value) != rs[i].Value {
				t.Fatalf("partition %d: log has %q at %d, the report said %q at %d", p, r.Value, r.Offset, rs[i].Value, rs[i].Offset)
			}
			if r.ProducerID < 0 {
				t.Fatalf("partition %d offset %d: written without a producer id; was the producer idempotent?", p, r.Offset)
			}
		}
		// Round-robin per partition: each partition's values are in the
		// order they were produced.
		for i := 1; i < len(rs); i++ {
			if valueIndex(rs[i].Value) <= valueIndex(rs[i-1].Value) {
				t.Fatalf("partition %d: %s after %s", p, rs[i].Value, rs[i-1].Value)
			}
		}

		// kafka-transactions.sh describe-producers shows the producer
		// the partition remembers: librdkafka's id and epoch, and the
		// sequence of the last record it wrote there.
		r := runTool(t, 60*time.Second, "", samsaBin, "kafka-transactions.sh", "--bootstrap-server", b.Addr,
			"describe-producers", "--topic", topic, "--partition", fmt.Sprint(p))
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		var fields []string
		if len(lines) == 2 && strings.HasPrefix(lines[0], "ProducerId\tProducerEpoch\t") {
			fields = strings.Fields(lines[1])
		}
		last := recs[p][len(recs[p])-1]
		want := []string{fmt.Sprint(last.ProducerID), fmt.Sprint(last.ProducerEpoch), "-1", fmt.Sprint(len(recs[p]) - 1)}
		if r.Err != nil || len(fields) != 6 || !slices.Equal(fields[:4], want) || fields[5] != "None" {
			t.Errorf("describe-producers of partition %d: want one producer %v … None; got\n%s", p, want, r)
		}
	}
}

// valueIndex returns i from "m-i".
func valueIndex(v string) int {
	n := 0
	for _, c := range strings.TrimPrefix(v, "m-") {
		n = n*10 + int(c-'0')
	}
	return n
}

// confluentTransactional asks for a transactional producer and prints the
// error InitTransactions gives, as JSON.
const confluentTransactional = `
import json, sys
from confluent_kafka import Producer, KafkaException

p = Producer({'bootstrap.servers': sys.argv[1], 'transactional.id': 'tx-1'})
try:
    p.init_transactions(30)
    print(json.dumps({'ok': True}))
except KafkaException as e:
    err = e.args[0]
    print(json.dumps({'ok': False, 'fatal': err.fatal(), 'error': err.str()}))
`

// Transactions are not supported yet: librdkafka's InitTransactions must
// fail at once with a fatal error that says so, not retry until its
// timeout (30 s here) and report only that it timed out.
func TestConfluentTransactionsAreRefusedClearly(t *testing.T) {
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	b := startBroker(t)
	out := python(t, confluentTransactional, b.Addr)
	var r struct {
		OK    bool   `json:"ok"`
		Fatal bool   `json:"fatal"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if r.OK || !r.Fatal || !strings.Contains(r.Error, "transactions are not supported by this broker yet") {
		t.Fatalf("InitTransactions: %+v; want a fatal error saying transactions are not supported", r)
	}
}

// confluentBrokerDefault sets log.retention.ms on broker argv[2]'s own
// resource with the legacy AlterConfigs (librdkafka cannot name the
// cluster-wide default), then prints topic argv[3]'s retention.ms and its
// source as JSON.
const confluentBrokerDefault = `
import json, sys
from confluent_kafka.admin import AdminClient, ConfigResource

a = AdminClient({'bootstrap.servers': sys.argv[1]})
for f in a.alter_configs([ConfigResource('BROKER', sys.argv[2], set_config={'log.retention.ms': '3600000'})]).values():
    f.result()
for f in a.describe_configs([ConfigResource('TOPIC', sys.argv[3])]).values():
    e = f.result()['retention.ms']
    print(json.dumps({'value': e.value, 'source': int(e.source)}))
`

// A topic-config default set on one broker, the only way librdkafka's admin
// API can change one at run time, applies to that broker's topics and is
// described as DYNAMIC_BROKER_CONFIG, as in Kafka.
func TestConfluentSetsABrokerTopicDefault(t *testing.T) {
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	b := startBroker(t)
	createTopic(t, b.Admin(t), "defaults", 1)
	out := python(t, confluentBrokerDefault, b.Addr, "1", "defaults")
	var r struct {
		Value  string `json:"value"`
		Source int    `json:"source"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if r.Value != "3600000" || r.Source != 2 { // 2: DYNAMIC_BROKER_CONFIG
		t.Fatalf("retention.ms after setting it on broker 1: %+v, want 3600000 from DYNAMIC_BROKER_CONFIG (2)", r)
	}
}
