package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("x_bytes_total", "Bytes.\nSecond line.", Label{"dir", `in"\`})
	c.Add(3)
	c.Add(4_000_000)
	r.Counter("x_bytes_total", "", Label{"dir", "out"})
	r.GaugeFunc("x_up", "Up.", func() float64 { return 1 })
	h := r.Histogram("x_seconds", "Latency.", []float64{0.001, 0.01}, false, Label{"api", "Produce"})
	h.Observe(500 * time.Microsecond)
	h.Observe(time.Millisecond) // on a bound: counted in it, as le says
	h.Observe(time.Second)
	r.Histogram("x_seconds", "", []float64{0.001, 0.01}, true, Label{"api", "Fetch"}) // empty: left out

	var sb strings.Builder
	if err := r.Write(&sb); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_bytes_total Bytes.\nSecond line.
# TYPE x_bytes_total counter
x_bytes_total{dir="in\"\\"} 4000003
x_bytes_total{dir="out"} 0
# HELP x_up Up.
# TYPE x_up gauge
x_up 1
# HELP x_seconds Latency.
# TYPE x_seconds histogram
x_seconds_bucket{api="Produce",le="0.001"} 2
x_seconds_bucket{api="Produce",le="0.01"} 2
x_seconds_bucket{api="Produce",le="+Inf"} 3
x_seconds_sum{api="Produce"} 1.0015
x_seconds_count{api="Produce"} 3
`
	if got := sb.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

func TestRegisteringANameAsTwoKindsPanics(t *testing.T) {
	r := NewRegistry()
	r.Counter("x_total", "")
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	r.GaugeFunc("x_total", "", func() float64 { return 0 })
}

func TestServeHTTP(t *testing.T) {
	r := NewRegistry()
	r.GaugeFunc("x_up", "Up.", func() float64 { return 1 })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" ||
		!strings.Contains(rec.Body.String(), "\nx_up 1\n") {
		t.Errorf("GET: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestRequests(t *testing.T) {
	r := NewRegistry()
	q := NewRequests(r, "broker", func(k int16, follower bool) string {
		if k == 1 && follower {
			return "FetchFollower"
		}
		return map[int16]string{0: "Produce", 1: "FetchConsumer"}[k]
	}, func(code int16) string {
		return map[int16]string{-1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 6: "NOT_LEADER_OR_FOLLOWER"}[code]
	})
	ms := func(queue, local, remote, respQueue, send float64) *[NumPhases]time.Duration {
		d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
		return &[NumPhases]time.Duration{d(queue), d(local), d(remote), d(respQueue), d(send)}
	}
	q.Done(0, false, ms(0, 0.2, 1.7, 0, 0.1), 100, 50)
	q.Done(0, true, ms(0, 3, 0, 0, 0), 100, 0)   // a follower's, of an API that does not name them apart
	q.Done(-1, false, ms(0, 1, 0, 0, 0), 10, 10) // out of range: counted under the last key, never a panic
	q.Done(1, true, ms(0.05, 0.05, 49, 0.5, 0.4), 1, 1)
	q.CountError(0, false, 0)
	q.CountError(0, false, 0)
	q.CountError(0, true, 6) // Produce does not name followers apart
	q.CountError(1, true, 6)
	q.CountError(1, true, 9999) // no such code: counted as UNKNOWN_SERVER_ERROR
	var sb strings.Builder
	r.Write(&sb)
	out := sb.String()
	for _, line := range []string{
		`samsa_request_latency_seconds_count{server="broker",request="Produce"} 2`,
		`samsa_request_latency_seconds_bucket{server="broker",request="Produce",le="0.0025"} 1`,
		`samsa_request_latency_seconds_count{server="broker",request="FetchFollower"} 1`,
		`samsa_request_latency_seconds_sum{server="broker",request="FetchFollower"} 0.05`,
		`samsa_request_phase_seconds_bucket{server="broker",request="Produce",phase="local",le="0.00025"} 1`,
		`samsa_request_phase_seconds_bucket{server="broker",request="Produce",phase="local",le="0.005"} 2`,
		`samsa_request_phase_seconds_count{server="broker",request="Produce",phase="remote"} 2`,
		`samsa_request_phase_seconds_bucket{server="broker",request="Produce",phase="remote",le="0.001"} 1`,
		`samsa_request_phase_seconds_sum{server="broker",request="FetchFollower",phase="remote"} 0.049`,
		`samsa_request_phase_seconds_sum{server="broker",request="FetchFollower",phase="response_queue"} 0.0005`,
		`samsa_request_errors_total{server="broker",request="Produce",error="NONE"} 2`,
		`samsa_request_errors_total{server="broker",request="Produce",error="NOT_LEADER_OR_FOLLOWER"} 1`,
		`samsa_request_errors_total{server="broker",request="FetchFollower",error="NOT_LEADER_OR_FOLLOWER"} 1`,
		`samsa_request_errors_total{server="broker",request="FetchFollower",error="UNKNOWN_SERVER_ERROR"} 1`,
		`samsa_request_bytes_total{server="broker"} 211`,
		`samsa_response_bytes_total{server="broker"} 61`,
	} {
		if !strings.Contains(out, "\n"+line+"\n") {
			t.Errorf("no line %q in\n%s", line, out)
		}
	}
	if strings.Contains(out, `request="FetchConsumer"`) {
		t.Error("an API never requested by a consumer has a series")
	}
	if n := strings.Count(out, "samsa_request_errors_total{"); n != 4 {
		t.Errorf("%d error series, want 4 (the codes counted)", n)
	}
}

// Counting on the request path allocates nothing.
func TestObservingAllocatesNothing(t *testing.T) {
	r := NewRegistry()
	q := NewRequests(r, "broker", func(int16, bool) string { return "x" }, func(int16) string { return "E" })
	c := r.Counter("c_total", "")
	var phases [NumPhases]time.Duration
	phases[PhaseLocal] = time.Millisecond
	q.CountError(0, false, 3) // the first error code of an API makes its counts
	if n := testing.AllocsPerRun(100, func() {
		q.Done(0, false, &phases, 1, 1)
		q.Done(1, true, &phases, 1, 1)
		q.CountError(0, false, 0)
		c.Add(1)
	}); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

// A set's series are what its collector finds at each scrape.
func TestSets(t *testing.T) {
	r := NewRegistry()
	var topics []string
	r.CounterSet("x_topic_bytes_total", "Bytes by topic.", func(emit func(float64, ...Label)) {
		for i, name := range topics {
			emit(float64(10*(i+1)), Label{"topic", name})
		}
	})
	r.GaugeSet("x_log_end_offset", "End.", func(emit func(float64, ...Label)) {
		for _, name := range topics {
			emit(7, Label{"topic", name}, Label{"partition", "0"})
		}
	})
	write := func() string {
		var sb strings.Builder
		if err := r.Write(&sb); err != nil {
			t.Fatal(err)
		}
		return sb.String()
	}
	empty := "# HELP x_topic_bytes_total Bytes by topic.\n# TYPE x_topic_bytes_total counter\n# HELP x_log_end_offset End.\n# TYPE x_log_end_offset gauge\n"
	if got := write(); got != empty {
		t.Errorf("no series:\n%s\nwant:\n%s", got, empty)
	}
	topics = []string{"a", `b"`}
	want := `# HELP x_topic_bytes_total Bytes by topic.
# TYPE x_topic_bytes_total counter
x_topic_bytes_total{topic="a"} 10
x_topic_bytes_total{topic="b\""} 20
# HELP x_log_end_offset End.
# TYPE x_log_end_offset gauge
x_log_end_offset{topic="a",partition="0"} 7
x_log_end_offset{topic="b\"",partition="0"} 7
`
	if got := write(); got != want {
		t.Errorf("two topics:\n%s\nwant:\n%s", got, want)
	}
}
