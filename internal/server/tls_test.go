package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/auth/authtest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An SSL listener serves requests over TLS, closes a connection whose
// handshake fails or does not come within the request timeout, and logs
// the failure at INFO, as Kafka logs a failed authentication.
func TestTLSListener(t *testing.T) {
	pki := authtest.New(t)
	cert, err := tls.X509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s, _ := serveStub(t, Config{
		Listeners:      []Listener{{Name: "SSL", Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}},
		RequestTimeout: 300 * time.Millisecond,
		IdleTimeout:    time.Minute,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	addr := s.Addrs()[0].String()

	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(frame(1, 7, 0))
	if got := readResponse(t, c); got != 7 {
		t.Fatalf("over TLS got response %d, want 7", got)
	}

	// A plain Kafka client, and one that connects and says nothing (the
	// idle timeout is a minute; the handshake gets the request timeout).
	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Write(frame(1, 8, 0))
	expectClosed(t, plain)
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	expectClosed(t, silent)
	waitFor(t, func() bool { return strings.Count(logs.String(), "TLS handshake failed") >= 2 })
	if !strings.Contains(logs.String(), "level=INFO msg=\"failed authentication: TLS handshake failed\" listener=SSL") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// Requests carry their client's principal: the subject of a verified client
// certificate, or ANONYMOUS, as Kafka's default principal builder names
// them (client quotas by user go by it).
func TestPrincipalFromClientCertificate(t *testing.T) {
	pki := authtest.New(t)
	cert, err := tls.X509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := tls.X509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	s, h := serveStub(t, Config{
		Listeners: []Listener{{Name: "SSL", Addr: "127.0.0.1:0", TLS: &tls.Config{
			Certificates: []tls.Certificate{cert}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pki.Pool}}},
		RequestTimeout: 5 * time.Second,
		IdleTimeout:    time.Minute,
	})
	for i, certs := range [][]tls.Certificate{{clientCert}, nil} {
		c, err := tls.Dial("tcp", s.Addrs()[0].String(), &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1", Certificates: certs})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(frame(1, int32(i), 0))
		readResponse(t, c)
		c.Close()
	}
	h.mu.Lock()
	if want := []string{"CN=client", "ANONYMOUS"}; strings.Join(h.principals, " ") != strings.Join(want, " ") {
		t.Errorf("principals %q, want %q", h.principals, want)
	}
	h.mu.Unlock()

	// The listener's mapping names the user; a certificate it cannot map
	// fails the authentication.
	for _, tc := range []struct {
		mapped string
		ok     bool
	}{{"app", true}, {"", false}} {
		s, h := serveStub(t, Config{
			Listeners: []Listener{{Name: "SSL", Addr: "127.0.0.1:0", TLS: &tls.Config{
				Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Pool},
				Principal: func(dn string) (string, error) {
					if tc.mapped == "" {
						return "", errors.New("no rule applies to " + dn)
					}
					return tc.mapped, nil
				}}},
			RequestTimeout: 5 * time.Second,
			IdleTimeout:    time.Minute,
		})
		c, err := tls.Dial("tcp", s.Addrs()[0].String(), &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{clientCert}})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(frame(1, 1, 0))
		if !tc.ok {
			expectClosed(t, c)
			c.Close()
			continue
		}
		readResponse(t, c)
		c.Close()
		h.mu.Lock()
		if len(h.principals) != 1 || h.principals[0] != tc.mapped {
			t.Errorf("mapped principals %q, want %q", h.principals, tc.mapped)
		}
		h.mu.Unlock()
	}
}

// A connection whose TLS handshake fails is closed only after
// connection.failed.authentication.delay.ms (KIP-306), or when the server
// stops.
func TestFailedAuthenticationDelaysTheClose(t *testing.T) {
	pki := authtest.New(t)
	cert, err := tls.X509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := serveStub(t, Config{
		Listeners:       []Listener{{Name: "SSL", Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}},
		RequestTimeout:  5 * time.Second,
		FailedAuthDelay: time.Hour,
	})
	plain, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Write(frame(1, 8, 0)) // not a TLS client hello
	waitFor(t, func() bool { return s.delayedCloses.Load() == 1 })
	if got, want := s.Stats("SSL"), (ListenerStats{Created: 1, FailedAuth: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	s.mu.Lock()
	open := len(s.conns)
	s.mu.Unlock()
	if open != 1 {
		t.Fatalf("%d connections open while the failed one is held, want 1", open)
	}
	s.StopReading()
	expectClosed(t, plain)
}
