package metadata

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math"
	"reflect"
	"testing"
)

func sampleRecords() []Record {
	id := UUID{1, 2, 3}
	return []Record{
		ClusterRecord{ClusterID: "abc"},
		RegisterBrokerRecord{BrokerID: 1, IncarnationID: UUID{9}, BrokerEpoch: 7,
			Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: 9092}}, Rack: "r1"},
		TopicRecord{Name: "t", ID: id},
		PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1,
			AddingReplicas: []int32{}, RemovingReplicas: []int32{}},
		PartitionRecord{TopicID: id, Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1,
			AddingReplicas: []int32{}, RemovingReplicas: []int32{}},
		PartitionChangeRecord{TopicID: id, Partition: 1, Leader: NoLeader, ISR: []int32{}},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "t", Name: "retention.ms", Value: "1000"},
		BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 7, Fenced: 1, InControlledShutdown: -1},
		ProducerIDsRecord{BrokerID: 1, BrokerEpoch: 7, NextProducerID: 1000},
		ClientQuotaRecord{Entity: QuotaEntity{ClientID: QuotaNamed("app")}, Key: "producer_byte_rate", Value: 1048576},
		ClientQuotaRecord{Entity: QuotaEntity{User: QuotaDefault}, Key: "consumer_byte_rate", Value: 2.5e6},
		ClientQuotaRecord{Entity: QuotaEntity{User: QuotaNamed("alice"), ClientID: QuotaDefault}, Key: "producer_byte_rate", Value: 4096},
		ClientQuotaRecord{Entity: QuotaEntity{User: QuotaNamed("alice"), ClientID: QuotaDefault}, Key: "consumer_byte_rate", Value: 8192},
		ClientQuotaRecord{Entity: QuotaEntity{User: QuotaNamed("alice"), ClientID: QuotaDefault}, Key: "consumer_byte_rate", Remove: true},
		ClientQuotaRecord{Entity: QuotaEntity{IP: QuotaNamed("127.0.0.1")}, Key: "connection_creation_rate", Value: 10},
		ClientQuotaRecord{Entity: QuotaEntity{IP: QuotaDefault}, Key: "connection_creation_rate", Value: 100},
	}
}

// A quota record written before ip entities existed ends after Remove; it
// decodes as the same record with no ip part.
func TestClientQuotaRecordFromBeforeIPEntities(t *testing.T) {
	r := ClientQuotaRecord{Entity: QuotaEntity{User: QuotaNamed("alice")}, Key: "producer_byte_rate", Value: 4096}
	b := Encode([]Record{r})
	// entry: format, count, type, version, length, payload; the ip part
	// is the payload's last two bytes (flags, empty name).
	old := bytes.Clone(b[:len(b)-2])
	old[4] -= 2
	got, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []Record{r}) {
		t.Errorf("decoded %#v, want %#v", got, r)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	recs := append(sampleRecords(), RemoveTopicRecord{TopicID: UUID{1, 2, 3}}, UnregisterBrokerRecord{BrokerID: 1, BrokerEpoch: 7})
	got, err := Decode(Encode(recs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, recs)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	valid := Encode(sampleRecords())
	for name, b := range map[string][]byte{
		"empty":          nil,
		"wrong format":   {2, 0},
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"truncated":      valid[:len(valid)-3],
		"trailing bytes": append(bytes.Clone(valid), 0),
		"unknown type":   {1, 1, 99, 0, 0},
	} {
		if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(sampleRecords()))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := Decode(Encode(recs))
		if err != nil || !reflect.DeepEqual(normalize(again), normalize(recs)) {
			t.Fatalf("re-decode differs: %v", err)
		}
		d := NewDelta(Empty())
		_ = d.ReplayEntry(recs) // must not panic
	})
}

// normalize maps empty lists to nil inside PartitionRecords, which the
// encoding does not distinguish, and a NaN quota value (which decodes
// as it was written but is not equal to itself) to 0.
func normalize(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		if q, ok := r.(ClientQuotaRecord); ok && math.IsNaN(q.Value) {
			q.Value = 0
			r = q
		}
		if p, ok := r.(PartitionRecord); ok {
			for _, s := range []*[]int32{&p.Replicas, &p.ISR, &p.AddingReplicas, &p.RemovingReplicas} {
				if len(*s) == 0 {
					*s = nil
				}
			}
			r = p
		}
		out[i] = r
	}
	return out
}

