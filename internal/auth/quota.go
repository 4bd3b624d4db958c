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
//
// Connection quotas (KIP-612) are an ip address's connection_creation_rate:
// its own, else the <default> ip's. New connections are measured per
// address, in the same samples, and one over the quota is refused: it is
// not counted, and is held for its throttle time (at most one window)
// before it is closed, as Kafka's acceptor holds it, so that a client does
// not reconnect at once.

// QuotaKind is what a quota limits.
type QuotaKind int

const (
	// ProduceQuota (producer_byte_rate) counts the bytes of produce
	// requests.
	ProduceQuota QuotaKind = iota
	// FetchQuota (consumer_byte_rate) counts the bytes of consumers'
	// fetch responses; followers replicating are never counted.
	FetchQuota
	// ConnectionQuota (connection_creation_rate) counts an address's new
	// connections. Record does not take it: see RecordConnection.
	ConnectionQuota
)

// Key is the quota's name in AlterClientQuotas.
func (k QuotaKind) Key() string {
	switch k {
	case ProduceQuota:
		return "producer_byte_rate"
	case FetchQuota:
		return "consumer_byte_rate"
	}
	return "connection_creation_rate"
}

// Quotas measures clients against the quotas of the current metadata
// image. It is safe for concurrent use.
type Quotas struct {
	image   func() *metadata.Image
	samples int
	window  time.Duration

	mu      sync.Mutex
	sensors [3]map[sensorKey]*rate // by kind; connections by sensorKey{ip: ...}
	records int                    // Records since the last sweep
	live    atomic.Bool            // some sensor is left, so sweeps must go on
}

// sensorKey is who is measured together: "" for a part the winning entity
// does not name.
type sensorKey struct{ user, clientID, ip string }

// NewQuotas returns quotas measured over samples windows of window each.
func NewQuotas(image func() *metadata.Image, samples int, window time.Duration) *Quotas {
	return &Quotas{
		image: image, samples: max(samples, 1), window: max(window, time.Millisecond),
		sensors: [3]map[sensorKey]*rate{{}, {}, {}},
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
	_, bytesPerSec, span := q.recordLocked(kind, key, float64(n), now)
	if bytesPerSec <= bound {
		return 0
	}
	return time.Duration(min((bytesPerSec-bound)/bound*float64(span), float64(MaxThrottle)))
}

// recordLocked adds v at now to the sensor of kind and key, made on first
// use, and returns it with its rate per second and the span that rate was
// divided by. Called with mu held.
func (q *Quotas) recordLocked(kind QuotaKind, key sensorKey, v float64, now time.Time) (*rate, float64, time.Duration) {
	q.sweep(now)
	r := q.sensors[kind][key]
	if r == nil {
		r = newRate(q.samples)
		q.sensors[kind][key] = r
		q.live.Store(true)
	}
	r.add(v, now, q.window)
	perSec, span := r.measure(now, q.window)
	return r, perSec, span
}

// RecordConnection counts a new connection from ip (as net.IP prints it)
// at now and returns how long to hold it before closing it unserved: zero
// when no connection quota applies or it is within its quota. A refused
// connection is not counted, as in Kafka, so a client retrying after its
// throttle gets in once its rate is back under the quota. The hold is at
// most one sample window (Kafka's bound, quota.window.size.seconds).
func (q *Quotas) RecordConnection(ip string, now time.Time) time.Duration {
	quotas := q.image().ClientQuotas()
	if len(quotas) == 0 {
		return 0
	}
	bound, found := quotas[metadata.QuotaEntity{IP: metadata.QuotaNamed(ip)}][ConnectionQuota.Key()]
	if !found {
		if bound, found = quotas[metadata.QuotaEntity{IP: metadata.QuotaDefault}][ConnectionQuota.Key()]; !found {
			return 0
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	r, perSec, span := q.recordLocked(ConnectionQuota, sensorKey{ip: ip}, 1, now)
	if perSec <= bound {
		return 0
	}
	r.add(-1, now, q.window)
	if bound <= 0 {
		return q.window
	}
	return min(time.Duration((perSec-bound)/bound*float64(span)), q.window)
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
	both, userOnly, clientOnly := sensorKey{user: user, clientID: clientID}, sensorKey{user: user}, sensorKey{clientID: clientID}
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
