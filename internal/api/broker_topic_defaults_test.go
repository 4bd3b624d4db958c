package api_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// A topic-config default set on one broker's resource (kafka-configs.sh
// --entity-type brokers --entity-name 1; librdkafka and KafkaJS can name no
// other) applies on that broker, above the cluster-wide default and below
// a topic's override, and DescribeConfigs on that broker shows it as
// DYNAMIC_BROKER_CONFIG, as in Kafka.
func TestPerBrokerTopicDefaults(t *testing.T) {
	c := clustertest.StartN(t, 2)
	a, b := c.Node(0).ID, c.Node(1).ID
	ctx := ctxT(t)
	cl := c.Client(t, kgo.RecordRetries(0), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))

	// Partition 0 on broker a, partition 1 on broker b.
	createPlaced(t, cl, "pb", []int32{a}, []int32{b})

	adm := c.Admin(t)
	setOnA := func(op kadm.IncrementalOp, value string) {
		t.Helper()
		resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: op, Name: "message.max.bytes", Value: kadm.StringPtr(value)}}, a)
		if err == nil {
			err = resps[0].Err
		}
		if err != nil {
			t.Fatalf("alter broker %d: %v", a, err)
		}
	}
	setOnA(kadm.SetConfig, "1000")

	big := bytes.Repeat([]byte("x"), 2000)
	produce := func(p int32) error {
		return cl.ProduceSync(ctx, &kgo.Record{Topic: "pb", Partition: p, Value: big}).FirstErr()
	}
	clustertest.WaitFor(t, "broker a refuses 2000 bytes", 10*time.Second, func() (bool, string) {
		err := produce(0)
		return errors.Is(err, kerr.MessageTooLarge), "produce to broker a: " + errString(err)
	})
	if err := produce(1); err != nil {
		t.Fatalf("broker b took broker a's value: %v", err)
	}

	// DescribeConfigs on each broker: broker a's value there only.
	describe := func(node int32) kmsg.DescribeConfigsResponseResourceConfig {
		t.Helper()
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.IncludeSynonyms = true
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, "pb", []string{"max.message.bytes"}
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl.Broker(int(node)))
		if err != nil || resp.Resources[0].ErrorCode != 0 || len(resp.Resources[0].Configs) != 1 {
			t.Fatalf("describe on %d: %v %+v", node, err, resp)
		}
		return resp.Resources[0].Configs[0]
	}
	if e := describe(a); e.Value == nil || *e.Value != "1000" || e.Source != kmsg.ConfigSourceDynamicBrokerConfig ||
		len(e.ConfigSynonyms) == 0 || e.ConfigSynonyms[0].Name != "message.max.bytes" {
		t.Errorf("on broker a: %v from %v, synonyms %+v; want 1000 from DYNAMIC_BROKER_CONFIG", deref(e.Value), e.Source, e.ConfigSynonyms)
	}
	if e := describe(b); e.Value == nil || *e.Value != "1048588" || e.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("on broker b: %v from %v; want the default", deref(e.Value), e.Source)
	}

	// The topic's override beats it; deleting broker a's value restores the
	// default.
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("5000")}}, "pb"); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitFor(t, "the topic override applies on broker a", 10*time.Second, func() (bool, string) {
		err := produce(0)
		return err == nil, "produce to broker a: " + errString(err)
	})
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "max.message.bytes"}}, "pb"); err != nil {
		t.Fatal(err)
	}
	setOnA(kadm.DeleteConfig, "")
	clustertest.WaitFor(t, "broker a takes 2000 bytes again", 10*time.Second, func() (bool, string) {
		err := produce(0)
		return err == nil, "produce to broker a: " + errString(err)
	})
	if e := describe(a); e.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("after the delete, broker a's source is %v", e.Source)
	}

	// A value that does not validate is refused for a broker as for the
	// cluster.
	resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("soon")}}, a)
	if err == nil {
		err = resps[0].Err
	}
	if !errors.Is(err, kerr.InvalidConfig) {
		t.Errorf("log.retention.ms=soon on broker %d: %v, want INVALID_CONFIG", a, err)
	}

	// TLS settings of a listener the broker does not serve over SSL would
	// never be used: refused, not stored.
	resps, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "listener.name.ssl.ssl.keystore.location", Value: kadm.StringPtr("/etc/new.pem")}}, a)
	if err == nil {
		err = resps[0].Err
	}
	if !errors.Is(err, kerr.InvalidConfig) || !strings.Contains(resps[0].ErrMessage, "is not an SSL listener") {
		t.Errorf("a keystore for a listener that is not SSL, on broker %d: %v (%s), want INVALID_CONFIG", a, err, resps[0].ErrMessage)
	}
}

