package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/metrics"
	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/server"
	"github.com/samsa-io/samsa/internal/storage"
)

// The node's metrics, served over HTTP at /metrics when metrics.listener is
// set (docs/metrics.md lists them with the Kafka MBeans they mirror).
// Counts are kept only then: without the listener the request path counts
// nothing. Gauges read their owners (the partition manager, the metadata
// image, the servers) at each scrape.
type nodeMetrics struct {
	reg      *metrics.Registry
	counters *api.Counters
	requests *metrics.Requests   // the client listeners'
	ctrlReqs *metrics.Requests   // the controller listener's
	isr      [3]*metrics.Counter // by partition.ISRChange
	flush    *metrics.Histogram  // logs' flushes
	topics   sync.Map            // topic name → *api.TopicCounters
	ln       net.Listener
	http     *http.Server
}

// bindMetrics binds metrics.listener, if set, and registers the series kept
// on the request path; the gauges come with serveMetrics.
func (b *Broker) bindMetrics() error {
	addr := b.cfg.Network.MetricsListener
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen metrics.listener %s: %w", addr, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		b.log.Warn("the metrics listener is reachable beyond this machine and has no authentication", "addr", ln.Addr().String())
	}
	reg := metrics.NewRegistry()
	m := &nodeMetrics{reg: reg, ln: ln}
	m.requests = metrics.NewRequests(reg, "broker", requestName, errorName)
	if b.cfg.HasRole("controller") {
		m.ctrlReqs = metrics.NewRequests(reg, "controller", requestName, errorName)
	}
	m.counters = &api.Counters{
		ProducedBytes: reg.Counter("samsa_produce_bytes_total",
			"Bytes of record batches appended by produce requests to the partitions this broker leads (Kafka: BrokerTopicMetrics BytesInPerSec)."),
		ProducedRecords: reg.Counter("samsa_produce_records_total",
			"Records appended by produce requests (Kafka: BrokerTopicMetrics MessagesInPerSec)."),
		FetchedBytes: reg.Counter("samsa_fetch_bytes_total",
			"Record bytes sent in fetch responses, by who fetched (Kafka: BrokerTopicMetrics BytesOutPerSec, ReplicationBytesOutPerSec).",
			metrics.Label{Name: "fetcher", Value: "consumer"}),
		ReplicatedBytes: reg.Counter("samsa_fetch_bytes_total", "",
			metrics.Label{Name: "fetcher", Value: "follower"}),
		Topic: m.topic,
	}
	m.isr = [...]*metrics.Counter{
		partition.ISRShrunk: reg.Counter("samsa_isr_shrinks_total",
			"ISR changes that dropped followers, proposed by this broker as leader and committed (Kafka: ReplicaManager IsrShrinksPerSec)."),
		partition.ISRExpanded: reg.Counter("samsa_isr_expands_total",
			"ISR changes that added followers back (Kafka: ReplicaManager IsrExpandsPerSec)."),
		partition.ISRChangeFailed: reg.Counter("samsa_isr_change_failures_total",
			"ISR changes the controller refused or left out of its answer (Kafka: ReplicaManager FailedIsrUpdatesPerSec)."),
	}
	m.flush = reg.Histogram("samsa_log_flush_seconds",
		"Time of each flush of a log that fsynced something: in fsync mode a group commit, otherwise a flush.ms or flush.messages flush or rolled segments (Kafka: LogFlushStats LogFlushRateAndTimeMs).",
		metrics.PhaseBuckets, false)
	b.metrics = m
	return nil
}

// logFlushed is the log directories' DirOptions.Flushed, or nil without
// metrics.
func (m *nodeMetrics) logFlushed() func(time.Duration) {
	if m == nil {
		return nil
	}
	return m.flush.Observe
}

// topic is api.Counters.Topic: a topic's counters, made on first use.
func (m *nodeMetrics) topic(name string) *api.TopicCounters {
	if v, ok := m.topics.Load(name); ok {
		return v.(*api.TopicCounters)
	}
	v, _ := m.topics.LoadOrStore(name, new(api.TopicCounters))
	return v.(*api.TopicCounters)
}

