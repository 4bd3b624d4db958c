// Package auth is where identities are established: TLS on SSL listeners,
// and on the connections a node opens to another node's SSL listener; SASL
// mechanisms, the ACL authorizer and quotas later.
package auth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/samsa-io/samsa/internal/config"
)

// ServerTLS builds the TLS configuration of an SSL listener from Kafka's
// ssl.* settings, each read as listener.name.<listener>.<key> first and
// <key> second, as Kafka reads them:
//
//   - the keystore: ssl.keystore.type=PEM, with the private key and its
//     certificate chain in the file at ssl.keystore.location or inline in
//     ssl.keystore.key and ssl.keystore.certificate.chain (KIP-651). JKS and
//     PKCS12 stores are refused with a hint to convert them, and so is an
//     encrypted private key, which samsa cannot read yet;
//   - the truststore for client certificates: ssl.truststore.type=PEM, at
//     ssl.truststore.location or inline in ssl.truststore.certificates;
//   - ssl.client.auth: none, requested (verified when given) or required;
//   - ssl.enabled.protocols (TLSv1.2 and TLSv1.3; older versions are
//     refused) and ssl.cipher.suites (IANA names, TLS 1.2 only, as Go
//     chooses TLS 1.3's suites itself).
//
// Every error names the setting to change, so that the broker refuses to
// start rather than serve a listener that is not what was asked for.
func ServerTLS(b *config.Broker, listener string) (*tls.Config, error) {
	return serverTLS(settings(b, listener), listener)
}

// ServerTLSWith is ServerTLS with the broker's dynamic configs (AlterConfigs
// on its own broker resource) over its static ones: a dynamic
// listener.name.<listener>.ssl.* value wins, as in Kafka, where only the
// listener-prefixed TLS settings can change at run time.
func ServerTLSWith(b *config.Broker, dynamic map[string]string, listener string) (*tls.Config, error) {
	return serverTLS(withDynamic(b, dynamic, listener), listener)
}

// withDynamic reads listener's ssl.* settings with the broker's dynamic
// values, in Kafka's order: a listener-prefixed value, dynamic or static,
// before an unprefixed one, and at each of those a dynamic value before a
// static one.
func withDynamic(b *config.Broker, dynamic map[string]string, listener string) func(string) string {
	static := settings(b, listener)
	prefix := "listener.name." + strings.ToLower(listener) + "."
	return func(key string) string {
		if v, ok := dynamic[prefix+key]; ok {
			return strings.TrimSpace(v)
		}
		if v, ok := b.Value(prefix + key); ok {
			return strings.TrimSpace(v)
		}
		if v, ok := dynamic[key]; ok {
			return strings.TrimSpace(v)
		}
		return static(key)
	}
}

