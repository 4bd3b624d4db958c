// Package authtest makes certificates for tests of TLS listeners.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a certificate authority with a broker certificate (for 127.0.0.1
// and localhost, usable to serve and, between brokers, to connect) and a
// client certificate it signed, all as PEM, valid for an hour either side of
// now.
type PKI struct {
	CA                    []byte
	ServerCert, ServerKey []byte
	ClientCert, ClientKey []byte
	Pool                  *x509.CertPool // holds CA
}

// New makes a PKI with ECDSA P-256 keys, private keys as unencrypted PKCS#8.
func New(t testing.TB) *PKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "samsa test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, cn string, usage ...x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: usage, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	}
	p := &PKI{CA: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), Pool: x509.NewCertPool()}
	p.Pool.AddCert(ca)
	p.ServerCert, p.ServerKey = leaf(2, "broker", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	p.ClientCert, p.ClientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return p
}

// WriteFile writes the parts, one after another, to name in a new
// temporary directory, readable by its owner only, and returns its path.
func WriteFile(t testing.TB, name string, parts ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	var data []byte
	for _, p := range parts {
		data = append(data, p...)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// BrokerProps are the server.properties of a broker whose PLAINTEXT
// listener speaks SSL with p's broker certificate and trusts p's authority
// (for client certificates, once ssl.client.auth asks for them), merged
// with extra. The controller listener speaks ctrlProtocol.
func (p *PKI) BrokerProps(t testing.TB, ctrlProtocol string, extra map[string]string) map[string]string {
	t.Helper()
	props := map[string]string{
		"listener.security.protocol.map": "PLAINTEXT:SSL,CONTROLLER:" + ctrlProtocol,
		"ssl.keystore.type":              "PEM",
		"ssl.keystore.location":          WriteFile(t, "broker.pem", p.ServerKey, p.ServerCert),
		"ssl.truststore.type":            "PEM",
		"ssl.truststore.location":        WriteFile(t, "ca.pem", p.CA),
	}
	maps.Copy(props, extra)
	return props
}

// ClientTLS is the TLS configuration of a client that trusts p's authority
// and presents p's client certificate when asked.
func (p *PKI) ClientTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.X509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: p.Pool, Certificates: []tls.Certificate{cert}}
}
