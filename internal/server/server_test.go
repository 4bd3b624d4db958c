package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/samsa-io/samsa/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stub serves api key 1 (header v1) and key 2 (header v2). The body's first
// byte says how to answer: 0 answer now, 1 wait for release, 2 no
// response, 3 close the connection, 4 panic, 5 wait until the stub has seen
// two requests; with a throttle of stubThrottle, 6 on the response, 7 on a
// request with no response, 8 on the reply; 9 is answered at once, but
// only after its handler waited for hold.
type stub struct {
	release    chan struct{}
	hold       chan struct{}
	mu         sync.Mutex
	seen       []int32
	seenAt     []time.Time
	principals []string
}

const stubThrottle = 300 * time.Millisecond

func (s *stub) RequestHeaderVersion(key, version int16) (int, bool) {
	switch key {
	case 1:
		return 1, version >= 0 && version <= 3
	case 2:
		return 2, true
	}
	return 0, false
}

func (s *stub) Handle(_ context.Context, r *wire.Request) (wire.Reply, error) {
	s.mu.Lock()
	s.seen = append(s.seen, r.CorrelationID)
	s.seenAt = append(s.seenAt, time.Now())
	s.principals = append(s.principals, r.Conn.Principal)
	s.mu.Unlock()
	resp := &wire.Response{Chunks: []wire.Chunk{{Bytes: binary.BigEndian.AppendUint32(nil, uint32(r.CorrelationID))}}}
	mode := byte(0)
	if len(r.Body) > 0 {
		mode = r.Body[0]
	}
	switch mode {
	case 1:
		return wire.Reply{Wait: func(ctx context.Context) *wire.Response {
			select {
			case <-s.release:
			case <-ctx.Done():
			}
			return resp
		}}, nil
	case 2:
		return wire.Reply{None: true}, nil
	case 3:
		return wire.Reply{}, errors.New("bad request")
	case 4:
		panic("handler bug")
	case 6:
		resp.Throttle = stubThrottle
	case 7:
		return wire.Reply{None: true, Throttle: stubThrottle}, nil
	case 8:
		return wire.Reply{Resp: resp, Throttle: stubThrottle}, nil
	case 9:
		<-s.hold
	case 5:
		return wire.Reply{Wait: func(ctx context.Context) *wire.Response {
			for {
				s.mu.Lock()
				n := len(s.seen)
				s.mu.Unlock()
				if n >= 2 || ctx.Err() != nil {
					return resp
				}
				time.Sleep(time.Millisecond)
			}
		}}, nil
	}
	return wire.Reply{Resp: resp}, nil
}

func startServer(t *testing.T, cfg Config) (*Server, *stub) {
	t.Helper()
	cfg.Listeners = []Listener{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}}
	return serveStub(t, cfg)
}

