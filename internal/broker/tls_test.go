package broker_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/auth/authtest"
	"github.com/samsa-io/samsa/internal/clustertest"
)

// SSL on every listener, with client certificates required: clients,
// replication, requests forwarded to the controller and the metadata
// quorum's raft traffic all run over mutual TLS. The fourth node is broker
// only, so the quorum's leader reaches it as a learner on its inter-broker
// listener, where the handshake comes before raft and the Kafka protocol
// are told apart, and followers fetch from it through that same listener.
func TestClusterOverMutualTLS(t *testing.T) {
	pki := authtest.New(t)
	clientCert, err := tls.X509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	c := clustertest.StartN(t, 3, clustertest.WithProps(map[string]string{
		"listener.security.protocol.map": "PLAINTEXT:SSL,CONTROLLER:SSL",
		"ssl.keystore.type":              "PEM",
		"ssl.keystore.location":          authtest.WriteFile(t, "broker.pem", pki.ServerKey, pki.ServerCert),
		"ssl.truststore.type":            "PEM",
		"ssl.truststore.location":        authtest.WriteFile(t, "ca.pem", pki.CA),
		"ssl.client.auth":                "required",
	}), clustertest.WithClientOpts(kgo.DialTLSConfig(&tls.Config{RootCAs: pki.Pool, Certificates: []tls.Certificate{clientCert}})))
	c.AddBroker()

	const topic, parts = "sealed", 4
	c.CreateTopic(t, topic, parts, 3, map[string]*string{"min.insync.replicas": new("2")})
	adm := c.Admin(t)
	if !slices.Contains(leaders(t, adm, topic, parts), 4) {
		t.Fatalf("leaders %v: the broker-only node leads no partition, so no follower fetches from it", leaders(t, adm, topic, parts))
	}

	cl := c.Client(t, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Records of 1 KiB: see the consumer below.
	const n = 400
	pad := strings.Repeat("x", 1024)
	sent := map[int32][]string{}
	for i := range n {
		r := &kgo.Record{Key: []byte(strconv.Itoa(i % 16)), Value: fmt.Appendf(nil, "v%d %s", i, pad)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("acks=all produce %d over TLS: %v", i, err)
		}
		sent[r.Partition] = append(sent[r.Partition], string(r.Value))
	}
	// A consumer that starts now reads the partitions from their start in
	// fetches larger than the server copies into its write buffer: it
	// sends the rest from the file, through TLS.
	cons := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[int32][]string{}
	for total := 0; total < n; {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", total, n, err)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Errorf("fetch partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			total++
		})
	}
	for p := range int32(parts) {
		if !slices.Equal(got[p], sent[p]) {
			t.Errorf("partition %d: consumed %d records, want the %d acknowledged, in order", p, len(got[p]), len(sent[p]))
		}
	}

	// Every follower fetched over TLS and is in sync.
	clustertest.WaitFor(t, "full ISRs", 30*time.Second, func() (bool, string) {
		for p := range int32(parts) {
			_, replicas, isr, err := clustertest.PartitionState(adm, topic, p)
			if err != nil || len(isr) != len(replicas) {
				return false, fmt.Sprintf("partition %d: replicas %v, ISR %v, err %v", p, replicas, isr, err)
			}
		}
		return true, ""
	})

	// A client without a certificate is refused.
	plain, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DialTLSConfig(&tls.Config{RootCAs: pki.Pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	if err := plain.Ping(pctx); err == nil {
		t.Error("a client without a certificate was served")
	}
}
