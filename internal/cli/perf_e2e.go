package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// perf_e2e.go is `samsa perf e2e`: one producer sends at a fixed rate while
// one consumer, assigned every partition at its high watermark before the
// first send, reads the records back. Each record's first 8 bytes are its
// send time (big-endian Unix nanoseconds); the consumer's receive time minus
// that is the end-to-end latency. Producer and consumer run in this
// process, so they share a clock. Output follows Kafka's EndToEndLatency:
//
//	0	3.21
//	Avg latency: 2.1234 ms
//	Percentiles: 50th = 2, 99th = 5, 99.9th = 9
//
// plus two samsa lines, "Max latency: N ms" and "Achieved rate: X records/sec".

const perfE2EAbout = `Measure end-to-end latency: produce --num-records records of --record-size
bytes (at least 8) at --throughput records/sec and consume them back from the
same partitions. Every 1000th received record prints "N<TAB>latency ms", as
Kafka's EndToEndLatency does; the end prints the average, percentiles, the
maximum and the achieved rate. A missing topic is created with 1 partition.
acks must be 1 or all (the default). --warmup-records records are sent first,
at the same rate, and left out of the figures: they measure the clients
connecting and the consumer's first fetch, not the steady state.`

type e2eSummary struct {
	Records       int64   `json:"records"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	P50Ms         int64   `json:"p50_ms"`
	P99Ms         int64   `json:"p99_ms"`
	P999Ms        int64   `json:"p999_ms"`
	P50Us         int64   `json:"p50_us"` // the same percentiles in microseconds, for scripts
	P99Us         int64   `json:"p99_us"`
	P999Us        int64   `json:"p999_us"`
	MaxLatencyMs  int64   `json:"max_latency_ms"`
	RecordsPerSec float64 `json:"records_per_sec"`
}

func perfE2E(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa perf e2e --topic TOPIC --num-records N [flags]", perfE2EAbout)
	bootstrap := f.String("bootstrap-server", "", "HOST:PORT,...", "brokers (default $SAMSA_BROKERS or "+defaultBrokers+")")
	f.Alias("bootstrap-server", "brokers", "b", "broker-list")
	topic := f.String("topic", "", "TOPIC", "topic to use (required)")
	num := f.Int64("num-records", 0, "N", "records to send (required)")
	rate := f.Float("throughput", 1000, "N", "records per second")
	size := f.Int("record-size", 100, "BYTES", "record size, at least 8")
	propsList := f.Multi("producer-props", "KEY=VALUE", "client properties (acks, linger.ms, security, ...)")
	f.Alias("producer-props", "command-property")
	config := f.String("producer.config", "", "FILE", "client properties file")
	f.Alias("producer.config", "command-config")
	warmup := f.Int64("warmup-records", 0, "N", "records sent first and left out of the figures")
	wait := f.Duration("timeout", time.Minute, "DURATION", "how long to wait for the last records after sending")
	partitioner := f.String("partitioner", "uniform", "NAME", "uniform (Kafka's KIP-794 default), sticky or round-robin")
	asJSON := f.Bool("json", "print the result as JSON instead of Kafka's lines")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	switch {
	case *topic == "":
		return e.usageFail(f, usagef("--topic is required"))
	case *num <= 0:
		return e.usageFail(f, usagef("--num-records must be greater than zero"))
	case *size < 8:
		return e.usageFail(f, usagef("--record-size must be at least 8: the send time takes 8 bytes"))
	case *rate <= 0:
		return e.usageFail(f, usagef("--throughput must be greater than zero"))
	case *warmup < 0:
		return e.usageFail(f, usagef("--warmup-records must not be negative"))
	}
	p := &props{}
	if *config != "" {
		fp, err := loadPropsFile(*config)
		if err != nil {
			return e.fail(err)
		}
		p.Merge(fp)
	}
	kv, err := parseKeyValues(*propsList)
	if err != nil {
		return e.usageFail(f, err)
	}
	p.Merge(kv)
	p.SetDefault("acks", "all")
	if acks, _ := p.Get("acks"); acks != "all" && acks != "-1" && acks != "1" {
		return e.fail(errors.New("Latency testing requires synchronous acknowledgement. Please use 1 or all"))
	}
	p.SetDefault("linger.ms", "0")
	// Kafka's producer defaults; franz-go's batch limit is 1 MiB and it
	// compresses with snappy.
	p.SetDefault("batch.size", "16384")
	p.SetDefault("compression.type", "none")
	part, err := partitionerNamed(*partitioner)
	if err != nil {
		return e.usageFail(f, err)
	}
	brokers := e.seedBrokers(*bootstrap, p)

	admCl, err := e.newClient(brokers, p, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	starts, err := e2eSetup(ctx, e, admCl, *topic)
	admCl.Close()
	if err != nil {
		return e.fail(err)
	}
	consumer, err := e.newClient(brokers, p, roleConsumer,
		kgo.ConsumePartitions(starts), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return e.fail(err)
	}
	defer consumer.Close()
	producer, err := e.newClient(brokers, p, roleProducer, kgo.RecordPartitioner(part))
	if err != nil {
		return e.fail(err)
	}
	defer producer.Close()

	run := &e2eRun{e: e, want: *num + *warmup, warmup: *warmup, progress: e.stdout}
	if *asJSON {
		run.progress = e.stderr
	}
	sum, err := run.run(ctx, producer, consumer, *topic, *rate, *size, *wait)
	if err != nil {
		return e.fail(err)
	}
	if *asJSON {
		if err := writeJSON(e.stdout, sum); err != nil {
			return e.fail(err)
		}
		return 0
	}
	fmt.Fprintf(e.stdout, "Avg latency: %.4f ms\n", sum.AvgLatencyMs)
	fmt.Fprintf(e.stdout, "Percentiles: 50th = %d, 99th = %d, 99.9th = %d\n", sum.P50Ms, sum.P99Ms, sum.P999Ms)
	fmt.Fprintf(e.stdout, "Max latency: %d ms\n", sum.MaxLatencyMs)
	fmt.Fprintf(e.stdout, "Achieved rate: %.1f records/sec\n", sum.RecordsPerSec)
	return 0
}

// e2eSetup creates the topic if it is missing (as Kafka's tool does) and
// returns every partition's high watermark, where the consumer starts.
func e2eSetup(ctx context.Context, e *env, cl *kgo.Client, topic string) (map[string]map[int32]kgo.Offset, error) {
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	if td, ok := md.Topics[topic]; !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		fmt.Fprintf(e.stdout, "Topic \"%s\" does not exist. Will create topic with 1 partition(s) and replication factor = 1\n", topic)
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			fmt.Fprintf(e.stdout, "Creation of topic %s failed\n", topic)
			return nil, err
		}
		cl.PurgeTopicsFromClient(topic) // forget the cached "unknown topic"
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("%s: %s", topic, kafkaErrText(err, ""))
	}
	starts := map[string]map[int32]kgo.Offset{topic: {}}
	for p, o := range ends[topic] {
		starts[topic][p] = kgo.NewOffset().At(o.Offset)
	}
	return starts, nil
}

// e2eRun is one measurement. The consumer goroutine owns hist, got and
// measured until done is closed; mu guards the producer-side error.
type e2eRun struct {
	e        *env
	want     int64 // records to send and receive, warm-up included
	warmup   int64
	progress io.Writer

	// measureFrom is the send time of the first measured record (0 until
	// it is sent): records sent earlier are the warm-up.
	measureFrom atomic.Int64

	hist     histogram // microseconds
	got      int64
	measured int64

	// values recycles record values once their produce completed.
	values sync.Pool

	mu       sync.Mutex
	sendErrs int64
	firstErr error
}

func (r *e2eRun) run(ctx context.Context, producer, consumer *kgo.Client, topic string, rate float64, size int, wait time.Duration) (e2eSummary, error) {
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		r.consume(cctx, consumer)
	}()

	start := time.Now()
	pace := &pacer{rate: rate, start: start}
	payloads := payloadPool(size)
	r.values.New = func() any { return make([]byte, size) }
	for i := int64(0); i < r.want; i++ {
		if err := pace.wait(ctx, i); err != nil {
			break
		}
		if i == r.warmup {
			r.measureFrom.Store(time.Now().UnixNano())
		}
		// Random upper-case letters after the send time, as Kafka's
		// EndToEndLatency sends: barely compressible, so a codec set with
		// --producer-props does not shrink the load to nothing.
		v := r.values.Get().([]byte)
		copy(v[8:], payloads[i%int64(len(payloads))][8:])
		binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
		producer.Produce(ctx, &kgo.Record{Topic: topic, Value: v}, r.promise)
	}
	if err := producer.Flush(ctx); err != nil {
		r.promise(nil, err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	case <-ctx.Done():
	}
	stop()
	wg.Wait()
	elapsed := time.Since(start)

	r.mu.Lock()
	sendErrs, firstErr := r.sendErrs, r.firstErr
	r.mu.Unlock()
	if sendErrs > 0 {
		return e2eSummary{}, fmt.Errorf("%d record(s) could not be produced; first error: %v", sendErrs, firstErr)
	}
	if r.got < r.want {
		return e2eSummary{}, fmt.Errorf("received %d of %d records before the timeout (%v)", r.got, r.want, wait)
	}
	return e2eSummary{
		Records:       r.measured,
		AvgLatencyMs:  r.hist.mean() / 1000,
		P50Ms:         r.hist.quantile(0.5) / 1000,
		P99Ms:         r.hist.quantile(0.99) / 1000,
		P999Ms:        r.hist.quantile(0.999) / 1000,
		P50Us:         r.hist.quantile(0.5),
		P99Us:         r.hist.quantile(0.99),
		P999Us:        r.hist.quantile(0.999),
		MaxLatencyMs:  r.hist.max / 1000,
		RecordsPerSec: float64(r.got) / elapsed.Seconds(),
	}, nil
}

// promise recycles the record's value (the client is done with it) and
// keeps the first error.
func (r *e2eRun) promise(rec *kgo.Record, err error) {
	if rec != nil {
		r.values.Put(rec.Value)
	}
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sendErrs++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// consume reads until every record arrived or ctx ends.
func (r *e2eRun) consume(ctx context.Context, cl *kgo.Client) {
	for r.got < r.want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		now := time.Now().UnixNano()
		from := r.measureFrom.Load()
		fs.EachRecord(func(rec *kgo.Record) {
			if len(rec.Value) < 8 {
				return // not ours
			}
			sent := int64(binary.BigEndian.Uint64(rec.Value))
			lat := now - sent
			if from != 0 && sent >= from {
				r.hist.record(lat / 1000)
				r.measured++
			}
			if r.got%1000 == 0 {
				fmt.Fprintf(r.progress, "%d\t%s\n", r.got, trimFloat(float64(lat)/1e6))
			}
			r.got++
		})
	}
}

// trimFloat prints a double as Java's string concatenation does: shortest
// form, with at least one decimal.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%v", v)
	for _, c := range s {
		if c == '.' || c == 'e' {
			return s
		}
	}
	return s + ".0"
}
