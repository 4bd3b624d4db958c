package server

import (
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// limited is NoLimits with f applied.
func limited(f func(*Limits)) *Limits {
	l := NoLimits()
	f(&l)
	return &l
}

// served fails unless a request sent on c now is answered.
func served(t *testing.T, c net.Conn, corr int32) {
	t.Helper()
	if _, err := c.Write(frame(1, corr, 0)); err != nil {
		t.Fatal(err)
	}
	answered(t, c, corr)
}

// answered fails unless the next response on c is to request corr.
func answered(t *testing.T, c net.Conn, corr int32) {
	t.Helper()
	if got := readResponse(t, c); got != corr {
		t.Fatalf("response %d, want %d", got, corr)
	}
}

// waitWaiting waits until n accepted connections wait to be admitted.
func waitWaiting(t *testing.T, s *Server, n int) {
	t.Helper()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiting == n })
}

func dialFrom(t *testing.T, s *Server, i int, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", s.Addrs()[i].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestConnectionLimitPerIP(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) { l.MaxConnectionsPerIP = 1 })})
	first := dial(t, s)
	served(t, first, 1)
	expectClosed(t, dial(t, s))
	if got, want := s.Stats("PLAINTEXT"), (ListenerStats{Created: 1, RefusedPerIP: 1}); got != want {
		t.Errorf("stats %+v after a refusal, want %+v", got, want)
	}
	// The address's slot is free again once its connection closes.
	first.Close()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.conns) == 0 })
	served(t, dial(t, s), 2)
	if got, want := s.Stats("PLAINTEXT"), (ListenerStats{Created: 2, Closed: 1, RefusedPerIP: 1}); got != want {
		t.Errorf("stats %+v after a close, want %+v", got, want)
	}
}

// max.connections.per.ip=0 with overrides admits only the addresses named.
func TestConnectionLimitPerIPOverrides(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) {
		l.MaxConnectionsPerIP = 0
		l.PerIP = map[string]int{"127.0.0.1": 2}
	})})
	served(t, dialFrom(t, s, 0, "127.0.0.1"), 1)
	served(t, dialFrom(t, s, 0, "127.0.0.1"), 2)
	expectClosed(t, dialFrom(t, s, 0, "127.0.0.1"))
	expectClosed(t, dialFrom(t, s, 0, "127.0.0.2"))

	// Raising the default at run time lets the other address in.
	lim := NoLimits()
	lim.MaxConnectionsPerIP, lim.PerIP = 1, map[string]int{"127.0.0.1": 2}
	s.SetLimits(lim)
	served(t, dialFrom(t, s, 0, "127.0.0.2"), 3)
}

// A connection beyond max.connections waits, unread, until another closes,
// as behind Kafka's blocked acceptor; it is not refused.
func TestConnectionLimitWaitsForASlot(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) { l.MaxConnections = 1 })})
	first := dial(t, s)
	served(t, first, 1)
	dialed := time.Now()
	second := dial(t, s)
	second.Write(frame(1, 2, 0))
	waitWaiting(t, s, 1)
	first.Close()
	answered(t, second, 2)
	// The listener waited, within the time from the dial to the answer.
	if blocked, most := s.Stats("PLAINTEXT").Blocked, time.Since(dialed); blocked <= 0 || blocked > most {
		t.Errorf("blocked %v, want more than 0 and at most %v", blocked, most)
	}
}

// Raising a limit at run time admits the connections waiting under it.
func TestRaisingTheLimitAdmitsWaitingConnections(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) { l.MaxConnections = 1 })})
	served(t, dial(t, s), 1)
	second := dial(t, s)
	second.Write(frame(1, 2, 0))
	waitWaiting(t, s, 1)
	s.SetLimits(NoLimits())
	answered(t, second, 2)
}

// A listener's own limit holds back that listener only; the protected
// (inter-broker) listener is not held back by the server-wide one.
func TestListenerLimitsAndTheProtectedListener(t *testing.T) {
	s, _ := serveStub(t, Config{
		Listeners: []Listener{{Name: "CLIENT", Addr: "127.0.0.1:0"}, {Name: "REPLICATION", Addr: "127.0.0.1:0"}},
		Limits: limited(func(l *Limits) {
			l.MaxConnections = 2
			l.Listeners = map[string]ListenerLimits{"CLIENT": {MaxConnections: 1, CreationRate: -1}}
			l.Protected = "REPLICATION"
		}),
	})
	served(t, dialFrom(t, s, 0, "127.0.0.1"), 1)
	held := dialFrom(t, s, 0, "127.0.0.1")
	held.Write(frame(1, 2, 0))
	waitWaiting(t, s, 1)
	// The server-wide limit (2) is reached with the replication
	// connections, which are admitted all the same.
	served(t, dialFrom(t, s, 1, "127.0.0.1"), 3)
	served(t, dialFrom(t, s, 1, "127.0.0.1"), 4)
	// Lifting the client listener's own limit is not enough now: the
	// server-wide count is over its limit.
	lim := NoLimits()
	lim.MaxConnections, lim.Protected = 2, "REPLICATION"
	s.SetLimits(lim)
	waitWaiting(t, s, 1)
	lim.MaxConnections = 4
	s.SetLimits(lim)
	answered(t, held, 2)
}

