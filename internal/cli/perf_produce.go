package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// perf_produce.go is `samsa perf produce` and kafka-producer-perf-test.sh.
// Latency is send to acknowledgement per record: the send time goes in the
// record's Timestamp (kgo keeps the full time.Time in memory) and the
// promise, which kgo calls serially, takes the difference. The lines match
// Kafka's ProducerPerformance:
//
//	N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency.
//	N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency, A ms 50th, B ms 95th, C ms 99th, D ms 99.9th.

const perfProduceAbout = `Produce --num-records records of --record-size random bytes (or payloads from
--payload-file) to --topic, at most --throughput records/sec (-1: no limit).
Every --reporting-interval ms a line reports the last window; the final line
adds latency percentiles. Latency is from send to acknowledgement.
Producer settings come from --producer-props k=v... and --producer.config, with
Kafka's names: acks, linger.ms, batch.size, compression.type,
enable.idempotence, max.in.flight.requests.per.connection, ...
Unset producer properties take Kafka 4's defaults (batch.size=16384,
linger.ms=5), and records go to partitions as Kafka's producer spreads them
(uniform sticky, KIP-794; see --partitioner).`

// perfSummary is the --json output of perf produce.
type perfSummary struct {
	Records       int64   `json:"records"`
	Errors        int64   `json:"errors"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	MaxLatencyMs  float64 `json:"max_latency_ms"`
	P50Ms         int64   `json:"p50_ms"`
	P95Ms         int64   `json:"p95_ms"`
	P99Ms         int64   `json:"p99_ms"`
	P999Ms        int64   `json:"p999_ms"`
	P99Us         int64   `json:"p99_us"` // microseconds, for scripts
	P999Us        int64   `json:"p999_us"`
	ElapsedMs     int64   `json:"elapsed_ms"`
}

// perfProducer is one perf produce run: its flags and the records it sends.
type perfProducer struct {
	f                                    *flagSet
	bootstrap, topic, payloadFile, delim *string
	config, partitioner, txnID           *string
	num, interval                        *int64
	size                                 *int
	rate                                 *float64
	monotonic, asJSON                    *bool
	propsList                            *[]string
}

func newPerfProducer(prog string) *perfProducer {
	f := newFlagSet(prog+" --topic TOPIC --num-records N (--record-size S | --payload-file F | --payload-monotonic) [flags]", perfProduceAbout)
	pp := &perfProducer{f: f}
	pp.bootstrap = f.String("bootstrap-server", "", "HOST:PORT,...", "brokers (default: bootstrap.servers from the producer properties, $SAMSA_BROKERS, "+defaultBrokers+")")
	f.Alias("bootstrap-server", "brokers", "b", "broker-list")
	pp.topic = f.String("topic", "", "TOPIC", "topic to produce to (required)")
	pp.num = f.Int64("num-records", 0, "N", "number of records to produce (required)")
	pp.size = f.Int("record-size", 0, "BYTES", "size of each record value")
	pp.payloadFile = f.String("payload-file", "", "FILE", "read payloads from FILE (UTF-8 text) and send them in random order")
	pp.delim = f.String("payload-delimiter", `\n`, "DELIM", "separates payloads in --payload-file")
	pp.monotonic = f.Bool("payload-monotonic", "payloads are the increasing numbers 0, 1, 2, ...")
	pp.rate = f.Float("throughput", -1, "N", "at most N records/sec; -1 unthrottled")
	pp.propsList = f.Multi("producer-props", "KEY=VALUE", "producer properties; wins over --producer.config")
	f.Alias("producer-props", "command-property")
	pp.config = f.String("producer.config", "", "FILE", "producer properties file")
	f.Alias("producer.config", "command-config")
	pp.interval = f.Int64("reporting-interval", 5000, "MS", "interval between progress lines")
	pp.partitioner = f.String("partitioner", "uniform", "NAME", "uniform (Kafka's KIP-794 default), sticky (kgo's default) or round-robin")
	pp.asJSON = f.Bool("json", "print the final summary as JSON on stdout (progress lines go to stderr)")
	f.Bool("print-metrics", "accepted for compatibility; samsa prints no client metrics")
	pp.txnID = f.String("transactional-id", "", "ID", "not supported yet")
	f.Int64("transaction-duration-ms", 0, "MS", "not supported yet")
	return pp
}

func (pp *perfProducer) check() error {
	f := pp.f
	payloadKinds := 0
	for _, n := range []string{"record-size", "payload-file", "payload-monotonic"} {
		if f.Changed(n) {
			payloadKinds++
		}
	}
	switch {
	case *pp.topic == "":
		return usagef("argument --topic is required")
	case !f.Changed("num-records"):
		return usagef("argument --num-records is required")
	case *pp.num <= 0:
		return usagef("--num-records should be greater than zero")
	case payloadKinds != 1:
		return usagef("exactly one of --record-size, --payload-file or --payload-monotonic is required")
	case f.Changed("record-size") && *pp.size <= 0:
		return usagef("--record-size should be greater than zero")
	case *pp.interval <= 0:
		return usagef("--reporting-interval must be greater than 0")
	case *pp.txnID != "" || f.Changed("transaction-duration-ms"):
		return usagef("transactions are not supported by samsa perf produce yet")
	}
	if _, err := pp.kgoPartitioner(); err != nil {
		return err
	}
	return nil
}

func (pp *perfProducer) kgoPartitioner() (kgo.Partitioner, error) {
	return partitionerNamed(*pp.partitioner)
}

// partitionerNamed returns the partitioner a perf tool's --partitioner names.
func partitionerNamed(name string) (kgo.Partitioner, error) {
	switch name {
	case "round-robin":
		return kgo.RoundRobinPartitioner(), nil
	case "sticky":
		return kgo.StickyKeyPartitioner(nil), nil
	case "uniform":
		return kgo.UniformBytesPartitioner(16384, false, true, nil), nil
	}
	return nil, usagef("--partitioner must be round-robin, sticky or uniform")
}

// payloads returns what record i's value is.
func (pp *perfProducer) payloads(e *env) (func(i int64) []byte, error) {
	switch {
	case *pp.monotonic:
		return func(i int64) []byte { return strconv.AppendInt(nil, i, 10) }, nil
	case *pp.payloadFile != "":
		d := *pp.delim
		if d == `\n` {
			d = "\n"
		}
		pool, err := readPayloadFile(e, *pp.payloadFile, d)
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(0, 0))
		return func(int64) []byte { return pool[rng.IntN(len(pool))] }, nil
	}
	pool := payloadPool(*pp.size)
	return func(i int64) []byte { return pool[i%int64(len(pool))] }, nil
}

func perfProduce(ctx context.Context, e *env, args []string) int {
	pp := newPerfProducer(e.prog)
	if code, ok := e.parse(pp.f, args); !ok {
		return code
	}
	if err := pp.check(); err != nil {
		return e.usageFail(pp.f, err)
	}
	p := &props{}
	if *pp.config != "" {
		fp, err := loadPropsFile(*pp.config)
		if err != nil {
			return e.fail(err)
		}
		p.Merge(fp)
	}
	kv, err := parseKeyValues(*pp.propsList)
	if err != nil {
		return e.usageFail(pp.f, err)
	}
	p.Merge(kv)
	p.SetDefault("client.id", "perf-producer-client")
	// Kafka 4's producer defaults, which kafka-producer-perf-test.sh runs
	// with (franz-go's own batch limit is 1 MiB and it compresses with
	// snappy unless told otherwise).
	p.SetDefault("batch.size", "16384")
	p.SetDefault("linger.ms", "5")
	p.SetDefault("compression.type", "none")
	payload, err := pp.payloads(e)
	if err != nil {
		return e.fail(err)
	}
	part, _ := pp.kgoPartitioner()
	// Kafka's producer lets the broker create a missing topic
	// (auto.create.topics.enable), as the usual benchmark recipe expects.
	cl, err := e.newClient(e.seedBrokers(*pp.bootstrap, p), p, roleProducer, kgo.RecordPartitioner(part), kgo.AllowAutoTopicCreation())
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()

	progress := e.stdout
	if *pp.asJSON {
		progress = e.stderr
	}
	st := pp.send(ctx, e, cl, payload, progress)
	sum := st.total(progress)
	if *pp.asJSON {
		if err := writeJSON(e.stdout, sum); err != nil {
			return e.fail(err)
		}
	}
	if sum.Errors > 0 {
		fmt.Fprintf(e.stderr, "%s: %d record(s) failed; first error: %v\n", e.prog, sum.Errors, st.first)
		return 1
	}
	return 0
}

// send produces the records at the requested rate and waits for every
// acknowledgement.
func (pp *perfProducer) send(ctx context.Context, e *env, cl *kgo.Client, payload func(int64) []byte, progress io.Writer) *produceStats {
	st := &produceStats{w: progress, interval: time.Duration(*pp.interval) * time.Millisecond, e: e}
	st.start = time.Now()
	st.windowStart = st.start
	pace := &pacer{rate: *pp.rate, start: st.start}
	for i := int64(0); i < *pp.num; i++ {
		if err := pace.wait(ctx, i); err != nil {
			break
		}
		cl.Produce(ctx, &kgo.Record{Topic: *pp.topic, Value: payload(i), Timestamp: time.Now()}, st.promise)
	}
	if err := cl.Flush(ctx); err != nil {
		st.fail(err)
	}
	return st
}

// produceStats is ProducerPerformance.Stats with a histogram in place of
// the sampled latency array. Fields are guarded by mu: promises record,
// the main goroutine reads the total.
type produceStats struct {
	e        *env
	w        io.Writer
	interval time.Duration

	mu                               sync.Mutex
	start, windowStart               time.Time
	hist                             histogram // microseconds
	count, bytes, errors             int64
	windowCount, windowBytes         int64
	windowSumMicros, windowMaxMicros int64
	first                            error
}

func (s *produceStats) promise(r *kgo.Record, err error) {
	now := time.Now()
	if err != nil {
		s.fail(fmt.Errorf("%s", kafkaErrText(err, "")))
		return
	}
	lat := now.Sub(r.Timestamp).Microseconds()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hist.record(lat)
	s.count++
	s.bytes += int64(len(r.Value))
	s.windowCount++
	s.windowBytes += int64(len(r.Value))
	s.windowSumMicros += lat
	s.windowMaxMicros = max(s.windowMaxMicros, lat)
	if now.Sub(s.windowStart) >= s.interval {
		s.printWindowLocked(now)
	}
}

func (s *produceStats) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors++
	if s.first == nil {
		s.first = err
		fmt.Fprintf(s.e.stderr, "%s: %v\n", s.e.prog, err)
	}
}

func (s *produceStats) printWindowLocked(now time.Time) {
	elapsedMs := float64(now.Sub(s.windowStart)) / float64(time.Millisecond)
	recs := 1000 * float64(s.windowCount) / elapsedMs
	mb := 1000 * float64(s.windowBytes) / elapsedMs / (1024 * 1024)
	fmt.Fprintf(s.w, "%d records sent, %s records/sec (%s MB/sec), %s ms avg latency, %s ms max latency.\n",
		s.windowCount, javaFloat(recs, 1), javaFloat(mb, 2),
		javaFloat(float64(s.windowSumMicros)/float64(s.windowCount)/1000, 1), javaFloat(float64(s.windowMaxMicros)/1000, 1))
	s.windowStart = now
	s.windowCount, s.windowBytes, s.windowSumMicros, s.windowMaxMicros = 0, 0, 0, 0
}

// total prints Kafka's final line and returns the summary.
func (s *produceStats) total(w io.Writer) perfSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	elapsed := time.Since(s.start)
	elapsedMs := float64(elapsed) / float64(time.Millisecond)
	sum := perfSummary{
		Records:       s.count,
		Errors:        s.errors,
		RecordsPerSec: 1000 * float64(s.count) / elapsedMs,
		MBPerSec:      1000 * float64(s.bytes) / elapsedMs / (1024 * 1024),
		AvgLatencyMs:  s.hist.mean() / 1000,
		MaxLatencyMs:  float64(s.hist.max) / 1000,
		P50Ms:         s.hist.quantile(0.5) / 1000,
		P95Ms:         s.hist.quantile(0.95) / 1000,
		P99Ms:         s.hist.quantile(0.99) / 1000,
		P999Ms:        s.hist.quantile(0.999) / 1000,
		P99Us:         s.hist.quantile(0.99),
		P999Us:        s.hist.quantile(0.999),
		ElapsedMs:     elapsed.Milliseconds(),
	}
	fmt.Fprintf(w, "%d records sent, %s records/sec (%s MB/sec), %s ms avg latency, %s ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
		sum.Records, javaFloat(sum.RecordsPerSec, 1), javaFloat(sum.MBPerSec, 2),
		javaFloat(avgOrNaN(&s.hist), 2), javaFloat(sum.MaxLatencyMs, 2),
		sum.P50Ms, sum.P95Ms, sum.P99Ms, sum.P999Ms)
	if elapsedMs == 0 { // JSON cannot carry Infinity
		sum.RecordsPerSec, sum.MBPerSec = 0, 0
	}
	return sum
}

// avgOrNaN is the mean latency in ms; Kafka prints NaN when nothing was sent.
func avgOrNaN(h *histogram) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	return h.mean() / 1000
}
