package group

import (
	"encoding/binary"
	"math"
	"testing"
	"testing/synctest"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/record"
)

func batchOf(t testing.TB, codec record.Codec, recs ...rec) []byte {
	b := record.NewBuilder(codec)
	for _, r := range recs {
		b.Add(1, r.key, r.value, nil)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func txnBatchOf(t testing.TB, producer int64, recs ...rec) []byte {
	b := record.NewBuilder(record.CodecNone)
	b.SetProducer(producer, 0, 0)
	b.SetTransactional(true)
	for _, r := range recs {
		b.Add(1, r.key, r.value, nil)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func commitRec(group, topic string, partition int32, off int64) rec {
	return rec{key: offsetKey(group, tp{topic, partition}), value: offsetValue(&offset{offset: off, leaderEpoch: -1, expireTime: -1})}
}

// badLog builds a log mixing good records with every kind of bad one.
func badLog(t testing.TB) *memLog {
	l := &memLog{}
	add := func(b []byte) {
		h, err := record.ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		l.appendRaw(b, int64(h.LastOffsetDelta)+1)
	}
	add(batchOf(t, record.CodecNone, commitRec("a", "t", 0, 1)))

	corrupt := batchOf(t, record.CodecNone, commitRec("a", "t", 0, 666))
	corrupt[len(corrupt)-3] ^= 0xff // the CRC no longer matches
	add(corrupt)

	kip848 := binary.BigEndian.AppendUint16(nil, 3) // ConsumerGroupMetadataKey
	kip848 = binary.BigEndian.AppendUint16(kip848, 1)
	kip848 = append(kip848, 'a')
	newer := binary.BigEndian.AppendUint16(nil, 9) // an offset value from the future
	newer = append(newer, make([]byte, 30)...)
	truncated := commitRec("a", "t", 0, 777).value[:7]
	hugeTags := binary.BigEndian.AppendUint16(nil, 4) // v4 claiming 2^32-1 tags
	hugeTags = binary.BigEndian.AppendUint64(hugeTags, 5)
	hugeTags = binary.BigEndian.AppendUint32(hugeTags, 0)
	hugeTags = append(hugeTags, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f)
	add(batchOf(t, record.CodecNone,
		rec{key: kip848, value: []byte{0, 0, 0, 0, 0, 1}},
		rec{key: offsetKey("a", tp{"t", 0}), value: newer},
		rec{key: offsetKey("a", tp{"t", 0}), value: truncated},
		rec{key: offsetKey("a", tp{"t", 0}), value: hugeTags},
		rec{key: nil, value: []byte("no key")},
		rec{key: []byte{0}, value: nil},
		commitRec("a", "t", 1, 2),
	))

	add(batchOf(t, record.CodecGzip, commitRec("b", "t", 0, 5), commitRec("b", "t", 1, 6), rec{key: offsetKey("b", tp{"t", 1})}))
	add(batchOf(t, record.CodecSnappy, commitRec("b", "u", 0, 50))) // not zstd: its encoder is a process-wide singleton that must not be born in a synctest bubble

	add(txnBatchOf(t, 7, commitRec("c", "t", 0, 70)))
	add(txnBatchOf(t, 8, commitRec("c", "t", 1, 80)))
	add(record.BuildEndTxnMarker(nil, record.EndTxnMarker{ProducerID: 7, Commit: true}, 1))
	add(record.BuildEndTxnMarker(nil, record.EndTxnMarker{ProducerID: 8}, 1))

	v4 := kmsg.NewOffsetCommitValue()
	v4.Version, v4.Offset, v4.Metadata, v4.TopicID = 4, 40, "flexible", [16]byte{1}
	add(batchOf(t, record.CodecNone, rec{key: offsetKey("d", tp{"t", 0}), value: v4.AppendTo(nil)}))

	noProtocol := kmsg.NewGroupMetadataValue()
	noProtocol.Version, noProtocol.ProtocolType, noProtocol.Generation = 3, "consumer", 4
	noProtocol.Members = []kmsg.GroupMetadataValueMember{{MemberID: "m"}}
	add(batchOf(t, record.CodecNone, rec{key: groupKey("e"), value: noProtocol.AppendTo(nil)}))

	legacy := make([]byte, record.HeaderSize)
	binary.BigEndian.PutUint32(legacy[8:], uint32(len(legacy)-12))
	legacy[16] = 1 // magic 1
	add(legacy)
	add(batchOf(t, record.CodecNone, commitRec("a", "t", 2, 3)))
	return l
}

func TestLoadSkipsWhatItCannotTrust(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := testCoordinator(badLog(t))
		defer c.Stop()
		synctest.Wait()
		if !isLoaded(c) {
			t.Fatal("load did not finish")
		}
		for _, tc := range []struct {
			group string
			want  map[tp]int64
		}{
			{"a", map[tp]int64{{"t", 0}: 1, {"t", 1}: 2, {"t", 2}: 3}},
			{"b", map[tp]int64{{"t", 0}: 5, {"u", 0}: 50}},
			{"c", map[tp]int64{{"t", 0}: 70}},
			{"d", map[tp]int64{{"t", 0}: 40}},
			{"e", map[tp]int64{}},
		} {
			got, ec := fetchAll(t, c, tc.group)
			if ec != 0 || len(got) != len(tc.want) {
				t.Fatalf("group %s: %d offsets %v, want %v", tc.group, len(got), got, tc.want)
			}
			for k, v := range tc.want {
				if got[k].Offset != v {
					t.Fatalf("group %s %v: offset %d, want %d", tc.group, k, got[k].Offset, v)
				}
			}
		}
		if d := describe(c, "e").Groups[0]; d.State != "Empty" || len(d.Members) != 0 {
			t.Fatalf("group with members but no protocol loaded as %+v", d)
		}
	})
}

// FuzzLoad feeds arbitrary bytes to the loader as if read from
// __consumer_offsets: it must not panic, hang or allocate without bound,
// whatever it makes of them.
func FuzzLoad(f *testing.F) {
	l := badLog(f)
	for _, b := range l.batches {
		f.Add(b)
	}
	empty := kmsg.NewGroupMetadataValue()
	f.Add(batchOf(f, record.CodecNone, rec{key: groupKey("g"), value: empty.AppendTo(nil)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &loadState{groups: map[string]*kmsg.GroupMetadataValue{}, offsets: map[string]map[tp]loaded{}, txns: map[int64]map[gtp]loaded{}}
		st.batches(data, 0)
		st.batches(data, math.MaxInt64)
		for _, g := range st.build(testRules(), 0) {
			g.onLoaded(1)
			g.describe()
			g.fetch(nil, true)
		}
	})
}

func TestLoadWaitsAndServesNothingMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memLog{readGate: make(chan struct{})}
		l.appendRaw(batchOf(t, record.CodecNone, commitRec("g", "t", 0, 1)), 1)
		c := testCoordinator(l)
		defer c.Stop()
		synctest.Wait()
		_, ec := fetchAll(t, c, "g")
		if ec != kerr.CoordinatorLoadInProgress.Code {
			t.Fatalf("fetch while loading: %d", ec)
		}
		if hb := heartbeat(c, "g", "m", 1); hb != 0 {
			t.Fatalf("heartbeat while loading answered %d, want a blind 0", hb)
		}
		close(l.readGate)
		synctest.Wait()
		got, _ := fetchAll(t, c, "g")
		if got[tp{"t", 0}].Offset != 1 {
			t.Fatalf("after loading: %v", got)
		}
	})
}

