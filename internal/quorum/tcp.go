package quorum

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// TCPConfig configures a TCPTransport.
type TCPConfig struct {
	// NodeID is the local node's id; hellos and messages addressed to any
	// other id are refused.
	NodeID uint64

	// ListenAddr is the controller listener, host:port. Port 0 picks a free
	// port (see Addr). When host is a specific IP, outgoing connections are
	// bound to it too, so that address-based network faults apply to them.
	ListenAddr string

	// Listener, when set, is used instead of binding ListenAddr (whose host
	// still binds outgoing connections): the broker shares one socket
	// between raft and the Kafka protocol and hands this transport the
	// connections that open with a raft hello. The transport closes it on
	// Stop.
	Listener net.Listener

	// DialTimeout bounds one connection attempt. Default 1s.
	DialTimeout time.Duration

	// WriteTimeout bounds writing one batch of messages. Default 5s.
	WriteTimeout time.Duration

	// QueueLen is how many messages wait per peer before new ones are
	// dropped. Default 1024.
	QueueLen int

	// MaxFrameBytes bounds one message on the wire, snapshots included.
	// Default 256 MiB.
	MaxFrameBytes int

	// PeerTLS, when set, gives the TLS configuration of the connection to
	// a peer (nil: plain TCP): the listener raft reaches a voter on, and
	// the one it reaches a learner on, may each be SSL. Incoming TLS is
	// the Listener's business.
	PeerTLS func(peer uint64) *tls.Config

	Logger *slog.Logger // default slog.Default()
}

// TCPTransport is the Transport between controller nodes: one outbound
// connection per peer (reconnecting with backoff, fed by a bounded queue
// that drops when full), and inbound connections that each carry one peer's
// messages. Every connection opens with a hello; frames carry one
// protobuf-encoded raft message each with a CRC-32C. Messages from node ids
// that are not peers are dropped.
type TCPTransport struct {
	cfg     TCPConfig // immutable
	ln      net.Listener
	localIP net.IP // bind address for outgoing connections; nil = any

	mu      sync.Mutex
	h       Handler               // guarded by mu; set by Start
	ctx     context.Context       // guarded by mu; set by Start
	cancel  context.CancelFunc    // guarded by mu
	peers   map[uint64]*tcpPeer   // guarded by mu
	conns   map[net.Conn]struct{} // guarded by mu; inbound connections
	stopped bool                  // guarded by mu
	wg      sync.WaitGroup
}

// NewTCPTransport binds the listener at once, so that Addr is known before
// the node starts; nothing is accepted until Start.
func NewTCPTransport(cfg TCPConfig) (*TCPTransport, error) {
	if cfg.NodeID == 0 {
		return nil, errors.New("quorum: TCPConfig.NodeID must not be 0")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 1024
	}
	if cfg.MaxFrameBytes == 0 {
		cfg.MaxFrameBytes = 256 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With("node_id", cfg.NodeID)
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
			return nil, fmt.Errorf("quorum: listen on %s: %w", cfg.ListenAddr, err)
		}
	}
	t := &TCPTransport{cfg: cfg, ln: ln, peers: make(map[uint64]*tcpPeer), conns: make(map[net.Conn]struct{})}
	if host, _, err := net.SplitHostPort(cfg.ListenAddr); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			t.localIP = ip
		}
	}
	return t, nil
}

// Addr returns the address the listener is bound to.
func (t *TCPTransport) Addr() string { return t.ln.Addr().String() }

// Start begins accepting connections and sending to known peers.
func (t *TCPTransport) Start(ctx context.Context, h Handler) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.h != nil {
		return errors.New("quorum: tcp transport started twice or after Stop")
	}
	t.h = h
	t.ctx, t.cancel = context.WithCancel(ctx)
	for _, p := range t.peers {
		t.startPeerLocked(p)
	}
	t.wg.Go(t.acceptLoop)
	return nil
}

