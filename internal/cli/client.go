package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// client.go turns "where is the cluster and how do I talk to it" into a kgo
// client. The broker list comes from, in order: the command's flag
// (-b/--brokers, --bootstrap-server, --broker-list), bootstrap.servers in the
// client properties, $SAMSA_BROKERS, localhost:9092. Client properties use
// Kafka's names; clientOpts maps the ones with a kgo equivalent and warns
// once about each one it ignores.

const defaultBrokers = "localhost:9092"

// seedBrokers picks the broker list; flagVal is the command-line value, "" if
// not given.
func (e *env) seedBrokers(flagVal string, p *props) []string {
	list := flagVal
	if list == "" {
		list, _ = p.Get("bootstrap.servers")
	}
	if list == "" {
		list = e.getenv("SAMSA_BROKERS")
	}
	if list == "" {
		list = defaultBrokers
	}
	var out []string
	for b := range strings.SplitSeq(list, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// clientRole says which client properties apply: a producer ignores consumer
// settings without a warning and the other way round.
type clientRole int

const (
	roleAdmin clientRole = iota
	roleProducer
	roleConsumer
)

// ignoredProps are Kafka client properties that have no kgo equivalent and
// are harmless to drop; they appear in every stock producer.properties and
// consumer.properties, so warning about them would be noise.
var ignoredProps = map[string]bool{
	"key.serializer": true, "value.serializer": true,
	"key.deserializer": true, "value.deserializer": true,
	"send.buffer.bytes": true, "receive.buffer.bytes": true,
	"max.block.ms": true, "max.request.size": true, "check.crcs": true,
	"max.poll.records": true, "max.poll.interval.ms": true,
	"reconnect.backoff.ms": true, "reconnect.backoff.max.ms": true,
	"socket.connection.setup.timeout.ms": true, "default.api.timeout.ms": true,
	"group.id": true, "auto.offset.reset": true, "enable.auto.commit": true,
	"bootstrap.servers": true, "ssl.protocol": true, "ssl.enabled.protocols": true,
	"client.dns.lookup": true, "exclude.internal.topics": true,
	"interceptor.classes": true, "metric.reporters": true, "topic": true,
}

// clientOpts maps client properties to kgo options. Unknown properties and
// ones whose value cannot be honoured produce a warning on stderr.
func (e *env) clientOpts(p *props, role clientRole) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	idempotent := true
	inflight := 0
	for _, k := range p.Keys() {
		v, _ := p.Get(k)
		v = strings.TrimSpace(v)
		o, err := mapProp(k, v, role, &idempotent, &inflight)
		if err != nil {
			return nil, fmt.Errorf("client property %s=%s: %w", k, v, err)
		}
		if o == nil {
			continue
		}
		opts = append(opts, o...)
	}
	if role == roleProducer && !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
		if inflight > 0 {
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(inflight))
		}
	}
	sec, err := e.securityOpts(p)
	if err != nil {
		return nil, err
	}
	opts = append(opts, sec...)
	for _, k := range p.Keys() {
		if !knownProp(k) {
			e.warnf("client property %q is not supported and is ignored", k)
		}
	}
	return opts, nil
}

// mappedProps lists every property mapProp understands, for knownProp.
var mappedProps = regexp.MustCompile(`^(client\.id|request\.timeout\.ms|retries|retry\.backoff\.ms|` +
	`metadata\.max\.age\.ms|connections\.max\.idle\.ms|acks|enable\.idempotence|linger\.ms|batch\.size|` +
	`compression\.type|max\.in\.flight\.requests\.per\.connection|delivery\.timeout\.ms|buffer\.memory|` +
	`isolation\.level|fetch\.max\.bytes|max\.partition\.fetch\.bytes|fetch\.min\.bytes|fetch\.max\.wait\.ms|` +
	`session\.timeout\.ms|heartbeat\.interval\.ms|auto\.commit\.interval\.ms|partition\.assignment\.strategy|` +
	`security\.protocol|sasl\.mechanism|sasl\.jaas\.config|ssl\.truststore\.location|ssl\.truststore\.type|` +
	`ssl\.endpoint\.identification\.algorithm|ssl\.keystore\.location|ssl\.keystore\.type|ssl\.key\.password|` +
	`ssl\.truststore\.password|ssl\.keystore\.password)$`)

func knownProp(k string) bool { return ignoredProps[k] || mappedProps.MatchString(k) }

// mapProp maps one property. It returns nil options for properties that do
// not apply to role or are handled elsewhere.
func mapProp(k, v string, role clientRole, idempotent *bool, inflight *int) ([]kgo.Opt, error) {
	one := func(o kgo.Opt) ([]kgo.Opt, error) { return []kgo.Opt{o}, nil }
	producer, consumer := role == roleProducer, role == roleConsumer
	switch k {
	case "client.id":
		return one(kgo.ClientID(v))
	case "metadata.max.age.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.MetadataMaxAge(d))
	case "connections.max.idle.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.ConnIdleTimeout(d))
	case "retry.backoff.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.RetryBackoffFn(func(int) time.Duration { return d }))
	}
	if producer {
		return mapProducerProp(k, v, idempotent, inflight)
	}
	if consumer {
		return mapConsumerProp(k, v)
	}
	return nil, nil
}

