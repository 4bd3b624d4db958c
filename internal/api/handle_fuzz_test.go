package api_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/clustertest"
	"github.com/samsa-io/samsa/internal/record"
)

// FuzzHandle sends fuzzed requests that get past the guard (so kmsg decodes
// them and a handler runs) to a running one-node broker, one connection
// each. Whatever a request asks, the broker must answer, refuse or close
// the connection, and go on serving: a handler's panic, which the server
// survives by closing the connection and logging it, fails the test, as
// does a broker that stops answering Metadata.
//
// The seeds are every served request at its oldest and newest version,
// default-valued and with every field set (all versions when fuzzing), and
// a few that act on real state: a topic with data, a group, a producer id.
func FuzzHandle(f *testing.F) {
	panics := &panicCatcher{}
	c := clustertest.Start(f, clustertest.WithLog(panics),
		clustertest.WithProps(map[string]string{"group.min.session.timeout.ms": "10"}))
	addr := c.Addrs()[0]
	cl := c.Client(f)
	served := servedVersions(f, cl)
	c.CreateTopic(f, "fuzz", 1, 1, nil)
	produceAll(f, cl, &kgo.Record{Topic: "fuzz", Value: []byte("seed")})

	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	for key, vr := range served {
		for v := vr[0]; v <= vr[1]; v++ {
			if !fuzzing && v != vr[0] && v != vr[1] {
				continue
			}
			f.Add(key, v, api.GuardEncode(key, v, false))
			f.Add(key, v, api.GuardEncode(key, v, true))
		}
	}
	for _, req := range stateSeeds() {
		v := min(req.MaxVersion(), served[req.Key()][1])
		req.SetVersion(v)
		f.Add(req.Key(), v, req.AppendTo(nil))
	}

	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		vr, ok := served[key]
		if !ok || version < vr[0] || version > vr[1] || !api.GuardAccepts(key, version, body) {
			return // refused before any handler: FuzzRequest's ground
		}
		sendRaw(t, addr, key, version, body)
		if msg := panics.take(); msg != "" {
			t.Fatalf("key %d v%d: a handler panicked:\n%s", key, version, msg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
			t.Fatalf("key %d v%d: the broker stopped answering Metadata: %v", key, version, err)
		}
	})
}

// stateSeeds are requests about the state FuzzHandle sets up: topic fuzz
// (one partition, one record), and a group and producer of their own.
func stateSeeds() []kmsg.Request {
	topic := kmsg.StringPtr("fuzz")
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = topic
	meta.Topics = append(meta.Topics, mt)

	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes = 10, 1, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fuzz"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)

	list := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "fuzz"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp, lp.CurrentLeaderEpoch = -1, -1
	lt.Partitions = append(lt.Partitions, lp)
	list.Topics = append(list.Topics, lt)

	produce := kmsg.NewPtrProduceRequest()
	produce.Acks, produce.TimeoutMillis = -1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = seedBatch()
	pt.Partitions = append(pt.Partitions, pp)
	produce.Topics = append(produce.Topics, pt)

	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "fuzz-new", 2, 1
	cc := kmsg.NewCreateTopicsRequestTopicConfig()
	cc.Name, cc.Value = "cleanup.policy", kmsg.StringPtr("compact")
	ct.Configs = append(ct.Configs, cc)
	create.Topics = append(create.Topics, ct)
	create.TimeoutMillis = 1000

	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "fuzz-group", 100, 100, "consumer"
	jp := kmsg.NewJoinGroupRequestProtocol()
	jp.Name, jp.Metadata = "range", []byte{0, 1, 0, 0, 0, 1, 0, 4, 'f', 'u', 'z', 'z', 0, 0, 0, 0}
	join.Protocols = append(join.Protocols, jp)

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "fuzz-group", -1
	ot := kmsg.NewOffsetCommitRequestTopic()
	ot.Topic = "fuzz"
	op := kmsg.NewOffsetCommitRequestTopicPartition()
	op.Offset, op.LeaderEpoch = 1, -1
	ot.Partitions = append(ot.Partitions, op)
	commit.Topics = append(commit.Topics, ot)

	pid := kmsg.NewPtrInitProducerIDRequest()
	pid.ProducerID, pid.ProducerEpoch = -1, -1

	del := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "fuzz"
	dp := kmsg.NewDeleteRecordsRequestTopicPartition()
	dp.Offset = 0
	dt.Partitions = append(dt.Partitions, dp)
	del.Topics = append(del.Topics, dt)
	del.TimeoutMillis = 1000

	configs := kmsg.NewPtrIncrementalAlterConfigsRequest()
	cr := kmsg.NewIncrementalAlterConfigsRequestResource()
	cr.ResourceType, cr.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
	crc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	crc.Name, crc.Value = "retention.ms", kmsg.StringPtr("60000")
	cr.Configs = append(cr.Configs, crc)
	configs.Resources = append(configs.Resources, cr)

	return []kmsg.Request{meta, fetch, list, produce, create, join, commit, pid, del, configs}
}

// seedBatch is a valid v2 batch of one record.
func seedBatch() []byte {
	b := record.NewBuilder(record.CodecNone)
	b.Add(1, nil, []byte("fuzz"), nil)
	raw, err := b.Build(nil)
	if err != nil {
		panic(err)
	}
	return raw
}

// sendRaw writes one request frame on a new connection and waits a little
// for its answer; a request the broker holds (a long poll) or answers by
// closing the connection is as good as an answer.
func sendRaw(t *testing.T, addr string, key, version int16, body []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	frame := requestFrame(key, version, 1, body)
	conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := conn.Write(frame); err != nil {
		return
	}
	br := bufio.NewReader(conn)
	var size [4]byte
	if _, err := io.ReadFull(br, size[:]); err == nil {
		io.CopyN(io.Discard, br, int64(binary.BigEndian.Uint32(size[:])))
	}
}

// servedVersions asks the broker which versions of which requests it
// serves.
func servedVersions(tb testing.TB, cl *kgo.Client) map[int16][2]int16 {
	tb.Helper()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctxT(tb), cl)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		out[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	return out
}

// panicCatcher is a log handler that keeps the server's reports of
// recovered panics and drops everything else.
type panicCatcher struct {
	mu     sync.Mutex
	caught []string
}

func (p *panicCatcher) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

func (p *panicCatcher) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "panic") {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, "\n%s: %v", a.Key, a.Value)
		return true
	})
	p.mu.Lock()
	p.caught = append(p.caught, b.String())
	p.mu.Unlock()
	return nil
}

func (p *panicCatcher) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicCatcher) WithGroup(string) slog.Handler      { return p }

// take returns what was caught since the last call, or "".
func (p *panicCatcher) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := strings.Join(p.caught, "\n\n")
	p.caught = nil
	return s
}
