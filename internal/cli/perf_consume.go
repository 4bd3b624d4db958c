package cli

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// perf_consume.go is `samsa perf consume` and kafka-consumer-perf-test.sh,
// printing Kafka's ConsumerPerformance CSV:
//
//	start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
//	2024-01-01 10:00:00:000, 2024-01-01 10:00:01:000, 9.5367, 9.5367, 100000, 100000.0000, 0, 1000, 9.5367, 100000.0000
//
// Unlike Kafka's tool, without --group the partitions are read directly (no
// group is joined, so rebalance.time.ms is 0); with --group it joins the
// group and rebalance.time.ms is the time spent joining.

const perfConsumeAbout = `Consume --num-records records (Kafka before 4.2: --messages) from --topic, or
the topics --include matches, and report throughput as Kafka's
kafka-consumer-perf-test does. It stops after --num-records records, or when
no record arrived for --timeout ms. Without --group no group is joined and
nothing is committed; with --group the group's offsets are used and the time
spent joining is reported as rebalance.time.ms.`

type perfConsumeSummary struct {
	StartTime           string  `json:"start_time"`
	EndTime             string  `json:"end_time"`
	MB                  float64 `json:"data_consumed_mb"`
	MBPerSec            float64 `json:"mb_per_sec"`
	Messages            int64   `json:"data_consumed_messages"`
	MessagesPerSec      float64 `json:"messages_per_sec"`
	RebalanceMs         int64   `json:"rebalance_time_ms"`
	FetchMs             int64   `json:"fetch_time_ms"`
	FetchMBPerSec       float64 `json:"fetch_mb_per_sec"`
	FetchMessagesPerSec float64 `json:"fetch_messages_per_sec"`
}

// joinClock accumulates time spent in group joins; the kgo callbacks run
// on the client's goroutines, so mu guards it.
type joinClock struct {
	mu          sync.Mutex
	joinStart   time.Time
	total, last time.Duration // all joins; joins since the last progress line
}

func (j *joinClock) revoked(context.Context, *kgo.Client, map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.joinStart = time.Now()
}

func (j *joinClock) assigned(context.Context, *kgo.Client, map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	d := time.Since(j.joinStart)
	j.total += d
	j.last += d
}

func (j *joinClock) takeLast() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	d := j.last
	j.last = 0
	return d
}

func (j *joinClock) totalMs() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.total.Milliseconds()
}

// perfConsumer is one perf consume run.
type perfConsumer struct {
	f                                        *flagSet
	bootstrap, topic, include, group, config *string
	timeout, dateFormat                      *string
	num, interval                            *int64
	fetchSize                                *int
	fromLatest, detailed, hideHeader, asJSON *bool
	propsList                                *[]string
	timeoutMs                                int64  // parsed --timeout
	layout                                   string // Go layout of --date-format
}

func newPerfConsumer(prog string) *perfConsumer {
	f := newFlagSet(prog+" (--topic TOPIC | --include REGEX) --num-records N [flags]", perfConsumeAbout)
	pc := &perfConsumer{f: f}
	pc.bootstrap = f.String("bootstrap-server", "", "HOST:PORT,...", "brokers (default $SAMSA_BROKERS or "+defaultBrokers+")")
	f.Alias("bootstrap-server", "brokers", "b", "broker-list")
	pc.topic = f.String("topic", "", "TOPIC", "topic to consume (this or --include is required)")
	pc.include = f.String("include", "", "REGEX", "consume every topic whose whole name matches REGEX")
	pc.num = f.Int64("num-records", 0, "N", "number of records to consume (required)")
	f.Alias("num-records", "messages")
	pc.group = f.String("group", "", "GROUP", "join GROUP (default: no group, partitions read directly)")
	pc.fetchSize = f.Int("fetch-size", 1<<20, "BYTES", "max.partition.fetch.bytes")
	pc.fromLatest = f.Bool("from-latest", "without committed offsets, start at the end instead of the beginning")
	pc.config = f.String("consumer.config", "", "FILE", "consumer properties file")
	f.Alias("consumer.config", "command-config")
	pc.propsList = f.Strings("command-property", "KEY=VALUE", "a consumer property; repeatable")
	f.Alias("command-property", "consumer-property")
	pc.timeout = f.Optional("timeout", "10000", "10000", "MS", "stop when no record arrived for this long")
	pc.interval = f.Int64("reporting-interval", 5000, "MS", "interval of --show-detailed-stats lines")
	pc.detailed = f.Bool("show-detailed-stats", "print a line per reporting interval")
	pc.dateFormat = f.String("date-format", "yyyy-MM-dd HH:mm:ss:SSS", "FORMAT", "java.text.SimpleDateFormat pattern for the times")
	pc.hideHeader = f.Bool("hide-header", "do not print the header line")
	pc.asJSON = f.Bool("json", "print the result as JSON instead of the CSV lines")
	f.Bool("print-metrics", "accepted for compatibility; samsa prints no client metrics")
	f.Int("socket-buffer-size", 2<<20, "BYTES", "accepted for compatibility; ignored")
	f.Int("threads", 1, "N", "accepted for compatibility; ignored")
	f.Alias("threads", "num-fetch-threads")
	f.Hide("threads")
	return pc
}

