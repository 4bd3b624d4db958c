package api_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-io/samsa/internal/auth/authtest"
	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/record"
)

// With no client quotas set, DescribeClientQuotas finds none; its filter is
// checked as Kafka checks it.
func TestDescribeClientQuotasIsEmpty(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	cl := c.Client(t)
	user := "alice"
	described, err := kadm.NewClient(cl).DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{
		{Type: "user", MatchName: &user, MatchType: kmsg.QuotasMatchTypeExact},
	})
	if err != nil || len(described) != 0 {
		t.Fatalf("describe: %v, %+v; want no quotas", err, described)
	}

	comp := func(typ string, mt kmsg.QuotasMatchType, match *string) kmsg.DescribeClientQuotasRequestComponent {
		c := kmsg.NewDescribeClientQuotasRequestComponent()
		c.EntityType, c.MatchType, c.Match = typ, mt, match
		return c
	}
	specified := kmsg.QuotasMatchTypeAny
	for _, tc := range []struct {
		name  string
		comps []kmsg.DescribeClientQuotasRequestComponent
		want  *kerr.Error
	}{
		{"no filter", nil, nil},
		{"any user and client", []kmsg.DescribeClientQuotasRequestComponent{comp("user", specified, nil), comp("client-id", kmsg.QuotasMatchTypeDefault, nil)}, nil},
		{"empty type", []kmsg.DescribeClientQuotasRequestComponent{comp("", specified, nil)}, kerr.InvalidRequest},
		{"type twice", []kmsg.DescribeClientQuotasRequestComponent{comp("user", specified, nil), comp("user", kmsg.QuotasMatchTypeExact, &user)}, kerr.InvalidRequest},
		{"custom type", []kmsg.DescribeClientQuotasRequestComponent{comp("tenant", specified, nil)}, kerr.UnsupportedVersion},
		{"exact without a name", []kmsg.DescribeClientQuotasRequestComponent{comp("user", kmsg.QuotasMatchTypeExact, nil)}, kerr.InvalidRequest},
		{"default with a name", []kmsg.DescribeClientQuotasRequestComponent{comp("user", kmsg.QuotasMatchTypeDefault, &user)}, kerr.InvalidRequest},
		{"unknown match type", []kmsg.DescribeClientQuotasRequestComponent{comp("user", 7, nil)}, kerr.InvalidRequest},
		{"ip with user", []kmsg.DescribeClientQuotasRequestComponent{comp("ip", specified, nil), comp("user", specified, nil)}, kerr.InvalidRequest},
	} {
		for _, strict := range []bool{false, true} {
			req := kmsg.NewPtrDescribeClientQuotasRequest()
			req.Components, req.Strict = tc.comps, strict
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var wantCode int16
			if tc.want != nil {
				wantCode = tc.want.Code
			}
			switch {
			case resp.ErrorCode != wantCode:
				t.Errorf("%s (strict %v): %v (%v), want %v", tc.name, strict, kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage), tc.want)
			case tc.want == nil && (resp.Entries == nil || len(resp.Entries) != 0):
				t.Errorf("%s (strict %v): entries %+v, want an empty list", tc.name, strict, resp.Entries)
			case tc.want != nil && (resp.ErrorMessage == nil || resp.Entries != nil):
				t.Errorf("%s (strict %v): message %v, entries %+v; want a message and no entries", tc.name, strict, deref(resp.ErrorMessage), resp.Entries)
			}
		}
	}
}

// quotaEntry is one AlterClientQuotas entry: entity parts as type, name
// pairs ("" name: <default>), and one op.
func quotaEntry(key string, value float64, remove bool, parts ...string) kmsg.AlterClientQuotasRequestEntry {
	e := kmsg.NewAlterClientQuotasRequestEntry()
	for i := 0; i+1 < len(parts); i += 2 {
		ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
		ent.Type = parts[i]
		if parts[i+1] != "" {
			ent.Name = kmsg.StringPtr(parts[i+1])
		}
		e.Entity = append(e.Entity, ent)
	}
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value, op.Remove = key, value, remove
	e.Ops = append(e.Ops, op)
	return e
}

