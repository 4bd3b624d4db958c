// Package server owns the broker's listeners and connections: framing,
// per-connection reader and writer goroutines, responses in request order,
// limits and deadlines. It knows no Kafka API by name; everything about a
// request beyond its header is the wire.Handler's business.
//
// Per connection, a reader goroutine reads size-prefixed frames, parses the
// request header and runs the handler's synchronous part; a writer goroutine
// takes the replies in arrival order, waits for each one that is still
// pending and writes it. File chunks (log data) go out with sendfile(2) at an
// explicit offset, so concurrent readers of one segment do not share a file
// position.
//
// Limits enforced here (Kafka's names): socket.request.max.bytes bounds a
// frame before anything is allocated, and a frame's memory grows only as its
// bytes arrive; request.timeout.ms bounds the time from a frame's first byte
// to its last (a client trickling bytes is closed); connections.max.idle.ms
// closes connections with nothing in flight; max.connections and
// max.connections.per.ip refuse excess connections at accept. A panic while
// handling a request is a bug: it is logged with its stack, the connection is
// closed and the broker keeps running.
//
// Shutdown happens in two steps so in-flight requests are answered:
// StopReading stops accepting and reading (requests already read keep their
// place), then Close waits for every writer to drain, bounded by a context,
// and closes what is left.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/wire"
)

// Listener is one address to accept connections on.
type Listener struct {
	Name string       // listener name, e.g. "PLAINTEXT"
	Addr string       // host:port; port 0 picks a free port
	Ln   net.Listener // when set, accept from it instead of binding Addr; Close closes it
	TLS  *tls.Config  // when set, connections speak TLS (an SSL listener)
	// Principal, when set, names the user of a connection with a verified
	// TLS client certificate from the certificate's subject DN (Kafka's
	// ssl.principal.mapping.rules); an error fails the authentication.
	// Unset, the DN is the name.
	Principal func(dn string) (string, error)
}

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	Listeners         []Listener
	MaxRequestBytes   int32         // socket.request.max.bytes; default 104857600
	IdleTimeout       time.Duration // connections.max.idle.ms; default 10 min
	RequestTimeout    time.Duration // first to last byte of a frame, and per response write; default 30 s
	MaxInFlight       int           // replies queued per connection before reading pauses; default 100
	QueuedMaxRequests int           // queued.max.requests: requests read and not yet handled, across connections; 0 = no bound
	QueuedMaxBytes    int64         // queued.max.request.bytes: their bytes; 0 or less = no bound
	Limits            *Limits       // connection limits; nil is NoLimits
	FailedAuthDelay   time.Duration // connection.failed.authentication.delay.ms: before closing a connection that failed to authenticate
	SendBuffer        int           // socket.send.buffer.bytes: SO_SNDBUF of accepted connections; 0 or less keeps the system's
	ReceiveBuffer     int           // socket.receive.buffer.bytes: their SO_RCVBUF; 0 or less keeps the system's
	Logger            *slog.Logger
	// Completed, when set, is told of every request answered, with where
	// its time went (Completion). It is called from the connection's
	// goroutines and must not block.
	Completed func(Completion)
	// ConnectionThrottle, when set, is asked about every connection the
	// limits let in, with its address as net.IP prints it: a positive
	// answer refuses it (connection_creation_rate, KIP-612), and the
	// connection is held that long, unread, then closed.
	ConnectionThrottle func(ip string, now time.Time) time.Duration
}

// Completion is one request answered, for metrics: its API, whether it was
// a follower's fetch (Reply.Follower), its request and response frames'
// sizes with their size prefixes (RespBytes 0: no response), and where its
// time went, in Kafka's phases (RequestMetrics). The phases add up to the
// time from its first byte read to its response written to the
// connection's buffer, which the writer flushes before it waits for
// anything; for a request without a response, to its handler's return.
type Completion struct {
	Key                 int16
	Follower            bool
	ReqBytes, RespBytes int64

	// Queue runs from the first byte read to the handler's start: reading
	// the rest of the frame and waiting for room in the request queue
	// (queued.max.requests, queued.max.request.bytes).
	Queue time.Duration
	// Local is the handler's synchronous part: decoding, validating,
	// appending, reading.
	Local time.Duration
	// Remote is the wait for a response the handler deferred (Reply.Wait):
	// for the in-sync replicas' acks, a long poll's data, the controller's
	// answer. A deferred response the writer had to wait for waited from
	// the handler's return; one ready before the writer reached it, only
	// while the writer produced it.
	Remote time.Duration
	// ResponseQueue is how long a ready response waited for the
	// connection's writer, behind earlier requests' responses: they are
	// written in request order.
	ResponseQueue time.Duration
	// Send is writing the response to the connection.
	Send time.Duration
}