func TestDeltaBuildsImage(t *testing.T) {
	l := NewLoader(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var seen []*Delta
	l.Subscribe(func(d *Delta, _ *Image) { seen = append(seen, d) })
	l.Apply([]uint64{1}, [][]byte{Encode(sampleRecords())})
	img := l.Image()
	if img.Offset() != 1 || img.ClusterID() != "abc" {
		t.Fatalf("offset %d cluster %q", img.Offset(), img.ClusterID())
	}
	tp, ok := img.Topic("t")
	if !ok || len(tp.Partitions) != 2 {
		t.Fatalf("topic t: %v %+v", ok, tp)
	}
	p1 := tp.Partitions[1]
	if p1.Leader != NoLeader || p1.LeaderEpoch != 1 || p1.PartitionEpoch != 1 || len(p1.ISR) != 0 {
		t.Fatalf("partition change not applied: %+v", p1)
	}
	if tp.Partitions[0].LeaderEpoch != 0 {
		t.Fatalf("untouched partition changed: %+v", tp.Partitions[0])
	}
	if img.TopicConfigs("t")["retention.ms"] != "1000" {
		t.Fatal("config missing")
	}
	if b, _ := img.Broker(1); !b.Fenced || len(img.LiveBrokers()) != 0 {
		t.Fatalf("broker fencing not applied: %+v", b)
	}
	if img.NextProducerID() != 1000 {
		t.Fatal("producer ids not applied")
	}
	if len(seen) != 1 || !seen[0].CreatedTopics[tp.ID] {
		t.Fatal("listener not told about the created topic")
	}

	// Removing the topic drops its configs and is reported as a deletion.
	l.Apply([]uint64{2}, [][]byte{Encode([]Record{RemoveTopicRecord{TopicID: tp.ID}})})
	if _, ok := l.Image().Topic("t"); ok || l.Image().TopicConfigs("t") != nil {
		t.Fatal("topic or its configs survived removal")
	}
	if seen[1].DeletedTopics[tp.ID] == nil {
		t.Fatal("deletion not reported")
	}
	// The old image is untouched.
	if _, ok := img.Topic("t"); !ok {
		t.Fatal("published image was modified")
	}
}

func TestEntryIsAtomic(t *testing.T) {
	l := NewLoader(slog.New(slog.NewTextHandler(io.Discard, nil)))
	id := NewUUID()
	bad := []Record{
		TopicRecord{Name: "x", ID: id},
		PartitionRecord{TopicID: id, Partition: 5, Replicas: []int32{1}, Leader: 1}, // gap: invalid
	}
	l.Apply([]uint64{1}, [][]byte{Encode(bad)})
	if _, ok := l.Image().Topic("x"); ok {
		t.Fatal("half of a failed entry was applied")
	}
	if l.Image().Offset() != 1 {
		t.Fatal("offset must still advance past a skipped entry")
	}
}

func TestClientQuotas(t *testing.T) {
	d := NewDelta(Empty())
	for _, r := range sampleRecords() {
		if err := d.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	img := d.Apply(1)
	alice := QuotaEntity{User: QuotaNamed("alice"), ClientID: QuotaDefault}
	if v, ok := img.ClientQuota(alice, "producer_byte_rate"); !ok || v != 4096 {
		t.Errorf("alice's clients' producer_byte_rate = %v, %v", v, ok)
	}
	if _, ok := img.ClientQuota(alice, "consumer_byte_rate"); ok {
		t.Error("a removed quota is still there")
	}
	if len(img.ClientQuotas()) != 5 {
		t.Errorf("quotas %v, want 5 entities", img.ClientQuotas())
	}
	if v, ok := img.ClientQuota(QuotaEntity{IP: QuotaNamed("127.0.0.1")}, "connection_creation_rate"); !ok || v != 10 {
		t.Errorf("127.0.0.1's connection_creation_rate = %v, %v", v, ok)
	}
	// Removing an entity's last quota removes the entity.
	d = NewDelta(img)
	if err := d.Replay(ClientQuotaRecord{Entity: alice, Key: "producer_byte_rate", Remove: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Apply(2).ClientQuotas()[alice]; ok {
		t.Error("an entity without quotas is still listed")
	}
	if _, ok := img.ClientQuota(alice, "producer_byte_rate"); !ok {
		t.Error("the delta changed the image it started from")
	}
	for _, bad := range []QuotaEntity{{}, {User: QuotaName{Set: true, Default: true, Name: "x"}},
		{IP: QuotaNamed("10.0.0.1"), User: QuotaNamed("alice")}, {IP: QuotaName{Set: true, Default: true, Name: "x"}}} {
		if err := NewDelta(img).Replay(ClientQuotaRecord{Entity: bad, Key: "producer_byte_rate", Value: 1}); err == nil {
			t.Errorf("entity %+v accepted", bad)
		}
	}
	// No controller writes a quota that is not a number, infinite or
	// negative; one read from a damaged log is refused, not enforced.
	for _, v := range []float64{math.NaN(), math.Inf(1), -1} {
		if err := NewDelta(img).Replay(ClientQuotaRecord{Entity: alice, Key: "producer_byte_rate", Value: v}); err == nil {
			t.Errorf("quota value %v accepted", v)
		}
	}
}

func TestSnapshotRestoresSameImage(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := NewLoader(quiet)
	l.Apply([]uint64{5}, [][]byte{Encode(sampleRecords())})
	data, off := l.Snapshot()
	l2 := NewLoader(quiet)
	if err := l2.Restore(data, off); err != nil {
		t.Fatal(err)
	}
	a, b := l.Image(), l2.Image()
	if !reflect.DeepEqual(normalize(a.Records()), normalize(b.Records())) || b.Offset() != 5 {
		t.Fatalf("restored image differs")
	}
}

func TestUUIDString(t *testing.T) {
	u := NewUUID()
	s := u.String()
	if len(s) != 22 || s[0] == '-' {
		t.Fatalf("bad uuid string %q", s)
	}
	back, err := ParseUUID(s)
	if err != nil || back != u {
		t.Fatalf("parse: %v", err)
	}
}
