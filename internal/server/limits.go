package server

import (
	"net"
	"time"
)

// Limits bound a server's connections as Kafka's connection quotas do
// (max.connections, max.connections.per.ip and its overrides,
// max.connection.creation.rate, KIP-612, and their listener-prefixed
// forms). A negative count or rate is no limit. They change while the
// server runs (SetLimits), as Kafka's do when kafka-configs.sh alters
// them.
//
// A connection accepted while a count limit of its listener, or the
// server-wide one, is reached waits, unread, until a connection closes or
// the limits change; one accepted faster than a creation rate waits until
// the rate allows it. Meanwhile the listener accepts nothing else, so
// further clients wait in the accept backlog: Kafka's acceptor blocks the
// same way. A connection over its address's limit is closed at once.
type Limits struct {
	MaxConnections      int            // open connections on every listener but Protected's
	MaxConnectionsPerIP int            // open connections from one address
	PerIP               map[string]int // exceptions to MaxConnectionsPerIP, by address (net.IP.String form)
	CreationRate        int            // new connections per second on every listener but Protected's
	Listeners           map[string]ListenerLimits
	// Protected names the listener exempt from the server-wide count and
	// rate (Kafka's inter-broker listener, when there is another), so
	// replication keeps its connections whatever clients do. Its
	// connections still count towards the server-wide total.
	Protected string
}

// ListenerLimits are one listener's own limits (listener.name.<l>.*).
type ListenerLimits struct {
	MaxConnections int
	CreationRate   int
}

// NoLimits are the limits of a server configured without any.
func NoLimits() Limits {
	return Limits{MaxConnections: -1, MaxConnectionsPerIP: -1, CreationRate: -1}
}

func (l *Limits) listener(name string) ListenerLimits {
	if ll, ok := l.Listeners[name]; ok {
		return ll
	}
	return ListenerLimits{MaxConnections: -1, CreationRate: -1}
}

func (l *Limits) perIP(ip string) int {
	if n, ok := l.PerIP[ip]; ok {
		return n
	}
	return l.MaxConnectionsPerIP
}

// SetLimits replaces the server's connection limits. Open connections
// stay open when a limit falls below their number; new ones wait.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.limits
	s.limits = l
	if l.CreationRate != old.CreationRate {
		s.ratesGen++
	}
	s.serverRate.setRate(l.CreationRate)
	for name, b := range s.listenerRate {
		if r := l.listener(name).CreationRate; r != old.listener(name).CreationRate {
			s.ratesGen++
			b.setRate(r)
		}
	}
	s.broadcast()
}

// broadcast wakes every accept loop waiting for a connection slot or a
// change of limits. s.mu is held.
func (s *Server) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// slotFree reports whether listener may open another connection now.
// s.mu is held.
func (s *Server) slotFree(listener string) bool {
	if max := s.limits.listener(listener).MaxConnections; max >= 0 && s.perListener[listener] >= max {
		return false
	}
	if listener == s.limits.Protected {
		return true
	}
	return s.limits.MaxConnections < 0 || len(s.conns) < s.limits.MaxConnections
}

// waitToAdmit waits until nc, just accepted on l, may be served: until
// the creation rates allow one more connection and a slot is free. It
// reports false when the server stops meanwhile. The rates count the
// connection once, before any wait, as Kafka's do.
func (s *Server) waitToAdmit(l *Listener) bool {
	s.mu.Lock()
	var until time.Time
	gen := s.ratesGen - 1
	for {
		if gen != s.ratesGen {
			// First, or a rate changed: counted by the rates as they are
			// now (a connection held by a rate of 0 goes once it is
			// raised).
			gen = s.ratesGen
			now := time.Now()
			until = now.Add(s.rateFor(l.Name).reserve(now))
			if l.Name != s.limits.Protected {
				until = later(until, now.Add(s.serverRate.reserve(now)))
			}
		}
		if s.stopping {
			s.mu.Unlock()
			return false
		}
		wait := time.Until(until)
		if wait <= 0 && s.slotFree(l.Name) {
			s.mu.Unlock()
			return true
		}
		changed := s.changed
		blocked := time.Now()
		s.waiting++
		s.mu.Unlock()
		var timer *time.Timer
		var expired <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case <-expired:
		case <-changed:
		case <-s.ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		s.counts[l.Name].blocked.Add(int64(time.Since(blocked)))
		s.mu.Lock()
		s.waiting--
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			return false
		}
	}
}

// rateFor is listener's creation-rate bucket. s.mu is held.
func (s *Server) rateFor(listener string) *bucket {
	b, ok := s.listenerRate[listener]
	if !ok {
		b = newBucket(s.limits.listener(listener).CreationRate)
		s.listenerRate[listener] = b
	}
	return b
}

// overIPLimit reports whether one more connection from ip exceeds its
// limit. s.mu is held.
func (s *Server) overIPLimit(ip string) bool {
	max := s.limits.perIP(ip)
	return max >= 0 && s.perIP[ip] >= max
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// never is how long a connection waits under a creation rate of zero:
// until the limits change.
const never = time.Duration(1<<63 - 1)

// bucket is a token bucket of new connections: rate tokens a second, at
// most one second's worth saved up, so a burst of rate connections passes
// at once and a steady stream at rate a second is never delayed.
type bucket struct {
	rate   int
	tokens float64
	last   time.Time
}

func newBucket(rate int) *bucket {
	b := &bucket{}
	b.setRate(rate)
	return b
}

// setRate changes the rate; tokens saved up beyond a second's worth of the
// new rate are dropped, and a bucket that had no positive rate starts full.
func (b *bucket) setRate(rate int) {
	switch {
	case rate <= 0:
		b.tokens, b.last = 0, time.Time{}
	case b.rate <= 0:
		b.tokens, b.last = float64(rate), time.Time{}
	default:
		b.tokens = min(b.tokens, float64(rate))
	}
	b.rate = rate
}

// reserve takes a token for a connection accepted at now and returns how
// long it must wait for it: tokens may be owed, so connections accepted
// faster than the rate wait in turn.
func (b *bucket) reserve(now time.Time) time.Duration {
	switch {
	case b.rate < 0:
		return 0
	case b.rate == 0:
		return never
	}
	if !b.last.IsZero() {
		b.tokens = min(float64(b.rate), b.tokens+now.Sub(b.last).Seconds()*float64(b.rate))
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / float64(b.rate) * float64(time.Second))
}

// NormalizeIP is the form Limits.PerIP keys take: an address as net.IP
// prints it, or "" when s is not one.
func NormalizeIP(s string) string {
	ip := net.ParseIP(s)
	if ip == nil {
		return ""
	}
	return ip.String()
}
