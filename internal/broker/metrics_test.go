package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/clustertest"
)

// scrape reads b's metrics: series (name and labels as written) to value.
func scrape(t *testing.T, b *broker.Broker) map[string]float64 {
	t.Helper()
	addr := b.MetricsAddr()
	if addr == nil {
		t.Fatal("no metrics listener")
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A one-node cluster counts what clients do and shows its partitions and
// controller as Kafka's MBeans would.
func TestMetricsOfOneNode(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"metrics.listener": "127.0.0.1:0"}))
	c.CreateTopic(t, "t", 2, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumerGroup("g"))
	const n = 10
	for i := range n {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}

	m := scrape(t, c.Broker(0))
	for series, want := range map[string]float64{
		`samsa_produce_records_total`:                                            n,
		`samsa_partitions`:                                                       52, // t's 2 and __consumer_offsets' 50
		`samsa_leader_partitions`:                                                52,
		`samsa_under_replicated_partitions`:                                      0,
		`samsa_controller_active`:                                                1,
		`samsa_cluster_topics`:                                                   2, // t and __consumer_offsets
		`samsa_groups{state="Stable"}`:                                           1,
		`samsa_groups{state="Empty"}`:                                            0,
		`samsa_cluster_partitions`:                                               52,
		`samsa_cluster_offline_partitions`:                                       0,
		`samsa_cluster_brokers{state="active"}`:                                  1,
		`samsa_cluster_brokers{state="fenced"}`:                                  0,
		`samsa_fetch_bytes_total{fetcher="follower"}`:                            0,
		`samsa_request_latency_seconds_count{server="broker",request="Produce"}`: n,
		`samsa_topic_produce_records_total{topic="t"}`:                           n,
		`samsa_log_segments{topic="t",partition="0"}`:                            1,
		`samsa_log_start_offset{topic="t",partition="1"}`:                        0,
		`samsa_replica_max_lag_records`:                                          0, // no followers here
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if got := m[`samsa_log_end_offset{topic="t",partition="0"}`] + m[`samsa_log_end_offset{topic="t",partition="1"}`]; got != n {
		t.Errorf("the log end offsets of t's partitions add up to %v, want %v", got, n)
	}
	if m[`samsa_topic_produce_bytes_total{topic="t"}`] != m[`samsa_produce_bytes_total`] {
		t.Errorf("t's produced bytes %v, all topics' %v: only t was produced to",
			m[`samsa_topic_produce_bytes_total{topic="t"}`], m[`samsa_produce_bytes_total`])
	}
	if size := m[`samsa_log_size_bytes{topic="t",partition="0"}`] + m[`samsa_log_size_bytes{topic="t",partition="1"}`]; size != m[`samsa_produce_bytes_total`] {
		t.Errorf("t's logs hold %v bytes, %v were produced", size, m[`samsa_produce_bytes_total`])
	}
	if m[`samsa_topic_fetch_bytes_total{topic="t"}`] != m[`samsa_fetch_bytes_total{fetcher="consumer"}`] {
		t.Errorf("t's fetched bytes %v, all topics' %v: only t was consumed",
			m[`samsa_topic_fetch_bytes_total{topic="t"}`], m[`samsa_fetch_bytes_total{fetcher="consumer"}`])
	}
	// A produce with acks=0 has no response, and counts all the same.
	noAcks := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	if err := noAcks.ProduceSync(ctx, kgo.StringRecord("unacked")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for scrape(t, c.Broker(0))[`samsa_request_latency_seconds_count{server="broker",request="Produce"}`] != n+1 {
		select {
		case <-ctx.Done():
			t.Fatal("the acks=0 produce was not counted")
		case <-time.After(10 * time.Millisecond): // polling: it is handled in the broker's time
		}
	}
	for _, series := range []string{
		`samsa_produce_bytes_total`,
		`samsa_fetch_bytes_total{fetcher="consumer"}`,
		`samsa_request_bytes_total{server="broker"}`,
		`samsa_response_bytes_total{server="broker"}`,
		`samsa_request_latency_seconds_count{server="broker",request="FetchConsumer"}`,  // Kafka's name for a consumer's Fetch
		`samsa_request_latency_seconds_count{server="broker",request="InitProducerId"}`, // Kafka's spelling, not kmsg's
		`samsa_connections{listener="PLAINTEXT"}`,
		`process_resident_memory_bytes`,
		`go_goroutines`,
	} {
		if m[series] <= 0 {
			t.Errorf("%s = %v, want more than 0", series, m[series])
		}
	}
	if _, ok := m[`samsa_request_latency_seconds_count{server="broker",request="FetchFollower"}`]; ok {
		t.Error("a node without followers measured followers' fetches")
	}

	// A deleted topic's series go with it.
	adm := kadm.NewClient(c.Client(t))
	if _, err := adm.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	for {
		m := scrape(t, c.Broker(0))
		var left []string
		for series := range m {
			if strings.Contains(series, `topic="t"`) {
				left = append(left, series)
			}
		}
		if len(left) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("series of the deleted topic are still there: %v", left)
		case <-time.After(10 * time.Millisecond): // polling: the deletion reaches the partitions in the broker's time
		}
	}
}

