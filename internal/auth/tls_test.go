package auth

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/auth/authtest"
	"github.com/samsa-io/samsa/internal/config"
)

// brokerWith is a valid one-node configuration with an SSL listener and
// the given extra settings.
func brokerWith(t *testing.T, kv ...string) *config.Broker {
	t.Helper()
	props := map[string]string{
		"node.id": "1", "process.roles": "broker,controller", "controller.quorum.voters": "1@127.0.0.1:9093",
		"listeners": "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093",
		"log.dirs":  t.TempDir(),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		props[kv[i]] = kv[i+1]
	}
	b, _, err := config.FromMap(props)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTrip serves one TLS connection with cfg and reports whether a
// client with clientCfg could complete a write and read through it.
func roundTrip(t *testing.T, cfg, clientCfg *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err == nil {
			c.Write(buf)
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), clientCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	_, err = io.ReadFull(c, make([]byte, 4))
	return err
}

func TestServerTLSServesWithPEMKeystores(t *testing.T) {
	p := authtest.New(t)
	keystore := authtest.WriteFile(t, "broker.pem", p.ServerKey, p.ServerCert)
	trust := authtest.WriteFile(t, "ca.pem", p.CA)
	clientPair, err := tls.X509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	anon := &tls.Config{RootCAs: p.Pool, ServerName: "127.0.0.1"}
	withCert := &tls.Config{RootCAs: p.Pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{clientPair}}

	for _, tc := range []struct {
		name             string
		kv               []string
		anonOK, certOK   bool
		minVersion       uint16
		wantCipherSuites int
	}{
		{"keystore file", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore}, true, true, tls.VersionTLS12, 0},
		{"inline key and chain, listener-scoped", []string{"listener.name.ssl.ssl.keystore.type", "PEM",
			"listener.name.ssl.ssl.keystore.key", string(p.ServerKey), "listener.name.ssl.ssl.keystore.certificate.chain", string(p.ServerCert)}, true, true, tls.VersionTLS12, 0},
		{"client certificates required", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore,
			"ssl.truststore.type", "PEM", "ssl.truststore.location", trust, "ssl.client.auth", "required"}, false, true, tls.VersionTLS12, 0},
		{"client certificates requested", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore,
			"ssl.truststore.type", "PEM", "ssl.truststore.certificates", string(p.CA), "ssl.client.auth", "requested"}, true, true, tls.VersionTLS12, 0},
		{"TLS 1.3 only, and TLS 1.2 suites named", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore,
			"ssl.enabled.protocols", "TLSv1.3", "ssl.cipher.suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
			true, true, tls.VersionTLS13, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ServerTLS(brokerWith(t, tc.kv...), "SSL")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tc.minVersion || cfg.MaxVersion != tls.VersionTLS13 || len(cfg.CipherSuites) != tc.wantCipherSuites {
				t.Errorf("versions %x–%x, %d suites; want from %x, %d suites", cfg.MinVersion, cfg.MaxVersion, len(cfg.CipherSuites), tc.minVersion, tc.wantCipherSuites)
			}
			if err := roundTrip(t, cfg, anon); (err == nil) != tc.anonOK {
				t.Errorf("a client without a certificate: %v, want success %v", err, tc.anonOK)
			}
			if err := roundTrip(t, cfg, withCert); (err == nil) != tc.certOK {
				t.Errorf("a client with a certificate: %v, want success %v", err, tc.certOK)
			}
		})
	}
	// A client that does not trust the broker's authority fails.
	cfg, err := ServerTLS(brokerWith(t, "ssl.keystore.type", "PEM", "ssl.keystore.location", keystore), "SSL")
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t, cfg, &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("a client without the CA completed a handshake")
	}
}

func TestServerTLSRefusesWhatItCannotServe(t *testing.T) {
	p := authtest.New(t)
	keystore := authtest.WriteFile(t, "broker.pem", p.ServerKey, p.ServerCert)
	encrypted := authtest.WriteFile(t, "enc.pem", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), p.ServerCert)
	pemKS := []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore}
	for _, tc := range []struct {
		name string
		kv   []string
		want string
	}{
		{"no keystore", nil, "no keystore: set ssl.keystore.type=PEM"},
		{"a JKS keystore (Kafka's default type)", []string{"ssl.keystore.location", "/etc/kafka/broker.keystore.jks"}, "ssl.keystore.type=JKS: samsa reads PEM stores only"},
		{"a missing file", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", "/nonexistent.pem"}, "ssl.keystore.location: open /nonexistent.pem"},
		{"an encrypted key", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", encrypted, "ssl.key.password", "secret"}, "private key is encrypted"},
		{"a chain without its key", []string{"ssl.keystore.type", "PEM", "ssl.keystore.certificate.chain", string(p.ServerCert)}, "go together"},
		{"a key that does not match", []string{"ssl.keystore.type", "PEM", "ssl.keystore.key", string(p.ClientKey), "ssl.keystore.certificate.chain", string(p.ServerCert)}, "keystore: "},
		{"required without a truststore", append(pemKS, "ssl.client.auth", "required"), "ssl.client.auth=required needs the certificate authorities"},
		{"a PKCS12 truststore", append(pemKS, "ssl.truststore.type", "PKCS12", "ssl.truststore.location", "/ca.p12"), "ssl.truststore.type=PKCS12: samsa reads PEM stores only"},
		{"an empty truststore", append(pemKS, "ssl.truststore.type", "PEM", "ssl.truststore.certificates", "nothing"), "no PEM certificate"},
		{"TLS 1.1", append(pemKS, "ssl.enabled.protocols", "TLSv1.1,TLSv1.2"), "TLSv1.1 is not supported"},
		{"an unknown cipher suite", append(pemKS, "ssl.cipher.suites", "TLS_RSA_WITH_RC4_128_SHA"), "TLS_RSA_WITH_RC4_128_SHA is not a cipher suite samsa offers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ServerTLS(brokerWith(t, tc.kv...), "SSL")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "listener SSL (SSL): ") {
				t.Errorf("got %v, want an error about the SSL listener containing %q", err, tc.want)
			}
		})
	}
}

