package api_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// produceAll produces records synchronously and fails the test on error.
func produceAll(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumeN reads n records from topic from the start, directly assigned.
func consumeN(t *testing.T, c *clustertest.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var out []*kgo.Record
	ctx := ctxT(t)
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsumeKeyedAcrossPartitions(t *testing.T) {
	c := clustertest.Start(t)
	adm := c.Admin(t)
	if _, err := adm.CreateTopic(ctxT(t), 3, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, kgo.DefaultProduceTopic("orders"))
	var recs []*kgo.Record
	for i := range 300 {
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(fmt.Sprint(i))})
	}
	produceAll(t, cl, recs...)

	got := consumeN(t, c, "orders", 300)
	if len(got) != 300 {
		t.Fatalf("got %d records", len(got))
	}
	// Same key, same partition, in produce order, offsets contiguous.
	partOf := map[string]int32{}
	lastOffset := map[int32]int64{0: -1, 1: -1, 2: -1}
	lastValue := map[string]int{}
	for _, r := range got {
		k := string(r.Key)
		if p, ok := partOf[k]; ok && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		if r.Offset != lastOffset[r.Partition]+1 {
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, lastOffset[r.Partition])
		}
		lastOffset[r.Partition] = r.Offset
		var v int
		fmt.Sscan(string(r.Value), &v)
		if prev, ok := lastValue[k]; ok && v <= prev {
			t.Fatalf("key %s: value %d after %d", k, v, prev)
		}
		lastValue[k] = v
	}
}

func TestCreateTopicsValidation(t *testing.T) {
	c := clustertest.Start(t)
	cl := c.Client(t)
	req := kmsg.NewPtrCreateTopicsRequest()
	add := func(name string, parts int32, rf int16, cfg map[string]string) {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, parts, rf
		for k, v := range cfg {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			rt.Configs = append(rt.Configs, c)
		}
		req.Topics = append(req.Topics, rt)
	}
	add("ok", 2, 1, map[string]string{"retention.ms": "1000"})
	add("bad/name", 1, 1, nil)
	add("rf3", 1, 3, nil)
	add("zero", 0, 1, nil)
	add("badcfg", 1, 1, map[string]string{"retention.ms": "soon"})
	add("unknowncfg", 1, 1, map[string]string{"no.such.config": "1"})
	add("dup", 1, 1, nil)
	add("dup", 1, 1, nil)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*kerr.Error{
		"ok": nil, "bad/name": kerr.InvalidTopicException, "rf3": kerr.InvalidReplicationFactor,
		"zero": kerr.InvalidPartitions, "badcfg": kerr.InvalidConfig, "unknowncfg": kerr.InvalidConfig,
		"dup": kerr.InvalidRequest,
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); !errors.Is(err, want[rt.Topic]) && !(err == nil && want[rt.Topic] == nil) {
			t.Errorf("%s: got %v, want %v", rt.Topic, err, want[rt.Topic])
		}
		if rt.Topic == "rf3" && (rt.ErrorMessage == nil || *rt.ErrorMessage != "Replication factor: 3 larger than available brokers: 1.") {
			t.Errorf("rf3 message: %v", rt.ErrorMessage)
		}
		if rt.Topic == "ok" {
			if rt.NumPartitions != 2 || rt.ReplicationFactor != 1 || rt.TopicID == [16]byte{} {
				t.Errorf("ok: %+v", rt)
			}
			found := false
			for _, c := range rt.Configs {
				if c.Name == "retention.ms" && c.Value != nil && *c.Value == "1000" && c.Source == 1 {
					found = true
				}
			}
			if !found {
				t.Error("ok: created topic's configs do not show retention.ms=1000 as a topic config")
			}
		}
	}
	// The topic exists now; creating it again fails; validate-only creates nothing.
	again := kmsg.NewPtrCreateTopicsRequest()
	again.ValidateOnly = true
	for _, n := range []string{"ok", "validated"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = n, 1, 1
		again.Topics = append(again.Topics, rt)
	}
	resp, err = again.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Topics[0].ErrorCode != kerr.TopicAlreadyExists.Code || resp.Topics[1].ErrorCode != 0 {
		t.Fatalf("second create: %+v", resp.Topics)
	}
	topics, err := c.Admin(t).ListTopics(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("validated") || !topics.Has("ok") {
		t.Fatalf("topics after validate-only: %v", topics.Names())
	}
}