func serverTLS(get func(string) string, listener string) (*tls.Config, error) {
	fail := func(format string, args ...any) (*tls.Config, error) {
		return nil, fmt.Errorf("listener %s (SSL): "+format, append([]any{listener}, args...)...)
	}

	cert, err := keystore(get)
	if err != nil {
		return fail("%v", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}

	pool, err := truststore(get)
	if err != nil {
		return fail("%v", err)
	}
	switch auth := strings.ToLower(get("ssl.client.auth")); auth {
	case "", "none":
		cfg.ClientAuth = tls.NoClientCert
	case "requested", "required":
		if pool == nil {
			return fail("ssl.client.auth=%s needs the certificate authorities to verify clients with: set ssl.truststore.type=PEM and ssl.truststore.location (or ssl.truststore.certificates)", auth)
		}
		cfg.ClientAuth, cfg.ClientCAs = tls.VerifyClientCertIfGiven, pool
		if auth == "required" {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	default:
		return fail("ssl.client.auth=%s: want none, requested or required", auth)
	}

	if err := setVersions(cfg, get); err != nil {
		return fail("%v", err)
	}
	return cfg, nil
}

// ClientTLS builds the TLS configuration of the connections this node opens
// to other nodes' listener (the inter-broker or the controller listener),
// from the same listener-scoped ssl.* settings as ServerTLS, as Kafka's
// brokers do:
//
//   - the peer's certificate is verified against the truststore, or the
//     system's certificate authorities when none is set;
//   - ssl.endpoint.identification.algorithm=https (the default) also
//     verifies that the certificate names the host dialled (a DNS name or
//     an IP address SAN); empty verifies the chain only;
//   - the keystore's certificate, when one is set, is presented when the
//     peer asks for one (ssl.client.auth on its listener), so it needs the
//     client authentication usage, or no extended key usage at all;
//   - ssl.enabled.protocols and ssl.cipher.suites apply as on the server.
//
// The dialler sets ServerName from the address it dials (tls.Dialer does).
func ClientTLS(b *config.Broker, listener string) (*tls.Config, error) {
	return clientTLS(settings(b, listener), listener)
}

// ClientTLSWith is ClientTLS with the broker's dynamic configs over its
// static ones, as ServerTLSWith.
func ClientTLSWith(b *config.Broker, dynamic map[string]string, listener string) (*tls.Config, error) {
	return clientTLS(withDynamic(b, dynamic, listener), listener)
}

func clientTLS(get func(string) string, listener string) (*tls.Config, error) {
	fail := func(format string, args ...any) (*tls.Config, error) {
		return nil, fmt.Errorf("connections to listener %s (SSL): "+format, append([]any{listener}, args...)...)
	}
	roots, err := truststore(get)
	if err != nil {
		return fail("%v", err)
	}
	cfg := &tls.Config{RootCAs: roots}
	// Without a keystore the node connects as Kafka's would: with no
	// client certificate, which a listener with ssl.client.auth=none takes.
	if get("ssl.keystore.location") != "" || get("ssl.keystore.certificate.chain") != "" || get("ssl.keystore.key") != "" {
		cert, err := keystore(get)
		if err != nil {
			return fail("%v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	switch alg := get("ssl.endpoint.identification.algorithm"); strings.ToLower(alg) {
	case "https":
	case "":
		// Verify the chain as the handshake would, without the name.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, roots)
		}
	default:
		return fail("ssl.endpoint.identification.algorithm=%s: want https or empty", alg)
	}
	if err := setVersions(cfg, get); err != nil {
		return fail("%v", err)
	}
	return cfg, nil
}

// verifyChain verifies the peer's certificate chain against roots (the
// system's when nil) for server authentication, ignoring its names.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the peer sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// settings reads listener's ssl.* settings, each as
// listener.name.<listener>.<key> first and <key> second.
func settings(b *config.Broker, listener string) func(key string) string {
	return func(key string) string {
		v, _ := b.ListenerConfig(listener, key)
		return strings.TrimSpace(v)
	}
}

// setVersions applies ssl.enabled.protocols and ssl.cipher.suites to cfg.
func setVersions(cfg *tls.Config, get func(string) string) (err error) {
	if cfg.MinVersion, cfg.MaxVersion, err = protocols(get("ssl.enabled.protocols")); err != nil {
		return err
	}
	cfg.CipherSuites, err = cipherSuites(get("ssl.cipher.suites"))
	return err
}

// pemOnly refuses a store type samsa cannot read.
func pemOnly(setting, typ string) error {
	if strings.EqualFold(typ, "PEM") {
		return nil
	}
	return fmt.Errorf("%s=%s: samsa reads PEM stores only; set %s=PEM and convert the store "+
		"(keytool -importkeystore -deststoretype PKCS12, then openssl pkcs12 -nodes)", setting, typ, setting)
}

// keystore loads this listener's certificate chain and private key.
func keystore(get func(string) string) (tls.Certificate, error) {
	location, chain, key := get("ssl.keystore.location"), get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")
	if location == "" && chain == "" && key == "" {
		return tls.Certificate{}, errors.New("no keystore: set ssl.keystore.type=PEM and ssl.keystore.location " +
			"(a PEM file with the private key and its certificate chain), or ssl.keystore.key and ssl.keystore.certificate.chain")
	}
	if err := pemOnly("ssl.keystore.type", get("ssl.keystore.type")); err != nil {
		return tls.Certificate{}, err
	}
	var certPEM, keyPEM []byte
	switch {
	case location != "" && (chain != "" || key != ""):
		return tls.Certificate{}, errors.New("set either ssl.keystore.location or ssl.keystore.key with ssl.keystore.certificate.chain, not both")
	case location != "":
		data, err := os.ReadFile(location)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		certPEM, keyPEM = data, data
	case chain == "" || key == "":
		return tls.Certificate{}, errors.New("ssl.keystore.key and ssl.keystore.certificate.chain go together")
	default:
		certPEM, keyPEM = []byte(chain), []byte(key)
	}
	if encryptedKey(keyPEM) {
		return tls.Certificate{}, errors.New("the keystore's private key is encrypted (ssl.key.password), which samsa cannot read yet: " +
			"store it unencrypted (openssl pkcs8 -topk8 -nocrypt) in a file only the broker may read")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keystore: %w", err)
	}
	return cert, nil
}

// encryptedKey reports whether the PEM data holds an encrypted private key
// (PKCS#8 or the legacy Proc-Type header).
func encryptedKey(data []byte) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return true
		}
	}
}

