package broker_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// scrapeUntil scrapes b until series has the value want: a request is
// counted once its response is written, which its client may read first.
func scrapeUntil(ctx context.Context, t *testing.T, b *broker.Broker, series string, want float64) map[string]float64 {
	t.Helper()
	for {
		m := scrape(t, b)
		if m[series] == want {
			return m
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s = %v, want %v", series, m[series], want)
		case <-time.After(10 * time.Millisecond): // polling: counted in the broker's time
		}
	}
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
		`samsa_produce_records_total`:                                                           n,
		`samsa_partitions`:                                                                      52, // t's 2 and __consumer_offsets' 50
		`samsa_leader_partitions`:                                                               52,
		`samsa_under_replicated_partitions`:                                                     0,
		`samsa_controller_active`:                                                               1,
		`samsa_cluster_topics`:                                                                  2, // t and __consumer_offsets
		`samsa_groups{state="Stable"}`:                                                          1,
		`samsa_groups{state="Empty"}`:                                                           0,
		`samsa_cluster_partitions`:                                                              52,
		`samsa_cluster_offline_partitions`:                                                      0,
		`samsa_cluster_brokers{state="active"}`:                                                 1,
		`samsa_cluster_brokers{state="fenced"}`:                                                 0,
		`samsa_fetch_bytes_total{fetcher="follower"}`:                                           0,
		`samsa_request_latency_seconds_count{server="broker",request="Produce"}`:                n,
		`samsa_topic_produce_records_total{topic="t"}`:                                          n,
		`samsa_log_segments{topic="t",partition="0"}`:                                           1,
		`samsa_log_start_offset{topic="t",partition="1"}`:                                       0,
		`samsa_replica_max_lag_records`:                                                         0, // no followers here
		`samsa_failed_authentications_total{listener="PLAINTEXT"}`:                              0,
		`samsa_accept_blocked_seconds_total{listener="PLAINTEXT"}`:                              0,
		`samsa_connections_refused_total{listener="PLAINTEXT",reason="max_connections_per_ip"}`: 0,
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
		`samsa_connections_created_total{listener="PLAINTEXT"}`,
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

// Requests are measured by phase, the phases add up to their whole time,
// and every error code of a response is counted (Kafka's RequestMetrics
// and ErrorsPerSec); logs' flushes are timed.
func TestMetricsOfRequestPhasesErrorsAndFlushes(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{
		"metrics.listener": "127.0.0.1:0", "auto.create.topics.enable": "false"}))
	c.CreateTopic(t, "t", 1, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := c.Client(t, kgo.DefaultProduceTopic("t"))
	for i := range 3 {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	topicID := func() [16]byte {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("t")
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].TopicID
	}()
	fetch := func(offset int64, wait time.Duration) {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(wait/time.Millisecond), 1, 1<<20
		req.SessionEpoch = -1 // no session
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "t", topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = offset, 1<<20, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		if _, err := req.RequestWith(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}

	// A long poll at the log end waits out its max wait for the data of
	// another request: remote time, not local, and not queued behind
	// other responses.
	fetch(3, 500*time.Millisecond)
	m := scrapeUntil(ctx, t, c.Broker(0), `samsa_request_latency_seconds_count{server="broker",request="FetchConsumer"}`, 1)
	phase := func(request, phase string) float64 {
		return m[`samsa_request_phase_seconds_sum{server="broker",request="`+request+`",phase="`+phase+`"}`]
	}
	total := m[`samsa_request_latency_seconds_sum{server="broker",request="FetchConsumer"}`]
	if total < 0.5 {
		t.Errorf("a fetch that waited 500 ms took %v s", total)
	}
	var sum float64
	for _, ph := range []string{"queue", "local", "remote", "response_queue", "send"} {
		if n := m[`samsa_request_phase_seconds_count{server="broker",request="FetchConsumer",phase="`+ph+`"}`]; n != 1 {
			t.Errorf("phase %s measured %v times, want 1", ph, n)
		}
		sum += phase("FetchConsumer", ph)
	}
	if math.Abs(sum-total) > 1e-6 {
		t.Errorf("the phases add up to %v s, the whole request took %v s", sum, total)
	}
	if rq := phase("FetchConsumer", "response_queue"); rq != 0 {
		t.Errorf("a long poll's wait for data counted %v s as waiting behind other responses", rq)
	}
	// It was answered at its deadline, 500 ms after its first byte, or
	// later: all of that but its reading and handling was remote.
	if remote, before := phase("FetchConsumer", "remote"), phase("FetchConsumer", "queue")+phase("FetchConsumer", "local"); remote < 0.5-before {
		t.Errorf("a long poll's remote time is %v s, after %v s of reading and handling", remote, before)
	}
	// ApiVersions is answered at once: nothing remote.
	if r, ok := m[`samsa_request_phase_seconds_sum{server="broker",request="ApiVersions",phase="remote"}`]; !ok || r != 0 {
		t.Errorf("ApiVersions has %v s of remote time (measured: %v)", r, ok)
	}

	// Error codes, one per partition, NONE too.
	fetch(100, 0) // past the log end
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks, produce.TimeoutMillis = -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "t"
	for _, p := range []int32{5, 6} { // t has one partition
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Partition = p
		pt.Partitions = append(pt.Partitions, pp)
	}
	produce.Topics = append(produce.Topics, pt)
	if _, err := produce.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("no-such-topic")
	meta.Topics = append(meta.Topics, mt)
	if _, err := meta.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	m = scrapeUntil(ctx, t, c.Broker(0), `samsa_request_latency_seconds_count{server="broker",request="FetchConsumer"}`, 2)
	errs := func(request, name string) float64 {
		return m[`samsa_request_errors_total{server="broker",request="`+request+`",error="`+name+`"}`]
	}
	for _, e := range []struct {
		request, error string
		want           float64
	}{
		{"Produce", "UNKNOWN_TOPIC_OR_PARTITION", 2},
		{"Produce", "NONE", 3},
		{"FetchConsumer", "OFFSET_OUT_OF_RANGE", 1},
		{"FetchConsumer", "NONE", 3}, // the long poll's partition, and each response's own code
		{"Metadata", "UNKNOWN_TOPIC_OR_PARTITION", 1},
	} {
		if got := errs(e.request, e.error); got != e.want {
			t.Errorf("%s %s counted %v times, want %v", e.request, e.error, got, e.want)
		}
	}

	// Per topic: t's three produces, none failed; a produce refused for
	// too few in-sync replicas is a failure, one to a partition that does
	// not exist counts nowhere (it has no topic to count under).
	minISR := "2"
	c.CreateTopic(t, "strict", 1, 1, map[string]*string{"min.insync.replicas": &minISR})
	strict := c.Client(t, kgo.DefaultProduceTopic("strict"), kgo.RecordRetries(1))
	if err := strict.ProduceSync(ctx, kgo.StringRecord("v")).FirstErr(); !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("produce to a partition under min.insync.replicas: %v", err)
	}
	m = scrape(t, c.Broker(0))
	if got := m[`samsa_topic_produce_requests_total{topic="t"}`]; got != 3 {
		t.Errorf("t: %v produce requests counted, want 3", got)
	}
	if got, ok := m[`samsa_topic_produce_failures_total{topic="t"}`]; !ok || got != 0 {
		t.Errorf("t: %v failed produces (series present: %v), want 0", got, ok)
	}
	requests, failures := m[`samsa_topic_produce_requests_total{topic="strict"}`], m[`samsa_topic_produce_failures_total{topic="strict"}`]
	if failures < 1 || failures != requests {
		t.Errorf("strict: %v produce requests, %v failed; want every one failed", requests, failures)
	}

	// Three acks=all produces in fsync mode: at least one group commit.
	if n := m[`samsa_log_flush_seconds_count`]; n < 1 {
		t.Errorf("%v log flushes measured after acks=all produces in fsync mode", n)
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
	// Each follower shows its replica's lag; the leader, none.
	for i := range 3 {
		_, ok := scrape(t, c.Broker(i))[`samsa_replica_lag_records{topic="t",partition="0"}`]
		if ok != (i != leader) {
			t.Errorf("node %d (leader: %v) has a lag series for t-0: %v", i, i == leader, ok)
		}
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
