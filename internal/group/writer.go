package group

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

const (
	// maxBatchBytes bounds the records (uncompressed) that writes of
	// different requests share in one batch. A single write larger than
	// that still goes out, alone: its records must be atomic.
	maxBatchBytes = 1 << 20
	// maxAppendsInFlight bounds the appends in flight on one partition.
	maxAppendsInFlight = 2
)

// writer appends the writes of a partition's groups to its log: group
// commit on top of the log's own. Writes queue; each append takes every
// queued write it may (up to maxBatchBytes) into one batch, so under load
// one Append carries the commits of many requests, and each request is
// answered when the batch holding its records is committed. Up to
// maxAppendsInFlight appends run at once, so a batch does not wait for the
// previous one's replication and fsync before it starts.
//
// Ordering: a group's writes are never in two appends at once; a write
// waits while an earlier write of its group is in flight, and every later
// write of that group waits behind it. So each group's records reach the
// log in the order the group emitted them, and their outcomes come back to
// the group in that order too: a group's memory and its log never disagree
// about which of two writes to the same key came last. Records of
// different groups share no key, so their relative order does not matter.
type writer struct {
	p *partition

	mu       sync.Mutex
	queue    []queued       // guarded by mu, in submission order
	inFlight map[*actor]int // guarded by mu: appends in flight per group
	running  int            // guarded by mu: appends in flight
	builders []*record.Builder
}

type queued struct {
	w *write
	a *actor // reports the outcome
}

func newWriter(p *partition) *writer {
	return &writer{p: p, inFlight: map[*actor]int{}}
}

// submit queues a write and starts an append if one may start; it never
// blocks.
func (w *writer) submit(wr *write, a *actor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = append(w.queue, queued{wr, a})
	w.startLocked()
}

// startLocked starts appends for the queued writes that may go. Writes left
// when the partition is unloaded are failed by their groups' unload.
func (w *writer) startLocked() {
	for w.running < maxAppendsInFlight && w.p.ctx.Err() == nil {
		batch := w.takeLocked()
		if len(batch) == 0 {
			return
		}
		w.running++
		for _, q := range batch {
			w.inFlight[q.a]++
		}
		b := w.builderLocked()
		w.p.c.wg.Go(func() { w.append(b, batch) })
	}
}

// takeLocked removes from the queue the writes of the next batch: in order,
// skipping groups that have a write in flight (and everything after a
// skipped write of the same group), up to maxBatchBytes.
func (w *writer) takeLocked() []queued {
	var batch []queued
	var blocked map[*actor]bool
	size, kept := 0, w.queue[:0]
	for i, q := range w.queue {
		switch {
		case w.inFlight[q.a] > 0 || blocked[q.a]:
			if blocked == nil {
				blocked = map[*actor]bool{}
			}
			blocked[q.a] = true
			kept = append(kept, q)
		case len(batch) > 0 && size+q.w.size() > maxBatchBytes:
			kept = append(kept, w.queue[i:]...)
			clear(w.queue[len(kept):])
			w.queue = kept
			return batch
		default:
			batch = append(batch, q)
			size += q.w.size()
		}
	}
	clear(w.queue[len(kept):])
	w.queue = kept
	return batch
}

func (w *writer) builderLocked() *record.Builder {
	if n := len(w.builders); n > 0 {
		b := w.builders[n-1]
		w.builders = w.builders[:n-1]
		return b
	}
	return record.NewBuilder(w.p.c.codec)
}

// append writes one batch holding the records of ws, reports the outcome
// to each write's group, and starts what was waiting for it.
func (w *writer) append(b *record.Builder, ws []queued) {
	ctx := w.p.ctx
	b.Reset(w.p.c.codec)
	for _, q := range ws {
		for _, r := range q.w.recs {
			b.Add(q.w.ts, r.key, r.value, nil)
		}
	}
	batch, err := b.Build(nil)
	if err != nil {
		err = fmt.Errorf("build __consumer_offsets batch: %w", err)
	} else {
		actx, cancel := context.WithTimeout(ctx, time.Duration(w.p.c.cfg.Group.OffsetCommitTimeoutMs)*time.Millisecond)
		err = w.p.log.Append(actx, batch)
		cancel()
		if err != nil && ctx.Err() == nil {
			w.p.c.log.Warn("cannot append to __consumer_offsets", "partition", w.p.id, "records", b.Len(), "err", err)
		}
	}
	for _, q := range ws {
		q.a.completed(q.w, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, q := range ws {
		if w.inFlight[q.a]--; w.inFlight[q.a] == 0 {
			delete(w.inFlight, q.a)
		}
	}
	w.running--
	if len(w.builders) < maxAppendsInFlight {
		w.builders = append(w.builders, b)
	}
	w.startLocked()
}