// alterQuotas sends one AlterClientQuotas and returns each entry's error.
func alterQuotas(t *testing.T, cl *kgo.Client, validateOnly bool, entries ...kmsg.AlterClientQuotasRequestEntry) []error {
	t.Helper()
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Entries, req.ValidateOnly = entries, validateOnly
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Entries) != len(entries) {
		t.Fatalf("%d answers for %d entries", len(resp.Entries), len(entries))
	}
	var errs []error
	for _, e := range resp.Entries {
		errs = append(errs, kerr.ErrorForCode(e.ErrorCode))
	}
	return errs
}

// describeQuotas describes with one filter and returns the entities found,
// each as "type=name,..." ("<default>" for a default) with its values.
func describeQuotas(t *testing.T, cl *kgo.Client, strict bool, comps ...kmsg.DescribeClientQuotasRequestComponent) []string {
	t.Helper()
	req := kmsg.NewPtrDescribeClientQuotasRequest()
	req.Components, req.Strict = comps, strict
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("describe: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	var out []string
	for _, e := range resp.Entries {
		var parts, values []string
		for _, p := range e.Entity {
			name := "<default>"
			if p.Name != nil {
				name = *p.Name
			}
			parts = append(parts, p.Type+"="+name)
		}
		for _, v := range e.Values {
			values = append(values, fmt.Sprintf("%s=%v", v.Key, v.Value))
		}
		out = append(out, strings.Join(parts, ",")+" "+strings.Join(values, ","))
	}
	slices.Sort(out)
	return out
}

// kafka-configs.sh --alter --entity-type clients|users and --describe, at
// the protocol level: what can be set, what is refused, and the filters.
func TestAlterAndDescribeClientQuotas(t *testing.T) {
	c := clustertest.Start(t)
	cl := c.Client(t)
	emptyName := quotaEntry("producer_byte_rate", 100, false, "user", "")
	emptyName.Entity[0].Name = kmsg.StringPtr("") // Kafka: "Empty user not supported"
	errs := alterQuotas(t, cl, false,
		quotaEntry("producer_byte_rate", 1048576, false, "client-id", "app"),
		quotaEntry("consumer_byte_rate", 2048, false, "user", "", "client-id", ""),
		quotaEntry("producer_byte_rate", 4096, false, "user", "alice"),
		quotaEntry("request_percentage", 50, false, "client-id", "x"),
		quotaEntry("connection_creation_rate", 10, false, "ip", "10.0.0.1"),
		quotaEntry("producer_byte_rate", 1.5, false, "client-id", "y"),
		quotaEntry("producer_byte_rate", 0, false, "client-id", "y"),
		quotaEntry("consumer_byte_rate", 100, false, "user", "a", "user", "b"),
		quotaEntry("fetch_rate", 100, false, "client-id", "y"),
		quotaEntry("producer_byte_rate", 100, false, "group", "g"),
		quotaEntry("producer_byte_rate", 1024, false, "client-id", "app"), // app again: refused, the first stands
		quotaEntry("request_percentage", 0, true, "client-id", "z"),       // never set: removing it is nothing
		emptyName,
		quotaEntry("connection_creation_rate", 5, false, "ip", ""),
		quotaEntry("connection_creation_rate", 5, false, "ip", "10.0.0.2", "user", "alice"),
		quotaEntry("producer_byte_rate", 5, false, "ip", "10.0.0.3"),
		quotaEntry("connection_creation_rate", 5, false, "client-id", "app2"),
		quotaEntry("connection_creation_rate", 5, false, "ip", "not-an-address"),
		quotaEntry("connection_creation_rate", 2.5, false, "ip", "10.0.0.4"),
	)
	want := []error{nil, nil, nil, kerr.InvalidRequest, nil, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest,
		kerr.InvalidRequest, kerr.InvalidRequest, nil, kerr.InvalidRequest,
		nil, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest}
	if !slices.Equal(errs, want) {
		t.Fatalf("errors %v, want %v", errs, want)
	}
	if errs := alterQuotas(t, cl, true, quotaEntry("consumer_byte_rate", 1, false, "client-id", "dry")); errs[0] != nil {
		t.Fatalf("validate only: %v", errs[0])
	}
	// Removing one of alice's two quotas leaves the other.
	alterQuotas(t, cl, false, quotaEntry("consumer_byte_rate", 8192, false, "user", "alice"))
	alterQuotas(t, cl, false, quotaEntry("consumer_byte_rate", 0, true, "user", "alice"))

	comp := func(typ string, mt kmsg.QuotasMatchType, match string) kmsg.DescribeClientQuotasRequestComponent {
		c := kmsg.NewDescribeClientQuotasRequestComponent()
		c.EntityType, c.MatchType = typ, mt
		if match != "" {
			c.Match = kmsg.StringPtr(match)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		strict bool
		comps  []kmsg.DescribeClientQuotasRequestComponent
		want   []string
	}{
		{"everything", false, nil, []string{
			"client-id=app producer_byte_rate=1.048576e+06",
			"ip=10.0.0.1 connection_creation_rate=10",
			"ip=<default> connection_creation_rate=5",
			"user=<default>,client-id=<default> consumer_byte_rate=2048",
			"user=alice producer_byte_rate=4096",
		}},
		{"client app", false, []kmsg.DescribeClientQuotasRequestComponent{comp("client-id", kmsg.QuotasMatchTypeExact, "app")},
			[]string{"client-id=app producer_byte_rate=1.048576e+06"}},
		{"the default user", false, []kmsg.DescribeClientQuotasRequestComponent{comp("user", kmsg.QuotasMatchTypeDefault, "")},
			[]string{"user=<default>,client-id=<default> consumer_byte_rate=2048"}},
		{"users alone", true, []kmsg.DescribeClientQuotasRequestComponent{comp("user", kmsg.QuotasMatchTypeAny, "")},
			[]string{"user=alice producer_byte_rate=4096"}},
		{"strict, nothing named", true, nil, nil},
		{"ips", false, []kmsg.DescribeClientQuotasRequestComponent{comp("ip", kmsg.QuotasMatchTypeAny, "")},
			[]string{"ip=10.0.0.1 connection_creation_rate=10", "ip=<default> connection_creation_rate=5"}},
		{"the default ip", true, []kmsg.DescribeClientQuotasRequestComponent{comp("ip", kmsg.QuotasMatchTypeDefault, "")},
			[]string{"ip=<default> connection_creation_rate=5"}},
	} {
		if got := describeQuotas(t, cl, tc.strict, tc.comps...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A producer over its producer_byte_rate is told its throttle time; one
// within it is not.
func TestProduceQuotaThrottles(t *testing.T) {
	c := clustertest.Start(t)
	c.CreateTopic(t, "limited", 1, 1, nil)
	admin := c.Client(t)
	// 10 KiB/s, measured over ten seconds at least: 100 KiB at once is
	// the most that passes unthrottled.
	if errs := alterQuotas(t, admin, false, quotaEntry("producer_byte_rate", 10240, false, "client-id", "slow")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	produce := func(cl *kgo.Client, n int) int32 {
		t.Helper()
		b := record.NewBuilder(record.CodecNone)
		b.Add(time.Now().UnixMilli(), nil, bytes.Repeat([]byte("q"), n), nil)
		batch, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		resp := produceRawResponse(t, cl, "limited", -1, batch)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce: %v", kerr.ErrorForCode(code))
		}
		return resp.ThrottleMillis
	}
	// Kafka 2.4's versions name topics.
	v24 := kgo.MaxVersions(kversion.V2_4_0())
	slow := c.Client(t, kgo.ClientID("slow"), v24)
	if ms := produce(slow, 60<<10); ms != 0 {
		t.Fatalf("60 KiB: throttled %d ms", ms)
	}
	// 120 KiB over ten seconds is 12 KiB/s: a fifth over, for a fifth of
	// the span, 2 s.
	if ms := produce(slow, 60<<10); ms < 1900 || ms > 2100 {
		t.Fatalf("120 KiB: throttled %d ms, want about 2000", ms)
	}
	if ms := produce(c.Client(t, kgo.ClientID("other"), v24), 200<<10); ms != 0 {
		t.Errorf("a client without a quota: throttled %d ms", ms)
	}
}

// A consumer over its consumer_byte_rate gets no records and its throttle
// time; a fetch is never larger than the quota allows at once.
func TestFetchQuotaThrottles(t *testing.T) {
	c := clustertest.Start(t)
	c.CreateTopic(t, "drip", 1, 1, nil)
	w := c.Client(t, kgo.DefaultProduceTopic("drip"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	for range 64 {
		produceAll(t, w, &kgo.Record{Value: bytes.Repeat([]byte("d"), 4096)})
	}
	// 8 KiB/s: 80 KiB at once at most.
	if errs := alterQuotas(t, w, false, quotaEntry("consumer_byte_rate", 8192, false, "client-id", "reader")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	var sessionID int32
	fetch := func(cl *kgo.Client, offset int64, sessionEpoch ...int32) (records int, throttle int32) {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.MaxBytes, req.SessionEpoch = 10<<20, -1
		if len(sessionEpoch) > 0 {
			req.SessionEpoch = sessionEpoch[0]
		}
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "drip"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = offset, 10<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				records += len(p.RecordBatches)
			}
		}
		sessionID = resp.SessionID
		return records, resp.ThrottleMillis
	}
	v24 := kgo.MaxVersions(kversion.V2_4_0()) // Fetch v11: topics by name
	reader := c.Client(t, kgo.ClientID("reader"), v24)
	n, ms := fetch(reader, 0)
	if n == 0 || n > 80<<10+8<<10 || ms != 0 {
		t.Fatalf("first fetch: %d bytes of records, throttled %d ms; want some, at most 80 KiB and a batch, unthrottled", n, ms)
	}
	if n, ms := fetch(reader, int64(n/(4<<10))); n != 0 || ms <= 0 {
		t.Fatalf("second fetch: %d bytes of records, throttled %d ms; want none, throttled", n, ms)
	}
	// A throttled fetch that would open a session opens none (Kafka answers
	// session id 0): the client starts over with a full fetch. (On a new
	// connection of the same client id, which the first is muted for.)
	if n, ms := fetch(c.Client(t, kgo.ClientID("reader"), v24), int64(n/(4<<10)), 0); n != 0 || ms <= 0 || sessionID != 0 {
		t.Fatalf("throttled session-opening fetch: %d bytes, throttled %d ms, session %d; want none, throttled, no session", n, ms, sessionID)
	}
	if n, ms := fetch(c.Client(t, kgo.ClientID("anyone"), v24), 0); n < 200<<10 || ms != 0 {
		t.Errorf("a client without a quota: %d bytes, throttled %d ms", n, ms)
	}
}

// A user quota applies to the user a client certificate maps to: here
// ssl.principal.mapping.rules turns CN=client into "client".
func TestUserQuotaFollowsTheCertificate(t *testing.T) {
	pki := authtest.New(t)
	c := clustertest.Start(t, clustertest.WithProps(pki.BrokerProps(t, "PLAINTEXT", map[string]string{
		"ssl.client.auth":             "required",
		"ssl.principal.mapping.rules": "RULE:^CN=([^,]*)$/$1/,DEFAULT",
	})), clustertest.WithClientOpts(kgo.DialTLSConfig(pki.ClientTLS(t))))
	c.CreateTopic(t, "mine", 1, 1, nil)
	cl := c.Client(t, kgo.MaxVersions(kversion.V2_4_0()))
	if errs := alterQuotas(t, c.Client(t), false, quotaEntry("producer_byte_rate", 1024, false, "user", "client")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	b := record.NewBuilder(record.CodecNone)
	b.Add(time.Now().UnixMilli(), nil, bytes.Repeat([]byte("u"), 20<<10), nil)
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp := produceRawResponse(t, cl, "mine", -1, batch); resp.ThrottleMillis <= 0 {
		t.Errorf("20 KiB against user client's 1 KiB/s: throttle %d ms", resp.ThrottleMillis)
	}
}
