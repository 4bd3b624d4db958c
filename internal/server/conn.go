package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-io/samsa/internal/wire"
)

// conn is one client connection: a reader goroutine (serve) and a writer
// goroutine (writeLoop) joined by the replies channel, which keeps responses
// in request order.
type conn struct {
	srv  *Server
	nc   net.Conn
	info *wire.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	ctx    context.Context // done when the connection is closing or the server stops
	cancel context.CancelFunc

	replies  chan pending  // requests read and not yet answered, in order
	inFlight atomic.Int32  // replies queued or being written
	stopped  atomic.Bool   // StopReading was called
	stopping chan struct{} // closed by stopReading
	stopOnce sync.Once
	muted    atomic.Int64                    // until when (nanoseconds since muteClock) no request is read: a throttled client
	mapName  func(dn string) (string, error) // the listener's principal mapping; nil: the DN
	counts   *listenerCounts                 // the listener's
}

func newConn(s *Server, l *Listener, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	return &conn{
		srv: s,
		nc:  nc,
		info: &wire.Conn{
			ID:        s.nextID.Add(1),
			Listener:  l.Name,
			Remote:    nc.RemoteAddr(),
			Local:     nc.LocalAddr(),
			Principal: anonymous,
		},
		stopping: make(chan struct{}),
		mapName:  l.Principal,
		counts:   s.counts[l.Name],
		br:       bufio.NewReaderSize(nc, 64<<10),
		bw:       bufio.NewWriterSize(nc, 64<<10),
		ctx:      ctx,
		cancel:   cancel,
		replies:  make(chan pending, s.cfg.MaxInFlight),
	}
}

// handshake completes a TLS handshake within the request timeout, and
// logs a failure as Kafka logs a failed authentication.
func (c *conn) handshake(tc *tls.Conn) bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.cfg.RequestTimeout)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	if err != nil && !c.stopped.Load() {
		c.counts.failedAuth.Add(1)
		c.srv.log.Info("failed authentication: TLS handshake failed", "listener", c.info.Listener, "remote", c.info.Remote.String(), "err", err)
	}
	return err == nil
}

// authenticate names the connection's user (wire.Conn.Principal), and logs
// a certificate no mapping rule applies to as Kafka logs a failed
// authentication.
func (c *conn) authenticate() bool {
	p, err := principal(c.nc, c.mapName)
	if err != nil {
		c.counts.failedAuth.Add(1)
		c.srv.log.Info("failed authentication", "listener", c.info.Listener, "remote", c.info.Remote.String(), "err", err)
		return false
	}
	c.info.Principal = p
	return true
}

// closeFailed closes a connection whose authentication failed, after
// connection.failed.authentication.delay.ms (KIP-306), so that a client
// retrying at once cannot keep the broker handshaking; stopping the
// connection ends the wait.
func (c *conn) closeFailed() {
	if d := c.srv.cfg.FailedAuthDelay; d > 0 && !c.stopped.Load() {
		c.srv.delayedCloses.Add(1)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.stopping:
		case <-c.ctx.Done():
		}
		t.Stop()
	}
	c.cancel()
	c.nc.Close()
}

// serve runs the reader in this goroutine and the writer in another, and
// tears the connection down when both are done.
func (c *conn) serve() {
	defer c.srv.forget(c)
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		c.closeFailed()
		return
	}
	if !c.authenticate() {
		c.closeFailed()
		return
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		c.writeLoop()
	}()
	err := c.readLoop()
	close(c.replies)
	if err != nil && !c.stopped.Load() && !isClosedErr(err) {
		c.srv.log.Debug("closing connection", "remote", c.info.Remote.String(), "err", err)
		c.cancel() // a broken or hostile connection gets no further answers
	}
	<-written
	c.cancel()
	c.nc.Close()
}

// stopReading makes the reader stop at its next read; replies already
// queued are still written.
func (c *conn) stopReading() {
	c.stopped.Store(true)
	c.stopOnce.Do(func() { close(c.stopping) })
	c.nc.SetReadDeadline(time.Now())
}

// muteClock is what mutes are timed from: time.Since reads the monotonic
// clock, so a step of the wall clock neither lengthens nor ends a mute.
var muteClock = time.Now()

// mute keeps the reader from reading another request for d: the client is
// over a quota. Mutes do not add up; the later end wins. The end is kept
// as nanoseconds since muteClock, at least 1 (0 is never muted).
func (c *conn) mute(d time.Duration) {
	until := int64(max(time.Since(muteClock)+d, 1))
	for {
		cur := c.muted.Load()
		if cur >= until || c.muted.CompareAndSwap(cur, until) {
			return
		}
	}
}

