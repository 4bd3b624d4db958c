package api_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// rawConn speaks the protocol frame by frame, for what clients will not
// send: invalid values, pipelines, abrupt ends.
type rawConn struct {
	c    net.Conn
	r    *bufio.Reader
	corr int32
}

func dialRaw(t *testing.T, c *clustertest.Cluster) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", c.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{c: nc, r: bufio.NewReader(nc)}
}

// send writes req at version with the matching request header.
func (rc *rawConn) send(t *testing.T, req kmsg.Request, version int16) {
	t.Helper()
	req.SetVersion(version)
	rc.corr++
	b := requestFrame(req.Key(), version, rc.corr, req.AppendTo(nil))
	if _, err := rc.c.Write(b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// requestFrame frames body as request key at version: the size, then the
// request header that version takes (client id "test"), then body.
func requestFrame(key, version int16, corr int32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 20+len(body)), 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	if req.IsFlexible() {
		b = append(b, 0) // no tagged fields in the header
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// roundTrip sends req and decodes the next response, checking that its
// correlation id is this request's.
func (rc *rawConn) roundTrip(t *testing.T, req kmsg.Request, version int16) kmsg.Response {
	t.Helper()
	rc.send(t, req, version)
	var size [4]byte
	if _, err := io.ReadFull(rc.r, size[:]); err != nil {
		t.Fatalf("read response: %v", err)
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.r, frame); err != nil {
		t.Fatalf("read response: %v", err)
	}
	if corr := int32(binary.BigEndian.Uint32(frame)); corr != rc.corr {
		t.Fatalf("response for correlation id %d, want %d", corr, rc.corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(version)
	body := frame[4:]
	if resp.IsFlexible() && req.Key() != 18 {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp
}

func (rc *rawConn) expectClosed(t *testing.T) {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := rc.r.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection still open: n=%d err=%v", n, err)
	}
}

func TestApiVersionsFromTheFuture(t *testing.T) {
	c := clustertest.Start(t)
	rc := dialRaw(t, c)
	// ApiVersions v99, flexible header, empty software name and version.
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, 18)
	b = binary.BigEndian.AppendUint16(b, 99)
	b = binary.BigEndian.AppendUint32(b, 7)
	b = binary.BigEndian.AppendUint16(b, 0xffff)
	b = append(b, 0, 1, 1, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	rc.c.Write(b)
	var size [4]byte
	io.ReadFull(rc.r, size[:])
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.r, frame); err != nil {
		t.Fatal(err)
	}
	var resp kmsg.ApiVersionsResponse // answered in the v0 format
	if err := resp.ReadFrom(frame[4:]); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 35 || len(resp.ApiKeys) < 10 {
		t.Fatalf("got error %d with %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
	// The connection stays usable, as clients retry with an older version.
	if got := rc.roundTrip(t, kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); got.ErrorCode != 0 {
		t.Fatalf("retry at v0: %d", got.ErrorCode)
	}
}
