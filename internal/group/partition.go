package group

import (
	"context"
	"sync"
	"sync/atomic"
)

// partition is one __consumer_offsets partition this broker leads: the
// actors of its groups, the writer that appends to its log, and whether
// loading is done.
type partition struct {
	c   *Coordinator
	id  int32
	log Log
	w   *writer

	ctx    context.Context // cancelled by unload: ends loading and the writer
	cancel context.CancelFunc
	ready  atomic.Bool // the log is loaded; requests are served

	mu     sync.Mutex
	groups map[string]*actor // guarded by mu
	closed bool              // guarded by mu: unloaded; no actor is created any more
}

func newPartition(c *Coordinator, id int32, log Log) *partition {
	ctx, cancel := context.WithCancel(c.ctx)
	p := &partition{c: c, id: id, log: log, ctx: ctx, cancel: cancel, groups: map[string]*actor{}}
	p.w = newWriter(p)
	return p
}

// actor returns the actor of group id, creating the group (Empty) when
// create is set. ok is false when the partition was unloaded.
func (p *partition) actor(id string, create bool) (a *actor, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false
	}
	a = p.groups[id]
	if a == nil && create {
		a = newActor(p, newGroup(id, p.c.rules, p.c.now()))
		p.groups[id] = a
	}
	return a, true
}

// actors returns every actor of the partition.
func (p *partition) actors() []*actor {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*actor, 0, len(p.groups))
	for _, a := range p.groups {
		out = append(out, a)
	}
	return out
}

// install adds the actors of loaded groups. It reports false, installing
// nothing, when the partition was unloaded meanwhile.
func (p *partition) install(groups []*group) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, g := range groups {
		p.groups[g.id] = newActor(p, g)
	}
	return true
}

// retire removes an actor whose group is gone, unless ops arrived
// meanwhile; requests that find it closed look the group up again.
func (p *partition) retire(a *actor) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) > 0 || a.closed != open {
		return false
	}
	a.closed = gone
	if p.groups[a.id] == a {
		delete(p.groups, a.id)
	}
	return true
}

// unload stops serving the partition's groups. Each actor runs a last op
// that fails what is parked or in flight; the writer and loader stop.
func (p *partition) unload() {
	p.mu.Lock()
	p.closed = true
	groups := p.groups
	p.groups = nil
	p.mu.Unlock()
	for _, a := range groups {
		a.close(unloaded, func(g *group, now int64) { g.unload(now) })
	}
	p.ready.Store(false)
	p.cancel()
}
