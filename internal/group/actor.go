package group

import (
	"sync"
	"time"
)

// op is one step of a group's actor: it runs with exclusive use of the
// group, at time now (ms since epoch).
type op func(g *group, now int64)

// closeReason says why an actor takes no more ops.
type closeReason int8

const (
	open     closeReason = iota
	unloaded             // its partition was unloaded: NOT_COORDINATOR
	gone                 // its group no longer exists: look the group up again
)

// actor owns one group: every request, timer and write completion for the
// group is an op in its queue, and ops run one at a time, in order, so the
// group's state machine never needs a lock.
//
// The actor's goroutine runs only while there are ops: posting to an idle
// actor starts it, and it exits when the queue is empty. An idle group
// therefore costs memory, not a goroutine, and timers are runtime timers
// that post a tick op when they fire. Every goroutine is started through
// the coordinator's WaitGroup, and none is started once the actor is
// closed, which happens before Coordinator.Stop waits.
type actor struct {
	p  *partition
	id string

	mu        sync.Mutex
	queue     []op        // guarded by mu
	running   bool        // guarded by mu: a goroutine is draining queue
	closed    closeReason // guarded by mu
	state     state       // guarded by mu: the group's state after the last op, for ListGroups
	protoType string      // guarded by mu: likewise

	// Owned by the goroutine draining the queue.
	g       *group
	timer   *time.Timer
	timerAt int64 // ms since epoch the timer is set for, 0 none
}

func newActor(p *partition, g *group) *actor {
	return &actor{p: p, id: g.id, g: g, state: g.state, protoType: g.protoType}
}

// post queues f. It returns open if f will run, or why it will not.
func (a *actor) post(f op) closeReason {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed != open {
		return a.closed
	}
	a.enqueueLocked(f)
	return open
}

func (a *actor) enqueueLocked(f op) {
	a.queue = append(a.queue, f)
	if !a.running {
		a.running = true
		a.p.c.wg.Go(a.run)
	}
}

// close refuses further ops; final runs after the ops already queued.
func (a *actor) close(why closeReason, final op) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed != open {
		return
	}
	a.closed = why
	a.enqueueLocked(final)
}

func (a *actor) run() {
	for {
		a.mu.Lock()
		if len(a.queue) == 0 {
			a.running = false
			a.queue = nil
			a.mu.Unlock()
			return
		}
		f := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		closed := a.closed
		a.mu.Unlock()

		now := a.p.c.now()
		f(a.g, now)
		a.after(now, closed)
	}
}

// after hands the op's writes to the partition's writer, re-arms the timer,
// publishes the group's summary and retires a group that is gone.
func (a *actor) after(now int64, closed closeReason) {
	g := a.g
	ws := g.takeWrites()
	if closed != open {
		// The final op (unload) fails every outstanding write itself.
		a.stopTimer()
		return
	}
	for _, w := range ws {
		a.p.w.submit(w, a)
	}
	a.rearm(now)
	a.mu.Lock()
	a.state, a.protoType = g.state, g.protoType
	a.mu.Unlock()
	if g.gone() && a.p.retire(a) {
		a.stopTimer()
	}
}

// completed reports a write's outcome to the group; called by the writer.
func (a *actor) completed(w *write, err error) {
	a.post(func(g *group, now int64) { g.complete(now, w, err) })
}

func (a *actor) rearm(now int64) {
	at := a.g.nextDeadline()
	if at == a.timerAt {
		return
	}
	a.stopTimer()
	a.timerAt = at
	if at == 0 {
		return
	}
	d := time.Duration(at-now) * time.Millisecond
	a.timer = time.AfterFunc(max(d, 0), a.fire)
}

func (a *actor) stopTimer() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.timerAt = 0
}

// fire runs on the timer's goroutine; the tick itself runs on the actor.
func (a *actor) fire() {
	a.post(func(g *group, now int64) {
		a.timerAt = 0 // whatever tick leaves due gets a fresh timer
		g.tick(now)
	})
}

// summary returns the group's state and protocol type as of the last op.
func (a *actor) summary() (state, string, closeReason) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state, a.protoType, a.closed
}