func TestTopicLifecycleAndConfigs(t *testing.T) {
	c := clustertest.Start(t)
	adm := c.Admin(t)
	ctx := ctxT(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("delete")}, "life"); err != nil {
		t.Fatal(err)
	}
	// Incremental alter: set and append, then describe shows the source.
	_, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("3600000")},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	}, "life")
	if err != nil {
		t.Fatal(err)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "life")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("life", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]kadm.Config{}
	for _, cfg := range rc.Configs {
		got[cfg.Key] = cfg
	}
	if v := got["retention.ms"]; v.MaybeValue() != "3600000" || v.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("retention.ms = %q from %v", v.MaybeValue(), v.Source)
	}
	if v := got["cleanup.policy"]; v.MaybeValue() != "delete,compact" {
		t.Errorf("cleanup.policy = %q", v.MaybeValue())
	}
	if v := got["segment.bytes"]; v.MaybeValue() != "1073741824" || v.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("segment.bytes = %q from %v", v.MaybeValue(), v.Source)
	}
	// A bad value is refused with INVALID_CONFIG and changes nothing.
	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("x")}}, "life")
	if err != nil || !errors.Is(resps[0].Err, kerr.InvalidConfig) {
		t.Fatalf("bad alter: %v %v", err, resps)
	}

	// More partitions, then fewer is refused.
	if _, err := adm.UpdatePartitions(ctx, 4, "life"); err != nil {
		t.Fatal(err)
	}
	cr, err := adm.UpdatePartitions(ctx, 2, "life")
	if err != nil || !errors.Is(cr["life"].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrink partitions: %v %+v", err, cr)
	}
	td, err := adm.ListTopics(ctx, "life")
	if err != nil || len(td["life"].Partitions) != 4 {
		t.Fatalf("partitions after add: %v %+v", err, td)
	}

	// Configs and partitions survive a restart.
	c.Restart(0)
	adm = c.Admin(t)
	rcs, err = adm.DescribeTopicConfigs(ctx, "life")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ = rcs.On("life", nil)
	restored := false
	for _, cfg := range rc.Configs {
		if cfg.Key == "retention.ms" && cfg.MaybeValue() == "3600000" {
			restored = true
		}
	}
	if !restored {
		t.Fatal("topic config lost across restart")
	}

	// Delete by name; the topic is gone and its name is free again.
	if _, err := adm.DeleteTopics(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	td, err = adm.ListTopics(ctx)
	if err != nil || td.Has("life") {
		t.Fatalf("topic survived deletion: %v", err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "life"); err != nil {
		t.Fatalf("recreate: %v", err)
	}
}

func TestListOffsetsAndDeleteRecords(t *testing.T) {
	c := clustertest.Start(t)
	adm := c.Admin(t)
	ctx := ctxT(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "lo"); err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, kgo.DefaultProduceTopic("lo"))
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 10 {
		produceAll(t, cl, &kgo.Record{Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Minute)})
	}
	start, err := adm.ListStartOffsets(ctx, "lo")
	if err != nil {
		t.Fatal(err)
	}
	end, err := adm.ListEndOffsets(ctx, "lo")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := start.Lookup("lo", 0); o.Offset != 0 {
		t.Fatalf("start offset %d", o.Offset)
	}
	if o, _ := end.Lookup("lo", 0); o.Offset != 10 {
		t.Fatalf("end offset %d", o.Offset)
	}
	byTime, err := adm.ListOffsetsAfterMilli(ctx, base.Add(150*time.Second).UnixMilli(), "lo")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := byTime.Lookup("lo", 0); o.Offset != 3 {
		t.Fatalf("offset for time: %d, want 3", o.Offset)
	}
	max, err := adm.ListMaxTimestampOffsets(ctx, "lo")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := max.Lookup("lo", 0); o.Offset != 9 || o.Timestamp != base.Add(9*time.Minute).UnixMilli() {
		t.Fatalf("max timestamp offset %+v", o)
	}

	// Timestamps a version does not know are UNSUPPORTED_VERSION, as in
	// Kafka: max timestamp (-3) from v7, earliest local (-4) from v8, and
	// no other negative value.
	raw := dialRaw(t, c)
	for _, tc := range []struct {
		ts      int64
		version int16
		want    int16
	}{{-3, 6, kerr.UnsupportedVersion.Code}, {-3, 7, 0}, {-4, 7, kerr.UnsupportedVersion.Code}, {-4, 8, 0}, {-100, 9, kerr.UnsupportedVersion.Code}} {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp, rp.CurrentLeaderEpoch = tc.ts, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := raw.roundTrip(t, req, tc.version).(*kmsg.ListOffsetsResponse)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != tc.want {
			t.Errorf("timestamp %d at v%d: %v, want %v", tc.ts, tc.version, kerr.ErrorForCode(code), kerr.ErrorForCode(tc.want))
		}
	}

	// DeleteRecords moves the log start offset, as consumers see it.
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "lo", Partition: 0, At: 4})
	dr, err := adm.DeleteRecords(ctx, os)
	if err != nil || dr.Error() != nil {
		t.Fatalf("delete records: %v %v", err, dr.Error())
	}
	if r, _ := dr.Lookup("lo", 0); r.LowWatermark != 4 {
		t.Fatalf("low watermark %d", r.LowWatermark)
	}
	start, _ = adm.ListStartOffsets(ctx, "lo")
	if o, _ := start.Lookup("lo", 0); o.Offset != 4 {
		t.Fatalf("start offset after delete %d", o.Offset)
	}
	got := consumeN(t, c, "lo", 6)
	if got[0].Offset != 4 || string(got[0].Value) != "4" {
		t.Fatalf("first record after delete: offset %d %q", got[0].Offset, got[0].Value)
	}
	// Beyond the high watermark is refused.
	os = kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "lo", Partition: 0, At: 99})
	dr, err = adm.DeleteRecords(ctx, os)
	if r, _ := dr.Lookup("lo", 0); err != nil || !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete beyond end: %v %+v", err, r)
	}
	// The log start offset survives a restart.
	c.Restart(0)
	start, _ = c.Admin(t).ListStartOffsets(ctx, "lo")
	if o, _ := start.Lookup("lo", 0); o.Offset != 4 {
		t.Fatalf("start offset after restart %d", o.Offset)
	}
}