// topicCounts are the counters of the topics in img, by name; those of
// topics deleted since are dropped.
func (m *nodeMetrics) topicCounts(img *metadata.Image) []namedCounters {
	var out []namedCounters
	m.topics.Range(func(k, v any) bool {
		name := k.(string)
		if _, ok := img.Topic(name); !ok {
			m.topics.Delete(name)
			return true
		}
		out = append(out, namedCounters{name, v.(*api.TopicCounters)})
		return true
	})
	slices.SortFunc(out, func(a, b namedCounters) int { return strings.Compare(a.name, b.name) })
	return out
}

type namedCounters struct {
	name string
	*api.TopicCounters
}

// isrChanged is the partition manager's ISRChanged, or nil without
// metrics.
func (m *nodeMetrics) isrChanged() func(partition.ISRChange) {
	if m == nil {
		return nil
	}
	return func(c partition.ISRChange) { m.isr[c].Add(1) }
}

// requestName is the request label of an API, as Kafka's RequestMetrics
// name it: a fetch is FetchConsumer or FetchFollower, by who asks, and
// the others are the API's name.
func requestName(key int16, follower bool) string {
	switch {
	case key != kmsg.Fetch.Int16():
		return apiName(key)
	case follower:
		return "FetchFollower"
	default:
		return "FetchConsumer"
	}
}

// apiName is an API's name as Kafka spells it: kmsg writes acronyms in
// capitals, Kafka as words (InitProducerId, DescribeAcls, SaslHandshake,
// LeaderAndIsr, AlterUserScramCredentials).
func apiName(key int16) string { return kafkaSpelling.Replace(kmsg.NameForKey(key)) }

var kafkaSpelling = strings.NewReplacer("ID", "Id", "ACL", "Acl", "SASL", "Sasl", "SCRAM", "Scram", "ISR", "Isr")

// errorName is the error label of an error code: the name of Kafka's
// Errors constant, which kerr spells alike but for one Kafka renamed;
// NONE for 0.
func errorName(code int16) string {
	switch code {
	case 0:
		return "NONE"
	case kerr.NotLeaderForPartition.Code:
		return "NOT_LEADER_OR_FOLLOWER"
	}
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok && e.Code == code {
		return e.Message
	}
	return strconv.Itoa(int(code)) // a code this kerr does not know
}

// completed is a server's Config.Completed for q, or nil without metrics.
func completed(q *metrics.Requests) func(server.Completion) {
	if q == nil {
		return nil
	}
	return func(c server.Completion) {
		phases := [metrics.NumPhases]time.Duration{
			metrics.PhaseQueue:         c.Queue,
			metrics.PhaseLocal:         c.Local,
			metrics.PhaseRemote:        c.Remote,
			metrics.PhaseResponseQueue: c.ResponseQueue,
			metrics.PhaseSend:          c.Send,
		}
		q.Done(c.Key, c.Follower, &phases, c.ReqBytes, c.RespBytes)
	}
}

