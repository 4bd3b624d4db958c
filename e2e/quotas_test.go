package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Client quotas as Kafka users set them, with kafka-configs.sh, and as a
// real client meets them: confluent-kafka (librdkafka) producing as fast as
// it can under a producer_byte_rate is told to slow down (its throttle_cb
// fires with the broker's throttle time) and still delivers every message.
func TestClientQuotas(t *testing.T) {
	// Rates measured over two samples of a second, so that a rate is
	// divided by one second at least and the test need not produce for
	// ten seconds before a quota bites.
	b := startBroker(t, withProps("quota.window.num", "2"))
	configs := func(args ...string) string {
		t.Helper()
		return mustRun(t, 30*time.Second, "", samsaBin, append([]string{"kafka-configs.sh", "--bootstrap-server", b.Addr}, args...)...).Stdout
	}
	if out := configs("--alter", "--add-config", "producer_byte_rate=102400", "--entity-type", "clients", "--entity-name", "slow"); out != "Completed updating config for client slow.\n" {
		t.Fatalf("alter: %q", out)
	}
	if out := configs("--alter", "--add-config", "consumer_byte_rate=1048576", "--entity-type", "users", "--entity-name", "alice",
		"--entity-type", "clients", "--entity-default"); out != "Completed updating config for user alice.\n" {
		t.Fatalf("alter user and client: %q", out)
	}
	if out := configs("--describe", "--entity-type", "clients"); out != "Quota configs for client-id 'slow' are producer_byte_rate=102400.0\n" {
		t.Fatalf("describe clients: %q", out)
	}
	if out := configs("--describe", "--entity-type", "users", "--entity-type", "clients"); out != "Quota configs for user-principal 'alice', the default client-id are consumer_byte_rate=1048576.0\n" {
		t.Fatalf("describe users and clients: %q", out)
	}
	// Connection quotas of addresses (KIP-612), set and shown as Kafka's
	// tool does; the broker tests check they refuse connections.
	if out := configs("--alter", "--add-config", "connection_creation_rate=0", "--entity-type", "ips", "--entity-name", "127.0.0.9"); out != "Completed updating config for ip 127.0.0.9.\n" {
		t.Fatalf("alter ip: %q", out)
	}
	if out := configs("--alter", "--add-config", "connection_creation_rate=100", "--entity-type", "ips", "--entity-default"); out != "Completed updating default config for ips in the cluster.\n" {
		t.Fatalf("alter the default ip: %q", out)
	}
	if out := configs("--describe", "--entity-type", "ips"); out != "Quota configs for ip '127.0.0.9' are connection_creation_rate=0.0\nQuota configs for the default ip are connection_creation_rate=100.0\n" {
		t.Fatalf("describe ips: %q", out)
	}
	configs("--alter", "--delete-config", "connection_creation_rate", "--entity-type", "ips", "--entity-name", "127.0.0.9")
	configs("--alter", "--delete-config", "connection_creation_rate", "--entity-type", "ips", "--entity-default")
	if out := configs("--describe", "--entity-type", "ips"); out != "" {
		t.Fatalf("describe ips after the deletes: %q", out)
	}
	// What samsa does not enforce cannot be set.
	r := runTool(t, 30*time.Second, "", samsaBin, "kafka-configs.sh", "--bootstrap-server", b.Addr, "--alter",
		"--add-config", "request_percentage=50", "--entity-type", "clients", "--entity-name", "slow")
	if r.Err == nil || !strings.Contains(r.Stderr, "does not enforce request_percentage") {
		t.Fatalf("request_percentage:\n%s", r)
	}

	createTopic(t, b.Admin(t), "metered", 1)
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	// 240 KiB at 100 KiB/s in requests of 10 KiB: 100 KiB pass at once,
	// and the next four requests are throttled for 0.1, 0.2, 0.3 and
	// 0.4 s before the first sample's second is over, and more after.
	// Without the quota this takes a fifth of a second.
	out := python(t, confluentThrottled, b.Addr, "metered")
	var took float64
	fmt.Sscanf(out[strings.Index(out, "took ")+len("took "):], "%f", &took)
	if !strings.Contains(out, "delivered 240\n") || strings.Contains(out, "throttled 0\n") || took < 0.9 {
		t.Fatalf("confluent-kafka under a 100 KiB/s quota printed\n%s", out)
	}
	t.Logf("confluent-kafka: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", ", "))

	// A consumer under a consumer_byte_rate reads everything, in order: it
	// is throttled, never starved (its fetches are capped at what the
	// quota allows at once), and its fetch session survives the empty
	// throttled answers.
	configs("--alter", "--add-config", "consumer_byte_rate=102400", "--entity-type", "clients", "--entity-name", "reader")
	out = python(t, confluentReader, b.Addr, "metered")
	if !strings.Contains(out, "read 240 in order\n") || strings.Contains(out, "throttled 0\n") {
		t.Fatalf("confluent-kafka consumer under a 100 KiB/s quota printed\n%s", out)
	}
	t.Logf("confluent-kafka consumer: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", ", "))

	configs("--alter", "--delete-config", "producer_byte_rate", "--entity-type", "clients", "--entity-name", "slow")
	configs("--alter", "--delete-config", "consumer_byte_rate", "--entity-type", "clients", "--entity-name", "reader")
	if out := configs("--describe", "--entity-type", "clients"); out != "" {
		t.Fatalf("describe after the delete: %q", out)
	}
}

// confluentThrottled produces 240 messages of 1 KiB with client.id slow to
// topic argv[2], ten per request, and prints how many were delivered, how
// many throttle events the broker's responses raised, and the seconds it
// took.
const confluentThrottled = `
import sys, time
from confluent_kafka import Producer

throttles = []
p = Producer({'bootstrap.servers': sys.argv[1], 'client.id': 'slow',
              'throttle_cb': lambda ev: throttles.append(ev.throttle_time)})
delivered = []
start = time.time()
for r in range(24):
    for i in range(10):
        p.produce(sys.argv[2], value=b'x' * 1024, on_delivery=lambda err, msg: delivered.append(err))
    p.flush(60)
print('delivered %d' % sum(1 for e in delivered if e is None))
print('throttled %d' % len(throttles))
print('took %.2f' % (time.time() - start))
`

// confluentReader reads topic argv[2] from the start with client.id reader
// until it has 240 messages or a minute passes, and prints how many it read,
// whether their offsets ran 0, 1, 2, ..., and how many throttle events it
// saw.
const confluentReader = `
import sys, time
from confluent_kafka import Consumer, TopicPartition

throttles = []
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'quota-reader', 'client.id': 'reader',
              'enable.auto.commit': False, 'throttle_cb': lambda ev: throttles.append(ev.throttle_time)})
c.assign([TopicPartition(sys.argv[2], 0, 0)])
offsets = []
deadline = time.time() + 60
while len(offsets) < 240 and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error():
        continue
    offsets.append(m.offset())
c.close()
print('read %d%s' % (len(offsets), ' in order' if offsets == list(range(len(offsets))) else ' out of order'))
print('throttled %d' % len(throttles))
`
