package metrics

import "time"

// maxAPIKey bounds the API keys Requests keeps a series for; a key outside
// 0..maxAPIKey (none is served) is counted under the last.
const maxAPIKey = 127

// Requests measures the requests a listener answers, per API: how many,
// how long each took from its first byte read to its response written
// (Kafka's TotalTimeMs: queue, handling, waiting for replicas or data, and
// sending), and the bytes of requests and responses. Followers' requests
// of an API that names them apart (Kafka's FetchFollower) have their own
// series.
type Requests struct {
	latency  [maxAPIKey + 1]*Histogram
	follower [maxAPIKey + 1]*Histogram // latency's own series where the API names followers apart
	received *Counter
	sent     *Counter
}

// NewRequests registers the request series of one server (component, such
// as "broker" or "controller") in r. name gives the value of the request
// label for an API key, asked by a follower replica or not; where the two
// names are the same, followers' requests count with the others.
func NewRequests(r *Registry, component string, name func(key int16, follower bool) string) *Requests {
	q := &Requests{}
	const help = "Time from a request's first byte read to its response written, by API (Kafka: RequestMetrics TotalTimeMs)."
	for k := range q.latency {
		key := int16(k)
		q.latency[k] = r.Histogram("samsa_request_latency_seconds", help,
			LatencyBuckets, true, Label{"server", component}, Label{"request", name(key, false)})
		q.follower[k] = q.latency[k]
		if f := name(key, true); f != name(key, false) {
			q.follower[k] = r.Histogram("samsa_request_latency_seconds", help,
				LatencyBuckets, true, Label{"server", component}, Label{"request", f})
		}
	}
	q.received = r.Counter("samsa_request_bytes_total",
		"Bytes of request frames read, size prefixes included (Kafka: SocketServerMetrics incoming-byte-total).",
		Label{"server", component})
	q.sent = r.Counter("samsa_response_bytes_total",
		"Bytes of response frames written, size prefixes included (Kafka: SocketServerMetrics outgoing-byte-total).",
		Label{"server", component})
	return q
}

// Done counts one request of API key, from a follower replica or not, that
// took took, read as reqBytes and answered with respBytes (0 for a request
// without a response).
func (q *Requests) Done(key int16, follower bool, took time.Duration, reqBytes, respBytes int64) {
	if key < 0 || key > maxAPIKey {
		key = maxAPIKey
	}
	if follower {
		q.follower[key].Observe(took)
	} else {
		q.latency[key].Observe(took)
	}
	q.received.Add(uint64(reqBytes))
	q.sent.Add(uint64(respBytes))
}