// Stop closes the listener and every connection and waits for the
// transport's goroutines.
func (t *TCPTransport) Stop() {
	t.mu.Lock()
	t.stopped = true
	if t.cancel != nil {
		t.cancel()
	}
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	t.ln.Close()
	t.wg.Wait()
}

// AddPeer records node id's address; a changed address replaces the
// connection. Messages from id are accepted from now on.
func (t *TCPTransport) AddPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || id == t.cfg.NodeID {
		return
	}
	if old := t.peers[id]; old != nil {
		if old.addr == addr {
			return
		}
		old.stop()
	}
	p := &tcpPeer{t: t, id: id, addr: addr, queue: make(chan *pb.Message, t.cfg.QueueLen)}
	t.peers[id] = p
	if t.h != nil {
		t.startPeerLocked(p)
	}
}

// RemovePeer forgets node id: its queue and connection are dropped and its
// messages refused.
func (t *TCPTransport) RemovePeer(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.peers[id]; p != nil {
		p.stop()
		delete(t.peers, id)
	}
}

func (t *TCPTransport) startPeerLocked(p *tcpPeer) {
	ctx, cancel := context.WithCancel(t.ctx)
	p.cancel = cancel
	t.wg.Go(func() { p.run(ctx) })
}

// Send queues each message on its peer's queue, dropping it (and telling
// raft) when the peer is unknown or its queue is full.
func (t *TCPTransport) Send(msgs []*pb.Message) {
	for _, m := range msgs {
		t.mu.Lock()
		p, h := t.peers[m.GetTo()], t.h
		t.mu.Unlock()
		if p != nil {
			select {
			case p.queue <- m:
				continue
			default:
			}
		}
		if h != nil {
			reportFailed(h, m.GetTo(), []*pb.Message{m})
		}
	}
}

// reportFailed tells raft that msgs to node id were not sent.
func reportFailed(h Handler, id uint64, msgs []*pb.Message) {
	h.ReportUnreachable(id)
	for _, m := range msgs {
		if m.GetType() == pb.MsgSnap {
			h.ReportSnapshot(id, false)
		}
	}
}

func (t *TCPTransport) acceptLoop() {
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.cfg.Logger.Warn("quorum accept", "err", err)
			if !t.pause(100 * time.Millisecond) {
				return
			}
			continue
		}
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			conn.Close()
			return
		}
		t.conns[conn] = struct{}{}
		t.wg.Go(func() { t.serveConn(conn) })
		t.mu.Unlock()
	}
}

// pause waits d unless the transport stops first; it reports whether to go on.
func (t *TCPTransport) pause(d time.Duration) bool {
	t.mu.Lock()
	ctx := t.ctx
	t.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// serveConn reads one inbound connection until it fails or the transport
// stops.
func (t *TCPTransport) serveConn(conn net.Conn) {
	defer func() {
		t.mu.Lock()
		delete(t.conns, conn)
		t.mu.Unlock()
		conn.Close()
	}()
	r := bufio.NewReaderSize(conn, 64<<10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	hello := make([]byte, helloLen)
	if _, err := io.ReadFull(r, hello); err != nil {
		return
	}
	from, to, err := parseHello(hello)
	if err == nil && to != t.cfg.NodeID {
		err = fmt.Errorf("connection for node %d", to)
	}
	if err == nil && !t.known(from) {
		err = fmt.Errorf("connection from unknown node %d", from)
	}
	if err != nil {
		t.cfg.Logger.Warn("refusing quorum connection", "remote", conn.RemoteAddr().String(), "err", err)
		return
	}
	conn.SetReadDeadline(time.Time{})
	for {
		m, err := readFrame(r, t.cfg.MaxFrameBytes)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.cfg.Logger.Debug("quorum connection closed", "peer", from, "err", err)
			}
			return
		}
		if m.GetFrom() != from || m.GetTo() != t.cfg.NodeID || !t.known(from) {
			continue
		}
		t.mu.Lock()
		h := t.h
		t.mu.Unlock()
		h.Deliver(m)
	}
}

func (t *TCPTransport) known(id uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[id] != nil
}
