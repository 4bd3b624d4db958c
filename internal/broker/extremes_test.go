package broker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/config"
)

// boundsSkipped are the numeric settings not tried at their bounds: they
// say who the node is, so changing one alone does not make a one-node
// broker that should still work.
var boundsSkipped = map[string]string{
	"node.id":   "the node's identity; the voters and listeners of the one-node cluster are built around it",
	"broker.id": "the old name of node.id",
}

// refusesClients are the settings whose bound makes the broker turn
// clients away by design, as Kafka does: the broker must still start and
// stop cleanly, but a produce that fails without a Kafka error is fine.
var refusesClients = map[string]bool{
	"socket.request.max.bytes":     true, // at 1 byte no request fits
	"max.connections":              true, // at 0 no connection is accepted
	"max.connection.creation.rate": true, // at 0 no connection is accepted
	"max.connections.per.ip":       true, // at 1 a client's second connection is closed (franz-go opens several)
}

// extremeCase is one setting at one of its bounds.
type extremeCase struct {
	name, value string
	bound       string // what the value is: "lower bound", "upper bound", ...
}

// boundRE reads a range validator's documentation, "[1,...]",
// "[0,...,1]", "[...,5]" or "[1,...,9] or -1": the range's ends.
var boundRE = regexp.MustCompile(`^\[(?:(-?[0-9.E]+),)?\.\.\.(?:,(-?[0-9.E]+))?\]`)

// typeMax is the largest value a setting's type holds, as Kafka prints it.
func typeMax(t config.Type) string {
	switch t {
	case config.TypeShort:
		return strconv.Itoa(math.MaxInt16)
	case config.TypeInt:
		return strconv.Itoa(math.MaxInt32)
	case config.TypeLong:
		return strconv.FormatInt(math.MaxInt64, 10)
	}
	return "1.7976931348623157E308"
}

// isDuration reports whether a setting is a length of time, by the unit
// its name ends with.
func isDuration(name string) bool {
	for _, unit := range []string{".ms", ".seconds", ".minutes", ".hours"} {
		if strings.HasSuffix(name, unit) {
			return true
		}
	}
	return false
}

// extremeCases lists every numeric broker setting at its lower bound and,
// where that is cheap, its upper bound.
//
// The lower bound is found among the validator's own lower end (from its
// documentation, "[12,...]") and -1, 0 and 1: the smallest of those a
// whole configuration accepts (config.FromMap, which adds the rules that
// span settings and those of the topic-level synonyms), or else the
// smallest the setting's own validation accepts, which the broker should
// then refuse. A setting without a validator accepts -1; it is also tried
// at 0 when its default is positive, as "0 means off" and "0 means now"
// are the values code most often forgets.
//
// The upper bound is the validator's upper end where it has one, and the
// largest value of the type for lengths of time (*.ms, *.seconds, ...),
// where a conversion to a duration may overflow. Counts and sizes are not
// tried at the top of their type: Integer.MAX_VALUE threads, partitions or
// bytes of index would exhaust the machine by design, in Kafka as here.
func extremeCases(t *testing.T) []extremeCase {
	t.Helper()
	var out []extremeCase
	add := func(d *config.Def, value, bound string) {
		t.Helper()
		if err := config.ValidateBrokerConfig(d.Name, value); err != nil {
			t.Fatalf("%s=%s, the %s, fails validation: %v", d.Name, value, bound, err)
		}
		for _, c := range out {
			if c.name == d.Name && c.value == value {
				return
			}
		}
		out = append(out, extremeCase{name: d.Name, value: value, bound: bound})
	}
	for _, d := range config.BrokerDefs() {
		switch d.Type {
		case config.TypeShort, config.TypeInt, config.TypeLong, config.TypeDouble:
		default:
			continue
		}
		if boundsSkipped[d.Name] != "" {
			continue
		}
		var low, high string
		if d.Valid != nil {
			if m := boundRE.FindStringSubmatch(d.Valid.String()); m != nil {
				low, high = m[1], m[2]
			}
		}
		// The smallest of the validator's lower end, -1, 0 and 1 that the
		// whole configuration accepts, or else that the setting accepts.
		lowest, lowestF, started := "", math.Inf(1), false
		for _, v := range []string{low, "-1", "0", "1"} {
			f, err := strconv.ParseFloat(v, 64)
			if v == "" || err != nil || config.ValidateBrokerConfig(d.Name, v) != nil {
				continue
			}
			if d.Type != config.TypeDouble {
				v = strconv.FormatFloat(f, 'f', 0, 64)
			}
			whole := configAccepts(d.Name, v)
			if (whole && !started) || (whole == started && f < lowestF) {
				lowest, lowestF, started = v, f, whole
			}
		}
		if lowest == "" {
			t.Fatalf("%s (%s, valid %v): no lower bound found", d.Name, d.Type, d.Valid)
		}
		add(d, lowest, "lower bound")
		if low != "" && low != lowest && config.ValidateBrokerConfig(d.Name, low) == nil {
			add(d, low, "lower end of the range") // "[1,...,9] or -1"
		}
		if d.Valid == nil && lowest == "-1" {
			if def, err := strconv.ParseFloat(d.Default, 64); err == nil && def > 0 {
				add(d, "0", "zero")
			}
		}
		switch {
		case high != "":
			add(d, high, "upper bound")
		case isDuration(d.Name):
			add(d, typeMax(d.Type), "upper bound (largest "+d.Type.String()+")")
		}
	}
	return out
}

