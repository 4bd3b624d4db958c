package cli

import (
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/auth/authtest"
)

// Client certificates from a PEM key store, as Kafka's clients read one
// (KIP-651), for listeners with ssl.client.auth=required.
func TestClientKeystore(t *testing.T) {
	pki := authtest.New(t)
	file := authtest.WriteFile(t, "client.pem", pki.ClientKey, pki.ClientCert)
	for _, tc := range []struct {
		name string
		kv   []string
		want string // "" for a certificate
	}{
		{"file", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", file}, ""},
		{"inline", []string{"ssl.keystore.type", "PEM", "ssl.keystore.key", string(pki.ClientKey), "ssl.keystore.certificate.chain", string(pki.ClientCert)}, ""},
		{"JKS", []string{"ssl.keystore.location", file}, "must be PEM"},
		{"both", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", file, "ssl.keystore.key", string(pki.ClientKey)}, "not both"},
		{"key alone", []string{"ssl.keystore.type", "PEM", "ssl.keystore.key", string(pki.ClientKey)}, "go together"},
		{"encrypted", []string{"ssl.keystore.type", "PEM", "ssl.keystore.location", file, "ssl.key.password", "x"}, "not supported"},
	} {
		p := &props{}
		for i := 0; i+1 < len(tc.kv); i += 2 {
			p.Set(tc.kv[i], tc.kv[i+1])
		}
		cert, ok, err := clientKeystore(p)
		switch {
		case tc.want == "" && (err != nil || !ok || len(cert.Certificate) == 0):
			t.Errorf("%s: %v, %v", tc.name, ok, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, ok, err := clientKeystore(&props{}); ok || err != nil {
		t.Errorf("no key store: %v, %v", ok, err)
	}
}
