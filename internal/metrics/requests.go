package metrics

import (
	"sync/atomic"
	"time"
)

// maxAPIKey bounds the API keys Requests keeps a series for; a key outside
// 0..maxAPIKey (none is served) is counted under the last.
const maxAPIKey = 127

// maxErrorCode bounds the error codes Requests counts: Kafka's run from -1
// to about 130. A code outside -1..maxErrorCode is counted as -1
// (UNKNOWN_SERVER_ERROR).
const maxErrorCode = 254

// Phase is a part of a request's time, as Kafka's RequestMetrics split it.
type Phase int

// The phases, in the order a request goes through them; their times add up
// to its whole time.
const (
	PhaseQueue         Phase = iota // Kafka: RequestQueueTimeMs
	PhaseLocal                      // LocalTimeMs
	PhaseRemote                     // RemoteTimeMs
	PhaseResponseQueue              // ResponseQueueTimeMs
	PhaseSend                       // ResponseSendTimeMs
	NumPhases
)

// phaseNames are the phase label's values.
var phaseNames = [NumPhases]string{"queue", "local", "remote", "response_queue", "send"}

// PhaseBuckets are the upper bounds, in seconds, of the phase histograms:
// LatencyBuckets with two below them, since a phase is often a fraction of
// a request's time.
var PhaseBuckets = append([]float64{0.0001, 0.00025}, LatencyBuckets...)

// Requests measures the requests a listener answers, per API: how many,
// how long each took from its first byte read to its response written
// (Kafka's TotalTimeMs) and in which phases, the error codes of their
// responses, and the bytes of requests and responses. Followers' requests
// of an API that names them apart (Kafka's FetchFollower) have their own
// series.
type Requests struct {
	apis     [maxAPIKey + 1][2]*apiSeries // by key, then follower; both the same where the API does not name followers apart
	received *Counter
	sent     *Counter
}

// apiSeries are one request label's series.
type apiSeries struct {
	latency *Histogram
	phases  [NumPhases]*Histogram
	errs    atomic.Pointer[errorCounts] // made at the first error code counted
}

// errorCounts counts error codes, indexed by code+1.
type errorCounts [maxErrorCode + 2]atomic.Uint64

// NewRequests registers the request series of one server (component, such
// as "broker" or "controller") in r. name gives the value of the request
// label for an API key, asked by a follower replica or not; where the two
// names are the same, followers' requests count with the others. errName
// gives the error label's value for an error code.
func NewRequests(r *Registry, component string, name func(key int16, follower bool) string, errName func(code int16) string) *Requests {
	q := &Requests{}
	server := Label{"server", component}
	series := func(request string) *apiSeries {
		s := &apiSeries{latency: r.Histogram("samsa_request_latency_seconds",
			"Time from a request's first byte read to its response written, by API (Kafka: RequestMetrics TotalTimeMs).",
			LatencyBuckets, true, server, Label{"request", request})}
		for ph := range s.phases {
			s.phases[ph] = r.Histogram("samsa_request_phase_seconds",
				"Time a request spent in each phase, by API; the phases add up to samsa_request_latency_seconds (Kafka: RequestMetrics RequestQueueTimeMs, LocalTimeMs, RemoteTimeMs, ResponseQueueTimeMs, ResponseSendTimeMs).",
				PhaseBuckets, true, server, Label{"request", request}, Label{"phase", phaseNames[ph]})
		}
		return s
	}
	for k := range q.apis {
		key := int16(k)
		q.apis[k][0] = series(name(key, false))
		q.apis[k][1] = q.apis[k][0]
		if f := name(key, true); f != name(key, false) {
			q.apis[k][1] = series(f)
		}
	}
	r.CounterSet("samsa_request_errors_total",
		"Error codes in responses, by API and error, NONE included: one per partition, topic, group or other result that carries a code (Kafka: RequestMetrics ErrorsPerSec).",
		func(emit func(float64, ...Label)) {
			for k := range q.apis {
				for f, s := range q.apis[k] {
					if f == 1 && s == q.apis[k][0] {
						continue
					}
					counts := s.errs.Load()
					if counts == nil {
						continue
					}
					request := name(int16(k), f == 1)
					for i := range counts {
						if n := counts[i].Load(); n > 0 {
							emit(float64(n), server, Label{"request", request}, Label{"error", errName(int16(i - 1))})
						}
					}
				}
			}
		})
	q.received = r.Counter("samsa_request_bytes_total",
		"Bytes of request frames read, size prefixes included (Kafka: SocketServerMetrics incoming-byte-total).",
		server)
	q.sent = r.Counter("samsa_response_bytes_total",
		"Bytes of response frames written, size prefixes included (Kafka: SocketServerMetrics outgoing-byte-total).",
		server)
	return q
}

// series is key's series for a follower's request or not.
func (q *Requests) series(key int16, follower bool) *apiSeries {
	if key < 0 || key > maxAPIKey {
		key = maxAPIKey
	}
	if follower {
		return q.apis[key][1]
	}
	return q.apis[key][0]
}

// Done counts one request of API key, from a follower replica or not,
// whose phases took phases, read as reqBytes and answered with respBytes
// (0 for a request without a response).
func (q *Requests) Done(key int16, follower bool, phases *[NumPhases]time.Duration, reqBytes, respBytes int64) {
	s := q.series(key, follower)
	var total time.Duration
	for ph, d := range phases {
		s.phases[ph].Observe(d)
		total += d
	}
	s.latency.Observe(total)
	q.received.Add(uint64(reqBytes))
	q.sent.Add(uint64(respBytes))
}

// CountError counts one error code (0, NONE, too) in a response to a
// request of API key, from a follower replica or not.
func (q *Requests) CountError(key int16, follower bool, code int16) {
	s := q.series(key, follower)
	counts := s.errs.Load()
	if counts == nil {
		s.errs.CompareAndSwap(nil, new(errorCounts))
		counts = s.errs.Load()
	}
	if code < -1 || code > maxErrorCode {
		code = -1
	}
	counts[code+1].Add(1)
}
