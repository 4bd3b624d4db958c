// Package kclient is the minimal Kafka-protocol client brokers use to talk
// to each other: the controller forwarding path and the replication
// fetchers. It sends one kmsg request at the version the request carries
// (samsa nodes of one build speak the same versions, so there is no
// ApiVersions negotiation) and returns the decoded response. Clients of the
// cluster use franz-go, never this.
//
// A Pool keeps a few idle connections per address; a connection carries one
// request at a time, and a failed round trip closes it. Outgoing connections
// bind to the node's own address when one is given, so that address-based
// network faults (tests partition nodes on 127.0.0.x) apply to them, and
// speak TLS when the pool has a TLS configuration (the peer's listener is
// SSL).
package kclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxResponseBytes bounds one response; replication fetches are the largest
// (replica.fetch.response.max.bytes, 10 MiB by default).
const maxResponseBytes = 256 << 20

// Pool sends requests to brokers. It is safe for concurrent use.
type Pool struct {
	clientID string
	dialer   net.Dialer
	tls      func() *tls.Config // the TLS of new connections; nil, or returning nil: plain TCP
	rcvBuf   int                // SO_RCVBUF of new connections; 0 or less keeps the system's

	mu   sync.Mutex // guards idle, corr and closed
	idle map[string][]*conn
	corr int32

	closed bool
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

const maxIdlePerAddr = 4

// NewPool returns a pool whose connections leave from local (nil: any) and
// speak TLS with what tlsCfg returns when each is made (nil: plain TCP), so
// that new settings apply to new connections. The TLS handshake is part of
// the dial, bounded by the request's context; ServerName, when the
// configuration leaves it empty, is the host dialled.
func NewPool(clientID string, local net.IP, tlsCfg func() *tls.Config) *Pool {
	p := &Pool{clientID: clientID, idle: map[string][]*conn{}, tls: tlsCfg}
	if local != nil {
		p.dialer.LocalAddr = &net.TCPAddr{IP: local}
	}
	p.dialer.Timeout = 2 * time.Second
	return p
}

// SetReceiveBuffer makes new connections ask for a receive buffer of n
// bytes (replica.socket.receive.buffer.bytes); n <= 0 keeps the system's.
// Call it before the pool is used.
func (p *Pool) SetReceiveBuffer(n int) {
	if n <= 0 {
		p.dialer.Control = nil
		return
	}
	// Before connecting, so that the window scale offered fits it.
	p.dialer.Control = func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		})
		return errors.Join(err, serr)
	}
}

// Request sends req to addr and returns its response. The request's version
// must be set (GetVersion), and ctx's deadline bounds the round trip (30 s
// without one).
func (p *Pool) Request(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error) {
	return p.RequestInto(ctx, addr, req, nil)
}

// maxKeptBuffer bounds the buffer RequestInto keeps between calls; a rare
// larger response gets a buffer of its own.
const maxKeptBuffer = 16 << 20

// RequestInto is Request with the response read into *buf, which it grows
// as needed and keeps for the next call, so that a caller repeating a
// request (a replication fetcher) does not allocate and zero a fresh
// response buffer each time. Byte fields of the returned response (a
// Fetch's record batches) alias *buf: they are valid until buf is used
// again. A nil buf reads into a buffer of the response's own.
func (p *Pool) RequestInto(ctx context.Context, addr string, req kmsg.Request, buf *[]byte) (kmsg.Response, error) {
	p.mu.Lock()
	p.corr++
	corr := p.corr
	p.mu.Unlock()

	c, err := p.get(ctx, addr)
	if err != nil {
		return nil, err
	}
	data, err := p.roundTrip(ctx, c, req, corr, buf)
	if err != nil {
		c.c.Close()
		return nil, err
	}
	p.put(addr, c)
	return DecodeResponse(req, data)
}

// roundTrip sends req and reads its response, into *buf when buf is not
// nil.
func (p *Pool) roundTrip(ctx context.Context, c *conn, req kmsg.Request, corr int32, buf *[]byte) ([]byte, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	c.c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Now()) }) // cancel ends the wait
	defer stop()
	frame := binary.BigEndian.AppendUint32(nil, 0)
	frame = AppendRequest(frame, req, corr, p.clientID)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	if _, err := c.c.Write(frame); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxResponseBytes {
		return nil, fmt.Errorf("kclient: response of %d bytes", n)
	}
	var resp []byte
	switch {
	case buf != nil && int(n) <= cap(*buf):
		resp = (*buf)[:n]
	case buf != nil && n <= maxKeptBuffer:
		resp = make([]byte, n)
		*buf = resp
	default:
		resp = make([]byte, n)
	}
	if _, err := io.ReadFull(c.r, resp); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(resp)); got != corr {
		return nil, fmt.Errorf("kclient: response for correlation id %d, want %d", got, corr)
	}
	return resp, nil
}

func (p *Pool) get(ctx context.Context, addr string) (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, net.ErrClosed
	}
	if conns := p.idle[addr]; len(conns) > 0 {
		c := conns[len(conns)-1]
		p.idle[addr] = conns[:len(conns)-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	var nc net.Conn
	var err error
	var cfg *tls.Config
	if p.tls != nil {
		cfg = p.tls()
	}
	if cfg != nil {
		d := tls.Dialer{NetDialer: &p.dialer, Config: cfg}
		nc, err = d.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = p.dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return &conn{c: nc, r: bufio.NewReaderSize(nc, 64<<10)}, nil
}

func (p *Pool) put(addr string, c *conn) {
	c.c.SetDeadline(time.Time{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[addr]) >= maxIdlePerAddr {
		c.c.Close()
		return
	}
	p.idle[addr] = append(p.idle[addr], c)
}

// Close closes the idle connections; requests in flight finish or fail on
// their own.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, conns := range p.idle {
		for _, c := range conns {
			c.c.Close()
		}
		delete(p.idle, addr)
	}
}

// AppendRequest appends req (at its version) with its request header.
func AppendRequest(dst []byte, req kmsg.Request, correlationID int32, clientID string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(clientID)))
	dst = append(dst, clientID...)
	if req.IsFlexible() {
		dst = append(dst, 0)
	}
	return req.AppendTo(dst)
}

// AppendResponse appends resp with its response header (correlation id, and
// the empty tag section of flexible versions other than ApiVersions').
func AppendResponse(dst []byte, resp kmsg.Response, correlationID int32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != 18 {
		dst = append(dst, 0)
	}
	return resp.AppendTo(dst)
}

// DecodeResponse parses a framed response (correlation id first) of req's
// kind and version.
func DecodeResponse(req kmsg.Request, data []byte) (kmsg.Response, error) {
	if len(data) < 4 {
		return nil, errors.New("kclient: truncated response")
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	body := data[4:]
	if resp.IsFlexible() && req.Key() != 18 { // ApiVersions' response header is v0 always
		var err error
		if body, err = skipTags(body); err != nil {
			return nil, err
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("kclient: decode %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

var errBadHeader = errors.New("kclient: malformed response header")

// skipTags returns b after the tagged-field section it starts with (a
// response header's, which samsa's nodes send empty and no field of which
// kclient reads).
func skipTags(b []byte) ([]byte, error) {
	bad := errBadHeader
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return nil, bad
	}
	b = b[n:]
	for range count {
		if _, n = binary.Uvarint(b); n <= 0 { // the tag
			return nil, bad
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, bad
		}
		b = b[n+int(size):]
	}
	return b, nil
}
