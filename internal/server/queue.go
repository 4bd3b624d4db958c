package server

import (
	"context"
	"sync"
)

// queue bounds the requests a server has read and not yet handled, across
// its connections, by number (queued.max.requests) and by bytes
// (queued.max.request.bytes), as Kafka's request queue and memory pool do.
// A connection whose next request does not fit waits, with the request's
// body still in the socket, so a flood of large requests cannot make the
// broker hold more than that in memory. A request stops counting once its
// handler has run: one that waits for acks or data afterwards (a produce
// with acks=all, a long-polling fetch, a join of a group) does not, as in
// Kafka a request parked in purgatory has left the queue.
type queue struct {
	maxRequests int   // <= 0: no bound
	maxBytes    int64 // <= 0: no bound

	mu       sync.Mutex
	requests int
	bytes    int64
	waiting  int           // connections waiting for room
	freed    chan struct{} // closed when a request is released
}

func newQueue(maxRequests int, maxBytes int64) *queue {
	return &queue{maxRequests: maxRequests, maxBytes: maxBytes, freed: make(chan struct{})}
}

// acquire waits until a request of size bytes may be read, and counts it.
// As Kafka's memory pool, it lets a request in while the bytes counted are
// below the bound, even if this one takes them over it, so a request as
// large as the bound is never stuck. ok is false when stop or ctx ends
// the wait; waited says whether it had to wait.
func (q *queue) acquire(ctx context.Context, stop <-chan struct{}, size int64) (ok, waited bool) {
	if q.maxRequests <= 0 && q.maxBytes <= 0 {
		return true, false
	}
	for ; ; waited = true {
		q.mu.Lock()
		if (q.maxRequests <= 0 || q.requests < q.maxRequests) && (q.maxBytes <= 0 || q.bytes < q.maxBytes) {
			q.requests++
			q.bytes += size
			q.mu.Unlock()
			return true, waited
		}
		freed := q.freed
		q.waiting++
		q.mu.Unlock()
		var stopped bool
		select {
		case <-freed:
		case <-stop:
			stopped = true
		case <-ctx.Done():
			stopped = true
		}
		q.mu.Lock()
		q.waiting--
		q.mu.Unlock()
		if stopped {
			return false, true
		}
	}
}

// release uncounts a request acquire counted.
func (q *queue) release(size int64) {
	if q.maxRequests <= 0 && q.maxBytes <= 0 {
		return
	}
	q.mu.Lock()
	q.requests--
	q.bytes -= size
	if q.waiting > 0 { // no channel made per request while none waits
		close(q.freed)
		q.freed = make(chan struct{})
	}
	q.mu.Unlock()
}