// serveMetrics registers the gauges and starts answering scrapes. Called
// from Start, once everything the gauges read exists.
func (b *Broker) serveMetrics() {
	m := b.metrics
	if m == nil {
		return
	}
	reg := m.reg
	health := func(count func(h partition.Health) bool) func() float64 {
		return func() float64 {
			n := 0
			for _, p := range b.partitions.All() {
				if count(p.Health()) {
					n++
				}
			}
			return float64(n)
		}
	}
	reg.GaugeFunc("samsa_partitions", "Replicas this broker hosts (Kafka: ReplicaManager PartitionCount).",
		health(func(partition.Health) bool { return true }))
	reg.GaugeFunc("samsa_leader_partitions", "Partitions this broker leads (Kafka: ReplicaManager LeaderCount).",
		health(func(h partition.Health) bool { return h.Leader }))
	reg.GaugeFunc("samsa_under_replicated_partitions",
		"Partitions this broker leads whose ISR is smaller than their replica set (Kafka: ReplicaManager UnderReplicatedPartitions).",
		health(func(h partition.Health) bool { return h.Leader && h.ISR < h.Replicas }))
	reg.GaugeFunc("samsa_under_min_isr_partitions",
		"Partitions this broker leads whose ISR is smaller than min.insync.replicas: acks=all produces fail (Kafka: ReplicaManager UnderMinIsrPartitionCount).",
		health(func(h partition.Health) bool { return h.Leader && h.ISR < h.MinInsyncReplicas }))
	reg.GaugeFunc("samsa_at_min_isr_partitions",
		"Partitions this broker leads whose ISR is exactly min.insync.replicas: one more loss stops acks=all produces (Kafka: ReplicaManager AtMinIsrPartitionCount).",
		health(func(h partition.Health) bool { return h.Leader && h.ISR == h.MinInsyncReplicas }))
	reg.GaugeFunc("samsa_replica_max_lag_records",
		"The most records any replica this broker follows is behind its leader's high watermark, as of their last fetch (Kafka: ReplicaFetcherManager MaxLag).",
		func() float64 {
			var lag int64
			for _, p := range b.partitions.All() {
				lag = max(lag, p.Health().Lag)
			}
			return float64(lag)
		})
	reg.GaugeFunc("samsa_controller_active",
		"1 on the node whose controller is active, 0 elsewhere; summed over the cluster it is 1 (Kafka: KafkaController ActiveControllerCount).",
		func() float64 {
			if b.isActiveController() {
				return 1
			}
			return 0
		})
	for _, state := range []string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable"} {
		reg.GaugeFunc("samsa_groups",
			"Consumer groups this broker coordinates, by state (Kafka: GroupMetadataManager NumGroups, NumGroupsStable, ...).",
			func() float64 {
				req := kmsg.NewPtrListGroupsRequest()
				req.Version = 4
				req.StatesFilter = []string{state}
				return float64(len(b.groups.ListGroups(context.Background(), req).Groups))
			}, metrics.Label{Name: "state", Value: state})
	}
	b.imageGauges(reg)
	b.topicSeries(reg)
	b.logGauges(reg)
	for _, l := range b.cfg.BrokerListeners() {
		name := l.Name
		reg.GaugeFunc("samsa_connections", "Connections being served, by listener (Kafka: socket-server-metrics connection-count).",
			func() float64 { return float64(b.server.Connections(name)) }, metrics.Label{Name: "listener", Value: name})
	}
	if b.ctrlServer != nil {
		name := b.cfg.ControllerListeners()[0].Name
		reg.GaugeFunc("samsa_connections", "", func() float64 { return float64(b.ctrlServer.Connections(name)) },
			metrics.Label{Name: "listener", Value: name})
	}
	b.connectionCounters(reg)
	reg.GaugeFunc("go_goroutines", "Goroutines that exist.", func() float64 { return float64(runtime.NumGoroutine()) })
	reg.GaugeFunc("process_resident_memory_bytes", "Resident memory of the process in bytes.", residentBytes)

	mux := http.NewServeMux()
	mux.Handle("/metrics", reg)
	m.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := m.http.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("metrics listener stopped", "err", err)
		}
	}()
	b.log.Info("serving metrics", "addr", "http://"+m.ln.Addr().String()+"/metrics")
}

// imageGauges registers the cluster as this node's metadata shows it.
func (b *Broker) imageGauges(reg *metrics.Registry) {
	reg.GaugeFunc("samsa_cluster_topics", "Topics in the cluster, as this node's metadata shows them (Kafka: KafkaController GlobalTopicCount).",
		func() float64 { return float64(b.meta.Image().NumTopics()) })
	partitions := func(offline bool) func() float64 {
		return func() float64 {
			img := b.meta.Image()
			n := 0
			for _, name := range img.TopicNames() {
				t, _ := img.Topic(name)
				for _, p := range t.Partitions {
					if !offline || p.Leader < 0 {
						n++
					}
				}
			}
			return float64(n)
		}
	}
	reg.GaugeFunc("samsa_cluster_partitions", "Partitions in the cluster (Kafka: KafkaController GlobalPartitionCount).", partitions(false))
	reg.GaugeFunc("samsa_cluster_offline_partitions",
		"Partitions without a leader: neither produce nor fetch can reach them (Kafka: KafkaController OfflinePartitionsCount).", partitions(true))
	brokers := func(fenced bool) func() float64 {
		return func() float64 {
			n := 0
			for _, br := range b.meta.Image().Brokers() {
				if br.Fenced == fenced {
					n++
				}
			}
			return float64(n)
		}
	}
	reg.GaugeFunc("samsa_cluster_brokers", "Registered brokers, by state (Kafka: KafkaController ActiveBrokerCount, FencedBrokerCount).",
		brokers(false), metrics.Label{Name: "state", Value: "active"})
	reg.GaugeFunc("samsa_cluster_brokers", "", brokers(true), metrics.Label{Name: "state", Value: "fenced"})
}