// configAccepts reports whether a one-node configuration with name=value
// passes config.FromMap (nothing is opened or bound).
func configAccepts(name, value string) bool {
	_, _, err := config.FromMap(map[string]string{
		"node.id":       "1",
		"process.roles": "broker,controller",
		"listeners":     "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
		"log.dirs":      "/nonexistent/samsa",
		name:            value,
	})
	return err == nil
}

// Every numeric broker setting at its bounds, one at a time: the broker
// either refuses to start with an error, or starts, takes a record with
// acks=all and gives it back, and stops cleanly. A panic crashes the test
// binary; a start, produce, fetch or stop that does not finish within a
// few seconds fails the setting's subtest with the goroutines' stacks.
func TestEverySettingAtItsBounds(t *testing.T) {
	cases := extremeCases(t)
	if len(cases) < 100 {
		t.Fatalf("only %d cases: the validators' documentation is no longer read right", len(cases))
	}
	t.Logf("%d cases over the numeric broker settings; skipped: %v", len(cases), boundsSkipped)
	// A few brokers at once: they mostly wait on timers and the network.
	// The subtests run from several goroutines rather than with t.Parallel,
	// which go test would cap at GOMAXPROCS.
	const workers = 4
	next := make(chan extremeCase)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range next {
				t.Run(c.name+"="+c.value, func(t *testing.T) { tryExtreme(t, c) })
			}
		})
	}
	for _, c := range cases {
		next <- c
	}
	close(next)
	wg.Wait()
}

// Time limits for each step of one case: hang detectors, generous so
// that a loaded machine (CI runs packages side by side) does not trip
// them; a working case takes well under a second.
const (
	extremeStart = 20 * time.Second
	extremeIO    = 20 * time.Second // create the topic, produce, fetch
	extremeStop  = 20 * time.Second
)

// tryExtreme starts a one-node broker with c's setting and checks that it
// refuses, or serves a produce and a fetch and stops.
func tryExtreme(t *testing.T, c extremeCase) {
	props := map[string]string{
		"node.id":       "1",
		"process.roles": "broker,controller",
		"listeners": "PLAINTEXT://127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t)) +
			",CONTROLLER://127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t)),
		"log.dirs": t.TempDir(),
		c.name:     c.value,
	}
	cfg, _, err := config.FromMap(props)
	if err != nil {
		t.Logf("refused (%s): %v", c.bound, err)
		return
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SAMSA_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var b *broker.Broker
	if !within(t, "broker.New", extremeStart, func() { b, err = broker.New(cfg, log) }) {
		return
	}
	if err != nil {
		t.Logf("refused (%s): %v", c.bound, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), extremeStart)
	defer cancel()
	if !within(t, "Start", extremeStart+time.Second, func() { err = b.Start(ctx) }) {
		return
	}
	if err != nil {
		stopped := within(t, "Stop after a failed Start", extremeStop, func() { b.Stop() })
		if ctx.Err() != nil {
			t.Fatalf("not started within %v: %v", extremeStart, err)
		}
		if stopped {
			t.Logf("refused to start (%s): %v", c.bound, err)
		}
		return
	}
	addr := b.Addrs()[0].String()
	served := produceAndFetch(t, addr, refusesClients[c.name])
	var stopErr error
	if !within(t, "Stop", extremeStop, func() { stopErr = b.Stop() }) {
		return
	}
	if stopErr != nil {
		t.Errorf("stop: %v", stopErr)
	}
	if served != "" {
		t.Logf("started; %s", served)
	}
}

// produceAndFetch creates a topic with the broker's default partitions and
// replication factor, produces a record with acks=all and fetches it back.
// A Kafka error from the broker is an answer, and fine; it returns what
// was not done and why ("" when everything was). With refused, clients
// are turned away by design, and any error is fine.
func produceAndFetch(t *testing.T, addr string, refused bool) string {
	t.Helper()
	limit := extremeIO
	if refused {
		limit = time.Second // no answer is coming
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	answered := func(step string, err error) (string, bool) {
		var ke *kerr.Error
		switch {
		case err == nil:
			return "", true
		case refused:
			return fmt.Sprintf("%s failed, as clients are turned away: %v", step, err), false
		case errors.As(err, &ke):
			return fmt.Sprintf("%s answered %v", step, err), false
		}
		t.Errorf("%s: %v", step, err)
		return "", false
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, -1, -1, nil, "t")
	if err == nil {
		err = resp.Err
	}
	if why, ok := answered("create topic", err); !ok {
		return why
	}
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr()
	if why, ok := answered("produce", err); !ok {
		return why
	}
	fs := cl.PollRecords(ctx, 1)
	if err := fs.Err0(); err != nil {
		t.Errorf("fetch: %v", err)
		return ""
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Errorf("fetched %v, want the record produced", recs)
	}
	return ""
}

// within runs fn and waits at most limit for it. When fn does not return
// in time, it fails the test with the stacks of the goroutines in samsa's
// code and returns false, leaving fn running: a hang must not hold the
// other cases up.
func within(t *testing.T, what string, limit time.Duration, fn func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var stacks []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "samsa/internal/") && !strings.Contains(g, "extremes_test.go") {
			stacks = append(stacks, g)
		}
	}
	dump := strings.Join(stacks, "\n\n")
	if len(dump) > 8000 {
		dump = dump[:8000] + "\n..."
	}
	t.Errorf("%s did not return within %v; samsa's goroutines (of every case running):\n%s", what, limit, dump)
	return false
}
