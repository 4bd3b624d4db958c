package server

import (
	"crypto/tls"
	"net"

	"github.com/samsa-io/samsa/internal/auth"
)

// anonymous is Kafka's principal name for a client that did not
// authenticate.
const anonymous = "ANONYMOUS"

// tlsStater is a connection that can tell its TLS state: *tls.Conn, and a
// shared listener's wrapper around one (whose handshake the listener ran).
type tlsStater interface {
	ConnectionState() tls.ConnectionState
}

// principal names the client of nc: the subject of its verified TLS
// certificate in RFC 2253 form ("CN=client,O=Example"), as Kafka's default
// principal builder names it (auth.SubjectDN), mapped by mapName when it is set; or
// ANONYMOUS.
func principal(nc net.Conn, mapName func(string) (string, error)) (string, error) {
	c, ok := nc.(tlsStater)
	if !ok {
		return anonymous, nil
	}
	st := c.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return anonymous, nil
	}
	dn := auth.SubjectDN(st.VerifiedChains[0][0])
	if mapName == nil {
		return dn, nil
	}
	return mapName(dn)
}