// The stop wakes an accept loop that waits for a slot, and the waiting
// connection is closed.
func TestStopEndsTheWaitForASlot(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) { l.MaxConnections = 1 })})
	served(t, dial(t, s), 1)
	second := dial(t, s)
	waitWaiting(t, s, 1)
	s.StopReading()
	expectClosed(t, second)
}

// A connection over the creation rate waits for its token: with a rate of
// one a second, the second of two connections made together is served
// after about a second, the first at once.
func TestCreationRateDelaysConnections(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) { l.CreationRate = 1 })})
	served(t, dial(t, s), 1)
	second := dial(t, s)
	second.Write(frame(1, 2, 0))
	waitWaiting(t, s, 1)
	answered(t, second, 2)
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newBucket(2)
	for i, want := range []time.Duration{0, 0, 500 * time.Millisecond, time.Second} {
		if got := b.reserve(t0); got != want {
			t.Fatalf("reservation %d at t0: wait %v, want %v", i, got, want)
		}
	}
	// Two seconds later the two tokens owed are paid back and two more
	// accrued, but no more than one second's worth is saved.
	if got := b.reserve(t0.Add(10 * time.Second)); got != 0 {
		t.Fatalf("after a pause: wait %v", got)
	}
	if got := b.reserve(t0.Add(10 * time.Second)); got != 0 {
		t.Fatalf("second after a pause: wait %v", got)
	}
	if got := b.reserve(t0.Add(10 * time.Second)); got != 500*time.Millisecond {
		t.Fatalf("third after a pause: wait %v", got)
	}
	b.setRate(-1)
	if got := b.reserve(t0.Add(10 * time.Second)); got != 0 {
		t.Fatalf("unlimited: wait %v", got)
	}
	b.setRate(0)
	if got := b.reserve(t0.Add(10 * time.Second)); got != never {
		t.Fatalf("rate 0: wait %v", got)
	}
	b.setRate(1)
	if got := b.reserve(t0.Add(11 * time.Second)); got != 0 {
		t.Fatalf("rate 1 from 0 starts full: wait %v", got)
	}
}

// socket.send.buffer.bytes and socket.receive.buffer.bytes size the
// buffers of accepted connections (Linux reports twice what was asked).
func TestSocketBuffers(t *testing.T) {
	s, _ := startServer(t, Config{SendBuffer: 24 << 10, ReceiveBuffer: 16 << 10})
	served(t, dial(t, s), 1)
	s.mu.Lock()
	var nc net.Conn
	for c := range s.conns {
		nc = c.nc
	}
	s.mu.Unlock()
	for opt, want := range map[int]int{syscall.SO_SNDBUF: 24 << 10, syscall.SO_RCVBUF: 16 << 10} {
		rc, err := nc.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var serr error
		if err := rc.Control(func(fd uintptr) { got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) }); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		if got != want && got != 2*want {
			t.Errorf("option %d: %d bytes, want %d as asked", opt, got, want)
		}
	}
}

// A connection held by a creation rate of 0 is admitted once the rate is
// raised.
func TestRaisingAZeroRateAdmitsTheWaitingConnection(t *testing.T) {
	s, _ := startServer(t, Config{Limits: limited(func(l *Limits) { l.CreationRate = 0 })})
	c := dial(t, s)
	c.Write(frame(1, 1, 0))
	waitWaiting(t, s, 1)
	lim := NoLimits()
	lim.CreationRate = 5
	s.SetLimits(lim)
	answered(t, c, 1)
}

// A connection ConnectionThrottle refuses is held unread for its throttle,
// then closed unanswered; it takes no slot from its address, and one held
// when the server stops is closed with it.
func TestConnectionThrottle(t *testing.T) {
	var mu sync.Mutex
	holds := map[string]time.Duration{} // by address
	s, _ := startServer(t, Config{
		Limits: limited(func(l *Limits) { l.MaxConnectionsPerIP = 1 }),
		ConnectionThrottle: func(ip string, _ time.Time) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			return holds[ip]
		},
	})
	served(t, dialFrom(t, s, 0, "127.0.0.2"), 1)
	mu.Lock()
	holds["127.0.0.3"] = 20 * time.Millisecond
	mu.Unlock()
	refused := dialFrom(t, s, 0, "127.0.0.3")
	if _, err := refused.Write(frame(1, 2, 0)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, refused)
	if n := s.Stats("PLAINTEXT").RefusedRate; n != 1 {
		t.Errorf("%d connections throttled, want 1", n)
	}
	// Not counted against 127.0.0.3's one connection.
	mu.Lock()
	holds["127.0.0.3"] = 0
	mu.Unlock()
	served(t, dialFrom(t, s, 0, "127.0.0.3"), 3)

	mu.Lock()
	holds["127.0.0.4"] = time.Hour
	mu.Unlock()
	held := dialFrom(t, s, 0, "127.0.0.4")
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.held) == 1 })
	s.StopReading()
	expectClosed(t, held)
}
