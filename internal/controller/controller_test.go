package controller

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/quorum"
)

// memLog applies proposals straight to a loader, as a one-voter quorum does.
type memLog struct {
	l   *metadata.Loader
	idx uint64
	t   testing.TB // when set, an entry that does not apply fails the test
}

func (m *memLog) Propose(_ context.Context, data []byte) (uint64, error) {
	if m.t != nil {
		recs, err := metadata.Decode(data)
		if err == nil {
			err = metadata.NewDelta(m.l.Image()).ReplayEntry(recs)
		}
		if err != nil {
			m.t.Errorf("proposed entry does not apply: %v", err)
		}
	}
	m.idx++
	m.l.Apply([]uint64{m.idx}, [][]byte{data})
	return m.idx, nil
}

// clock is a hand-driven time source.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// testCluster is an active controller over registered, unfenced brokers
// (ids 1..n, broker epoch 1), with a hand-driven clock and a quorum status
// the test sets.
type testCluster struct {
	t      *testing.T
	c      *Controller
	l      *metadata.Loader
	log    *memLog
	clk    *clock
	cfg    *config.Broker
	status quorum.Status
}

// newTestCluster starts a cluster of len(racks) brokers ("" = no rack) with
// the given server properties.
func newTestCluster(t *testing.T, props map[string]string, racks ...string) *testCluster {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := metadata.NewLoader(quiet)
	if props == nil {
		props = map[string]string{}
	}
	cfg, _, err := config.FromMap(props)
	if err != nil {
		t.Fatal(err)
	}
	h := &testCluster{t: t, l: l, log: &memLog{l: l, t: t}, clk: &clock{t: time.Unix(1_700_000_000, 0)}, cfg: cfg}
	h.c = h.newController()
	recs := []metadata.Record{metadata.ClusterRecord{ClusterID: "c"}}
	for i, rack := range racks {
		recs = append(recs, metadata.RegisterBrokerRecord{BrokerID: int32(i + 1), BrokerEpoch: 1, Rack: rack})
	}
	h.log.Propose(context.Background(), metadata.Encode(recs))
	h.c.Activate()
	return h
}

// newController returns another controller over the same log and clock, as
// a node that takes over as active controller; it is not activated.
func (h *testCluster) newController() *Controller {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Config{
		NodeID: 1, Broker: h.cfg, Log: h.log, Metadata: h.l, Logger: quiet,
		Rand: rand.New(rand.NewPCG(1, 2)), Now: h.clk.Now,
		QuorumStatus: func() quorum.Status { return h.status },
	})
}

// newTestController returns a controller over brokers with the given racks
// ("" = no rack), all registered and unfenced.
func newTestController(t *testing.T, racks ...string) (*Controller, *metadata.Loader) {
	t.Helper()
	h := newTestCluster(t, nil, racks...)
	return h.c, h.l
}

// apply proposes records directly, for states no operation produces.
func (h *testCluster) apply(recs ...metadata.Record) {
	h.t.Helper()
	h.log.Propose(context.Background(), metadata.Encode(recs))
}