func mapProducerProp(k, v string, idempotent *bool, inflight *int) ([]kgo.Opt, error) {
	one := func(o kgo.Opt) ([]kgo.Opt, error) { return []kgo.Opt{o}, nil }
	switch k {
	case "acks":
		switch v {
		case "all", "-1":
			return one(kgo.RequiredAcks(kgo.AllISRAcks()))
		case "1":
			*idempotent = false
			return one(kgo.RequiredAcks(kgo.LeaderAck()))
		case "0":
			*idempotent = false
			return one(kgo.RequiredAcks(kgo.NoAck()))
		}
		return nil, errors.New("acks must be all, -1, 0 or 1")
	case "enable.idempotence":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, err
		}
		if !b {
			*idempotent = false
		}
		return nil, nil
	case "max.in.flight.requests.per.connection":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errors.New("want a positive integer")
		}
		*inflight = n
		return nil, nil
	case "linger.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.ProducerLinger(d))
	case "batch.size":
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return nil, errors.New("want a positive integer")
		}
		return one(kgo.ProducerBatchMaxBytes(int32(n)))
	case "compression.type":
		c, err := codec(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.ProducerBatchCompression(c))
	case "request.timeout.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.ProduceRequestTimeout(d))
	case "delivery.timeout.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.RecordDeliveryTimeout(d))
	case "retries":
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.RecordRetries(n))
	case "buffer.memory":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, errors.New("want a positive integer")
		}
		return one(kgo.MaxBufferedBytes(int(n)))
	}
	return nil, nil
}

func mapConsumerProp(k, v string) ([]kgo.Opt, error) {
	one := func(o kgo.Opt) ([]kgo.Opt, error) { return []kgo.Opt{o}, nil }
	bytes := func() (int32, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return 0, errors.New("want a positive integer")
		}
		return int32(n), nil
	}
	switch k {
	case "isolation.level":
		switch v {
		case "read_committed":
			return one(kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		case "read_uncommitted":
			return one(kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
		}
		return nil, errors.New("want read_committed or read_uncommitted")
	case "fetch.max.bytes":
		n, err := bytes()
		if err != nil {
			return nil, err
		}
		return one(kgo.FetchMaxBytes(n))
	case "max.partition.fetch.bytes":
		n, err := bytes()
		if err != nil {
			return nil, err
		}
		return one(kgo.FetchMaxPartitionBytes(n))
	case "fetch.min.bytes":
		n, err := bytes()
		if err != nil {
			return nil, err
		}
		return one(kgo.FetchMinBytes(n))
	case "fetch.max.wait.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.FetchMaxWait(d))
	case "session.timeout.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.SessionTimeout(d))
	case "heartbeat.interval.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.HeartbeatInterval(d))
	case "auto.commit.interval.ms":
		d, err := propMillis(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.AutoCommitInterval(d))
	case "partition.assignment.strategy":
		bs, err := balancers(v)
		if err != nil {
			return nil, err
		}
		return one(kgo.Balancers(bs...))
	}
	return nil, nil
}

// kafkaAssignors is the Java consumer's partition.assignment.strategy
// default, which the Kafka tool personalities keep: every member lists range
// first, so a group of them is balanced by range, and can move to
// cooperative-sticky by a rolling change of the setting.
const kafkaAssignors = "org.apache.kafka.clients.consumer.RangeAssignor," +
	"org.apache.kafka.clients.consumer.CooperativeStickyAssignor"

// balancers maps a partition.assignment.strategy list to kgo's balancers, in
// the list's order of preference. It takes the Java client's class names and
// librdkafka's short names.
func balancers(list string) ([]kgo.GroupBalancer, error) {
	var bs []kgo.GroupBalancer
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		short := strings.TrimPrefix(name, "org.apache.kafka.clients.consumer.")
		switch strings.ToLower(short) {
		case "rangeassignor", "range":
			bs = append(bs, kgo.RangeBalancer())
		case "roundrobinassignor", "roundrobin":
			bs = append(bs, kgo.RoundRobinBalancer())
		case "stickyassignor", "sticky":
			bs = append(bs, kgo.StickyBalancer())
		case "cooperativestickyassignor", "cooperative-sticky":
			bs = append(bs, kgo.CooperativeStickyBalancer())
		default:
			return nil, fmt.Errorf("unknown assignor %q (want range, roundrobin, sticky or cooperative-sticky, or their Java class names)", name)
		}
	}
	if len(bs) == 0 {
		return nil, errors.New("no assignor named")
	}
	return bs, nil
}

func propMillis(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want milliseconds")
	}
	return time.Duration(n) * time.Millisecond, nil
}

// codec maps Kafka's compression names to a kgo codec.
func codec(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "uncompressed", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// newClient builds a kgo client for the brokers and properties; extra
// options come last and so win over the properties.
func (e *env) newClient(brokers []string, p *props, role clientRole, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := e.clientOpts(p, role)
	if err != nil {
		return nil, err
	}
	all := append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)
	all = append(all, extra...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return cl, nil
}
