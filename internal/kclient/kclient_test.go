package kclient

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
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