func TestFetchOutOfRangeAndUnknown(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"auto.create.topics.enable": "false"}))
	cl := c.Client(t)
	ctx := ctxT(t)
	if _, err := c.Admin(t).CreateTopic(ctx, 1, 1, nil, "f"); err != nil {
		t.Fatal(err)
	}
	td, err := c.Admin(t).ListTopics(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MaxBytes, req.SessionEpoch = 10, 1<<20, -1
	for _, id := range [][16]byte{td["f"].ID, {9, 9, 9}} {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "f", id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = 5, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl) // the client picks the newest version: topics by id
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 2 {
		t.Fatalf("fetch response %+v", resp)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.OffsetOutOfRange.Code {
		t.Errorf("fetch past end: %v", kerr.ErrorForCode(code))
	}
	if code := resp.Topics[1].Partitions[0].ErrorCode; code != kerr.UnknownTopicID.Code {
		t.Errorf("fetch unknown topic id: %v", kerr.ErrorForCode(code))
	}
	// With auto-creation off, Metadata reports the unknown topic.
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("nope")
	md.Topics = append(md.Topics, mt)
	md.AllowAutoTopicCreation = true
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil || mresp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("metadata for unknown topic: %v %+v", err, mresp)
	}
}

func TestLongPollWakesOnAppend(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	if _, err := c.Admin(t).CreateTopic(ctx, 1, 1, nil, "lp"); err != nil {
		t.Fatal(err)
	}
	// A consumer waiting up to 20 s gets the record as soon as it is
	// produced: the test would time out if the fetch only returned at the
	// end of its wait and the consumer then waited another 20 s.
	cons := c.Client(t, kgo.ConsumeTopics("lp"), kgo.FetchMaxWait(20*time.Second), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	got := make(chan *kgo.Record, 1)
	go func() {
		fs := cons.PollFetches(ctx)
		if rs := fs.Records(); len(rs) > 0 {
			got <- rs[0]
		}
		close(got)
	}()
	prod := c.Client(t, kgo.DefaultProduceTopic("lp"))
	deadline := time.After(15 * time.Second)
	for {
		produceAll(t, prod, &kgo.Record{Value: []byte("wake")})
		select {
		case r := <-got:
			if r == nil || string(r.Value) != "wake" {
				t.Fatalf("got %v", r)
			}
			return
		case <-time.After(200 * time.Millisecond):
			// The consumer may not have started its fetch yet; produce again.
		case <-deadline:
			t.Fatal("the waiting fetch was not woken by the append")
		}
	}
}

func TestAPIVersionsCoverTheTable(t *testing.T) {
	c := clustertest.Start(t)
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctxT(t), c.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range resp.ApiKeys {
		keys[k.ApiKey] = k
	}
	for _, want := range []int16{0, 1, 2, 3, 18, 19, 20, 21, 22, 23, 32, 33, 35, 37, 44, 60, 75} {
		k, ok := keys[want]
		if !ok {
			t.Errorf("api %s not advertised", kmsg.NameForKey(want))
			continue
		}
		if k.MaxVersion != kmsg.RequestForKey(want).MaxVersion() {
			t.Errorf("api %s: max version %d, kmsg knows %d", kmsg.NameForKey(want), k.MaxVersion, kmsg.RequestForKey(want).MaxVersion())
		}
	}
	if keys[0].MinVersion != 0 || keys[1].MinVersion != 4 {
		t.Errorf("produce/fetch minimum versions: %+v %+v", keys[0], keys[1])
	}
}

func TestIdempotentProducerGetsDistinctIDs(t *testing.T) {
	c := clustertest.Start(t)
	cl := c.Client(t)
	ids := map[int64]bool{}
	for range 3 {
		resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctxT(t), cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("init producer id: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
		}
		if ids[resp.ProducerID] || resp.ProducerEpoch != 0 {
			t.Fatalf("producer id %d epoch %d reused or odd", resp.ProducerID, resp.ProducerEpoch)
		}
		ids[resp.ProducerID] = true
	}
	// Ids stay unique across a restart: the block was recorded.
	c.Restart(0)
	resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctxT(t), c.Client(t))
	if err != nil || ids[resp.ProducerID] {
		t.Fatalf("after restart: %v, id %d reused", err, resp.ProducerID)
	}
	// Transactional ids are refused clearly for now: both the transaction
	// coordinator lookup and InitProducerId sent straight to the broker.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorType, fc.CoordinatorKeys = 1, []string{"t1"}
	fcr, err := fc.RequestWith(ctxT(t), c.Client(t))
	if err != nil || fcr.Coordinators[0].ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code || fcr.Coordinators[0].ErrorMessage == nil {
		t.Fatalf("transaction coordinator lookup: %v %+v", err, fcr)
	}
	rc := dialRaw(t, c)
	txn := kmsg.NewPtrInitProducerIDRequest()
	txn.TransactionalID = kmsg.StringPtr("t1")
	if r := rc.roundTrip(t, txn, 4).(*kmsg.InitProducerIDResponse); r.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("transactional init: %v", kerr.ErrorForCode(r.ErrorCode))
	}
}
