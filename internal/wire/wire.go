// Package wire is the contract between the connection layer (package server)
// and the request handlers (package api), so that neither imports the other:
// server frames bytes and knows no API by name; api decodes and answers
// requests and knows nothing of sockets.
//
// One request flows like this: server reads a size-prefixed frame, asks the
// Handler which request-header version the (key, version) pair uses, parses
// the header and calls Handle with the body. Handle does the request's
// synchronous part (decode, validate, append) before it returns, so requests
// of one connection take effect in the order they arrived. Its Reply either
// holds the response or a Wait function; the connection's writer calls Wait
// in request order, so responses leave in request order even while a produce
// waits for replication or a fetch waits for data.
package wire

import (
	"context"
	"net"
	"os"
	"time"
)

// Conn describes the connection a request arrived on. It is immutable and
// shared by every request of the connection.
type Conn struct {
	ID       uint64   // unique per broker process
	Listener string   // listener name, e.g. "PLAINTEXT"
	Remote   net.Addr // client address
	Local    net.Addr // the address the client connected to
	// Principal is the authenticated user's name: the subject of the
	// client's TLS certificate, or "ANONYMOUS" (Kafka's name for a client
	// that did not authenticate). Set before the first request is read.
	Principal string
}

// Request is one request frame after header parsing.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string    // "" when the client sent null
	Body          []byte    // bytes after the header; owned by the handler until its Reply is written
	Received      time.Time // when the frame's first byte arrived
	Conn          *Conn
}

// Response is one encoded response frame without its 4-byte size prefix:
// the correlation id, the response header's tagged fields where the version
// has them, and the body. Chunks are written in order.
type Response struct {
	Chunks []Chunk
	// Release, if set, is called once after the response was written or
	// dropped, so the handler can return buffers and file references.
	Release func()
	// Throttle, when positive, is how long the client is over a quota: from
	// when this response is written, the connection reads no further
	// request for that long (Kafka mutes the channel, KIP-219).
	Throttle time.Duration
}

// Chunk is a run of bytes, either in memory or in a file. File chunks let the
// writer send log data straight from the page cache (sendfile).
type Chunk struct {
	Bytes []byte
	File  *os.File // when non-nil the chunk is Size bytes of File at Pos
	Pos   int64
	Size  int64
}

// Len returns the number of bytes the chunk contributes to the frame.
func (c *Chunk) Len() int64 {
	if c.File != nil {
		return c.Size
	}
	return int64(len(c.Bytes))
}

// Size returns the frame size: the sum of the chunk lengths.
func (r *Response) Size() int64 {
	var n int64
	for i := range r.Chunks {
		n += r.Chunks[i].Len()
	}
	return n
}

// Reply is the outcome of the synchronous part of a request.
//
// Exactly one of these holds: Resp is the response; Wait produces the
// response later; None means the request gets no response at all (a produce
// with acks=0).
type Reply struct {
	Resp *Response
	// Wait is called by the connection's writer, in request order, and
	// returns the response. It must return promptly once ctx is done (the
	// connection closes or the broker stops), answering with what it has.
	Wait func(ctx context.Context) *Response
	// Ready, when set, is closed once Wait would return without blocking,
	// so the writer can keep coalescing responses into one write instead
	// of flushing what it has before waiting.
	Ready <-chan struct{}
	None  bool
	// Throttle, when positive, mutes the connection as Response.Throttle
	// does, counted from when Handle returns: requests the client sent
	// behind this one wait too. It is how a request with no response
	// (None) is throttled, and how a throttle known at once takes effect
	// before the response is ready.
	Throttle time.Duration
	// Follower marks the answer to a follower replica's Fetch, which
	// metrics measure apart from consumers' (Kafka's FetchFollower and
	// FetchConsumer).
	Follower bool
}

// Handler serves requests. Its methods are called concurrently from many
// connections, and sequentially within one connection.
type Handler interface {
	// RequestHeaderVersion returns the request header version (1, or 2 for
	// flexible versions) used by key at version. ok=false means the pair is
	// not served and the connection is closed without a response.
	RequestHeaderVersion(key, version int16) (headerVersion int, ok bool)

	// Handle runs the synchronous part of req. A non-nil error means the
	// request was malformed or not allowed in a way that closes the
	// connection; protocol errors are error codes inside the response.
	Handle(ctx context.Context, req *Request) (Reply, error)
}