func (pc *perfConsumer) check() error {
	var err error
	pc.timeoutMs, err = strconv.ParseInt(*pc.timeout, 10, 64)
	switch {
	case (*pc.topic == "") == (*pc.include == ""):
		return usagef("Exactly one of --include/--topic is required.")
	case !pc.f.Changed("num-records"):
		return kafkaMissing("num-records")
	case err != nil || pc.timeoutMs < 0:
		return usagef("--timeout must be milliseconds")
	case *pc.interval <= 0:
		return usagef("Reporting interval must be greater than 0.")
	}
	if *pc.include != "" {
		if _, err := regexp.Compile(*pc.include); err != nil {
			return usagef("%s is an invalid regex.", *pc.include)
		}
	}
	pc.layout = javaDateLayout(*pc.dateFormat)
	return nil
}

// clientOpts are the consumer properties and kgo options of the run.
func (pc *perfConsumer) clientOpts(clock *joinClock) (*props, []kgo.Opt, error) {
	p := &props{}
	if *pc.config != "" {
		fp, err := loadPropsFile(*pc.config)
		if err != nil {
			return nil, nil, err
		}
		p.Merge(fp)
	}
	kv, err := parseKeyValues(*pc.propsList)
	if err != nil {
		return nil, nil, err
	}
	p.Merge(kv)
	if *pc.group == "" {
		*pc.group, _ = p.Get("group.id")
	}
	p.Set("max.partition.fetch.bytes", strconv.Itoa(*pc.fetchSize))
	p.SetDefault("client.id", "perf-consumer-client")
	p.SetDefault("partition.assignment.strategy", kafkaAssignors)
	reset := kgo.NewOffset().AtStart()
	if *pc.fromLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{kgo.ConsumeTopics(*pc.topic), kgo.ConsumeResetOffset(reset)}
	if *pc.include != "" {
		opts = []kgo.Opt{kgo.ConsumeRegex(), kgo.ConsumeTopics("^(?:" + *pc.include + ")$"), kgo.ConsumeResetOffset(reset)}
	}
	if *pc.group != "" {
		opts = append(opts, kgo.ConsumerGroup(*pc.group),
			kgo.OnPartitionsRevoked(clock.revoked), kgo.OnPartitionsAssigned(clock.assigned))
	}
	return p, opts, nil
}

func perfConsume(ctx context.Context, e *env, args []string) int {
	pc := newPerfConsumer(e.prog)
	if code, ok := e.parse(pc.f, args); !ok {
		return code
	}
	if err := pc.check(); err != nil {
		return e.usageFail(pc.f, err)
	}
	clock := &joinClock{joinStart: time.Now()}
	p, opts, err := pc.clientOpts(clock)
	if err != nil {
		return e.fail(err)
	}
	cl, err := e.newClient(e.seedBrokers(*pc.bootstrap, p), p, roleConsumer, opts...)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	if !*pc.hideHeader && !*pc.asJSON {
		header := "start.time, end.time"
		if *pc.detailed {
			header = "time, threadId"
		}
		fmt.Fprintf(e.stdout, "%s, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n", header)
	}
	start := time.Now()
	msgs, bytes := pc.consume(ctx, e, cl, clock)
	end := time.Now()
	if msgs < *pc.num {
		fmt.Fprintf(e.stdout, "WARNING: Exiting before consuming the expected number of messages: timeout (%d ms) exceeded. You can use the --timeout option to increase the timeout.\n", pc.timeoutMs)
	}
	return pc.report(e, start, end, msgs, bytes, clock.totalMs())
}