// topicSeries registers the per-topic counters (Kafka's BrokerTopicMetrics
// with a topic tag): a topic's series appear once this broker has data of
// it to count, and go with the topic.
func (b *Broker) topicSeries(reg *metrics.Registry) {
	m := b.metrics
	for _, s := range []struct {
		name, help string
		count      func(*api.TopicCounters) *metrics.Counter
	}{
		{"samsa_topic_produce_bytes_total", "Bytes of record batches produced to the topic's partitions this broker leads (Kafka: BrokerTopicMetrics BytesInPerSec,topic=...).",
			func(c *api.TopicCounters) *metrics.Counter { return &c.ProducedBytes }},
		{"samsa_topic_produce_records_total", "Records produced to the topic (Kafka: BrokerTopicMetrics MessagesInPerSec,topic=...).",
			func(c *api.TopicCounters) *metrics.Counter { return &c.ProducedRecords }},
		{"samsa_topic_fetch_bytes_total", "Record bytes of the topic sent to consumers; followers' fetches are not counted (Kafka: BrokerTopicMetrics BytesOutPerSec,topic=...).",
			func(c *api.TopicCounters) *metrics.Counter { return &c.FetchedBytes }},
		{"samsa_topic_produce_requests_total", "Partitions of produce requests to the topic this broker appended to or tried to (Kafka: BrokerTopicMetrics TotalProduceRequestsPerSec,topic=...).",
			func(c *api.TopicCounters) *metrics.Counter { return &c.ProduceRequests }},
		{"samsa_topic_produce_failures_total", "Of those, the appends refused for invalid records, too few in-sync replicas or the producer's state; not those for another leader, a batch too large, a corrupt batch or a storage error (Kafka: BrokerTopicMetrics FailedProduceRequestsPerSec,topic=...).",
			func(c *api.TopicCounters) *metrics.Counter { return &c.FailedProduceRequests }},
	} {
		reg.CounterSet(s.name, s.help, func(emit func(float64, ...metrics.Label)) {
			for _, t := range m.topicCounts(b.meta.Image()) {
				emit(float64(s.count(t.TopicCounters).Value()), metrics.Label{Name: "topic", Value: t.name})
			}
		})
	}
}

// logGauges registers the state of each replica's log this broker hosts
// (Kafka's kafka.log:type=Log MBeans).
func (b *Broker) logGauges(reg *metrics.Registry) {
	for _, g := range []struct {
		name, help string
		value      func(*storage.Log) int64
	}{
		{"samsa_log_size_bytes", "Bytes of the replica's log on disk, every segment (Kafka: Log Size).",
			(*storage.Log).Size},
		{"samsa_log_segments", "Segments of the replica's log (Kafka: Log NumLogSegments).",
			func(l *storage.Log) int64 { return int64(l.NumSegments()) }},
		{"samsa_log_start_offset", "The first offset the replica's log holds (Kafka: Log LogStartOffset).",
			(*storage.Log).LogStartOffset},
		{"samsa_log_end_offset", "The offset the replica's log writes next (Kafka: Log LogEndOffset).",
			(*storage.Log).LogEndOffset},
	} {
		reg.GaugeSet(g.name, g.help, func(emit func(float64, ...metrics.Label)) {
			for _, p := range b.hostedPartitions() {
				emit(float64(g.value(p.Log())), partitionLabels(p)...)
			}
		})
	}
	reg.GaugeSet("samsa_replica_lag_records",
		"Records the replica's log ends short of the high watermark its leader sent in its last fetch answer, for each replica this broker follows (Kafka: FetcherLagMetrics ConsumerLag).",
		func(emit func(float64, ...metrics.Label)) {
			for _, p := range b.hostedPartitions() {
				if h := p.Health(); !h.Leader {
					emit(float64(h.Lag), partitionLabels(p)...)
				}
			}
		})
}

