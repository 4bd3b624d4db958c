package api_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/record"
)

// batch builds a v2 batch of n small records.
func batch(t *testing.T, n int, codec record.Codec, pid int64, epoch int16, seq int32) []byte {
	t.Helper()
	b := record.NewBuilder(codec)
	if pid >= 0 {
		b.SetProducer(pid, epoch, seq)
	}
	now := time.Now().UnixMilli()
	for i := range n {
		b.Add(now, []byte{byte('k' + i%3)}, bytes.Repeat([]byte{'v'}, 10+i), nil)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// produceRaw sends one Produce request with one batch and returns the
// partition's response.
func produceRaw(t *testing.T, cl *kgo.Client, topic string, acks int16, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	return produceRawResponse(t, cl, topic, acks, records).Topics[0].Partitions[0]
}

// produceRawResponse sends one Produce request (v8) with one batch and
// returns the whole response.
func produceRawResponse(t *testing.T, cl *kgo.Client, topic string, acks int16, records []byte) *kmsg.ProduceResponse {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	req.Version = 8 // topics by name; per-record errors
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	return resp
}

// pinned returns a client that sends the request versions we build by hand
// (Produce v8 names topics; newer versions need ids).
func pinned(t *testing.T, c *clustertest.Cluster) *kgo.Client {
	return c.Client(t, kgo.MaxVersions(kversion.V2_4_0())) // Produce v8
}

func TestProduceRejectsBadBatches(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	adm := c.Admin(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": strPtr("2000")}, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": strPtr("compact")}, "compacted"); err != nil {
		t.Fatal(err)
	}
	cl := pinned(t, c)

	good := batch(t, 3, record.CodecNone, -1, -1, -1)
	if r := produceRaw(t, cl, "p", -1, good); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("good batch: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 0xff
	tooBig := batch(t, 100, record.CodecNone, -1, -1, -1)
	noKey := func() []byte {
		b := record.NewBuilder(record.CodecNone)
		b.Add(time.Now().UnixMilli(), nil, []byte("v"), nil)
		out, _ := b.Build(nil)
		return out
	}()
	for name, tc := range map[string]struct {
		topic   string
		records []byte
		want    *kerr.Error
	}{
		"bad crc":                   {"p", badCRC, kerr.CorruptMessage},
		"over max.message.bytes":    {"p", tooBig, kerr.MessageTooLarge},
		"truncated":                 {"p", good[:len(good)-5], kerr.CorruptMessage},
		"no key on compacted topic": {"compacted", noKey, kerr.InvalidRecord},
	} {
		r := produceRaw(t, cl, tc.topic, -1, tc.records)
		if r.ErrorCode != tc.want.Code && !(name == "truncated" && r.ErrorCode == kerr.InvalidRecord.Code) {
			t.Errorf("%s: got %v, want %v", name, kerr.ErrorForCode(r.ErrorCode), tc.want)
		}
	}
	// Nothing of the rejected batches became visible; the connection works.
	end, _ := adm.ListEndOffsets(ctx, "p")
	if o, _ := end.Lookup("p", 0); o.Offset != 3 {
		t.Fatalf("end offset %d after rejected batches", o.Offset)
	}
	if r := produceRaw(t, cl, "p", 1, good); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("after rejections: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
}

func TestProduceAcksOnTheWire(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"auto.create.topics.enable": "false"}))
	if _, err := c.Admin(t).CreateTopic(ctxT(t), 1, 1, nil, "a"); err != nil {
		t.Fatal(err)
	}
	produce := func(topic string, acks int16) *kmsg.ProduceRequest {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = acks, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = batch(t, 1, record.CodecNone, -1, -1, -1)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
	conn := dialRaw(t, c)
	// acks=2 does not exist.
	resp := conn.roundTrip(t, produce("a", 2), 8).(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks=2: %v", kerr.ErrorForCode(code))
	}
	// An unknown topic is named before invalid acks, as in Kafka.
	resp = conn.roundTrip(t, produce("nosuch", 2), 8).(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("acks=2 to an unknown topic: %v", kerr.ErrorForCode(code))
	}
	// acks=0 gets no response: the next request's answer comes first.
	conn.send(t, produce("a", 0), 8)
	if _, ok := conn.roundTrip(t, kmsg.NewPtrApiVersionsRequest(), 3).(*kmsg.ApiVersionsResponse); !ok {
		t.Fatal("acks=0 produce answered")
	}
	// acks=0 that fails closes the connection, as in Kafka.
	conn.send(t, produce("missing", 0), 8)
	conn.expectClosed(t)
	// The acks=0 record becomes visible once the flusher has synced it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		end, _ := c.Admin(t).ListEndOffsets(ctxT(t), "a")
		o, _ := end.Lookup("a", 0)
		if o.Offset == 1 {
			return
		}
		if o.Offset > 1 || time.Now().After(deadline) {
			t.Fatalf("end offset %d, want 1 (only the acks=0 record)", o.Offset)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIdempotentRetriesAreNotWrittenTwice(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	if _, err := c.Admin(t).CreateTopic(ctx, 1, 1, nil, "idem"); err != nil {
		t.Fatal(err)
	}
	cl := pinned(t, c)
	init, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl)
	if err != nil || init.ErrorCode != 0 {
		t.Fatal(err, init)
	}
	pid, epoch := init.ProducerID, init.ProducerEpoch

	first := batch(t, 5, record.CodecNone, pid, epoch, 0)
	r := produceRaw(t, cl, "idem", -1, first)
	if r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("first: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	second := batch(t, 5, record.CodecSnappy, pid, epoch, 5)
	if r := produceRaw(t, cl, "idem", -1, second); r.ErrorCode != 0 || r.BaseOffset != 5 {
		t.Fatalf("second: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	// The retry of the first batch gets its original offset and writes nothing.
	if r := produceRaw(t, cl, "idem", -1, batch(t, 5, record.CodecNone, pid, epoch, 0)); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("retry: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	// A gap in the sequence is refused.
	if r := produceRaw(t, cl, "idem", -1, batch(t, 1, record.CodecNone, pid, epoch, 42)); r.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	end, _ := c.Admin(t).ListEndOffsets(ctx, "idem")
	if o, _ := end.Lookup("idem", 0); o.Offset != 10 {
		t.Fatalf("end offset %d, want 10", o.Offset)
	}
	// The producer state survives a restart: the retry is still recognised.
	c.Restart(0)
	cl = pinned(t, c)
	if r := produceRaw(t, cl, "idem", -1, batch(t, 5, record.CodecSnappy, pid, epoch, 5)); r.ErrorCode != 0 || r.BaseOffset != 5 {
		t.Fatalf("retry after restart: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if r := produceRaw(t, cl, "idem", -1, batch(t, 1, record.CodecNone, pid, epoch, 10)); r.ErrorCode != 0 || r.BaseOffset != 10 {
		t.Fatalf("next after restart: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
}

func TestLogAppendTimeTopic(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	if _, err := c.Admin(t).CreateTopic(ctx, 1, 1, map[string]*string{"message.timestamp.type": strPtr("LogAppendTime")}, "lat"); err != nil {
		t.Fatal(err)
	}
	cl := pinned(t, c)
	before := time.Now().UnixMilli()
	b := record.NewBuilder(record.CodecNone)
	b.Add(1000, nil, []byte("old"), nil)
	raw, _ := b.Build(nil)
	r := produceRaw(t, cl, "lat", -1, raw)
	if r.ErrorCode != 0 || r.LogAppendTime < before {
		t.Fatalf("log append time %d (before %d): %v", r.LogAppendTime, before, kerr.ErrorForCode(r.ErrorCode))
	}
	got := consumeN(t, c, "lat", 1)
	if got[0].Timestamp.UnixMilli() != r.LogAppendTime || got[0].Attrs.TimestampType() != 1 {
		t.Fatalf("consumed timestamp %v type %d, want %d", got[0].Timestamp.UnixMilli(), got[0].Attrs.TimestampType(), r.LogAppendTime)
	}
}

func TestFetchSessionIncrementalAndEpochs(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	if _, err := c.Admin(t).CreateTopic(ctx, 2, 1, nil, "s"); err != nil {
		t.Fatal(err)
	}
	prod := c.Client(t, kgo.DefaultProduceTopic("s"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceAll(t, prod, &kgo.Record{Partition: 0, Value: []byte("a")}, &kgo.Record{Partition: 1, Value: []byte("b")})
	td, _ := c.Admin(t).ListTopics(ctx, "s")
	id := td["s"].ID
	cl := c.Client(t)

	fetch := func(sessionID, epoch int32, parts map[int32]int64) *kmsg.FetchResponse {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.SessionID, req.SessionEpoch, req.MaxWaitMillis, req.MaxBytes = sessionID, epoch, 0, 1<<20
		if len(parts) > 0 {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = "s", id
			for p, off := range parts {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	count := func(r *kmsg.FetchResponse) int {
		n := 0
		for _, t := range r.Topics {
			n += len(t.Partitions)
		}
		return n
	}
	full := fetch(0, 0, map[int32]int64{0: 0, 1: 0})
	if full.ErrorCode != 0 || full.SessionID == 0 || count(full) != 2 {
		t.Fatalf("initial session fetch: %+v", full)
	}
	sid := full.SessionID
	// Nothing changed since: the incremental answer lists no partition.
	if r := fetch(sid, 1, map[int32]int64{0: 1, 1: 1}); r.ErrorCode != 0 || count(r) != 0 {
		t.Fatalf("incremental with no news: %d partitions, %v", count(r), kerr.ErrorForCode(r.ErrorCode))
	}
	// New data on partition 1 only: only it is listed.
	produceAll(t, prod, &kgo.Record{Partition: 1, Value: []byte("c")})
	r := fetch(sid, 2, nil)
	if r.ErrorCode != 0 || count(r) != 1 || r.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("incremental with news on partition 1: %+v", r.Topics)
	}
	// A wrong epoch and an unknown session are errors.
	if r := fetch(sid, 7, nil); r.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("wrong epoch: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if r := fetch(sid+1000, 1, nil); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	// A partition with an error is in every answer, not only the first
	// after the error appeared (as in Kafka).
	outOfRange := func(what string, r *kmsg.FetchResponse) {
		t.Helper()
		if r.ErrorCode != 0 || count(r) != 1 || r.Topics[0].Partitions[0].ErrorCode != kerr.OffsetOutOfRange.Code {
			t.Fatalf("%s: %+v", what, r.Topics)
		}
	}
	outOfRange("partition 0 moved out of range", fetch(sid, 3, map[int32]int64{0: 999, 1: 2}))
	outOfRange("the next fetch, nothing changed", fetch(sid, 4, nil))
}

// After the largest int32 a session's epoch is 1, as clients count.
func TestFetchSessionEpochWraps(t *testing.T) {
	if e := api.NextSessionEpoch(math.MaxInt32); e != 1 {
		t.Errorf("after MaxInt32: %d, want 1", e)
	}
	if e := api.NextSessionEpoch(7); e != 8 {
		t.Errorf("after 7: %d, want 8", e)
	}
}

func strPtr(s string) *string { return &s }

// Clients cannot append to internal topics (Kafka: INVALID_TOPIC_EXCEPTION,
// "Cannot append to internal topic"), except Kafka's own admin client id.
func TestProduceToInternalTopicsIsRefused(t *testing.T) {
	c := clustertest.Start(t)
	// Committing an offset creates __consumer_offsets.
	cl := pinned(t, c)
	if _, err := c.Admin(t).CreateTopic(ctxT(t), 1, 1, nil, "a"); err != nil {
		t.Fatal(err)
	}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "g", -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "a"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Offset = 0
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	clustertest.WaitFor(t, "an offset commit", 10*time.Second, func() (bool, string) {
		resp, err := commit.RequestWith(ctxT(t), cl)
		if err != nil {
			return false, err.Error()
		}
		code := resp.Topics[0].Partitions[0].ErrorCode
		return code == 0, fmt.Sprint(kerr.ErrorForCode(code))
	})
	records := batch(t, 1, record.CodecNone, -1, -1, -1)
	resp := produceRawResponse(t, pinned(t, c), "__consumer_offsets", 1, records)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != kerr.InvalidTopicException.Code || p.ErrorMessage == nil || *p.ErrorMessage != "Cannot append to internal topic __consumer_offsets" {
		t.Fatalf("produce to __consumer_offsets: %v %v", kerr.ErrorForCode(p.ErrorCode), p.ErrorMessage)
	}
	admin := c.Client(t, kgo.MaxVersions(kversion.V2_4_0()), kgo.ClientID("__admin_client"))
	if p := produceRawResponse(t, admin, "__consumer_offsets", 1, records).Topics[0].Partitions[0]; p.ErrorCode != 0 {
		t.Fatalf("produce to __consumer_offsets as __admin_client: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

// min_bytes is held against what Kafka counts: a partition cut short by its
// partition_max_bytes counts as that whole limit, and min_bytes is never
// more than max_bytes. Both fetches below have data at once; each would
// otherwise wait its whole max_wait (a minute, past this test's deadline).
func TestFetchMinBytesCountsWhatLimitsCut(t *testing.T) {
	c := clustertest.Start(t)
	c.CreateTopic(t, "small", 1, 1, nil)
	w := c.Client(t, kgo.DefaultProduceTopic("small"))
	for i := range 12 {
		produceAll(t, w, &kgo.Record{Value: []byte{byte('a' + i)}}) // a batch each, about 70 bytes
	}
	for _, tc := range []struct {
		name                        string
		minBytes, maxBytes, partMax int32
	}{
		{"min_bytes equal to partition_max_bytes", 100, 1 << 20, 100},
		{"min_bytes above max_bytes", 1 << 20, 100, 1 << 20},
	} {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = 60_000, tc.minBytes, tc.maxBytes, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "small"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = tc.partMax
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := req.RequestWith(ctx, pinned(t, c))
		cancel()
		if err != nil {
			t.Fatalf("%s: %v (the broker waited for more)", tc.name, err)
		}
		if len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Errorf("%s: no records", tc.name)
		}
	}
}

// A session's partitions that returned records go to the back of its fetch
// order, as in Kafka, so a partition with a backlog larger than max_bytes
// does not starve the ones after it.
func TestFetchSessionRotatesPartitionsThatReturnedRecords(t *testing.T) {
	c := clustertest.Start(t)
	c.CreateTopic(t, "rot", 3, 1, nil)
	w := c.Client(t, kgo.DefaultProduceTopic("rot"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range int32(3) {
		for range 3 {
			produceAll(t, w, &kgo.Record{Partition: p, Value: []byte("x")})
		}
	}
	cl := pinned(t, c)
	fetch := func(sessionID, epoch int32) (*kmsg.FetchResponse, []int32) {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.SessionID, req.SessionEpoch, req.MaxBytes = sessionID, epoch, 1 // one batch at most (KIP-74)
		if epoch == 0 {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = "rot"
			for p := range int32(3) {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.PartitionMaxBytes = p, 1<<20
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		var withRecords []int32
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if len(rp.RecordBatches) > 0 {
					withRecords = append(withRecords, rp.Partition)
				}
			}
		}
		return resp, withRecords
	}
	full, got := fetch(0, 0)
	if full.SessionID == 0 || !slices.Equal(got, []int32{0}) {
		t.Fatalf("opening fetch: session %d, records from %v; want a session, records from [0]", full.SessionID, got)
	}
	var order []int32
	for epoch := int32(1); epoch <= 3; epoch++ {
		_, got := fetch(full.SessionID, epoch)
		order = append(order, got...)
	}
	if !slices.Equal(order, []int32{0, 1, 2}) {
		t.Fatalf("incremental fetches returned records from %v, want [0 1 2]: each partition in turn", order)
	}
}
