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
	b := startBroker(t)
	configs := func(args ...string) string {
		t.Helper()
		return mustRun(t, 30*time.Second, "", samsaBin, append([]string{"kafka-configs.sh", "--bootstrap-server", b.Addr}, args...)...).Stdout
	}
	if out := configs("--alter", "--add-config", "producer_byte_rate=20480", "--entity-type", "clients", "--entity-name", "slow"); out != "Completed updating config for client slow.\n" {
		t.Fatalf("alter: %q", out)
	}
	if out := configs("--alter", "--add-config", "consumer_byte_rate=1048576", "--entity-type", "users", "--entity-name", "alice",
		"--entity-type", "clients", "--entity-default"); out != "Completed updating config for user alice.\n" {
		t.Fatalf("alter user and client: %q", out)
	}
	if out := configs("--describe", "--entity-type", "clients"); out != "Quota configs for client-id 'slow' are producer_byte_rate=20480.0\n" {
		t.Fatalf("describe clients: %q", out)
	}
	if out := configs("--describe", "--entity-type", "users", "--entity-type", "clients"); out != "Quota configs for user-principal 'alice', the default client-id are consumer_byte_rate=1048576.0\n" {
		t.Fatalf("describe users and clients: %q", out)
	}
	// What samsa does not enforce cannot be set.
	r := runTool(t, 30*time.Second, "", samsaBin, "kafka-configs.sh", "--bootstrap-server", b.Addr, "--alter",
		"--add-config", "request_percentage=50", "--entity-type", "clients", "--entity-name", "slow")
	if r.Err == nil || !strings.Contains(r.Stderr, "does not enforce request_percentage") {
		t.Fatalf("request_percentage:\n%s", r)
	}

	createTopic(t, b.Admin(t), "metered", 1)
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	// 240 KiB at 20 KiB/s in requests of 10 KiB: the rate is measured
	// over ten seconds at least, so 200 KiB pass at once; the next four
	// requests are throttled for 0.5, 1, 1.5 and 2 s, as the rate over the
	// window stays above the quota. A lower bound of half the first three
	// shows the broker held the client back.
	out := python(t, confluentThrottled, b.Addr, "metered")
	var took float64
	fmt.Sscanf(out[strings.Index(out, "took ")+len("took "):], "%f", &took)
	if !strings.Contains(out, "delivered 240\n") || strings.Contains(out, "throttled 0\n") || took < 1.5 {
		t.Fatalf("confluent-kafka under a 20 KiB/s quota printed\n%s", out)
	}
	t.Logf("confluent-kafka: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", ", "))

	configs("--alter", "--delete-config", "producer_byte_rate", "--entity-type", "clients", "--entity-name", "slow")
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