// createTopic creates a topic with an explicit assignment (partition i gets
// assignment[i]) and fails the test on an error.
func (h *testCluster) createTopic(name string, assignment ...[]int32) {
	h.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
	for i, a := range assignment {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = int32(i), a
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	req.Topics = append(req.Topics, rt)
	if code := ok(h.c.CreateTopics(context.Background(), req)).Topics[0].ErrorCode; code != 0 {
		h.t.Fatalf("create %s: %v", name, kerr.ErrorForCode(code))
	}
}

// part returns a partition as the image has it now.
func (h *testCluster) part(topic string, p int32) *metadata.Partition {
	h.t.Helper()
	pt, found := h.l.Image().Partition(topic, p)
	if !found {
		h.t.Fatalf("no partition %s-%d", topic, p)
	}
	return pt
}

func (h *testCluster) broker(id int32) *metadata.Broker {
	h.t.Helper()
	b, found := h.l.Image().Broker(id)
	if !found {
		h.t.Fatalf("no broker %d", id)
	}
	return b
}

// heartbeat sends a heartbeat from a broker at its current epoch, caught
// up with the log; edit adjusts the request.
func (h *testCluster) heartbeat(id int32, edit ...func(*kmsg.BrokerHeartbeatRequest)) *kmsg.BrokerHeartbeatResponse {
	h.t.Helper()
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = id, h.broker(id).Epoch
	req.CurrentMetadataOffset = int64(h.l.Image().Offset())
	for _, e := range edit {
		e(req)
	}
	resp := ok(h.c.BrokerHeartbeat(context.Background(), req))
	if resp.ErrorCode != 0 {
		h.t.Fatalf("heartbeat from %d: %v", id, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp
}

func wantFence(r *kmsg.BrokerHeartbeatRequest)    { r.WantFence = true }
func wantShutdown(r *kmsg.BrokerHeartbeatRequest) { r.WantShutdown = true }

// tick runs the periodic checks and fails the test on an error.
func (h *testCluster) tick() {
	h.t.Helper()
	if err := h.c.Tick(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// wantPartition checks a partition's leader and ISR.
func (h *testCluster) wantPartition(topic string, p, leader int32, isr ...int32) *metadata.Partition {
	h.t.Helper()
	pt := h.part(topic, p)
	if pt.Leader != leader || !slices.Equal(pt.ISR, isr) {
		h.t.Fatalf("%s-%d: leader %d isr %v, want leader %d isr %v", topic, p, pt.Leader, pt.ISR, leader, isr)
	}
	return pt
}

func createReq(name string, partitions int32, rf int16) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, partitions, rf
	req.Topics = append(req.Topics, t)
	return req
}

func TestPlacementSpreadsLeadersAndReplicas(t *testing.T) {
	c, l := newTestController(t, "", "", "")
	resp := ok(c.CreateTopics(context.Background(), createReq("t", 6, 3)))
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create: %v", kerr.ErrorForCode(code))
	}
	topic, _ := l.Image().Topic("t")
	leaders := map[int32]int{}
	replicas := map[int32]int{}
	for _, p := range topic.Partitions {
		if len(p.Replicas) != 3 || len(slicesCompact(p.Replicas)) != 3 {
			t.Fatalf("partition %d replicas %v", p.ID, p.Replicas)
		}
		if p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) {
			t.Fatalf("partition %d: leader %d isr %v replicas %v", p.ID, p.Leader, p.ISR, p.Replicas)
		}
		leaders[p.Leader]++
		for _, r := range p.Replicas {
			replicas[r]++
		}
	}
	for b := int32(1); b <= 3; b++ {
		if leaders[b] != 2 || replicas[b] != 6 {
			t.Fatalf("uneven placement: leaders %v replicas %v", leaders, replicas)
		}
	}
}

func slicesCompact(s []int32) []int32 {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

func TestPlacementIsRackAware(t *testing.T) {
	c, l := newTestController(t, "a", "a", "b", "b", "c", "c")
	if code := ok(c.CreateTopics(context.Background(), createReq("t", 12, 3))).Topics[0].ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	img := l.Image()
	topic, _ := img.Topic("t")
	for _, p := range topic.Partitions {
		racks := map[string]bool{}
		for _, r := range p.Replicas {
			b, _ := img.Broker(r)
			racks[b.Rack] = true
		}
		if len(racks) != 3 {
			t.Fatalf("partition %d replicas %v span racks %v", p.ID, p.Replicas, racks)
		}
	}
}

func TestReplicationFactorLargerThanBrokers(t *testing.T) {
	c, _ := newTestController(t, "")
	rt := ok(c.CreateTopics(context.Background(), createReq("t", 3, 3))).Topics[0]
	if rt.ErrorCode != kerr.InvalidReplicationFactor.Code || *rt.ErrorMessage != "Replication factor: 3 larger than available brokers: 1." {
		t.Fatalf("got %v %q", kerr.ErrorForCode(rt.ErrorCode), *rt.ErrorMessage)
	}
}

func TestTopicNameRules(t *testing.T) {
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	for name, ok := range map[string]bool{
		"orders": true, "a.b_c-D9": true, "": false, ".": false, "..": false,
		"has space": false, "slash/x": false, "ünicode": false, string(long[:249]): true, string(long): false,
	} {
		if err := ValidateTopicName(name); (err == nil) != ok {
			t.Errorf("%q: err %v, want ok=%v", name, err, ok)
		}
	}
	c, _ := newTestController(t, "")
	ok(c.CreateTopics(context.Background(), createReq("a_b", 1, 1)))
	if rt := ok(c.CreateTopics(context.Background(), createReq("a.b", 1, 1))).Topics[0]; rt.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("colliding name accepted: %v", kerr.ErrorForCode(rt.ErrorCode))
	}
}

func TestFencingMovesLeadershipAndUnfencingRestoresIt(t *testing.T) {
	c, l := newTestController(t, "", "")
	ctx := context.Background()
	ok(c.CreateTopics(ctx, createReq("t", 4, 2)))
	before, _ := l.Image().Topic("t")

	// Broker 1 asks to be fenced: partitions it led move to broker 2, and it
	// leaves the ISRs.
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID, hb.BrokerEpoch, hb.WantFence, hb.CurrentMetadataOffset = 1, 1, true, 100
	if code := ok(c.BrokerHeartbeat(ctx, hb)).ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	after, _ := l.Image().Topic("t")
	for i, p := range after.Partitions {
		if p.Leader != 2 || slices.Contains(p.ISR, 1) {
			t.Fatalf("partition %d after fencing broker 1: leader %d isr %v", i, p.Leader, p.ISR)
		}
		if was := before.Partitions[i]; was.Leader == 1 && p.LeaderEpoch != was.LeaderEpoch+1 {
			t.Fatalf("partition %d: leader epoch %d -> %d", i, was.LeaderEpoch, p.LeaderEpoch)
		}
	}
	// Fence broker 2 too: it is the last ISR member, so it stays in the ISR
	// and the partitions have no leader.
	hb.BrokerID = 2
	ok(c.BrokerHeartbeat(ctx, hb))
	after, _ = l.Image().Topic("t")
	for i, p := range after.Partitions {
		if p.Leader != metadata.NoLeader || !slices.Equal(p.ISR, []int32{2}) {
			t.Fatalf("partition %d with no live broker: leader %d isr %v", i, p.Leader, p.ISR)
		}
	}
	// Unfencing broker 2 makes it lead again, with a new epoch.
	hb.WantFence = false
	ok(c.BrokerHeartbeat(ctx, hb))
	final, _ := l.Image().Topic("t")
	for i, p := range final.Partitions {
		if p.Leader != 2 || p.LeaderEpoch != after.Partitions[i].LeaderEpoch+1 {
			t.Fatalf("partition %d after unfencing: leader %d epoch %d", i, p.Leader, p.LeaderEpoch)
		}
	}
}

func TestStaleBrokerEpochIsRefused(t *testing.T) {
	c, _ := newTestController(t, "")
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID, hb.BrokerEpoch = 1, 99
	if code := ok(c.BrokerHeartbeat(context.Background(), hb)).ErrorCode; code != kerr.StaleBrokerEpoch.Code {
		t.Fatalf("got %v", kerr.ErrorForCode(code))
	}
	a := kmsg.NewPtrAllocateProducerIDsRequest()
	a.BrokerID, a.BrokerEpoch = 1, 99
	if code := ok(c.AllocateProducerIDs(context.Background(), a)).ErrorCode; code != kerr.StaleBrokerEpoch.Code {
		t.Fatalf("allocate with a stale epoch: %v", kerr.ErrorForCode(code))
	}
}

func TestProducerIDBlocksNeverOverlap(t *testing.T) {
	c, _ := newTestController(t, "")
	a := kmsg.NewPtrAllocateProducerIDsRequest()
	a.BrokerID, a.BrokerEpoch = 1, 1
	r1 := ok(c.AllocateProducerIDs(context.Background(), a))
	r2 := ok(c.AllocateProducerIDs(context.Background(), a))
	if r1.ErrorCode != 0 || r2.ErrorCode != 0 || r2.ProducerIDStart < r1.ProducerIDStart+int64(r1.ProducerIDLen) {
		t.Fatalf("blocks %+v %+v", r1, r2)
	}
}

func TestIncrementalAlterConfigs(t *testing.T) {
	c, l := newTestController(t, "")
	ctx := context.Background()
	ok(c.CreateTopics(ctx, createReq("t", 1, 1)))
	alter := func(ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) int16 {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.Configs = kmsg.ConfigResourceTypeTopic, "t", ops
		req.Resources = append(req.Resources, r)
		return ok(c.IncrementalAlterConfigs(ctx, req)).Resources[0].ErrorCode
	}
	op := func(name string, o kmsg.IncrementalAlterConfigOp, v string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = name, o, kmsg.StringPtr(v)
		return c
	}
	if code := alter(op("retention.ms", opSet, "1000"), op("cleanup.policy", opAppend, "compact")); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	got := l.Image().TopicConfigs("t")
	if got["retention.ms"] != "1000" || got["cleanup.policy"] != "delete,compact" {
		t.Fatalf("configs %v", got)
	}
	if code := alter(op("cleanup.policy", opSubtract, "delete"), op("retention.ms", opDelete, "")); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	got = l.Image().TopicConfigs("t")
	if _, ok := got["retention.ms"]; ok || got["cleanup.policy"] != "compact" {
		t.Fatalf("configs %v", got)
	}
	for _, bad := range []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		op("retention.ms", opAppend, "1"),  // not a list
		op("retention.ms", opSet, "never"), // not a number
		op("no.such", opSet, "1"),          // unknown
	} {
		if code := alter(bad); code != kerr.InvalidConfig.Code {
			t.Errorf("%s %v: got %v", bad.Name, bad.Op, kerr.ErrorForCode(code))
		}
	}
	// A broker-wide default that is not dynamic is refused.
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBroker, ""
	r.Configs = append(r.Configs, op("node.id", opSet, "5"))
	req.Resources = append(req.Resources, r)
	if code := ok(c.IncrementalAlterConfigs(ctx, req)).Resources[0].ErrorCode; code != kerr.InvalidRequest.Code {
		t.Fatalf("static broker config altered: %v", kerr.ErrorForCode(code))
	}
}

// A setting Kafka changes at run time but samsa reads only at startup is
// refused with what to do instead; one stored before samsa refused it does
// not block changes of others.
func TestStartupOnlyBrokerConfigs(t *testing.T) {
	c, l := newTestController(t, "")
	ctx := context.Background()
	alter := func(name, value string) (int16, string) {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeBroker
		op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		op.Name, op.Op, op.Value = name, opSet, kmsg.StringPtr(value)
		r.Configs = append(r.Configs, op)
		req.Resources = append(req.Resources, r)
		resp := ok(c.IncrementalAlterConfigs(ctx, req)).Resources[0]
		if resp.ErrorMessage == nil {
			return resp.ErrorCode, ""
		}
		return resp.ErrorCode, *resp.ErrorMessage
	}
	code, msg := alter("log.cleaner.threads", "4")
	if code != kerr.InvalidRequest.Code || !strings.Contains(msg, "log.cleaner.threads") || !strings.Contains(msg, "server.properties") {
		t.Fatalf("log.cleaner.threads: %v %q", kerr.ErrorForCode(code), msg)
	}
	c.mu.Lock()
	err := c.propose(ctx, []metadata.Record{metadata.ConfigRecord{ResourceType: metadata.ResourceBroker, Name: "log.cleaner.threads", Value: "2"}})
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := alter("log.retention.ms", "1000"); code != 0 {
		t.Fatalf("with a stored log.cleaner.threads: %v %q", kerr.ErrorForCode(code), msg)
	}
	if got := l.Image().Configs(metadata.DefaultBrokerResource); got["log.retention.ms"] != "1000" || got["log.cleaner.threads"] != "2" {
		t.Fatalf("configs %v", got)
	}
}

// ok unwraps an operation's response; the controller under test is always
// active, so an error is a bug (the panic fails the test with its stack).
func ok[R any](r R, err error) R {
	if err != nil {
		panic(err)
	}
	return r
}

// One request may add at most 10,000 partitions, as in Kafka: a request for
// millions would have the controller place and record every one of them.
func TestPartitionsPerRequestAreBounded(t *testing.T) {
	c, l := newTestController(t, "", "", "")
	ctx := context.Background()
	codes := func(resp *kmsg.CreateTopicsResponse) []int16 {
		var out []int16
		for _, rt := range resp.Topics {
			out = append(out, rt.ErrorCode)
		}
		return out
	}
	policy := kerr.PolicyViolation.Code

	// One topic far beyond the bound, and two that only together exceed it:
	// every topic of such a request is refused, and nothing is created.
	huge := createReq("huge", 2_000_000_000, 1)
	if got := codes(ok(c.CreateTopics(ctx, huge))); !slices.Equal(got, []int16{policy}) {
		t.Fatalf("2e9 partitions: codes %v, want POLICY_VIOLATION", got)
	}
	pair := createReq("a", 6_000, 1)
	pair.Topics = append(pair.Topics, createReq("b", 5_000, 1).Topics...)
	resp := ok(c.CreateTopics(ctx, pair))
	if got := codes(resp); !slices.Equal(got, []int16{policy, policy}) {
		t.Fatalf("6,000 + 5,000 partitions: codes %v, want POLICY_VIOLATION for both", got)
	}
	if msg := resp.Topics[0].ErrorMessage; msg == nil || *msg != "Excessively large number of partitions per request." {
		t.Errorf("message %v, want Kafka's", msg)
	}
	if names := l.Image().TopicNames(); len(names) != 0 {
		t.Fatalf("refused requests created topics %v", names)
	}
	// Exactly the bound is accepted.
	edge := createReq("edge", 10_000, 1)
	edge.ValidateOnly = true
	if got := codes(ok(c.CreateTopics(ctx, edge))); !slices.Equal(got, []int16{0}) {
		t.Fatalf("10,000 partitions: codes %v, want success", got)
	}

	// CreatePartitions counts what the request adds across its topics.
	for _, name := range []string{"x", "y"} {
		if code := ok(c.CreateTopics(ctx, createReq(name, 1, 1))).Topics[0].ErrorCode; code != 0 {
			t.Fatalf("create %s: %v", name, kerr.ErrorForCode(code))
		}
	}
	grow := func(counts map[string]int32) []int16 {
		req := kmsg.NewPtrCreatePartitionsRequest()
		for _, name := range []string{"x", "y"} {
			if n, ok := counts[name]; ok {
				rt := kmsg.NewCreatePartitionsRequestTopic()
				rt.Topic, rt.Count = name, n
				req.Topics = append(req.Topics, rt)
			}
		}
		var out []int16
		for _, rt := range ok(c.CreatePartitions(ctx, req)).Topics {
			out = append(out, rt.ErrorCode)
		}
		return out
	}
	if got := grow(map[string]int32{"x": 2_000_000_000}); !slices.Equal(got, []int16{policy}) {
		t.Fatalf("growing to 2e9 partitions: codes %v, want POLICY_VIOLATION", got)
	}
	if got := grow(map[string]int32{"x": 5_001, "y": 5_002}); !slices.Equal(got, []int16{policy, policy}) {
		t.Fatalf("adding 5,000 + 5,001 partitions: codes %v, want POLICY_VIOLATION for both", got)
	}
	if got := grow(map[string]int32{"x": 3}); !slices.Equal(got, []int16{0}) {
		t.Fatalf("adding 2 partitions: codes %v, want success", got)
	}
	if x, _ := l.Image().Topic("x"); len(x.Partitions) != 3 {
		t.Fatalf("x has %d partitions, want 3", len(x.Partitions))
	}
}
