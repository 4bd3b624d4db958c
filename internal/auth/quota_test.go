package auth

import (
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/metadata"
)

// quotaImage is an image holding the given quota records.
func quotaImage(t *testing.T, recs ...metadata.ClientQuotaRecord) func() *metadata.Image {
	t.Helper()
	d := metadata.NewDelta(metadata.Empty())
	for _, r := range recs {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	img := d.Apply(1)
	return func() *metadata.Image { return img }
}

func produceQuota(e metadata.QuotaEntity, v float64) metadata.ClientQuotaRecord {
	return metadata.ClientQuotaRecord{Entity: e, Key: "producer_byte_rate", Value: v}
}

func TestQuotaThrottlesOverTheRate(t *testing.T) {
	q := NewQuotas(quotaImage(t, produceQuota(metadata.QuotaEntity{ClientID: metadata.QuotaNamed("app")}, 1000)), 11, time.Second)
	t0 := time.Unix(1000, 0)
	// A new client's rate is divided by ten windows at least: 5,000 bytes
	// at once is 500 B/s.
	if d := q.Record(ProduceQuota, "ANONYMOUS", "app", 5000, t0); d != 0 {
		t.Fatalf("5,000 bytes: throttled %v", d)
	}
	// 15,000 bytes over ten seconds is 1,500 B/s, half again the quota:
	// half the span, 5 s, brings it back.
	if d := q.Record(ProduceQuota, "ANONYMOUS", "app", 10000, t0); d != 5*time.Second {
		t.Fatalf("15,000 bytes: throttled %v, want 5s", d)
	}
	// Far over: as long as it takes, with no cap below the protocol's
	// (Kafka bounds only request_percentage throttles). 1,015,000 bytes
	// over ten seconds is 101.5 times the quota: 1,005 s.
	if d := q.Record(ProduceQuota, "ANONYMOUS", "app", 1e6, t0); d != 1005*time.Second {
		t.Fatalf("1 MB: throttled %v, want 1005s", d)
	}
	// Beyond what throttle_time_ms can carry, the most it can.
	if d := q.Record(ProduceQuota, "ANONYMOUS", "app", 1e18, t0); d != MaxThrottle {
		t.Fatalf("1 EB: throttled %v, want %v", d, MaxThrottle)
	}
	// Other clients and the fetch side are not limited.
	if d := q.Record(ProduceQuota, "ANONYMOUS", "other", 1e6, t0); d != 0 {
		t.Errorf("a client without a quota throttled %v", d)
	}
	if d := q.Record(FetchQuota, "ANONYMOUS", "app", 1e6, t0); d != 0 {
		t.Errorf("fetch without consumer_byte_rate throttled %v", d)
	}
	// Once the samples age out, the client is within its quota again.
	if d := q.Record(ProduceQuota, "ANONYMOUS", "app", 100, t0.Add(12*time.Second)); d != 0 {
		t.Errorf("after the window passed: throttled %v", d)
	}
}

func TestQuotaUnrecord(t *testing.T) {
	q := NewQuotas(quotaImage(t, metadata.ClientQuotaRecord{Entity: metadata.QuotaEntity{User: metadata.QuotaDefault}, Key: "consumer_byte_rate", Value: 100}), 11, time.Second)
	t0 := time.Unix(1000, 0)
	if d := q.Record(FetchQuota, "alice", "c", 5000, t0); d == 0 {
		t.Fatal("5,000 bytes against 100 B/s not throttled")
	}
	q.Unrecord(FetchQuota, "alice", "c", 5000, t0)
	if d := q.Record(FetchQuota, "alice", "c", 500, t0); d != 0 {
		t.Errorf("after the throttled bytes were taken back, 500 bytes throttled %v", d)
	}
	if got := q.WindowBytes(FetchQuota, "alice", "c"); got != 1000 {
		t.Errorf("WindowBytes = %d, want 100 B/s × 10 s", got)
	}
	if got := q.WindowBytes(ProduceQuota, "alice", "c"); got != -1 {
		t.Errorf("WindowBytes without a quota = %d", got)
	}
}

// Kafka's order of precedence, and who is measured together.
func TestQuotaResolution(t *testing.T) {
	n, d := metadata.QuotaNamed, metadata.QuotaDefault
	img := quotaImage(t,
		produceQuota(metadata.QuotaEntity{User: n("alice"), ClientID: n("app")}, 1),
		produceQuota(metadata.QuotaEntity{User: n("alice"), ClientID: d}, 2),
		produceQuota(metadata.QuotaEntity{User: n("bob")}, 3),
		produceQuota(metadata.QuotaEntity{User: d, ClientID: n("app")}, 4),
		produceQuota(metadata.QuotaEntity{User: d, ClientID: d}, 5),
		produceQuota(metadata.QuotaEntity{ClientID: n("tool")}, 7),
		produceQuota(metadata.QuotaEntity{ClientID: d}, 8),
	)
	q := NewQuotas(img, 11, time.Second)
	for _, tc := range []struct {
		user, client string
		bound        float64
		key          sensorKey
	}{
		{"alice", "app", 1, sensorKey{user: "alice", clientID: "app"}},
		{"alice", "other", 2, sensorKey{user: "alice", clientID: "other"}},
		{"bob", "app", 3, sensorKey{user: "bob"}}, // bob's own quota beats <default> user's
		{"carol", "app", 4, sensorKey{user: "carol", clientID: "app"}},
		{"carol", "tool", 5, sensorKey{user: "carol", clientID: "tool"}}, // any user quota beats a client-only one
	} {
		bound, key, ok := q.resolve(ProduceQuota, tc.user, tc.client)
		if !ok || bound != tc.bound || key != tc.key {
			t.Errorf("%s/%s: quota %v measured as %+v (%v), want %v as %+v", tc.user, tc.client, bound, key, ok, tc.bound, tc.key)
		}
	}
	// Without user quotas, client-id quotas apply, each client on its own.
	q = NewQuotas(quotaImage(t, produceQuota(metadata.QuotaEntity{ClientID: n("tool")}, 7), produceQuota(metadata.QuotaEntity{ClientID: d}, 8)), 11, time.Second)
	for _, tc := range []struct {
		client string
		bound  float64
	}{{"tool", 7}, {"other", 8}} {
		bound, key, ok := q.resolve(ProduceQuota, "ANONYMOUS", tc.client)
		if !ok || bound != tc.bound || key != (sensorKey{clientID: tc.client}) {
			t.Errorf("client %s: quota %v measured as %+v (%v)", tc.client, bound, key, ok)
		}
	}
	// A user's quota is shared by all its clients.
	q = NewQuotas(quotaImage(t, produceQuota(metadata.QuotaEntity{User: n("bob")}, 1000)), 11, time.Second)
	t0 := time.Unix(1000, 0)
	q.Record(ProduceQuota, "bob", "one", 8000, t0)
	if dur := q.Record(ProduceQuota, "bob", "two", 8000, t0); dur == 0 {
		t.Error("bob's second client was not measured with his first")
	}
}

// A client's sensor goes once it has been idle for a whole span, also after
// every quota was removed and nothing is measured any more.
func TestQuotaSensorsGoAfterTheQuotas(t *testing.T) {
	img := quotaImage(t, produceQuota(metadata.QuotaEntity{ClientID: metadata.QuotaNamed("app")}, 1000))
	q := NewQuotas(func() *metadata.Image { return img() }, 11, time.Second)
	t0 := time.Unix(1000, 0)
	q.Record(ProduceQuota, "ANONYMOUS", "app", 100, t0)
	if n := len(q.sensors[ProduceQuota]); n != 1 {
		t.Fatalf("%d sensors after a record, want 1", n)
	}
	img = quotaImage(t)
	later := t0.Add(12 * time.Second)
	for range 1024 {
		q.Record(ProduceQuota, "ANONYMOUS", "app", 100, later)
	}
	if n := len(q.sensors[ProduceQuota]); n != 0 {
		t.Errorf("%d sensors left after the quota was removed and a span passed, want 0", n)
	}
	if q.live.Load() {
		t.Error("sweeps go on with no sensor left")
	}
}

// An address over its connection_creation_rate is refused, for at most a
// window; the refused connections do not count, and other addresses fall
// under the <default> ip's quota.
func TestConnectionQuota(t *testing.T) {
	rate := func(e metadata.QuotaEntity, v float64) metadata.ClientQuotaRecord {
		return metadata.ClientQuotaRecord{Entity: e, Key: "connection_creation_rate", Value: v}
	}
	q := NewQuotas(quotaImage(t,
		rate(metadata.QuotaEntity{IP: metadata.QuotaNamed("10.0.0.1")}, 2),
		rate(metadata.QuotaEntity{IP: metadata.QuotaDefault}, 0),
		produceQuota(metadata.QuotaEntity{ClientID: metadata.QuotaDefault}, 1),
	), 11, time.Second)
	t0 := time.Unix(1000, 0)
	// Two a second, over ten seconds at least: 20 pass at once.
	for i := range 20 {
		if d := q.RecordConnection("10.0.0.1", t0); d != 0 {
			t.Fatalf("connection %d: held %v", i+1, d)
		}
	}
	// The 21st is 2.1 a second, 5% over: held for 5% of ten seconds.
	if d := q.RecordConnection("10.0.0.1", t0); d != 500*time.Millisecond {
		t.Fatalf("connection 21: held %v, want 500ms", d)
	}
	// Refused ones are not counted: far over, still held for a window at
	// most, and still only 5% over.
	for range 100 {
		q.RecordConnection("10.0.0.1", t0)
	}
	if d := q.RecordConnection("10.0.0.1", t0); d != 500*time.Millisecond {
		t.Fatalf("after 100 refused: held %v, want 500ms", d)
	}
	// Still over a second later (the rate is divided by ten seconds until
	// that much has passed); once the first burst has aged out, not.
	if d := q.RecordConnection("10.0.0.1", t0.Add(time.Second)); d != 500*time.Millisecond {
		t.Errorf("a second later: held %v, want 500ms", d)
	}
	if d := q.RecordConnection("10.0.0.1", t0.Add(11*time.Second)); d != 0 {
		t.Errorf("eleven seconds later: held %v", d)
	}
	// The <default> ip's quota of 0 refuses every other address, a window
	// at a time.
	if d := q.RecordConnection("10.0.0.2", t0); d != time.Second {
		t.Errorf("10.0.0.2 under the <default> quota of 0: held %v, want 1s", d)
	}
	// Byte-rate quotas say nothing about connections.
	if d := NewQuotas(quotaImage(t, produceQuota(metadata.QuotaEntity{ClientID: metadata.QuotaDefault}, 1)), 11, time.Second).
		RecordConnection("10.0.0.1", t0); d != 0 {
		t.Errorf("no connection quota: held %v", d)
	}
}
