package server

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRequestRoundTrip measures one request and its response on one
// connection through the whole server (reader, request queue, handler,
// writer) with a handler that answers at once, with and without the
// request queue of queued.max.requests (on by default), and with a
// Completed hook (metrics.listener set).
var completed atomic.Uint64

func BenchmarkRequestRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"no-queue", Config{}},
		{"queued.max.requests=500", Config{QueuedMaxRequests: 500, QueuedMaxBytes: -1}},
		{"with-completed-hook", Config{Completed: func(c Completion) {
			completed.Add(uint64(c.Total()) + uint64(c.ReqBytes) + uint64(c.RespBytes)) // what the metrics' counters cost, roughly
		}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.cfg.Listeners = []Listener{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}}
			s, _ := serveStub(b, bc.cfg)
			c, err := net.Dial("tcp", s.Addrs()[0].String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			req := frame(1, 1, 0)
			r := bufio.NewReader(c)
			var resp [8]byte
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, resp[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
