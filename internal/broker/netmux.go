package broker

import (
	"bufio"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/samsa-io/samsa/internal/quorum"
)

// A shared listener carries two protocols: connections that open with a
// raft hello go to the metadata quorum's transport, everything else to the
// Kafka-protocol server. Controllers share their controller listener this
// way, and broker-only nodes their inter-broker listener, which is where the
// quorum's leader reaches them as learners. Raft connections are accepted
// only from the addresses the node knows its raft peers by; anything else
// that sends a raft hello is closed. On an SSL listener the mux runs the
// TLS handshake first and sorts by the first bytes inside it, so raft and
// the Kafka protocol are both encrypted, and the Kafka-protocol server
// receives connections whose handshake is done.

// peekTimeout bounds how long a new connection may take to complete its
// TLS handshake (on an SSL listener) and send its first four bytes.
const peekTimeout = 10 * time.Second

// mux accepts on one socket and sorts connections by their first bytes.
type mux struct {
	ln        net.Listener
	tls       *tls.Config              // nil: plain TCP
	raftPeer  func(remote net.IP) bool // may this address speak raft?
	log       *slog.Logger
	raft      *muxListener
	kafka     *muxListener
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newMux(ln net.Listener, tlsCfg *tls.Config, raftPeer func(net.IP) bool, log *slog.Logger) *mux {
	m := &mux{ln: ln, tls: tlsCfg, raftPeer: raftPeer, log: log}
	m.raft = newMuxListener(m)
	m.kafka = newMuxListener(m)
	m.wg.Add(1)
	go m.accept()
	return m
}

func (m *mux) accept() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				m.log.Warn("accept failed", "err", err)
			}
			m.raft.shut()
			m.kafka.shut()
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.sort(conn)
		}()
	}
}

// sort peeks at a connection's first bytes and hands it on.
func (m *mux) sort(conn net.Conn) {
	conn.SetDeadline(time.Now().Add(peekTimeout))
	if m.tls != nil {
		tc := tls.Server(conn, m.tls)
		if err := tc.Handshake(); err != nil {
			m.log.Info("failed authentication: TLS handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
			conn.Close()
			return
		}
		conn = tc
	}
	br := bufio.NewReaderSize(conn, 4096)
	first, err := br.Peek(4)
	conn.SetDeadline(time.Time{})
	if err != nil {
		conn.Close()
		return
	}
	pc := &peekedConn{Conn: conn, r: br}
	if !quorum.IsRaftHello(first) {
		m.kafka.deliver(pc)
		return
	}
	if ip := remoteIP(conn); ip == nil || !m.raftPeer(ip) {
		m.log.Warn("refused a raft connection from an unknown address", "remote", conn.RemoteAddr().String())
		conn.Close()
		return
	}
	m.raft.deliver(pc)
}

// close stops accepting and waits for the sorting goroutines.
func (m *mux) close() {
	m.closeOnce.Do(func() { m.ln.Close() })
	m.wg.Wait()
}

func remoteIP(c net.Conn) net.IP {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP
	}
	return nil
}

// peekedConn replays the bytes the mux peeked at.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// RawTCPConn lets the server send log data with sendfile: writes go straight
// to the socket, only reads pass through the peek buffer. It is nil when the
// connection speaks TLS, whose writes must go through tls.Conn.
func (c *peekedConn) RawTCPConn() *net.TCPConn {
	tc, _ := c.Conn.(*net.TCPConn)
	return tc
}

// ConnectionState tells the server a TLS connection's state (its client's
// certificate); a plain connection's is empty.
func (c *peekedConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// muxListener is one protocol's side of a mux, a net.Listener fed by it.
type muxListener struct {
	m      *mux
	conns  chan net.Conn
	done   chan struct{}
	doneMu sync.Once
}

func newMuxListener(m *mux) *muxListener {
	return &muxListener{m: m, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *muxListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close ends this side; the shared socket closes once both sides have.
func (l *muxListener) Close() error {
	l.shut()
	select {
	case <-l.m.raft.done:
	default:
		return nil
	}
	select {
	case <-l.m.kafka.done:
		l.m.closeOnce.Do(func() { l.m.ln.Close() })
	default:
	}
	return nil
}

func (l *muxListener) shut() { l.doneMu.Do(func() { close(l.done) }) }

func (l *muxListener) Addr() net.Addr { return l.m.ln.Addr() }