// waitMuted returns once the connection may read again, or false when it
// is closing.
func (c *conn) waitMuted() bool {
	for {
		until := c.muted.Load()
		if until == 0 {
			return true // never throttled: no clock read per request
		}
		d := time.Duration(until) - time.Since(muteClock)
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.stopping:
			t.Stop()
			return false
		case <-c.ctx.Done():
			t.Stop()
			return false
		}
	}
}

func (c *conn) readLoop() error {
	cfg := &c.srv.cfg
	var sizeBuf [4]byte
	for {
		if c.stopped.Load() || !c.waitMuted() {
			return nil
		}
		// Wait for the next frame. An idle timeout only closes the
		// connection when nothing is in flight: a client waiting for a long
		// produce or fetch is not idle.
		c.nc.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		if _, err := c.br.Peek(4); err != nil {
			if isTimeout(err) && !c.stopped.Load() && c.inFlight.Load() > 0 && c.br.Buffered() == 0 {
				continue
			}
			return err
		}
		// A mute set while this read waited (a throttled response written
		// meanwhile) holds the request that just arrived.
		if !c.waitMuted() {
			return nil
		}
		received := time.Now()
		c.nc.SetReadDeadline(received.Add(cfg.RequestTimeout))
		size, err := readSize(c.br, &sizeBuf, cfg.MaxRequestBytes)
		if err != nil {
			return err
		}
		reply, key, t, err := c.readAndHandle(size, received)
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			return err
		}
		if reply.Throttle > 0 {
			c.mute(reply.Throttle)
		}
		if reply.None {
			c.done(Completion{Key: key, Follower: reply.Follower, ReqBytes: int64(size) + 4,
				Queue: t.started.Sub(received), Local: t.handled.Sub(t.started)})
			continue
		}
		c.inFlight.Add(1)
		select {
		case c.replies <- pending{Reply: reply, key: key, received: received, handling: t, size: size}:
		case <-c.ctx.Done():
			c.inFlight.Add(-1)
			releaseReply(c.ctx, reply)
			return c.ctx.Err()
		}
	}
}

// readAndHandle reads the body of a size-byte frame once the server's
// request queue has room for it, and handles it. A frame that waited for
// room gets its whole deadline again from when it may be read.
func (c *conn) readAndHandle(size int32, received time.Time) (wire.Reply, int16, handling, error) {
	q := c.srv.queue
	ok, waited := q.acquire(c.ctx, c.stopping, int64(size))
	if !ok {
		return wire.Reply{}, 0, handling{}, errStopped
	}
	defer q.release(int64(size))
	if waited {
		c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.RequestTimeout))
	}
	frame, err := readFrame(c.br, size)
	if err != nil {
		return wire.Reply{}, 0, handling{}, fmt.Errorf("read %d-byte frame: %w", size, err)
	}
	var t handling
	t.started = c.now()
	reply, key, err := c.handle(frame, received)
	t.handled = c.now()
	return reply, key, t, err
}

// handling is when a request's handler started and returned, for its
// Completion; zero without Config.Completed.
type handling struct{ started, handled time.Time }

// pending is a request handled and waiting for its response to be written,
// with what its metrics need.
type pending struct {
	wire.Reply
	key      int16     // API key
	received time.Time // when its first byte was read
	handling handling
	size     int32 // its frame's size, without the size prefix
}

// now is the time for a Completion: the zero time without
// Config.Completed, so that a node without metrics reads no clock for them.
func (c *conn) now() time.Time {
	if c.srv.cfg.Completed == nil {
		return time.Time{}
	}
	return time.Now()
}

// done reports a request answered to Config.Completed.
func (c *conn) done(r Completion) {
	if f := c.srv.cfg.Completed; f != nil {
		f(r)
	}
}

// completion is what a written response's request reports: p was reached
// by the writer at picked, its response was in hand at answered and
// written at written. A response the handler gave waited for the writer
// from the handler's return; a deferred one the writer had to wait for
// (notReady) waited for its own data from then; one ready before the
// writer reached it waited behind earlier responses until then.
func (p *pending) completion(picked, answered, written time.Time, notReady bool, respBytes int64) Completion {
	handled := p.handling.handled
	r := Completion{Key: p.key, Follower: p.Follower, ReqBytes: int64(p.size) + 4, RespBytes: respBytes + 4,
		Queue: p.handling.started.Sub(p.received), Local: handled.Sub(p.handling.started),
		Send: written.Sub(answered)}
	switch {
	case p.Wait == nil:
		r.ResponseQueue = answered.Sub(handled)
	case notReady:
		r.Remote = answered.Sub(handled)
	default:
		r.ResponseQueue = picked.Sub(handled)
		r.Remote = answered.Sub(picked)
	}
	return r
}