// Total is the request's whole time, the sum of its phases (Kafka's
// TotalTimeMs).
func (c Completion) Total() time.Duration {
	return c.Queue + c.Local + c.Remote + c.ResponseQueue + c.Send
}

func (c *Config) setDefaults() {
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 104857600
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 100
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server accepts connections and serves them with a wire.Handler.
type Server struct {
	cfg     Config
	handler wire.Handler // set by Serve, before any connection is accepted
	queue   *queue
	log     *slog.Logger

	ctx           context.Context // cancelled by Close: ends waits and connections
	cancel        context.CancelFunc
	nextID        atomic.Uint64
	delayedCloses atomic.Int64               // connections that failed to authenticate and were held before closing
	counts        map[string]*listenerCounts // per listener name; built by New, never changed

	mu           sync.Mutex // guards the fields below
	listeners    []net.Listener
	conns        map[*conn]struct{}
	perIP        map[string]int
	perListener  map[string]int
	limits       Limits
	ratesGen     uint64                   // counts changes of a creation rate
	serverRate   *bucket                  // limits.CreationRate
	listenerRate map[string]*bucket       // each listener's CreationRate
	changed      chan struct{}            // closed when a connection closes or the limits change
	waiting      int                      // accepted connections waiting for a slot or a rate
	held         map[net.Conn]*time.Timer // refused by ConnectionThrottle, closed when their timer fires
	stopping     bool

	accepting sync.WaitGroup // accept loops
	serving   sync.WaitGroup // connection goroutines
}

// New returns a server; Listen binds its listeners and Serve starts it.
func New(cfg Config) *Server {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	limits := NoLimits()
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	counts := make(map[string]*listenerCounts, len(cfg.Listeners))
	for _, l := range cfg.Listeners {
		counts[l.Name] = new(listenerCounts)
	}
	return &Server{
		cfg:          cfg,
		queue:        newQueue(cfg.QueuedMaxRequests, cfg.QueuedMaxBytes),
		log:          cfg.Logger,
		ctx:          ctx,
		cancel:       cancel,
		conns:        make(map[*conn]struct{}),
		perIP:        make(map[string]int),
		perListener:  make(map[string]int),
		limits:       limits,
		serverRate:   newBucket(limits.CreationRate),
		listenerRate: make(map[string]*bucket),
		changed:      make(chan struct{}),
		held:         make(map[net.Conn]*time.Timer),
		counts:       counts,
	}
}

// ListenerStats counts what became of one listener's connections since the
// server started.
type ListenerStats struct {
	Created      uint64 // admitted and served (Kafka: connection-creation-total)
	Closed       uint64 // of those, closed since (connection-close-total)
	FailedAuth   uint64 // of those, closed because their authentication failed (failed-authentication-total)
	RefusedPerIP uint64 // closed at accept: their address had max.connections.per.ip already
	RefusedRate  uint64 // held, then closed, at accept: their address was over its connection_creation_rate quota
	// Blocked is how long the listener waited, with a connection accepted,
	// for max.connections or a connection creation rate to let it in
	// (Kafka: AcceptorBlockedPercent and connection-accept-throttle-time).
	Blocked time.Duration
}

// listenerCounts is ListenerStats as it is counted.
type listenerCounts struct {
	created, closed, failedAuth, refusedPerIP, refusedRate atomic.Uint64
	blocked                                                atomic.Int64 // nanoseconds
}

// Stats returns the counts of the named listener; zero for a name the
// server was not configured with.
func (s *Server) Stats(listener string) ListenerStats {
	c, ok := s.counts[listener]
	if !ok {
		return ListenerStats{}
	}
	return ListenerStats{
		Created:      c.created.Load(),
		Closed:       c.closed.Load(),
		FailedAuth:   c.failedAuth.Load(),
		RefusedPerIP: c.refusedPerIP.Load(),
		RefusedRate:  c.refusedRate.Load(),
		Blocked:      time.Duration(c.blocked.Load()),
	}
}

// Listen binds every configured address without accepting yet, so the
// bound ports (for port 0) are known before the broker advertises them;
// clients that connect meanwhile wait in the accept backlog. On error
// nothing is left open.
func (s *Server) Listen() error {
	var lc net.ListenConfig
	for _, l := range s.cfg.Listeners {
		ln := l.Ln
		if ln == nil {
			var err error
			if ln, err = lc.Listen(context.Background(), "tcp", l.Addr); err != nil {
				s.closeListeners()
				return fmt.Errorf("listen %s on %s: %w", l.Name, l.Addr, err)
			}
		}
		s.mu.Lock()
		s.listeners = append(s.listeners, ln)
		s.mu.Unlock()
	}
	return nil
}

// Serve starts accepting connections on the bound listeners and serving
// them with h.
func (s *Server) Serve(h wire.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
	for i, ln := range s.listeners {
		name := s.cfg.Listeners[i].Name
		s.log.Info("listening", "listener", name, "addr", ln.Addr().String())
		s.accepting.Add(1)
		go s.acceptLoop(&s.cfg.Listeners[i], ln)
	}
}

// Connections returns how many connections of the named listener are
// being served.
func (s *Server) Connections(listener string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perListener[listener]
}

// Addrs returns the bound address of each listener, in configuration order.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.listeners))
	for i, ln := range s.listeners {
		out[i] = ln.Addr()
	}
	return out
}