// ClientTLS is how a node connects to another's SSL listener: it trusts the
// truststore's authorities, checks the name it dialled unless
// ssl.endpoint.identification.algorithm is empty, and presents its keystore,
// when it has one, to a listener that requires client certificates.
func TestClientTLSConnectsToNodes(t *testing.T) {
	p := authtest.New(t)
	keystore := authtest.WriteFile(t, "broker.pem", p.ServerKey, p.ServerCert)
	trust := authtest.WriteFile(t, "ca.pem", p.CA)
	node := []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore,
		"ssl.truststore.type", "PEM", "ssl.truststore.location", trust, "ssl.client.auth", "required"}
	server, err := ServerTLS(brokerWith(t, node...), "SSL")
	if err != nil {
		t.Fatal(err)
	}
	// Another authority, which signed nothing the server shows.
	stranger := authtest.WriteFile(t, "other-ca.pem", authtest.New(t).CA)

	for _, tc := range []struct {
		name       string
		kv         []string
		serverName string // what the dialler would infer from the address
		ok         bool
	}{
		{"the name dialled is in the certificate", node, "127.0.0.1", true},
		{"another name, checked by default", node, "broker.example", false},
		{"another name, not checked", append(slices.Clone(node), "ssl.endpoint.identification.algorithm", ""), "broker.example", true},
		{"an authority that signed nothing, names not checked",
			append(slices.Clone(node), "ssl.truststore.location", stranger, "ssl.endpoint.identification.algorithm", ""), "127.0.0.1", false},
		{"no truststore: the system's authorities", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", keystore}, "127.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ClientTLS(brokerWith(t, tc.kv...), "SSL")
			if err != nil {
				t.Fatal(err)
			}
			cfg.ServerName = tc.serverName
			if err := roundTrip(t, server, cfg); (err == nil) != tc.ok {
				t.Errorf("round trip: %v, want success %v", err, tc.ok)
			}
		})
	}

	if _, err := ClientTLS(brokerWith(t, append(slices.Clone(node), "ssl.endpoint.identification.algorithm", "dns")...), "SSL"); err == nil ||
		!strings.Contains(err.Error(), "ssl.endpoint.identification.algorithm=dns") {
		t.Errorf("an unknown identification algorithm: %v", err)
	}

	// Without a keystore a node connects with no client certificate: a
	// listener that does not ask for one (ssl.client.auth=none) takes it,
	// one that requires one does not.
	trustOnly, err := ClientTLS(brokerWith(t, "ssl.truststore.type", "PEM", "ssl.truststore.location", trust), "SSL")
	if err != nil {
		t.Fatalf("a truststore without a keystore: %v", err)
	}
	trustOnly.ServerName = "127.0.0.1"
	noClientAuth, err := ServerTLS(brokerWith(t, node[:len(node)-2]...), "SSL")
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t, noClientAuth, trustOnly); err != nil {
		t.Errorf("no keystore, ssl.client.auth=none: %v", err)
	}
	if err := roundTrip(t, server, trustOnly.Clone()); err == nil {
		t.Error("no keystore, ssl.client.auth=required: the handshake completed")
	}
}

// Dynamic listener.name.<listener>.ssl.* values win over server.properties,
// on both sides of TLS.
func TestDynamicTLSSettingsWin(t *testing.T) {
	oldPKI, newPKI := authtest.New(t), authtest.New(t)
	b := brokerWith(t, "ssl.keystore.type", "PEM", "ssl.keystore.location", authtest.WriteFile(t, "old.pem", oldPKI.ServerKey, oldPKI.ServerCert))
	dynamic := map[string]string{"listener.name.ssl.ssl.keystore.location": authtest.WriteFile(t, "new.pem", newPKI.ServerKey, newPKI.ServerCert)}
	newLeaf, err := tls.X509KeyPair(newPKI.ServerCert, newPKI.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ServerTLSWith(b, dynamic, "SSL")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ClientTLSWith(b, dynamic, "SSL")
	if err != nil {
		t.Fatal(err)
	}
	for side, cfg := range map[string]*tls.Config{"server": server, "client": client} {
		if !bytes.Equal(cfg.Certificates[0].Certificate[0], newLeaf.Certificate[0]) {
			t.Errorf("%s side: not the dynamic keystore's certificate", side)
		}
	}
	// Another listener's dynamic value does not apply.
	other := map[string]string{"listener.name.other.ssl.keystore.location": "/nonexistent"}
	if _, err := ServerTLSWith(b, other, "SSL"); err != nil {
		t.Errorf("another listener's setting applied: %v", err)
	}
}
