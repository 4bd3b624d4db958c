package cli

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() int64
	}{
		{"small exact values", func() int64 { return rng.Int64N(100) }},
		{"microsecond latencies", func() int64 { return 200 + rng.Int64N(50_000) }},
		{"long tail", func() int64 { return int64(rng.ExpFloat64() * 5000) }},
		{"huge values", func() int64 { return rng.Int64N(1 << 50) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			vals := make([]int64, 20000)
			for i := range vals {
				vals[i] = tc.gen()
				h.record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.5, 0.95, 0.99, 0.999, 1} {
				exact := vals[min(int(q*float64(len(vals))), len(vals)-1)]
				got := h.quantile(q)
				if got > exact || float64(exact-got) > float64(exact)/64+1 {
					t.Fatalf("q%v = %d, exact %d", q, got, exact)
				}
			}
			if h.max != vals[len(vals)-1] || h.min != vals[0] {
				t.Fatalf("min %d max %d, want %d %d", h.min, h.max, vals[0], vals[len(vals)-1])
			}
		})
	}
	var empty histogram
	if empty.quantile(0.5) != 0 || empty.mean() != 0 {
		t.Fatal("empty histogram")
	}
	for v := int64(0); v < 1<<20; v += 37 {
		if i := histIndex(v); histLow(i) > v || (i+1 < histBuckets && histLow(i+1) <= v) {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, i, histLow(i), histLow(i+1))
		}
	}
}

func TestParseOffsetSpec(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		start   startKind
		startN  int64
		stop    stopKind
		stopN   int64
		wantErr bool
	}{
		{in: "start", start: startOldest},
		{in: "oldest", start: startOldest},
		{in: "end", start: startNewest},
		{in: "42", start: startExact, startN: 42},
		{in: "+3", start: startFromHead, startN: 3},
		{in: "-3", start: startFromTail, startN: 3},
		{in: "@1700000000000", start: startTime, startN: 1700000000000},
		{in: "@-1h", start: startTime, startN: now.Add(-time.Hour).UnixMilli()},
		{in: "@2024-05-01", start: startTime, startN: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixMilli()},
		{in: "@2024-05-01T10:00:00Z", start: startTime, startN: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).UnixMilli()},
		{in: "@2024-05-01T10:00:00+02:00:@now", start: startTime, startN: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).UnixMilli(), stop: stopTime, stopN: now.UnixMilli()},
		{in: "10:20", start: startExact, startN: 10, stop: stopExact, stopN: 20},
		{in: ":end", start: startOldest, stop: stopAtEnd},
		{in: "-5:end", start: startFromTail, startN: 5, stop: stopAtEnd},
		{in: "@-2h:@-1h", start: startTime, startN: now.Add(-2 * time.Hour).UnixMilli(), stop: stopTime, stopN: now.Add(-time.Hour).UnixMilli()},
		{in: "sideways", wantErr: true},
		{in: "5:", wantErr: true},
		{in: "@1h", wantErr: true},
		{in: "", wantErr: true},
	} {
		sp, err := parseOffsetSpec(tc.in, now)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil || sp.start != tc.start || sp.startN != tc.startN || sp.stop != tc.stop || sp.stopN != tc.stopN {
			t.Errorf("%q: got %+v, %v", tc.in, sp, err)
		}
	}
}

func TestLoadPropsFile(t *testing.T) {
	in := `# comment
! also a comment
bootstrap.servers = a:9092,b:9092
client.id: tool
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
    username="u" password="p";
key\ with\ spaces=v\u0041\t
empty=
`
	path := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := loadPropsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"bootstrap.servers": "a:9092,b:9092",
		"client.id":         "tool",
		"sasl.jaas.config":  `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`,
		"key with spaces":   "vA\t",
		"empty":             "",
	}
	if len(p.Keys()) != len(want) {
		t.Fatalf("keys %q", p.Keys())
	}
	for k, v := range want {
		if got, _ := p.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestClientProperties(t *testing.T) {
	e := &env{stderr: &strings.Builder{}, warned: map[string]bool{}, getenv: func(string) string { return "" }, prog: "test"}
	p := &props{}
	for k, v := range map[string]string{"acks": "1", "linger.ms": "5", "batch.size": "16384", "compression.type": "zstd",
		"enable.idempotence": "false", "max.in.flight.requests.per.connection": "5", "client.id": "c",
		"key.serializer": "x", "made.up.property": "1"} {
		p.Set(k, v)
	}
	opts, err := e.clientOpts(p, roleProducer)
	if err != nil || len(opts) < 7 {
		t.Fatalf("%d options, %v", len(opts), err)
	}
	warn := e.stderr.(*strings.Builder).String()
	if !strings.Contains(warn, `"made.up.property" is not supported`) || strings.Contains(warn, "key.serializer") {
		t.Fatalf("warnings %q", warn)
	}
	bad := &props{}
	bad.Set("acks", "2")
	if _, err := e.clientOpts(bad, roleProducer); err == nil {
		t.Fatal("acks=2 accepted")
	}
	if got := e.seedBrokers("", p); !slices.Equal(got, []string{defaultBrokers}) {
		t.Fatalf("default brokers %q", got)
	}
	p.Set("bootstrap.servers", "x:1, y:2")
	if got := e.seedBrokers("", p); !slices.Equal(got, []string{"x:1", "y:2"}) {
		t.Fatalf("brokers from properties %q", got)
	}
	if got := e.seedBrokers("z:3", p); !slices.Equal(got, []string{"z:3"}) {
		t.Fatalf("brokers from the flag %q", got)
	}
}

func TestJavaDateLayout(t *testing.T) {
	layout := javaDateLayout("yyyy-MM-dd HH:mm:ss:SSS")
	ms := time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.Local).UnixMilli()
	if got := millisText(ms, layout); got != "2024-01-02 03:04:05:678" {
		t.Fatalf("got %q", got)
	}
}