// serveStub serves a stub on cfg's listeners until the test ends.
func serveStub(t testing.TB, cfg Config) (*Server, *stub) {
	t.Helper()
	s := New(cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	h := &stub{release: make(chan struct{}), hold: make(chan struct{})}
	s.Serve(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s, h
}

func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// frame builds a request frame with a v1 header (key 1) and body.
func frame(key int16, corr int32, body ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	if key == 2 {
		b = append(b, 0) // no header tags
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func readResponse(t *testing.T, r io.Reader) int32 {
	t.Helper()
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return int32(binary.BigEndian.Uint32(hdr[4:]))
}

// expectClosed fails unless the server closes the connection without
// answering.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || (err != io.EOF && !errors.Is(err, net.ErrClosed) && !isReset(err)) {
		t.Fatalf("connection not closed: n=%d err=%v", n, err)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func TestResponsesInRequestOrder(t *testing.T) {
	s, h := startServer(t, Config{})
	c := dial(t, s)
	// Request 1 waits; 2 answers at once; 3 has no response; 4 answers.
	// The writer must still send 1 before 2, and never anything for 3.
	c.Write(frame(1, 1, 1))
	c.Write(frame(1, 2, 0))
	c.Write(frame(1, 3, 2))
	c.Write(frame(2, 4, 0))
	h.waitSeen(t, 4) // every request handled while the first still waits
	close(h.release)
	br := bufio.NewReader(c)
	for _, want := range []int32{1, 2, 4} {
		if got := readResponse(t, br); got != want {
			t.Fatalf("got response %d, want %d", got, want)
		}
	}
}

// A throttled client (over a quota) is not read from until its throttle
// time has passed (KIP-219): from when the response is written (6: the
// client sends its next request only after reading it), or from when the
// request was handled, for requests it pipelined behind (7, 8).
func TestThrottleMutesTheConnection(t *testing.T) {
	for _, mode := range []byte{6, 7, 8} {
		s, h := startServer(t, Config{})
		c := dial(t, s)
		if mode == 6 {
			if _, err := c.Write(frame(1, 1, mode)); err != nil {
				t.Fatal(err)
			}
			if readResponse(t, c) != 1 {
				t.Fatal("wrong response")
			}
			if _, err := c.Write(frame(1, 2, 0)); err != nil {
				t.Fatal(err)
			}
		} else if _, err := c.Write(append(frame(1, 1, mode), frame(1, 2, 0)...)); err != nil {
			t.Fatal(err)
		}
		if mode == 8 && readResponse(t, c) != 1 {
			t.Fatal("response 1 out of order")
		}
		if readResponse(t, c) != 2 {
			t.Fatal("response 2 out of order")
		}
		h.mu.Lock()
		gap := h.seenAt[1].Sub(h.seenAt[0])
		h.mu.Unlock()
		if gap < stubThrottle {
			t.Errorf("mode %d: the next request was read %v after the throttled one, before the %v throttle ended", mode, gap, stubThrottle)
		}
	}
}

func TestWrittenResponsesAreNotHeldBehindAWait(t *testing.T) {
	s, h := startServer(t, Config{})
	c := dial(t, s)
	// The first reply completes only once the second request is queued, so
	// when it is written a reply that waits indefinitely is behind it. The
	// first response must still reach the client.
	c.Write(frame(1, 1, 5))
	c.Write(frame(1, 2, 1))
	if got := readResponse(t, c); got != 1 {
		t.Fatalf("response %d", got)
	}
	close(h.release)
	if got := readResponse(t, c); got != 2 {
		t.Fatalf("response %d", got)
	}
}

func TestBadFramesCloseTheConnection(t *testing.T) {
	s, _ := startServer(t, Config{MaxRequestBytes: 1 << 20})
	size := func(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }
	cases := map[string][]byte{
		"negative size":       size(-1),
		"zero size":           size(0),
		"size below a header": size(3),
		"size over the limit": size(1<<20 + 1),
		"unknown api key":     frame(99, 1),
		"unsupported version": func() []byte { b := frame(1, 1); binary.BigEndian.PutUint16(b[6:], 9); return b }(),
		"client id longer than the frame": func() []byte {
			b := frame(1, 1)
			binary.BigEndian.PutUint16(b[12:], 500)
			return b
		}(),
		"tag count beyond the frame": func() []byte {
			b := frame(2, 1)
			b[len(b)-1] = 0x7f
			return b
		}(),
		"handler error": frame(1, 1, 3),
		"handler panic": frame(1, 1, 4),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, s)
			c.Write(b)
			expectClosed(t, c)
		})
	}
	// The server is still healthy.
	c := dial(t, s)
	c.Write(frame(1, 42, 0))
	if got := readResponse(t, c); got != 42 {
		t.Fatalf("after bad clients, response %d", got)
	}
}

func TestTricklingClientIsClosedAtTheDeadline(t *testing.T) {
	s, _ := startServer(t, Config{RequestTimeout: 200 * time.Millisecond})
	c := dial(t, s)
	// Announce 1 MiB, send a few bytes, stall.
	c.Write(binary.BigEndian.AppendUint32(nil, 1<<20))
	c.Write([]byte{0, 1, 0, 0})
	start := time.Now()
	expectClosed(t, c)
	if time.Since(start) > 4*time.Second {
		t.Fatal("trickling connection lived far past its request deadline")
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	s, _ := startServer(t, Config{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, s)
	expectClosed(t, c)
}

func TestIdleTimeoutSparesConnectionsWithRequestsInFlight(t *testing.T) {
	s, h := startServer(t, Config{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, s)
	c.Write(frame(1, 7, 1)) // waits until released
	h.waitSeen(t, 1)
	// Several idle timeouts pass while the request is in flight.
	time.AfterFunc(400*time.Millisecond, func() { close(h.release) })
	if got := readResponse(t, c); got != 7 {
		t.Fatalf("response %d", got)
	}
}

func TestShutdownAnswersRequestsInFlight(t *testing.T) {
	s, h := startServer(t, Config{})
	c := dial(t, s)
	c.Write(frame(1, 9, 1))
	h.waitSeen(t, 1)
	done := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
		close(done)
	}()
	// Shutdown has begun and waits for the request in flight.
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.stopping })
	close(h.release)
	if got := readResponse(t, c); got != 9 {
		t.Fatalf("response %d", got)
	}
	<-done
}

// waitSeen waits until the stub has handled n requests.
func (s *stub) waitSeen(t *testing.T, n int) {
	t.Helper()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.seen) >= n })
}

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