// FuzzLoadRecord wraps arbitrary keys and values in well-formed batches, so
// that they get past the CRC to the key and value decoders.
func FuzzLoadRecord(f *testing.F) {
	v4 := kmsg.NewOffsetCommitValue()
	v4.Version, v4.Offset, v4.Metadata = 4, 40, "flexible"
	g4 := kmsg.NewGroupMetadataValue()
	g4.Version, g4.ProtocolType = 4, "consumer"
	p := "range"
	g4.Protocol = &p
	g4.Members = []kmsg.GroupMetadataValueMember{{MemberID: "m", Subscription: subMeta("t")}}
	g3 := g4
	g3.Version = 3
	f.Add(offsetKey("g", tp{"t", 0}), v4.AppendTo(nil))
	f.Add(groupKey("g"), g4.AppendTo(nil))
	f.Add(groupKey("g"), g3.AppendTo(nil))
	f.Add(offsetKey("g", tp{"t", 0}), offsetValue(&offset{offset: 1, expireTime: 5}))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		st := &loadState{groups: map[string]*kmsg.GroupMetadataValue{}, offsets: map[string]map[tp]loaded{}, txns: map[int64]map[gtp]loaded{}}
		st.batches(batchOf(t, record.CodecNone, rec{key: key, value: value}), 0)
		for _, g := range st.build(testRules(), 0) {
			g.onLoaded(1)
			g.describe()
			g.join(2, &joinRequest{clientID: "c", sessionMs: 1, rebalanceMs: 1, protocolType: "consumer",
				protocols: []protocol{{name: "range"}}}, func(*kmsg.JoinGroupResponse) {})
			g.tick(1 << 40)
			g.expire(1 << 40)
		}
	})
}