// createPlaced creates topic with partition i on replicas[i], the first
// replica its preferred leader.
func createPlaced(t testing.TB, cl *kgo.Client, topic string, replicas ...[]int32) {
	t.Helper()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, -1, -1
	for p, nodes := range replicas {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = int32(p), nodes
		ct.ReplicaAssignment = append(ct.ReplicaAssignment, ra)
	}
	create.Topics = append(create.Topics, ct)
	resp, err := create.RequestWith(ctxT(t), cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// A broker's configs are changed through that broker, as in Kafka: another
// broker answers INVALID_REQUEST for its resource, since only the broker
// named can check a change (its TLS files) before it is committed. Other
// resources of the same request are answered on their own.
func TestBrokerConfigsChangeOnlyThroughTheirBroker(t *testing.T) {
	c := clustertest.StartN(t, 2)
	a, b := c.Node(0).ID, c.Node(1).ID
	ctx := ctxT(t)
	cl := c.Client(t)
	createPlaced(t, cl, "own", []int32{a})
	toA := cl.Broker(int(a))
	bName := strconv.Itoa(int(b))
	wantUnexpected := fmt.Sprintf("Unexpected broker id, expected %d, but received %s", a, bName)
	check := func(what string, code int16, msg *string, wantCode int16, wantMsg string) {
		t.Helper()
		var got string
		if msg != nil {
			got = *msg
		}
		if code != wantCode || wantMsg != "" && got != wantMsg {
			t.Errorf("%s: error %d %q, want %d %q", what, code, got, wantCode, wantMsg)
		}
	}

	legacy := kmsg.NewPtrAlterConfigsRequest()
	for _, r := range []struct {
		typ        kmsg.ConfigResourceType
		name, k, v string
	}{
		{kmsg.ConfigResourceTypeBroker, bName, "message.max.bytes", "1000"},
		{kmsg.ConfigResourceTypeTopic, "own", "retention.ms", "60000"},
		{kmsg.ConfigResourceTypeBroker, "one", "message.max.bytes", "1000"},
	} {
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		cfg := kmsg.NewAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Value = r.k, kmsg.StringPtr(r.v)
		rr.Configs = append(rr.Configs, cfg)
		legacy.Resources = append(legacy.Resources, rr)
	}
	resp, err := legacy.RequestWith(ctx, toA)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 3 {
		t.Fatalf("legacy: %d answers for 3 resources", len(resp.Resources))
	}
	check("legacy, broker b", resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage, kerr.InvalidRequest.Code, wantUnexpected)
	check("legacy, topic", resp.Resources[1].ErrorCode, resp.Resources[1].ErrorMessage, 0, "")
	check("legacy, broker \"one\"", resp.Resources[2].ErrorCode, resp.Resources[2].ErrorMessage, kerr.InvalidRequest.Code, "Node id must be an integer, but it is: one")

	incr := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, name := range []string{bName, strconv.Itoa(int(a))} {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, name
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Value = "message.max.bytes", kmsg.StringPtr("1000")
		rr.Configs = append(rr.Configs, cfg)
		incr.Resources = append(incr.Resources, rr)
	}
	iresp, err := incr.RequestWith(ctx, toA)
	if err != nil {
		t.Fatal(err)
	}
	if len(iresp.Resources) != 2 {
		t.Fatalf("incremental: %d answers for 2 resources", len(iresp.Resources))
	}
	check("incremental, broker b", iresp.Resources[0].ErrorCode, iresp.Resources[0].ErrorMessage, kerr.InvalidRequest.Code, wantUnexpected)
	check("incremental, broker a itself", iresp.Resources[1].ErrorCode, iresp.Resources[1].ErrorMessage, 0, "")
}