// truststore loads the certificate authorities peers' certificates are
// verified with; nil when none is configured.
func truststore(get func(string) string) (*x509.CertPool, error) {
	location, inline := get("ssl.truststore.location"), get("ssl.truststore.certificates")
	if location == "" && inline == "" {
		return nil, nil
	}
	if err := pemOnly("ssl.truststore.type", get("ssl.truststore.type")); err != nil {
		return nil, err
	}
	data := []byte(inline)
	if location != "" {
		if inline != "" {
			return nil, errors.New("set either ssl.truststore.location or ssl.truststore.certificates, not both")
		}
		var err error
		if data, err = os.ReadFile(location); err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("the truststore holds no PEM certificate")
	}
	return pool, nil
}

// protocols maps ssl.enabled.protocols to the TLS versions allowed.
func protocols(list string) (lo, hi uint16, err error) {
	versions := map[string]uint16{"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, ok := versions[p]
		if !ok {
			return 0, 0, fmt.Errorf("ssl.enabled.protocols: %s is not supported; samsa speaks TLSv1.2 and TLSv1.3", p)
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		return 0, 0, errors.New("ssl.enabled.protocols is empty: name TLSv1.2, TLSv1.3 or both")
	}
	return lo, hi, nil
}

// cipherSuites maps ssl.cipher.suites (IANA names, as Java names them) to
// Go's suite ids; nil (Go's defaults) when the list is empty. Suites Go
// deems insecure are refused.
func cipherSuites(list string) ([]uint16, error) {
	var ids []uint16
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		i := slices.IndexFunc(tls.CipherSuites(), func(s *tls.CipherSuite) bool { return s.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("ssl.cipher.suites: %s is not a cipher suite samsa offers (TLS 1.2 suites Go considers secure: %s)", name, suiteNames())
		}
		ids = append(ids, tls.CipherSuites()[i].ID)
	}
	return ids, nil
}

func suiteNames() string {
	var names []string
	for _, s := range tls.CipherSuites() {
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

// Reloadable is the TLS configuration of a listener whose settings can
// change while it serves: connections that start after Store use the new
// configuration, those already open keep theirs.
type Reloadable struct {
	cur atomic.Pointer[tls.Config]
}

// NewReloadable starts with cfg.
func NewReloadable(cfg *tls.Config) *Reloadable {
	r := &Reloadable{}
	r.cur.Store(cfg)
	return r
}

// Config is the configuration to serve with: each handshake takes the
// current one.
func (r *Reloadable) Config() *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.cur.Load(), nil }}
}

// Store makes cfg the configuration of new connections.
func (r *Reloadable) Store(cfg *tls.Config) { r.cur.Store(cfg) }

// Current is the configuration new connections get.
func (r *Reloadable) Current() *tls.Config { return r.cur.Load() }

// CheckIdentity refuses a keystore change that would give listener's
// certificate another subject DN or other subject alternative names than
// cur's, unless ssl.allow.dn.changes or ssl.allow.san.changes (read with
// the broker's dynamic configs) allows it, as Kafka checks a keystore it
// reloads (KIP-978): clients and peers verify those names.
func CheckIdentity(b *config.Broker, dynamic map[string]string, listener string, cur, next *tls.Config) error {
	leaf := func(cfg *tls.Config) *x509.Certificate {
		if cfg == nil || len(cfg.Certificates) == 0 || len(cfg.Certificates[0].Certificate) == 0 {
			return nil
		}
		c, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
		if err != nil {
			return nil
		}
		return c
	}
	was, now := leaf(cur), leaf(next)
	if was == nil || now == nil {
		return nil
	}
	get := withDynamic(b, dynamic, listener)
	if w, n := SubjectDN(was), SubjectDN(now); w != n && !strings.EqualFold(get("ssl.allow.dn.changes"), "true") {
		return fmt.Errorf("listener %s (SSL): the new certificate's subject %s differs from the current %s; set listener.name.%s.ssl.allow.dn.changes=true to allow it",
			listener, n, w, strings.ToLower(listener))
	}
	if w, n := sanString(was), sanString(now); w != n && !strings.EqualFold(get("ssl.allow.san.changes"), "true") {
		return fmt.Errorf("listener %s (SSL): the new certificate's subject alternative names [%s] differ from the current [%s]; set listener.name.%s.ssl.allow.san.changes=true to allow them",
			listener, n, w, strings.ToLower(listener))
	}
	return nil
}

// sanString lists a certificate's subject alternative names, sorted.
func sanString(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	names = append(names, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	for _, u := range c.URIs {
		names = append(names, u.String())
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
