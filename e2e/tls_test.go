package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/auth/authtest"
	"github.com/samsa-io/samsa/internal/clustertest"
)

// SSL listeners, with the clients people use over TLS: franz-go, kcat and
// confluent-kafka over a listener with server authentication, and kcat over
// one that requires client certificates (mutual TLS). The broker's own
// traffic stays on its PLAINTEXT listener.
func TestTLSListeners(t *testing.T) {
	pki := authtest.New(t)
	keystore := authtest.WriteFile(t, "broker.pem", pki.ServerKey, pki.ServerCert)
	ca := authtest.WriteFile(t, "ca.pem", pki.CA)
	clientCert := authtest.WriteFile(t, "client.pem", pki.ClientCert)
	clientKey := authtest.WriteFile(t, "client.key", pki.ClientKey)
	sslAddr := "127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t))
	mtlsAddr := "127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t))
	b := startBroker(t, func(b *Broker) {
		b.props["listeners"] += ",SSL://" + sslAddr + ",MTLS://" + mtlsAddr
		b.props["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,MTLS:SSL"
		b.props["ssl.keystore.type"] = "PEM"
		b.props["ssl.keystore.location"] = keystore
		b.props["listener.name.mtls.ssl.client.auth"] = "required"
		b.props["listener.name.mtls.ssl.truststore.type"] = "PEM"
		b.props["listener.name.mtls.ssl.truststore.location"] = ca
	})
	const topic = "secured"
	createTopic(t, b.Admin(t), topic, 2)

	// franz-go: Metadata on the SSL listener names the SSL listener's
	// address, so every connection it makes is TLS.
	tlsClient := newClient(t, kgo.SeedBrokers(sslAddr), kgo.DialTLSConfig(&tls.Config{RootCAs: pki.Pool}),
		kgo.DefaultProduceTopic(topic), kgo.ConsumeTopics(topic), kgo.FetchMaxWait(500*time.Millisecond))
	var sent []string
	for i := range 20 {
		v := fmt.Sprintf("franz-%d", i)
		if err := tlsClient.ProduceSync(testContext(t, 30*time.Second), &kgo.Record{Key: []byte(strconv.Itoa(i % 4)), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce over TLS: %v", err)
		}
		sent = append(sent, v)
	}
	ctx := testContext(t, 30*time.Second)
	var got []string
	for len(got) < len(sent) {
		fs := tlsClient.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume over TLS: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	slices.Sort(got)
	slices.Sort(sent)
	if !slices.Equal(got, sent) {
		t.Errorf("read back over TLS %v, want %v", got, sent)
	}
	if md, err := b.Admin(t).BrokerMetadata(testContext(t, 10*time.Second)); err != nil || len(md.Brokers) != 1 ||
		net.JoinHostPort(md.Brokers[0].Host, strconv.Itoa(int(md.Brokers[0].Port))) != b.Addr {
		t.Errorf("the PLAINTEXT listener's Metadata names %+v (%v), want %s", md.Brokers, err, b.Addr)
	}

	// samsa's own kafka-topics.sh with Kafka's client properties.
	clientProps := authtest.WriteFile(t, "client.properties",
		[]byte("security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location="+ca+"\n"))
	if r := runTool(t, 60*time.Second, "", samsaBin, "kafka-topics.sh", "--bootstrap-server", sslAddr,
		"--command-config", clientProps, "--describe", "--topic", topic); r.Err != nil ||
		!strings.Contains(r.Stdout, "Topic: "+topic+"\tTopicId: ") || strings.Count(r.Stdout, "\tPartition: ") != 2 {
		t.Errorf("kafka-topics.sh --describe over TLS:\n%s", r)
	}
	// The same on the listener that requires client certificates: refused
	// without a key store, served with a PEM one.
	if r := runTool(t, 60*time.Second, "", samsaBin, "kafka-topics.sh", "--bootstrap-server", mtlsAddr,
		"--command-config", clientProps, "--describe", "--topic", topic); r.Err == nil {
		t.Errorf("kafka-topics.sh without a client certificate was served by the mTLS listener:\n%s", r)
	}
	mtlsProps := authtest.WriteFile(t, "mtls.properties", []byte("security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location="+ca+
		"\nssl.keystore.type=PEM\nssl.keystore.location="+authtest.WriteFile(t, "client-keystore.pem", pki.ClientKey, pki.ClientCert)+"\n"))
	if r := runTool(t, 60*time.Second, "", samsaBin, "kafka-topics.sh", "--bootstrap-server", mtlsAddr,
		"--command-config", mtlsProps, "--describe", "--topic", topic); r.Err != nil || strings.Count(r.Stdout, "\tPartition: ") != 2 {
		t.Errorf("kafka-topics.sh with a PEM key store over mTLS:\n%s", r)
	}

	// kcat, server authentication only.
	needKcat(t)
	kcatSSL := func(stdin, addr string, extra []string, args ...string) toolResult {
		t.Helper()
		all := append([]string{"-b", addr, "-X", "security.protocol=ssl", "-X", "ssl.ca.location=" + ca}, extra...)
		return runTool(t, 60*time.Second, stdin, "kcat", append(all, args...)...)
	}
	if r := kcatSSL("kcat-1\nkcat-2\nkcat-3\n", sslAddr, nil, "-P", "-t", topic, "-p", "0"); r.Err != nil {
		t.Fatalf("kcat produce over TLS:\n%s", r)
	}
	if r := kcatSSL("", sslAddr, nil, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"); r.Err != nil ||
		!strings.HasSuffix(r.Stdout, "kcat-1\nkcat-2\nkcat-3\n") {
		t.Errorf("kcat consume over TLS: want kcat-1..3 at the end of partition 0;\n%s", r)
	}

	// confluent-kafka over TLS: produce with delivery reports, then read
	// partition 1 back.
	needPython(t, "confluent_kafka", "python3-confluent-kafka")
	out := python(t, confluentTLS, sslAddr, ca, topic)
	if !strings.Contains(out, "delivered 5\n") || !strings.Contains(out, "read ck-0 ck-1 ck-2 ck-3 ck-4\n") {
		t.Errorf("confluent-kafka over TLS printed\n%s", out)
	}

	// Mutual TLS: without a client certificate kcat gets nothing; with
	// one it reads what the others wrote.
	listing := []string{"-L", "-t", topic, "-m", "5"}
	if r := kcatSSL("", mtlsAddr, nil, listing...); r.Err == nil {
		t.Errorf("kcat without a client certificate listed metadata from the mTLS listener:\n%s", r)
	}
	withCert := []string{"-X", "ssl.certificate.location=" + clientCert, "-X", "ssl.key.location=" + clientKey}
	if r := kcatSSL("", mtlsAddr, withCert, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"); r.Err != nil ||
		!strings.Contains(r.Stdout, "kcat-3\n") {
		t.Errorf("kcat with a client certificate over mTLS:\n%s", r)
	}

	// A plain client on the SSL port gets no Kafka answer.
	plain := newClient(t, kgo.SeedBrokers(sslAddr), kgo.RequestRetries(0), kgo.DialTimeout(2*time.Second))
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(testContext(t, 10*time.Second), plain); err == nil {
		t.Error("a client without TLS got a Metadata answer from the SSL listener")
	}
}

// Replication and the metadata quorum over mutual TLS, on real processes.
// Clients keep the PLAINTEXT listener; the inter-broker listener (INTERNAL)
// and the controller listener speak SSL and require client certificates.
// Names are not checked (ssl.endpoint.identification.algorithm empty), as
// the test's certificate cannot name the cluster's 127.X.Y.i addresses
// before they are picked; chains are. Node 4, a broker only, follows the
// quorum as a learner reached on its INTERNAL listener, leads a partition
// and follows the others. It is killed under an acks=all idempotent
// producer and started again: it returns to every ISR only by fetching
// over TLS, and the producer's acknowledged records are all there, in
// order, once each.
func TestClusterOverMutualTLS(t *testing.T) {
	pki := authtest.New(t)
	keystore := authtest.WriteFile(t, "broker.pem", pki.ServerKey, pki.ServerCert)
	ca := authtest.WriteFile(t, "ca.pem", pki.CA)
	secure := func(b *Broker) {
		host, _, err := net.SplitHostPort(b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		internal := "INTERNAL://" + net.JoinHostPort(host, "9094")
		b.props["listeners"] += "," + internal
		b.props["advertised.listeners"] += "," + internal
	}
	c := startCluster(t, 3, withNodeProps(append(slices.Clone(fastFailover),
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SSL,CONTROLLER:SSL",
		"inter.broker.listener.name", "INTERNAL",
		"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore,
		"ssl.truststore.type", "PEM", "ssl.truststore.location", ca,
		"ssl.client.auth", "required", "ssl.endpoint.identification.algorithm", "")...),
		func(c *Cluster) { c.nodeOpts = append(c.nodeOpts, secure) })
	n := c.addedBrokerLeadsAndRejoins("sealed")

	// The INTERNAL listener serves nothing without TLS.
	plain := newClient(t, kgo.SeedBrokers(net.JoinHostPort(n.Host, "9094")), kgo.RequestRetries(0), kgo.DialTimeout(2*time.Second))
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(testContext(t, 10*time.Second), plain); err == nil {
		t.Error("a client without TLS got a Metadata answer from the INTERNAL listener")
	}
}

// confluentTLS produces ck-0..4 to partition 1 of topic argv[3] over TLS
// (CA file argv[2]) and reads partition 1 back.
const confluentTLS = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING

conf = {'bootstrap.servers': sys.argv[1], 'security.protocol': 'SSL', 'ssl.ca.location': sys.argv[2]}
topic = sys.argv[3]
delivered = []
p = Producer(dict(conf, **{'enable.idempotence': True}))
for i in range(5):
    p.produce(topic, value='ck-%d' % i, partition=1, on_delivery=lambda err, msg: delivered.append(err))
p.flush(30)
print('delivered %d' % sum(1 for e in delivered if e is None))

c = Consumer(dict(conf, **{'group.id': 'tls-reader', 'enable.auto.commit': False}))
c.assign([TopicPartition(topic, 1, OFFSET_BEGINNING)])
seen = []
for _ in range(100):
    m = c.poll(1.0)
    if m is None or m.error():
        if len(seen) >= 5:
            break
        continue
    if m.value().decode().startswith('ck-'):
        seen.append(m.value().decode())
    if len(seen) == 5:
        break
c.close()
print('read ' + ' '.join(seen))
`
