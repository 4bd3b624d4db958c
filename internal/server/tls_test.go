package server

import (
	"bytes"
	"context"
	"crypto/tls"
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
	s := New(Config{
		Listeners:      []Listener{{Name: "SSL", Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}},
		RequestTimeout: 300 * time.Millisecond,
		IdleTimeout:    time.Minute,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	s.Serve(&stub{release: make(chan struct{})})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
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
