package auth

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Client quotas, as Kafka's ClientQuotaManager enforces them on each
// broker (KIP-13, KIP-55, KIP-219):
//
//   - The quota that applies to a connection is found from its user (the
//     principal's name) and client id, in Kafka's order: user and client
//     id, user and <default> client, user alone, <default> user and client
//     id, <default> user and <default> client, <default> user alone,
//     client id alone, <default> client alone. The first entity that sets
//     the quota's key wins.
//   - Clients are measured together when the winning entity names them
//     together: "user alice" measures all of alice's clients as one, while
//     "<default> client" measures each client id on its own.
//   - The rate is the bytes of the last quota.window.num samples of
//     quota.window.size.seconds each, divided by the time they span, but
//     never by less than all but one of the samples, so that a new client
//     cannot be throttled for one burst.
//   - A client over its quota is throttled for (rate - quota) / quota of
//     that span: long enough for the rate to come back to the quota if it
//     sends nothing meanwhile. As in Kafka there is no other bound (a
//     10 KB/s client that sends 1 MB waits about 100 s), except that a
//     throttle time must fit the protocol's int32 of milliseconds.
//
// Each broker measures only what passes through it, as Kafka's do.

// QuotaKind is what a quota limits.
type QuotaKind int

const (
	// ProduceQuota (producer_byte_rate) counts the bytes of produce
	// requests.
	ProduceQuota QuotaKind = iota
	// FetchQuota (consumer_byte_rate) counts the bytes of consumers'
	// fetch responses; followers replicating are never counted.
	FetchQuota
)

// Key is the quota's name in AlterClientQuotas.
func (k QuotaKind) Key() string {
	if k == ProduceQuota {
		return "producer_byte_rate"
	}
	return "consumer_byte_rate"
}

// Quotas measures clients against the quotas of the current metadata
// image. It is safe for concurrent use.
type Quotas struct {
	image   func() *metadata.Image
	samples int
	window  time.Duration

	mu      sync.Mutex
	sensors [2]map[sensorKey]*rate // by kind
	records int                    // Records since the last sweep
	live    atomic.Bool            // some sensor is left, so sweeps must go on
}

// sensorKey is who is measured together: "" for a part the winning entity
// does not name.
type sensorKey struct{ user, clientID string }

// NewQuotas returns quotas measured over samples windows of window each.
func NewQuotas(image func() *metadata.Image, samples int, window time.Duration) *Quotas {
	return &Quotas{
		image: image, samples: max(samples, 1), window: max(window, time.Millisecond),
		sensors: [2]map[sensorKey]*rate{{}, {}},
	}
}

