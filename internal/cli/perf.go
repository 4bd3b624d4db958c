package cli

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// perf.go is `samsa perf` and what its three benchmarks share: the rate
// pacer, random payloads and Java-compatible number and date printing.
// perf produce and perf consume are also kafka-producer-perf-test.sh and
// kafka-consumer-perf-test.sh; they take Kafka's flags and print Kafka's
// lines, which scripts and blog posts grep.

func runPerf(ctx context.Context, e *env, args []string) int {
	return runSub(ctx, e, []subcommand{
		{"produce", "produce records as fast as allowed and report throughput and latency", perfProduce},
		{"consume", "consume records and report throughput (kafka-consumer-perf-test format)", perfConsume},
		{"e2e", "produce at a fixed rate, consume them back and report end-to-end latency", perfE2E},
	}, args)
}

func kafkaProducerPerfTest(ctx context.Context, e *env, args []string) int {
	return perfProduce(ctx, e, args)
}
func kafkaConsumerPerfTest(ctx context.Context, e *env, args []string) int {
	return perfConsume(ctx, e, args)
}

// pacer spreads sends so that on average rate records leave per second.
// Like Kafka's ThroughputThrottler it sleeps only once the sender is at
// least minPacerSleep ahead of schedule, so records leave in short bursts
// instead of waking a timer for every record (at 50,000 records/s that
// would be 50,000 wake-ups a second on the cores the broker shares). A
// rate of 0 or less never waits.
type pacer struct {
	rate  float64
	start time.Time
}

// minPacerSleep is Kafka's ThroughputThrottler.MIN_SLEEP_NS.
const minPacerSleep = 2 * time.Millisecond

// wait blocks until record n (0-based) is due, less minPacerSleep of
// slack, or until ctx ends.
func (p *pacer) wait(ctx context.Context, n int64) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	d := time.Until(due)
	if d < minPacerSleep {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// payloadPool returns the record values perf produce cycles through:
// random upper-case letters, as Kafka's tool sends, generated up front so
// that the send loop does not spend its time in the random generator. The
// pool holds at most 64 MiB.
func payloadPool(size int) [][]byte {
	n := max(1, min(1000, (64<<20)/max(size, 1)))
	rng := rand.New(rand.NewPCG(0, 0))
	pool := make([][]byte, n)
	for i := range pool {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte('A' + rng.IntN(26))
		}
		pool[i] = b
	}
	return pool
}

// readPayloadFile splits a payload file as Kafka's tool does, printing the
// same two lines.
func readPayloadFile(e *env, path, delim string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stdout, "Reading payloads from: %s\n", path)
	if len(data) == 0 {
		return nil, fmt.Errorf("File does not exist or empty file provided.")
	}
	parts := strings.Split(string(data), delim)
	for len(parts) > 0 && parts[len(parts)-1] == "" { // Java's split drops trailing empties
		parts = parts[:len(parts)-1]
	}
	fmt.Fprintf(e.stdout, "Number of messages read: %d\n", len(parts))
	out := make([][]byte, len(parts))
	for i, p := range parts {
		out[i] = []byte(p)
	}
	return out, nil
}

// javaFloat formats like Java's %.Nf, which prints Infinity and NaN where
// Go prints +Inf and NaN.
func javaFloat(v float64, prec int) string {
	switch {
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case math.IsNaN(v):
		return "NaN"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// javaDateLayout converts the SimpleDateFormat letters the perf tools'
// --date-format uses into a Go layout. Unknown letters are kept literally.
func javaDateLayout(f string) string {
	repl := []struct{ java, goLayout string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"},
		{"dd", "02"}, {"HH", "15"}, {"hh", "03"}, {"mm", "04"}, {"ss", "05"},
		{"SSS", millisMark}, {"a", "PM"}, {"EEE", "Mon"}, {"z", "MST"}, {"Z", "-0700"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		if f[i] == '\'' { // quoted literal
			j := strings.IndexByte(f[i+1:], '\'')
			if j < 0 {
				b.WriteString(f[i+1:])
				break
			}
			b.WriteString(f[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, r := range repl {
			if strings.HasPrefix(f[i:], r.java) {
				b.WriteString(r.goLayout)
				i += len(r.java)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(f[i])
			i++
		}
	}
	return b.String()
}

// millisMark stands for SSS in a converted layout: Go prints fractional
// seconds only after '.' or ',', and Kafka's default format has them after
// ':', so they are filled in after formatting.
const millisMark = "\x00ms\x00"

// millisText is ms since the epoch in a layout from javaDateLayout.
func millisText(ms int64, layout string) string {
	t := time.UnixMilli(ms)
	return strings.ReplaceAll(t.Format(layout), millisMark, fmt.Sprintf("%03d", t.Nanosecond()/1e6))
}