// In a cluster, the leader of a partition whose follower stopped shows it
// under-replicated, and counts the ISR's expansion when the follower is
// back; followers' fetches are counted apart from consumers', and one node
// has the active controller.
func TestMetricsOfACluster(t *testing.T) {
	c := clustertest.StartN(t, 3, clustertest.WithProps(map[string]string{"metrics.listener": "127.0.0.1:0"}))
	minISR := "2"
	c.CreateTopic(t, "t", 1, 3, map[string]*string{"min.insync.replicas": &minISR})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := cl.ProduceSync(ctx, kgo.StringRecord("v")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	active, leader := 0.0, -1
	for i := range 3 {
		m := scrape(t, c.Broker(i))
		active += m["samsa_controller_active"]
		if m["samsa_leader_partitions"] == 1 {
			leader = i
			if m[`samsa_fetch_bytes_total{fetcher="follower"}`] <= 0 {
				t.Errorf("the leader counted no bytes fetched by followers")
			}
			if m[`samsa_request_latency_seconds_count{server="broker",request="FetchFollower"}`] <= 0 {
				t.Errorf("the leader measured no followers' fetches")
			}
			if got, ok := m[`samsa_topic_fetch_bytes_total{topic="t"}`]; ok && got != 0 {
				t.Errorf("followers' fetches counted as t's consumers' (%v bytes)", got)
			}
		}
		if m[`samsa_log_end_offset{topic="t",partition="0"}`] > 1 {
			t.Errorf("node %d: log end offset %v after one record", i, m[`samsa_log_end_offset{topic="t",partition="0"}`])
		}
	}
	if active != 1 {
		t.Errorf("%v active controllers, want 1", active)
	}
	if leader < 0 {
		t.Fatal("no node leads the partition")
	}
	follower := (leader + 1) % 3
	c.StopNode(follower)
	for {
		m := scrape(t, c.Broker(leader))
		if m["samsa_under_replicated_partitions"] == 1 {
			if m["samsa_at_min_isr_partitions"] != 1 || m["samsa_under_min_isr_partitions"] != 0 {
				t.Errorf("two of three replicas in sync, min.insync.replicas=2: at min ISR %v, under it %v; want 1 and 0",
					m["samsa_at_min_isr_partitions"], m["samsa_under_min_isr_partitions"])
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the partition never showed under-replicated on its leader: %v", m)
		case <-time.After(50 * time.Millisecond): // polling: the ISR shrinks in the controller's time
		}
	}
	// Back, the follower catches up and the leader adds it to the ISR
	// again: an expansion it proposed.
	c.StartNode(follower)
	for {
		// The metadata can show the ISR grown before the AlterPartition
		// answer that counts it reaches the leader: wait for both.
		m := scrape(t, c.Broker(leader))
		if m["samsa_under_replicated_partitions"] == 0 && m["samsa_isr_expands_total"] >= 1 {
			if m["samsa_at_min_isr_partitions"] != 0 {
				t.Errorf("all three replicas in sync and still at min ISR")
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the follower never rejoined the ISR, or the expansion was not counted: under-replicated %v, expansions %v",
				m["samsa_under_replicated_partitions"], m["samsa_isr_expands_total"])
		case <-time.After(50 * time.Millisecond): // polling: the follower catches up in its own time
		}
	}
}
