package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// kafka-python 2.0.2 is the client of the seed documents. It negotiates old
// protocol versions (Produce v3-v7, Fetch v4-v10, Metadata v1-v5) and
// hand-rolls its own record batches, so it exercises paths franz-go does not.

// seedProducer is the seed document's JSON producer, unchanged but for the
// broker address taken from argv, no pause between sends, and a JSON line
// per acknowledged message instead of the document's free text.
const seedProducer = `
import json, random, sys, time
from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=sys.argv[1],
                         value_serializer=lambda v: json.dumps(v).encode('utf-8'))
topic_name = 'test-topic'
for i in range(10):
    message = {'id': i, 'value': random.randint(1, 100), 'timestamp': int(time.time())}
    result = producer.send(topic_name, value=message).get(timeout=10)
    print(json.dumps({'partition': result.partition, 'offset': result.offset, 'message': message}))
producer.close()
`

// assigningConsumer reads a whole topic without a consumer group: it assigns
// every partition, seeks to the beginning, and stops after three idle
// seconds.
const assigningConsumer = `
import json, sys
from kafka import KafkaConsumer, TopicPartition

topic = sys.argv[2]
consumer = KafkaConsumer(bootstrap_servers=sys.argv[1],
                         auto_offset_reset='earliest',
                         value_deserializer=lambda m: json.loads(m.decode('utf-8')),
                         consumer_timeout_ms=3000)
partitions = consumer.partitions_for_topic(topic)
consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
consumer.seek_to_beginning()
for message in consumer:
    print(json.dumps({'partition': message.partition, 'offset': message.offset, 'message': message.value}))
consumer.close()
`

// pyRecord is one line printed by the scripts above.
type pyRecord struct {
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Message   map[string]any `json:"message"`
}

func (r pyRecord) String() string {
	m, _ := json.Marshal(r.Message)
	return fmt.Sprintf("%d/%d %s", r.Partition, r.Offset, m)
}

func parsePyRecords(t *testing.T, out string) []string {
	t.Helper()
	var recs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r pyRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad line %q from the script: %v", line, err)
		}
		recs = append(recs, r.String())
	}
	slices.Sort(recs)
	return recs
}

func TestKafkaPythonSeedProducerAndConsumer(t *testing.T) {
	needPython(t, "kafka", "python3-kafka")
	// Auto-created, as in the seed document, with three partitions so that
	// the consumer's assignment spans several.
	b := startBroker(t, withProps("num.partitions", "3"))

	sent := parsePyRecords(t, python(t, seedProducer, b.Addr))
	if len(sent) != 10 {
		t.Fatalf("the producer acknowledged %d messages, want 10: %v", len(sent), sent)
	}
	got := parsePyRecords(t, python(t, assigningConsumer, b.Addr, "test-topic"))
	if !slices.Equal(got, sent) {
		t.Fatalf("the consumer received\n%s\nthe producer sent\n%s", strings.Join(got, "\n"), strings.Join(sent, "\n"))
	}
	start, end := offsets(t, b.Admin(t), "test-topic")
	if len(end) != 3 {
		t.Errorf("test-topic has %d partitions, want num.partitions=3", len(end))
	}
	var n int64
	for p := range end {
		n += end[p] - start[p]
	}
	if n != 10 {
		t.Errorf("test-topic holds %d records, want 10", n)
	}
}

// compressedProducer sends argv[3] JSON messages with compression_type
// argv[2] in as few batches as linger allows, or prints NOCODEC when this
// kafka-python lacks the codec's library.
const compressedProducer = `
import json, sys
import kafka.codec
from kafka import KafkaProducer

codec = sys.argv[2]
if not getattr(kafka.codec, 'has_' + codec)():
    print('NOCODEC')
    sys.exit(0)
producer = KafkaProducer(bootstrap_servers=sys.argv[1], compression_type=codec, linger_ms=50,
                         value_serializer=lambda v: json.dumps(v).encode('utf-8'))
futures = []
for i in range(int(sys.argv[3])):
    message = {'id': i, 'text': 'compressible ' * (i % 20)}
    futures.append((message, producer.send('py-' + codec, value=message)))
producer.flush()
for message, f in futures:
    r = f.get(timeout=10)
    print(json.dumps({'partition': r.partition, 'offset': r.offset, 'message': message}))
producer.close()
`

func TestKafkaPythonCompressedProduce(t *testing.T) {
	needPython(t, "kafka", "python3-kafka")
	b := startBroker(t)
	for _, codec := range []struct {
		name, pkg string
		id        uint8
	}{{"gzip", "python3 (zlib)", 1}, {"lz4", "python3-lz4", 3}} {
		t.Run(codec.name, func(t *testing.T) {
			out := python(t, compressedProducer, b.Addr, codec.name, "200")
			if strings.TrimSpace(out) == "NOCODEC" {
				t.Skipf("kafka-python has no %s codec here (it needs the Debian package %s)", codec.name, codec.pkg)
			}
			sent := parsePyRecords(t, out)
			recs := readAll(t, b, "py-"+codec.name)
			var got []string
			for p, rs := range recs {
				for _, r := range rs {
					if c := r.Attrs.CompressionType(); c != codec.id {
						t.Fatalf("%d/%d is in a batch with codec %d, want %d", p, r.Offset, c, codec.id)
					}
					var m map[string]any
					if err := json.Unmarshal(r.Value, &m); err != nil {
						t.Fatalf("%d/%d: value %q is not the JSON sent: %v", p, r.Offset, r.Value, err)
					}
					got = append(got, pyRecord{Partition: p, Offset: r.Offset, Message: m}.String())
				}
			}
			slices.Sort(got)
			if len(sent) != 200 || !slices.Equal(got, sent) {
				t.Fatalf("the log holds %d records that differ from the %d acknowledged", len(got), len(sent))
			}
		})
	}
}