// consume polls until --num-records arrived or none arrived for --timeout,
// printing the --show-detailed-stats lines on the way.
func (pc *perfConsumer) consume(ctx context.Context, e *env, cl *kgo.Client, clock *joinClock) (msgs, bytes int64) {
	var lastMsgs, lastBytes int64
	start := time.Now()
	lastReport, lastConsumed := start, start
	interval := time.Duration(*pc.interval) * time.Millisecond
	for msgs < *pc.num && time.Since(lastConsumed) <= time.Duration(pc.timeoutMs)*time.Millisecond {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := cl.PollRecords(pctx, int(min(*pc.num-msgs, 1<<20)))
		cancel()
		if ctx.Err() != nil || fs.IsClientClosed() {
			break
		}
		now := time.Now()
		if fs.NumRecords() > 0 {
			lastConsumed = now
		}
		fs.EachRecord(func(r *kgo.Record) {
			msgs++
			bytes += int64(len(r.Key) + len(r.Value))
			if now.Sub(lastReport) >= interval {
				if *pc.detailed && !*pc.asJSON {
					printConsumerProgress(e, bytes, lastBytes, msgs, lastMsgs, lastReport, now, pc.layout, clock.takeLast())
				}
				lastReport, lastMsgs, lastBytes = now, msgs, bytes
			}
		})
	}
	return msgs, bytes
}

// report prints Kafka's summary row, or the JSON summary.
func (pc *perfConsumer) report(e *env, start, end time.Time, msgs, bytes, joinMs int64) int {
	elapsedSec := end.Sub(start).Seconds()
	fetchMs := end.Sub(start).Milliseconds() - joinMs
	mb := float64(bytes) / (1024 * 1024)
	sum := perfConsumeSummary{
		StartTime: millisText(start.UnixMilli(), pc.layout), EndTime: millisText(end.UnixMilli(), pc.layout),
		MB: mb, MBPerSec: mb / elapsedSec, Messages: msgs, MessagesPerSec: float64(msgs) / elapsedSec,
		RebalanceMs: joinMs, FetchMs: fetchMs,
		FetchMBPerSec: mb / (float64(fetchMs) / 1000), FetchMessagesPerSec: float64(msgs) / (float64(fetchMs) / 1000),
	}
	if *pc.asJSON {
		for _, v := range []*float64{&sum.MBPerSec, &sum.MessagesPerSec, &sum.FetchMBPerSec, &sum.FetchMessagesPerSec} {
			if math.IsNaN(*v) || math.IsInf(*v, 0) { // JSON cannot carry them
				*v = 0
			}
		}
		if err := writeJSON(e.stdout, sum); err != nil {
			return e.fail(err)
		}
		return 0
	}
	if !*pc.detailed {
		fmt.Fprintf(e.stdout, "%s, %s, %s, %s, %d, %s, %d, %d, %s, %s\n",
			sum.StartTime, sum.EndTime, javaFloat(sum.MB, 4), javaFloat(sum.MBPerSec, 4), sum.Messages,
			javaFloat(sum.MessagesPerSec, 4), sum.RebalanceMs, sum.FetchMs,
			javaFloat(sum.FetchMBPerSec, 4), javaFloat(sum.FetchMessagesPerSec, 4))
	}
	return 0
}

// printConsumerProgress is ConsumerPerformance's --show-detailed-stats line.
func printConsumerProgress(e *env, bytes, lastBytes, msgs, lastMsgs int64, from, to time.Time, layout string, join time.Duration) {
	elapsedMs := float64(to.Sub(from).Milliseconds())
	totalMB := float64(bytes) / (1024 * 1024)
	intervalMB := float64(bytes-lastBytes) / (1024 * 1024)
	fetchMs := to.Sub(from).Milliseconds() - join.Milliseconds()
	fetchMBs, fetchMsgs := 0.0, 0.0
	if fetchMs > 0 {
		fetchMBs = 1000 * intervalMB / float64(fetchMs)
		fetchMsgs = 1000 * float64(msgs-lastMsgs) / float64(fetchMs)
	}
	fmt.Fprintf(e.stdout, "%s, %d, %s, %s, %d, %s, %d, %d, %s, %s\n",
		millisText(to.UnixMilli(), layout), 0, javaFloat(totalMB, 4), javaFloat(1000*intervalMB/elapsedMs, 4),
		msgs, javaFloat(float64(msgs-lastMsgs)/elapsedMs*1000, 4), join.Milliseconds(), fetchMs,
		javaFloat(fetchMBs, 4), javaFloat(fetchMsgs, 4))
}