// hostedPartitions are the replicas this broker hosts, by topic and
// partition.
func (b *Broker) hostedPartitions() []*partition.Partition {
	ps := b.partitions.All()
	slices.SortFunc(ps, func(x, y *partition.Partition) int {
		a, b := x.Log().TopicPartition(), y.Log().TopicPartition()
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return cmp.Compare(a.Partition, b.Partition)
	})
	return ps
}

// partitionLabels are the topic and partition labels of p's series.
func partitionLabels(p *partition.Partition) []metrics.Label {
	tp := p.Log().TopicPartition()
	return []metrics.Label{{Name: "topic", Value: tp.Topic}, {Name: "partition", Value: strconv.Itoa(int(tp.Partition))}}
}

// residentBytes reads the process's resident set from /proc (Linux); 0
// where there is none.
func residentBytes() float64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return float64(pages * int64(os.Getpagesize()))
}

// MetricsAddr is the address the metrics listener is bound to, nil without
// one.
func (b *Broker) MetricsAddr() net.Addr {
	if b.metrics == nil {
		return nil
	}
	return b.metrics.ln.Addr()
}

// stopMetrics stops answering scrapes and waits, a few seconds at most, for
// those under way; a scrape still running after that is cut off.
func (b *Broker) stopMetrics() {
	m := b.metrics
	if m == nil {
		return
	}
	if m.http == nil {
		m.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if m.http.Shutdown(ctx) != nil {
		m.http.Close()
	}
}

// connectionCounters registers what became of each listener's connections
// (server.ListenerStats), the controller listener's among them.
func (b *Broker) connectionCounters(reg *metrics.Registry) {
	type listener struct {
		srv  *server.Server
		name string
	}
	var ls []listener
	for _, l := range b.cfg.BrokerListeners() {
		ls = append(ls, listener{b.server, l.Name})
	}
	if b.ctrlServer != nil {
		ls = append(ls, listener{b.ctrlServer, b.cfg.ControllerListeners()[0].Name})
	}
	family := func(name, help string, value func(server.ListenerStats) float64) {
		reg.CounterSet(name, help, func(emit func(float64, ...metrics.Label)) {
			for _, l := range ls {
				emit(value(l.srv.Stats(l.name)), metrics.Label{Name: "listener", Value: l.name})
			}
		})
	}
	family("samsa_connections_created_total", "Connections admitted and served, by listener (Kafka: socket-server-metrics connection-creation-total).",
		func(s server.ListenerStats) float64 { return float64(s.Created) })
	family("samsa_connections_closed_total", "Connections served and closed since, by listener (Kafka: socket-server-metrics connection-close-total).",
		func(s server.ListenerStats) float64 { return float64(s.Closed) })
	family("samsa_failed_authentications_total", "Connections closed because their TLS handshake or principal mapping failed, by listener (Kafka: socket-server-metrics failed-authentication-total).",
		func(s server.ListenerStats) float64 { return float64(s.FailedAuth) })
	family("samsa_accept_blocked_seconds_total", "Time the listener held an accepted connection waiting for max.connections or a connection creation rate, by listener (Kafka: AcceptorBlockedPercent, connection-accept-throttle-time).",
		func(s server.ListenerStats) float64 { return s.Blocked.Seconds() })
	reg.CounterSet("samsa_connections_refused_total",
		"Connections closed at accept, by listener and reason: their address had max.connections.per.ip connections already, or was over its connection_creation_rate quota.",
		func(emit func(float64, ...metrics.Label)) {
			for _, l := range ls {
				st := l.srv.Stats(l.name)
				ln := metrics.Label{Name: "listener", Value: l.name}
				emit(float64(st.RefusedPerIP), ln, metrics.Label{Name: "reason", Value: "max_connections_per_ip"})
				emit(float64(st.RefusedRate), ln, metrics.Label{Name: "reason", Value: "connection_creation_rate"})
			}
		})
}
