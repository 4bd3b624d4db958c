package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
)

// certWithSubject makes a certificate whose subject is exactly rdns, in
// that order.
func certWithSubject(t *testing.T, rdns pkix.RDNSequence) *x509.Certificate {
	t.Helper()
	raw, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: raw}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func rdn(oid asn1.ObjectIdentifier, value any) []pkix.AttributeTypeAndValue {
	return []pkix.AttributeTypeAndValue{{Type: oid, Value: value}}
}

var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUID    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// The names Java's X500Principal.getName() gives these subjects (RFC 2253,
// the last RDN first), which Kafka's principals and mapping rules use.
func TestSubjectDNIsJavasRFC2253Name(t *testing.T) {
	for _, tc := range []struct {
		name string
		rdns pkix.RDNSequence
		want string
	}{
		{"the common attributes, last first",
			pkix.RDNSequence{rdn(oidC, "US"), rdn(oidO, "Acme"), rdn(oidOU, "Eng"), rdn(oidCN, "app")},
			"CN=app,OU=Eng,O=Acme,C=US"},
		{"the certificate's order, not Go's",
			pkix.RDNSequence{rdn(oidCN, "app"), rdn(oidO, "Acme"), rdn(oidC, "US")},
			"C=US,O=Acme,CN=app"},
		{"DC and UID are named and kept",
			pkix.RDNSequence{rdn(oidDC, "com"), rdn(oidDC, "prod"), rdn(oidUID, "svc"), rdn(oidCN, "app")},
			"CN=app,UID=svc,DC=prod,DC=com"},
		{"other attributes as OID and DER hex",
			pkix.RDNSequence{rdn(oidSerial, "42"), rdn(oidEmail, asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("a@b.c")}), rdn(oidCN, "x")},
			"CN=x,1.2.840.113549.1.9.1=#16056140622e63,2.5.4.5=#13023432"},
		{"specials escaped",
			pkix.RDNSequence{rdn(oidCN, ` a,b=c+d<e>f#g;h"i\j `)},
			`CN=\ a\,b\=c\+d\<e\>f\#g\;h\"i\\j\ `},
		{"a multi-valued RDN",
			pkix.RDNSequence{rdn(oidO, "Acme"), {{Type: oidCN, Value: "app"}, {Type: oidUID, Value: "7"}}},
			"CN=app+UID=7,O=Acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SubjectDN(certWithSubject(t, tc.rdns)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
