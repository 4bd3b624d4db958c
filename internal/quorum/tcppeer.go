package quorum

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

const (
	minRedial  = 50 * time.Millisecond
	maxRedial  = 2 * time.Second
	sendBatch  = 128 // messages written per flush
	writeBufSz = 64 << 10
)

// tcpPeer is the outbound side of one peer: a queue and the goroutine that
// drains it into a single connection, dialling again after failures.
type tcpPeer struct {
	t      *TCPTransport
	id     uint64
	addr   string
	queue  chan *pb.Message
	cancel context.CancelFunc // set when started; guarded by t.mu
}

// stop ends the peer's goroutine; called with t.mu held.
func (p *tcpPeer) stop() {
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *tcpPeer) run(ctx context.Context) {
	var (
		conn    net.Conn
		w       *bufio.Writer
		release func() bool
		backoff = minRedial
		retryAt time.Time
	)
	closeConn := func() {
		if conn != nil {
			release()
			conn.Close()
			conn = nil
		}
	}
	defer closeConn()
	h := p.handler()
	batch := make([]*pb.Message, 0, sendBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case m := <-p.queue:
			batch = append(batch, m)
		}
		batch = p.drain(batch)
		if conn == nil {
			if time.Now().Before(retryAt) {
				reportFailed(h, p.id, batch)
				continue
			}
			c, err := p.dial(ctx)
			if err != nil {
				p.t.cfg.Logger.Debug("quorum dial failed", "peer", p.id, "addr", p.addr, "err", err)
				retryAt = time.Now().Add(backoff)
				backoff = min(2*backoff, maxRedial)
				reportFailed(h, p.id, batch)
				continue
			}
			conn, w, backoff = c, bufio.NewWriterSize(c, writeBufSz), minRedial
			// Closing on cancellation unblocks a write stuck on a dead peer.
			release = context.AfterFunc(ctx, func() { c.Close() })
		}
		if err := p.write(conn, w, batch); err != nil {
			p.t.cfg.Logger.Debug("quorum send failed", "peer", p.id, "err", err)
			closeConn()
			reportFailed(h, p.id, batch)
			continue
		}
		for _, m := range batch {
			if m.GetType() == pb.MsgSnap {
				h.ReportSnapshot(p.id, true)
			}
		}
	}
}

func (p *tcpPeer) handler() Handler {
	p.t.mu.Lock()
	defer p.t.mu.Unlock()
	return p.t.h
}

// drain adds already-queued messages to batch, up to sendBatch.
func (p *tcpPeer) drain(batch []*pb.Message) []*pb.Message {
	for len(batch) < sendBatch {
		select {
		case m := <-p.queue:
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// dial connects to the peer, from the local node's own address when it has
// one, over TLS when the peer's listener wants it (the handshake is part of
// the dial and its timeout), and sends the hello.
func (p *tcpPeer) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: p.t.cfg.DialTimeout}
	if p.t.localIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: p.t.localIP}
	}
	var c net.Conn
	var err error
	if cfg := p.tlsConfig(); cfg != nil {
		td := tls.Dialer{NetDialer: &d, Config: cfg}
		c, err = td.DialContext(ctx, "tcp", p.addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", p.addr)
	}
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
	if _, err := c.Write(appendHello(nil, p.t.cfg.NodeID, p.id)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *tcpPeer) tlsConfig() *tls.Config {
	if p.t.cfg.PeerTLS == nil {
		return nil
	}
	return p.t.cfg.PeerTLS(p.id)
}

func (p *tcpPeer) write(conn net.Conn, w *bufio.Writer, batch []*pb.Message) error {
	conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
	for _, m := range batch {
		if err := writeFrame(w, m, p.t.cfg.MaxFrameBytes); err != nil {
			return err
		}
	}
	return w.Flush()
}
