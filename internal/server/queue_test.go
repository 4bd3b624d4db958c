package server

import (
	"context"
	"testing"
)

// waitQueued waits until n connections wait for room in the request queue.
func waitQueued(t *testing.T, s *Server, n int) {
	t.Helper()
	waitFor(t, func() bool { s.queue.mu.Lock(); defer s.queue.mu.Unlock(); return s.queue.waiting == n })
}

// A request whose handler runs holds back the next connection's request
// until it is handled: with queued.max.requests=1, and with
// queued.max.request.bytes below its size, which lets it in all the same
// when nothing else is counted.
func TestQueueBounds(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg   Config
		first []byte
	}{
		"requests": {Config{QueuedMaxRequests: 1}, frame(1, 1, 9)},
		"bytes":    {Config{QueuedMaxBytes: 100}, frame(1, 1, append([]byte{9}, make([]byte, 200)...)...)},
	} {
		t.Run(name, func(t *testing.T) {
			s, h := startServer(t, tc.cfg)
			a, b := dial(t, s), dial(t, s)
			a.Write(tc.first) // its handler waits for hold
			h.waitSeen(t, 1)
			b.Write(frame(1, 2, 0))
			waitQueued(t, s, 1)
			close(h.hold)
			answered(t, a, 1)
			answered(t, b, 2)
		})
	}
}

// A request that waits after its handler ran (for acks, data, a group)
// has left the queue, as one in Kafka's purgatory has.
func TestWaitingRepliesLeaveTheQueue(t *testing.T) {
	s, h := startServer(t, Config{QueuedMaxRequests: 1})
	a, b := dial(t, s), dial(t, s)
	a.Write(frame(1, 1, 1)) // answered when released
	h.waitSeen(t, 1)
	served(t, b, 2)
	close(h.release)
	answered(t, a, 1)
}

// A connection stopped while its request waits for room reads nothing more.
func TestStopEndsTheWaitForTheQueue(t *testing.T) {
	s, h := startServer(t, Config{QueuedMaxRequests: 1})
	a, b := dial(t, s), dial(t, s)
	a.Write(frame(1, 1, 9))
	h.waitSeen(t, 1)
	b.Write(frame(1, 2, 0))
	waitQueued(t, s, 1)
	go s.StopReading()
	waitQueued(t, s, 0)
	close(h.hold)
	answered(t, a, 1)
	expectClosed(t, b)
}

// Counting a request in and out allocates nothing while no connection
// waits: it runs for every request.
func TestQueueCostsNoAllocations(t *testing.T) {
	q := newQueue(500, 1<<30)
	stop := make(chan struct{})
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		q.acquire(ctx, stop, 100)
		q.release(100)
	}); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}