// Record counts n bytes of kind for the client (user, clientID) at now and
// returns how long to throttle it: zero when no quota applies or it is
// within its quota.
func (q *Quotas) Record(kind QuotaKind, user, clientID string, n int64, now time.Time) time.Duration {
	bound, key, ok := q.resolve(kind, user, clientID)
	if !ok {
		// Sensors left from quotas since removed still go in time.
		if q.live.Load() {
			q.mu.Lock()
			q.sweep(now)
			q.mu.Unlock()
		}
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweep(now)
	r := q.sensors[kind][key]
	if r == nil {
		r = newRate(q.samples)
		q.sensors[kind][key] = r
		q.live.Store(true)
	}
	r.add(float64(n), now, q.window)
	bytesPerSec, span := r.measure(now, q.window)
	if bytesPerSec <= bound {
		return 0
	}
	return time.Duration(min((bytesPerSec-bound)/bound*float64(span), float64(MaxThrottle)))
}

// MaxThrottle is the longest throttle a response can carry: throttle_time_ms
// is an int32.
const MaxThrottle = math.MaxInt32 * time.Millisecond

// Unrecord takes back n bytes Record counted at now: a throttled fetch is
// answered without its records, so they do not count.
func (q *Quotas) Unrecord(kind QuotaKind, user, clientID string, n int64, now time.Time) {
	_, key, ok := q.resolve(kind, user, clientID)
	if !ok {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if r := q.sensors[kind][key]; r != nil {
		r.add(-float64(n), now, q.window)
	}
}

// WindowBytes is the most a client may take at once without going over
// its quota on that alone (the quota over all samples but one, the least
// span a rate is divided by), or -1 when no quota applies. A fetch is
// capped at it, as Kafka caps it, so that no response is over the quota by
// itself and throttled into an empty answer every time.
func (q *Quotas) WindowBytes(kind QuotaKind, user, clientID string) int64 {
	bound, _, ok := q.resolve(kind, user, clientID)
	if !ok {
		return -1
	}
	return int64(bound * (time.Duration(max(q.samples-1, 1)) * q.window).Seconds())
}

// resolve finds the quota for the client and who it is measured with.
func (q *Quotas) resolve(kind QuotaKind, user, clientID string) (bound float64, key sensorKey, ok bool) {
	quotas := q.image().ClientQuotas()
	if len(quotas) == 0 {
		return 0, sensorKey{}, false
	}
	u, c := metadata.QuotaNamed(user), metadata.QuotaNamed(clientID)
	d, none := metadata.QuotaDefault, metadata.QuotaName{}
	both, userOnly, clientOnly := sensorKey{user, clientID}, sensorKey{user: user}, sensorKey{clientID: clientID}
	for _, level := range [...]struct {
		entity metadata.QuotaEntity
		key    sensorKey
	}{
		{metadata.QuotaEntity{User: u, ClientID: c}, both},
		{metadata.QuotaEntity{User: u, ClientID: d}, both},
		{metadata.QuotaEntity{User: u, ClientID: none}, userOnly},
		{metadata.QuotaEntity{User: d, ClientID: c}, both},
		{metadata.QuotaEntity{User: d, ClientID: d}, both},
		{metadata.QuotaEntity{User: d, ClientID: none}, userOnly},
		{metadata.QuotaEntity{User: none, ClientID: c}, clientOnly},
		{metadata.QuotaEntity{User: none, ClientID: d}, clientOnly},
	} {
		if v, found := quotas[level.entity][kind.Key()]; found {
			return v, level.key, true
		}
	}
	return 0, sensorKey{}, false
}

// sweep drops, now and then, the sensors of clients that sent nothing for
// a whole span. Called with mu held.
func (q *Quotas) sweep(now time.Time) {
	if q.records++; q.records < 1024 {
		return
	}
	q.records = 0
	span := time.Duration(q.samples) * q.window
	left := 0
	for _, m := range q.sensors {
		for k, r := range m {
			if now.Sub(r.starts[r.cur]) > span {
				delete(m, k)
			}
		}
		left += len(m)
	}
	q.live.Store(left > 0)
}

// rate is a sampled byte count: samples windows, the current one last
// started at starts[cur].
type rate struct {
	starts []time.Time
	vals   []float64
	cur    int
}

func newRate(samples int) *rate {
	return &rate{starts: make([]time.Time, samples), vals: make([]float64, samples)}
}

// add counts v at now, starting a new sample when the current one's window
// has passed.
func (r *rate) add(v float64, now time.Time, window time.Duration) {
	if r.starts[r.cur].IsZero() || now.Sub(r.starts[r.cur]) >= window {
		r.cur = (r.cur + 1) % len(r.starts)
		r.starts[r.cur], r.vals[r.cur] = now, 0
	}
	r.vals[r.cur] += v
}

// measure returns bytes per second over the samples still within reach of
// now, and the span it divided by.
func (r *rate) measure(now time.Time, window time.Duration) (float64, time.Duration) {
	reach := time.Duration(len(r.starts)) * window
	total, oldest := 0.0, now
	for i, start := range r.starts {
		if start.IsZero() || now.Sub(start) >= reach {
			continue
		}
		total += r.vals[i]
		if start.Before(oldest) {
			oldest = start
		}
	}
	span := now.Sub(oldest)
	if full, least := int64(span/window), int64(len(r.starts)-1); full < least {
		span += time.Duration(least-full) * window
	}
	if span <= 0 {
		span = window
	}
	return total / span.Seconds(), span
}
