package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// client_security.go maps Kafka's security client properties to kgo:
// security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), sasl.mechanism
// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with the user name and password read
// from sasl.jaas.config, PEM trust and key stores (the key store's
// certificate is the client certificate, for listeners that require one),
// and an empty ssl.endpoint.identification.algorithm (verify the chain, not
// the host name). JKS and PKCS12 stores and encrypted keys are not
// supported.

// securityOpts maps security.protocol and its SASL and TLS settings.
func (e *env) securityOpts(p *props) ([]kgo.Opt, error) {
	proto, _ := p.Get("security.protocol")
	var opts []kgo.Opt
	switch strings.ToUpper(strings.TrimSpace(proto)) {
	case "", "PLAINTEXT":
		return nil, nil
	case "SSL":
		t, err := e.tlsConfig(p)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(t))
	case "SASL_SSL":
		t, err := e.tlsConfig(p)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(t))
		fallthrough
	case "SASL_PLAINTEXT":
		m, err := saslOpt(p)
		if err != nil {
			return nil, err
		}
		opts = append(opts, m)
	default:
		return nil, fmt.Errorf("unknown security.protocol %q", proto)
	}
	return opts, nil
}

// jaasField matches key="value" in a sasl.jaas.config line.
var jaasField = regexp.MustCompile(`(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"`)

func saslOpt(p *props) (kgo.Opt, error) {
	mech, _ := p.Get("sasl.mechanism")
	jaas, _ := p.Get("sasl.jaas.config")
	fields := map[string]string{}
	for _, m := range jaasField.FindAllStringSubmatch(jaas, -1) {
		fields[m[1]] = strings.ReplaceAll(m[2], `\"`, `"`)
	}
	user, pass := fields["username"], fields["password"]
	switch strings.ToUpper(strings.TrimSpace(mech)) {
	case "", "PLAIN":
		return kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()), nil
	case "SCRAM-SHA-256":
		return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()), nil
	case "SCRAM-SHA-512":
		return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()), nil
	}
	return nil, fmt.Errorf("sasl.mechanism %q is not supported (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", mech)
}

// tlsConfig builds the TLS settings. Only PEM trust stores can be read; a
// JKS or PKCS12 store is reported, since Go cannot use it.
func (e *env) tlsConfig(p *props) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if loc, ok := p.Get("ssl.truststore.location"); ok && loc != "" {
		if typ, _ := p.Get("ssl.truststore.type"); !strings.EqualFold(typ, "PEM") {
			return nil, errors.New("ssl.truststore.location must be a PEM file (set ssl.truststore.type=PEM); JKS and PKCS12 stores are not supported")
		}
		pem, err := os.ReadFile(loc)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificates found", loc)
		}
		t.RootCAs = pool
	}
	cert, ok, err := clientKeystore(p)
	if err != nil {
		return nil, err
	}
	if ok {
		t.Certificates = []tls.Certificate{cert}
	}
	if alg, ok := p.Get("ssl.endpoint.identification.algorithm"); ok && alg == "" {
		// Kafka's way to skip the host name check: verify the chain only.
		roots := t.RootCAs
		t.InsecureSkipVerify = true
		t.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	}
	return t, nil
}

// clientKeystore reads the client certificate and key, as Kafka's clients
// read a PEM key store (KIP-651): the file at ssl.keystore.location, holding
// the private key and its certificate chain, or ssl.keystore.key with
// ssl.keystore.certificate.chain inline.
func clientKeystore(p *props) (tls.Certificate, bool, error) {
	loc, _ := p.Get("ssl.keystore.location")
	key, _ := p.Get("ssl.keystore.key")
	chain, _ := p.Get("ssl.keystore.certificate.chain")
	if loc == "" && key == "" && chain == "" {
		return tls.Certificate{}, false, nil
	}
	if typ, _ := p.Get("ssl.keystore.type"); !strings.EqualFold(typ, "PEM") {
		return tls.Certificate{}, false, errors.New("the key store must be PEM (set ssl.keystore.type=PEM); JKS and PKCS12 stores are not supported")
	}
	var certPEM, keyPEM []byte
	switch {
	case loc != "" && (key != "" || chain != ""):
		return tls.Certificate{}, false, errors.New("set either ssl.keystore.location or ssl.keystore.key with ssl.keystore.certificate.chain, not both")
	case loc != "":
		data, err := os.ReadFile(loc)
		if err != nil {
			return tls.Certificate{}, false, err
		}
		certPEM, keyPEM = data, data
	case key == "" || chain == "":
		return tls.Certificate{}, false, errors.New("ssl.keystore.key and ssl.keystore.certificate.chain go together")
	default:
		certPEM, keyPEM = []byte(chain), []byte(key)
	}
	if pw, _ := p.Get("ssl.key.password"); pw != "" {
		return tls.Certificate{}, false, errors.New("encrypted private keys (ssl.key.password) are not supported: store the key unencrypted (openssl pkcs8 -topk8 -nocrypt)")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("key store: %w", err)
	}
	return cert, true, nil
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("tls: server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return err
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}
