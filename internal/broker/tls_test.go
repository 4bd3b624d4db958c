package broker_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
	c := clustertest.StartN(t, 3, clustertest.WithProps(pki.BrokerProps(t, "SSL", map[string]string{"ssl.client.auth": "required"})),
		clustertest.WithClientOpts(kgo.DialTLSConfig(pki.ClientTLS(t))))
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

// A certificate changed at run time, as Kafka operators rotate them:
// kafka-configs.sh --alter --entity-type brokers --entity-name 1
// --add-config listener.name.<l>.ssl.keystore.location=FILE. New
// connections get the new certificate; setting the location it already has
// re-reads the file (a certificate renewed in place); a keystore that cannot
// be read is refused with INVALID_CONFIG and the listener keeps serving; a
// restart keeps the committed location.
func TestKeystoreChangesAtRunTime(t *testing.T) {
	oldPKI, newPKI := authtest.New(t), authtest.New(t)
	oldKeystore := authtest.WriteFile(t, "old.pem", oldPKI.ServerKey, oldPKI.ServerCert)
	rotating := authtest.WriteFile(t, "rotating.pem", newPKI.ServerKey, newPKI.ServerCert)
	both := oldPKI.Pool.Clone()
	both.AppendCertsFromPEM(newPKI.CA)
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{
		"listener.security.protocol.map": "PLAINTEXT:SSL,CONTROLLER:PLAINTEXT",
		"ssl.keystore.type":              "PEM",
		"ssl.keystore.location":          oldKeystore,
	}), clustertest.WithClientOpts(kgo.DialTLSConfig(&tls.Config{RootCAs: both})))
	addr := c.Addrs()[0]
	// trusted reports whether a client trusting only pki's authority
	// completes a handshake with the listener now.
	trusted := func(pki *authtest.PKI) bool {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"})
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}
	setKeystore := func(path string) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resps, err := c.Admin(t).AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig,
			Name: "listener.name.plaintext.ssl.keystore.location", Value: kadm.StringPtr(path)}}, 1)
		if err == nil {
			err = resps[0].Err
		}
		return err
	}
	if !trusted(oldPKI) || trusted(newPKI) {
		t.Fatal("at start the listener should show the old certificate")
	}
	if err := setKeystore(rotating); err != nil {
		t.Fatal(err)
	}
	if trusted(oldPKI) || !trusted(newPKI) {
		t.Fatal("after the change the listener should show the new certificate")
	}
	// The file is renewed in place, with a certificate of the old
	// authority, and the same location set again.
	if err := os.WriteFile(rotating, append(slices.Clone(oldPKI.ServerKey), oldPKI.ServerCert...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := setKeystore(rotating); err != nil {
		t.Fatal(err)
	}
	if !trusted(oldPKI) {
		t.Fatal("setting the same location again did not re-read the file")
	}
	if err := setKeystore("/nonexistent/keystore.pem"); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("a keystore that cannot be read: %v, want INVALID_CONFIG", err)
	}
	if !trusted(oldPKI) {
		t.Fatal("a refused change disturbed the listener")
	}
	// The legacy AlterConfigs, which replaces the broker's dynamic configs
	// whole, is checked the same way.
	legacy := kmsg.NewPtrAlterConfigsRequest()
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "1"
	cfg := kmsg.NewAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = "listener.name.plaintext.ssl.keystore.location", kmsg.StringPtr("/nonexistent/keystore.pem")
	res.Configs = append(res.Configs, cfg)
	legacy.Resources = append(legacy.Resources, res)
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	lresp, err := legacy.RequestWith(lctx, c.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	if code := lresp.Resources[0].ErrorCode; code != kerr.InvalidConfig.Code {
		t.Fatalf("legacy AlterConfigs with a missing keystore: %v, want INVALID_CONFIG", kerr.ErrorForCode(code))
	}
	// A certificate with another subject is refused unless
	// ssl.allow.dn.changes allows it (KIP-978); checked without committing.
	otherSubject := authtest.WriteFile(t, "client-as-broker.pem", oldPKI.ClientKey, oldPKI.ClientCert)
	validate := func(cfgs ...kadm.AlterConfig) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resps, err := c.Admin(t).ValidateAlterBrokerConfigs(ctx, cfgs, 1)
		if err == nil {
			err = resps[0].Err
		}
		return err
	}
	moveTo := kadm.AlterConfig{Op: kadm.SetConfig, Name: "listener.name.plaintext.ssl.keystore.location", Value: kadm.StringPtr(otherSubject)}
	if err := validate(moveTo); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("a certificate for CN=client in place of CN=broker: %v, want INVALID_CONFIG", err)
	}
	allow := kadm.AlterConfig{Op: kadm.SetConfig, Name: "listener.name.plaintext.ssl.allow.dn.changes", Value: kadm.StringPtr("true")}
	if err := validate(moveTo, allow); err != nil {
		t.Fatalf("the same with ssl.allow.dn.changes=true: %v", err)
	}
	if !trusted(oldPKI) {
		t.Fatal("a validation changed the listener")
	}

	// Another broker config changing does not re-read the keystore: the
	// file renewed in place shows only once its location is set again.
	if err := os.WriteFile(rotating, append(slices.Clone(newPKI.ServerKey), newPKI.ServerCert...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2000000", "3000000"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resps, err := c.Admin(t).AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "message.max.bytes", Value: kadm.StringPtr(v)}}, 1)
		cancel()
		if err == nil {
			err = resps[0].Err
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Metadata is applied in order, so once the second value shows, the
	// first change was handled.
	clustertest.WaitFor(t, "the broker applies message.max.bytes=3000000", 10*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rcs, err := c.Admin(t).DescribeBrokerConfigs(ctx, 1)
		if err != nil {
			return false, err.Error()
		}
		cfg, err := rcs.On("1", nil)
		if err != nil || cfg.Err != nil {
			return false, fmt.Sprint(err, cfg.Err)
		}
		for _, e := range cfg.Configs {
			if e.Key == "message.max.bytes" {
				return e.MaybeValue() == "3000000", e.MaybeValue()
			}
		}
		return false, "not described"
	})
	if !trusted(oldPKI) || trusted(newPKI) {
		t.Fatal("a change of message.max.bytes re-read the keystore")
	}

	// After a restart the committed location applies, not server.properties'.
	if err := os.WriteFile(rotating, append(slices.Clone(newPKI.ServerKey), newPKI.ServerCert...), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Restart(0)
	addr = c.Addrs()[0]
	if trusted(oldPKI) || !trusted(newPKI) {
		t.Fatal("after a restart the listener should show the keystore location set at run time")
	}
}

// An unprefixed ssl.* setting changed on a broker applies to every SSL
// listener that does not set it with its listener prefix, as in Kafka:
// ssl.client.auth=required turns away clients without a certificate, and
// listener.name.<l>.ssl.client.auth, dynamic or static, wins over it.
func TestUnprefixedTLSSettingsAtRunTime(t *testing.T) {
	pki := authtest.New(t)
	c := clustertest.Start(t, clustertest.WithProps(pki.BrokerProps(t, "PLAINTEXT", nil)),
		clustertest.WithClientOpts(kgo.DialTLSConfig(pki.ClientTLS(t))))
	addr := c.Addrs()[0]
	// anonymousServed reports whether a client without a certificate gets
	// an ApiVersions answer.
	anonymousServed := func() bool {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"})
		if err != nil {
			return false
		}
		defer conn.Close()
		return answersApiVersions(conn)
	}
	alter := func(name, value string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resps, err := c.Admin(t).AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: kadm.StringPtr(value)}}, 1)
		if err == nil {
			err = resps[0].Err
		}
		if err != nil {
			t.Fatalf("%s=%s: %v", name, value, err)
		}
	}
	if !anonymousServed() {
		t.Fatal("ssl.client.auth=none at start, but a client without a certificate was turned away")
	}
	alter("ssl.client.auth", "required")
	if anonymousServed() {
		t.Fatal("after ssl.client.auth=required, a client without a certificate was served")
	}
	alter("listener.name.plaintext.ssl.client.auth", "none")
	if !anonymousServed() {
		t.Fatal("the listener's own ssl.client.auth=none should win over the broker's required")
	}
}