// handle parses the header and runs the handler's synchronous part; it
// returns the request's API key with the reply. A panic is a bug in samsa,
// never the client's doing to survive: it is logged and the connection
// closed.
func (c *conn) handle(frame []byte, received time.Time) (reply wire.Reply, key int16, err error) {
	key, version := peekAPI(frame)
	hv, ok := c.srv.handler.RequestHeaderVersion(key, version)
	if !ok {
		return reply, key, fmt.Errorf("%w: key %d version %d", errUnknownAPI, key, version)
	}
	h, err := parseHeader(frame, hv)
	if err != nil {
		return reply, key, err
	}
	defer func() {
		if r := recover(); r != nil {
			c.srv.log.Error("panic handling request", "api_key", key, "api_version", version,
				"remote", c.info.Remote.String(), "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic handling api key %d: %v", key, r)
		}
	}()
	reply, err = c.srv.handler.Handle(c.ctx, &wire.Request{
		Key:           h.key,
		Version:       h.version,
		CorrelationID: h.correlationID,
		ClientID:      h.clientID,
		Body:          frame[h.bodyOffset:],
		Received:      received,
		Conn:          c.info,
	})
	return reply, key, err
}

func (c *conn) writeLoop() {
	broken := false
	for p := range c.replies {
		picked := c.now()
		reply := p.Reply
		notReady := reply.Wait != nil && !isReady(reply)
		// Responses already written must not wait in the buffer while this
		// one waits for acks or data.
		if notReady && c.bw.Buffered() > 0 && !broken {
			if err := c.bw.Flush(); err != nil {
				broken = true
				c.cancel()
				c.nc.Close()
			}
		}
		resp := c.await(reply)
		answered := c.now()
		if resp != nil && resp.Throttle > 0 {
			// Before the write: a client that reads the response and sends
			// again at once finds the connection muted already.
			c.mute(resp.Throttle)
		}
		if resp != nil && !broken {
			if err := c.write(resp); err != nil {
				broken = true
				c.cancel()
				c.nc.Close()
				if !isClosedErr(err) {
					c.srv.log.Debug("write failed", "remote", c.info.Remote.String(), "err", err)
				}
			} else if len(c.replies) == 0 {
				if err := c.bw.Flush(); err != nil {
					broken = true
					c.cancel()
					c.nc.Close()
				}
			}
		}
		if resp != nil && !broken && c.srv.cfg.Completed != nil {
			c.done(p.completion(picked, answered, time.Now(), notReady, resp.Size()))
		}
		if resp != nil && resp.Release != nil {
			resp.Release()
		}
		c.inFlight.Add(-1)
	}
	if !broken {
		c.bw.Flush()
	}
}

// isReady reports whether reply's Wait is known not to block.
func isReady(reply wire.Reply) bool {
	if reply.Ready == nil {
		return false
	}
	select {
	case <-reply.Ready:
		return true
	default:
		return false
	}
}

// await returns the reply's response, running its Wait if it has one.
func (c *conn) await(reply wire.Reply) (resp *wire.Response) {
	if reply.Wait == nil {
		return reply.Resp
	}
	defer func() {
		if r := recover(); r != nil {
			c.srv.log.Error("panic completing request", "remote", c.info.Remote.String(),
				"panic", r, "stack", string(debug.Stack()))
			c.cancel()
			c.nc.Close()
			resp = nil
		}
	}()
	return reply.Wait(c.ctx)
}

func releaseReply(ctx context.Context, reply wire.Reply) {
	resp := reply.Resp
	if reply.Wait != nil {
		resp = reply.Wait(ctx)
	}
	if resp != nil && resp.Release != nil {
		resp.Release()
	}
}

// write sends one response frame: the size prefix and every chunk.
func (c *conn) write(resp *wire.Response) error {
	size := resp.Size()
	if size > 1<<31-1 {
		return fmt.Errorf("response of %d bytes exceeds the frame limit", size)
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.RequestTimeout))
	var sz [4]byte
	binary.BigEndian.PutUint32(sz[:], uint32(size))
	if _, err := c.bw.Write(sz[:]); err != nil {
		return err
	}
	for i := range resp.Chunks {
		ch := &resp.Chunks[i]
		if ch.File == nil {
			if _, err := c.bw.Write(ch.Bytes); err != nil {
				return err
			}
			continue
		}
		if err := c.writeFile(ch.File, ch.Pos, ch.Size); err != nil {
			return err
		}
	}
	return nil
}

// writeFile sends size bytes of f at pos. Small regions are copied through
// the buffer (one syscall for many small responses); larger ones go out with
// sendfile after the buffer is flushed.
func (c *conn) writeFile(f *os.File, pos, size int64) error {
	if size <= int64(c.bw.Available()) && size <= 16<<10 {
		buf := c.bw.AvailableBuffer()[:size]
		if _, err := f.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("read log data: %w", err)
		}
		_, err := c.bw.Write(buf)
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	return sendFile(c.nc, f, pos, size)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled)
}
