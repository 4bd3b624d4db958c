package kclient

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// serveMetadata answers each request on ln with a Metadata response naming
// one topic per entry of names, in order.
func serveMetadata(t *testing.T, ln net.Listener, names []string) {
	t.Helper()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for _, name := range names {
			var size [4]byte
			if _, err := io.ReadFull(r, size[:]); err != nil {
				return
			}
			frame := make([]byte, binary.BigEndian.Uint32(size[:]))
			if _, err := io.ReadFull(r, frame); err != nil {
				return
			}
			corr := binary.BigEndian.Uint32(frame[4:])
			resp := kmsg.NewPtrMetadataResponse()
			resp.SetVersion(1)
			rt := kmsg.NewMetadataResponseTopic()
			rt.Topic = kmsg.StringPtr(name)
			resp.Topics = append(resp.Topics, rt)
			out := binary.BigEndian.AppendUint32(nil, 0)
			out = binary.BigEndian.AppendUint32(out, corr)
			out = resp.AppendTo(out)
			binary.BigEndian.PutUint32(out, uint32(len(out)-4))
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}()
}

func TestRequestIntoReusesItsBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	long, short := "a-rather-long-topic-name", "short"
	serveMetadata(t, ln, []string{long, short})

	p := NewPool("test", nil, nil)
	defer p.Close()
	var buf []byte
	ask := func(want string) {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(1)
		resp, err := p.RequestInto(context.Background(), ln.Addr().String(), req, &buf)
		if err != nil {
			t.Fatal(err)
		}
		got := resp.(*kmsg.MetadataResponse).Topics
		if len(got) != 1 || got[0].Topic == nil || *got[0].Topic != want {
			t.Fatalf("got topics %+v, want %q", got, want)
		}
	}
	ask(long)
	first := &buf[:1][0]
	if cap(buf) == 0 {
		t.Fatal("the response buffer was not kept")
	}
	ask(short)
	if &buf[:1][0] != first {
		t.Fatal("a smaller second response did not reuse the kept buffer")
	}
}

// rcvBuf is a TCP connection's SO_RCVBUF as the system reports it.
func rcvBuf(t *testing.T, nc net.Conn) int {
	t.Helper()
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return n
}

// replica.socket.receive.buffer.bytes sizes the receive buffer of the
// pool's connections (Linux reports twice what was asked, for its
// bookkeeping).
func TestReceiveBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveMetadata(t, ln, []string{"a"})
	p := NewPool("test", nil, nil)
	defer p.Close()
	p.SetReceiveBuffer(16 << 10)
	c, err := p.get(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.c.Close()
	if got := rcvBuf(t, c.c); got != 16<<10 && got != 32<<10 {
		t.Fatalf("SO_RCVBUF %d, want 16 KiB as asked", got)
	}
}
