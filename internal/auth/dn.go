package auth

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"unicode/utf16"
)

// SubjectDN is the subject of cert in RFC 2253 form as Java's
// X500Principal.getName() writes it, which is the name Kafka's default
// principal builder gives a TLS client and what ssl.principal.mapping.rules
// are written against. It is built from the certificate's own encoding, so
// every attribute is kept, in the certificate's order (the last RDN
// first): Go's pkix.Name keeps only the common attributes, in an order of
// its own, which would give two certificates that differ only in, say, DC
// or UID the same name.
//
//   - CN, C, L, ST, O, OU, STREET, DC and UID are named; any other
//     attribute is its dotted OID with the value as '#' and the hex of its
//     DER encoding, as is a named attribute whose value is not a string;
//   - the values' bytes are read as UTF-8, and , = + < > # ; " \ are
//     escaped with a backslash, NUL as \00, and leading and trailing spaces
//     (and carriage returns) with a backslash;
//   - the attributes of a multi-valued RDN are joined with '+'.
//
// A subject that does not parse falls back to Go's form of it.
func SubjectDN(cert *x509.Certificate) string {
	var rdns []dnRDNSET
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) > 0 {
		return cert.Subject.String()
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i < len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeAttribute(&b, a)
		}
	}
	return b.String()
}

// dnRDNSET is one RDN: a SET of attributes (encoding/asn1 reads a slice
// type whose name ends in SET as a SET OF).
type dnRDNSET []dnAttribute

type dnAttribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rfc2253Keywords are the attribute names RFC 2253 defines.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
}

func writeAttribute(b *strings.Builder, a dnAttribute) {
	oid := a.Type.String()
	name, named := rfc2253Keywords[oid]
	value, isString := dnString(a.Value)
	if !named || !isString {
		if !named {
			name = oid
		}
		b.WriteString(name + "=#" + hex.EncodeToString(a.Value.FullBytes))
		return
	}
	b.WriteString(name)
	b.WriteByte('=')
	lead := len(value) - len(strings.TrimLeft(value, " \r"))
	trail := len(strings.TrimRight(value, " \r"))
	for i, r := range value {
		switch {
		case i < lead || i >= trail:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == 0:
			b.WriteString(`\00`)
		case strings.ContainsRune(`,=+<>#;"\`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
}

// dnString is v's text when it is one of the string types Java writes as
// text: PrintableString, T61String, IA5String, GeneralString and
// UTF8String as their bytes, BMPString as UTF-16.
func dnString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String, asn1.TagGeneralString, asn1.TagUTF8String:
		return strings.ToValidUTF8(string(v.Bytes), "\uFFFD"), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}
