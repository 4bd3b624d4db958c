// Package metrics counts what a broker does and writes it in Prometheus'
// text exposition format (version 0.0.4), for the HTTP listener the broker
// opens when metrics.listener is set. It depends on the standard library
// only, so that any package may count into it.
//
// A Registry holds families of series. Counters and histograms are updated
// with atomic adds on the request path and never allocate there; gauges
// are functions the Registry calls when it is scraped, so that what they
// report (partitions, leaderships, the ISR) is read from its owner, never
// copied into the Registry. Every method is safe for concurrent use.
//
// Names follow Prometheus practice: one prefix (samsa_), base units
// (seconds, bytes) in the name, counters ending in _total, and labels of
// bounded cardinality: an API name, a listener, and the topics and
// partitions an operator created, as Kafka's per-topic and per-partition
// MBeans have them; never a client, whose number no operator bounds.
// docs/metrics.md maps each series to the Kafka MBean it mirrors.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Label is one name="value" pair of a series.
type Label struct{ Name, Value string }

// Registry is a set of metric families, written in the order they were
// first registered.
type Registry struct {
	mu       sync.Mutex
	families []*family // guarded by mu; append-only
}

// family is the series of one metric name.
type family struct {
	name, help, kind string
	series           []series
}

// series is one labelled time series; write appends its sample lines.
type series struct {
	labels string // rendered: `{a="b",c="d"}` or ""
	write  func(b *bufio.Writer, name, labels string)
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{} }

// add registers a series under name, creating its family on first use. It
// panics when name is registered with another kind: that is a bug in samsa.
func (r *Registry) add(name, help, kind string, labels []Label, write func(*bufio.Writer, string, string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.families, func(f *family) bool { return f.name == name })
	if i < 0 {
		r.families = append(r.families, &family{name: name, help: help, kind: kind})
		i = len(r.families) - 1
	}
	f := r.families[i]
	if f.kind != kind {
		panic(fmt.Sprintf("metrics: %s registered as %s and %s", name, f.kind, kind))
	}
	f.series = append(f.series, series{labels: renderLabels(labels), write: write})
}

// Counter is a count that only goes up.
type Counter struct{ v atomic.Uint64 }

// Add counts n more.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value is the count so far.
func (c *Counter) Value() uint64 { return c.v.Load() }

// Counter registers a counter series; name should end in _total.
func (r *Registry) Counter(name, help string, labels ...Label) *Counter {
	c := &Counter{}
	r.add(name, help, "counter", labels, func(b *bufio.Writer, name, labels string) {
		writeSample(b, name, labels, float64(c.Value()))
	})
	return c
}

// GaugeFunc registers a gauge whose value f returns at each scrape. f must
// be safe to call from any goroutine and should be quick.
func (r *Registry) GaugeFunc(name, help string, f func() float64, labels ...Label) {
	r.add(name, help, "gauge", labels, func(b *bufio.Writer, name, labels string) {
		writeSample(b, name, labels, f())
	})
}

// GaugeSet registers a family of gauges whose series are found at each
// scrape: collect calls emit once per series, with its value and labels.
// It is for what comes and goes, such as the partitions a broker hosts.
// collect must be safe to call from any goroutine.
func (r *Registry) GaugeSet(name, help string, collect func(emit func(v float64, labels ...Label))) {
	r.addSet(name, help, "gauge", collect)
}

// CounterSet is GaugeSet for counters: each series a count that only goes
// up for as long as it is emitted.
func (r *Registry) CounterSet(name, help string, collect func(emit func(v float64, labels ...Label))) {
	r.addSet(name, help, "counter", collect)
}

func (r *Registry) addSet(name, help, kind string, collect func(emit func(v float64, labels ...Label))) {
	r.add(name, help, kind, nil, func(b *bufio.Writer, name, _ string) {
		collect(func(v float64, labels ...Label) { writeSample(b, name, renderLabels(labels), v) })
	})
}

// LatencyBuckets are the upper bounds, in seconds, of request latency
// histograms: from half a millisecond (a produce in page-cache mode) to ten
// seconds (a produce waiting out a failover).
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Histogram counts durations into buckets.
type Histogram struct {
	bounds []float64       // upper bounds in seconds, ascending; immutable
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // nanoseconds
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(h.bounds, s) // the first bound >= s: Prometheus' le
	h.counts[i].Add(1)
	h.sum.Add(uint64(max(d, 0)))
}

// Count is how many durations were observed.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Histogram registers a histogram series over bounds (seconds). With
// skipEmpty it is left out of the output until something is observed, so
// that a family of many possible series (one per API) shows the ones in use.
func (r *Registry) Histogram(name, help string, bounds []float64, skipEmpty bool, labels ...Label) *Histogram {
	h := &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
	r.add(name, help, "histogram", labels, func(b *bufio.Writer, name, labels string) {
		if skipEmpty && h.Count() == 0 {
			return
		}
		h.write(b, name, labels)
	})
	return h
}

// write appends the histogram's cumulative buckets, sum and count. Buckets
// are read one at a time, so a scrape racing observations may see a count
// one ahead of a bucket; Prometheus tolerates that.
func (h *Histogram) write(b *bufio.Writer, name, labels string) {
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		le := "+Inf"
		if i < len(h.bounds) {
			le = strconv.FormatFloat(h.bounds[i], 'g', -1, 64)
		}
		writeSample(b, name+"_bucket", withLabel(labels, "le", le), float64(cum))
	}
	writeSample(b, name+"_sum", labels, float64(h.sum.Load())/1e9)
	writeSample(b, name+"_count", labels, float64(cum))
}

// Write writes every family in the text exposition format.
func (r *Registry) Write(w io.Writer) error {
	r.mu.Lock()
	families := slices.Clone(r.families)
	r.mu.Unlock()
	b := bufio.NewWriter(w)
	for _, f := range families {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.kind)
		r.mu.Lock()
		ss := slices.Clone(f.series)
		r.mu.Unlock()
		for _, s := range ss {
			s.write(b, f.name, s.labels)
		}
	}
	return b.Flush()
}

// ServeHTTP answers a scrape.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if req.Method == http.MethodHead {
		return
	}
	r.Write(w) // a failed write is the scraper's closed connection
}

func writeSample(b *bufio.Writer, name, labels string, v float64) {
	b.WriteString(name)
	b.WriteString(labels)
	b.WriteByte(' ')
	switch {
	case math.IsInf(v, 1):
		b.WriteString("+Inf")
	case math.IsInf(v, -1):
		b.WriteString("-Inf")
	case math.IsNaN(v):
		b.WriteString("NaN")
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64)) // counts read as counts, not 2.2e+06
	default:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	b.WriteByte('\n')
}

func renderLabels(labels []Label) string {
	if len(labels) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(l.Name)
		sb.WriteString(`="`)
		sb.WriteString(labelEscaper.Replace(l.Value))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

// withLabel adds name="value" to rendered labels.
func withLabel(labels, name, value string) string {
	l := name + `="` + labelEscaper.Replace(value) + `"`
	if labels == "" {
		return "{" + l + "}"
	}
	return labels[:len(labels)-1] + "," + l + "}"
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeHelp(s string) string { return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s) }