func (s *Server) acceptLoop(l *Listener, ln net.Listener) {
	defer s.accepting.Done()
	name, tlsCfg := l.Name, l.TLS
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "listener", name, "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		s.setBuffers(nc)
		if tlsCfg != nil {
			// conn.serve runs the handshake, within the request timeout;
			// sendfile falls back to a copy.
			nc = tls.Server(nc, tlsCfg)
		}
		s.admit(l, nc)
	}
}

// setBuffers applies socket.send.buffer.bytes and
// socket.receive.buffer.bytes to a TCP connection just accepted.
func (s *Server) setBuffers(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return // a listener shared with raft hands over its own connections
	}
	if s.cfg.SendBuffer > 0 {
		tc.SetWriteBuffer(s.cfg.SendBuffer)
	}
	if s.cfg.ReceiveBuffer > 0 {
		tc.SetReadBuffer(s.cfg.ReceiveBuffer)
	}
}

// admit registers a new connection and starts its goroutines once the
// limits let it in (see Limits), or closes it when its address has as many
// connections as it may.
func (s *Server) admit(l *Listener, nc net.Conn) {
	if !s.waitToAdmit(l) {
		nc.Close()
		return
	}
	ip := remoteIP(nc)
	if f := s.cfg.ConnectionThrottle; f != nil {
		if d := f(ip, time.Now()); d > 0 {
			s.hold(l, nc, d)
			return
		}
	}
	s.mu.Lock()
	if s.stopping || s.overIPLimit(ip) {
		stopping, max := s.stopping, s.limits.perIP(ip)
		s.mu.Unlock()
		if !stopping {
			s.counts[l.Name].refusedPerIP.Add(1)
			s.log.Info("connection refused: too many connections from its address", "listener", l.Name,
				"remote", nc.RemoteAddr().String(), "max", max)
		}
		nc.Close()
		return
	}
	c := newConn(s, l, nc)
	c.counts.created.Add(1)
	s.conns[c] = struct{}{}
	s.perIP[ip]++
	s.perListener[l.Name]++
	s.serving.Add(1)
	s.mu.Unlock()
	go c.serve()
}

// hold keeps a refused connection open for d without reading from it, then
// closes it, as Kafka's acceptor holds a throttled one: its client does not
// learn of the refusal until then, and so does not reconnect at once. It
// takes no slot and is not counted against its address.
func (s *Server) hold(l *Listener, nc net.Conn, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		nc.Close()
		return
	}
	s.counts[l.Name].refusedRate.Add(1)
	s.log.Debug("connection refused: its address is over its connection_creation_rate", "listener", l.Name,
		"remote", nc.RemoteAddr().String(), "closing_in", d)
	s.held[nc] = time.AfterFunc(d, func() {
		s.mu.Lock()
		delete(s.held, nc)
		s.mu.Unlock()
		nc.Close()
	})
}

func (s *Server) forget(c *conn) {
	c.counts.closed.Add(1)
	ip := remoteIP(c.nc)
	s.mu.Lock()
	delete(s.conns, c)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
	if s.perListener[c.info.Listener]--; s.perListener[c.info.Listener] <= 0 {
		delete(s.perListener, c.info.Listener)
	}
	s.broadcast()
	s.mu.Unlock()
	s.serving.Done()
}

// StopReading closes the listeners and stops every connection from reading
// further requests. Requests already read are still answered.
func (s *Server) StopReading() {
	s.mu.Lock()
	s.stopping = true
	s.broadcast()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	for nc, t := range s.held {
		t.Stop()
		nc.Close()
		delete(s.held, nc)
	}
	s.mu.Unlock()
	s.closeListeners()
	s.accepting.Wait()
	for _, c := range conns {
		c.stopReading()
	}
}

// Close stops reading (if StopReading was not called), lets writers answer
// what is in flight until ctx is done, then cancels pending waits, closes
// every connection and waits for all goroutines.
func (s *Server) Close(ctx context.Context) {
	s.StopReading()
	drained := make(chan struct{})
	go func() { s.serving.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
	}
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	<-drained
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	lns := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

func remoteIP(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return nc.RemoteAddr().String()
}
