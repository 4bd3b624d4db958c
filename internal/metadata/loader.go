package metadata

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Listener is told about every new image with the delta that produced it.
// Listeners run on the loader's goroutine, in registration order, and must
// hand slow work to their own goroutines.
type Listener func(d *Delta, img *Image)

// Loader applies committed log entries to the current image and publishes
// each new image. Apply, Restore and Snapshot are called by the metadata log
// from one goroutine; Image may be called from any goroutine.
type Loader struct {
	cur atomic.Pointer[Image]
	log *slog.Logger

	mu        sync.Mutex // guards listeners
	listeners []Listener
	waiters   map[chan struct{}]uint64 // closed once the image reaches their offset
}

// NewLoader returns a loader holding the empty image.
func NewLoader(log *slog.Logger) *Loader {
	l := &Loader{log: log, waiters: map[chan struct{}]uint64{}}
	l.cur.Store(Empty())
	return l
}

// Image returns the current image.
func (l *Loader) Image() *Image { return l.cur.Load() }

// Subscribe registers a listener for future images.
func (l *Loader) Subscribe(fn Listener) {
	l.mu.Lock()
	l.listeners = append(l.listeners, fn)
	l.mu.Unlock()
}

// WaitFor returns a channel closed once the published image has applied the
// entry at offset.
func (l *Loader) WaitFor(offset uint64) <-chan struct{} {
	ch := make(chan struct{})
	l.mu.Lock()
	if l.cur.Load().offset >= offset {
		close(ch)
	} else {
		l.waiters[ch] = offset
	}
	l.mu.Unlock()
	return ch
}

// Apply replays committed entries (index, bytes) in order and publishes the
// result. An entry that does not decode or replay is skipped whole and
// logged; every node skips it alike, so images stay identical.
func (l *Loader) Apply(indexes []uint64, entries [][]byte) {
	if len(entries) == 0 {
		return
	}
	base := l.cur.Load()
	d := NewDelta(base)
	for i, data := range entries {
		if len(data) == 0 {
			continue // raft's empty entries (leader election) carry nothing
		}
		recs, err := Decode(data)
		if err == nil {
			err = d.ReplayEntry(recs)
		}
		if err != nil {
			l.log.Error("skipping metadata entry", "index", indexes[i], "err", err)
		}
	}
	l.publish(d, d.Apply(indexes[len(indexes)-1]))
}

func (l *Loader) publish(d *Delta, img *Image) {
	l.cur.Store(img)
	l.mu.Lock()
	listeners := l.listeners
	for ch, off := range l.waiters {
		if img.offset >= off {
			close(ch)
			delete(l.waiters, ch)
		}
	}
	l.mu.Unlock()
	for _, fn := range listeners {
		fn(d, img)
	}
}

// Snapshot returns the current image encoded as one entry, and its offset.
func (l *Loader) Snapshot() ([]byte, uint64) {
	img := l.cur.Load()
	return Encode(img.Records()), img.offset
}

// Restore replaces the current image with a snapshot's.
func (l *Loader) Restore(data []byte, offset uint64) error {
	recs, err := Decode(data)
	if err != nil {
		return fmt.Errorf("restore metadata snapshot at %d: %w", offset, err)
	}
	d := NewDelta(Empty())
	if err := d.ReplayEntry(recs); err != nil {
		return fmt.Errorf("restore metadata snapshot at %d: %w", offset, err)
	}
	// Listeners compare against the image they saw last, so the delta they
	// get is computed from that, not from empty.
	img := d.Apply(offset)
	l.publish(Diff(l.cur.Load(), img), img)
	return nil
}

// Diff builds a delta describing how to get from old to img: for listeners
// after a snapshot replaced the image wholesale, and for one that starts
// listening late (Diff(Empty(), img) lists everything as created).
func Diff(old, img *Image) *Delta {
	d := NewDelta(old)
	d.next = img
	for id, t := range img.topicIDs {
		ot, ok := old.topicIDs[id]
		if !ok {
			d.CreatedTopics[id] = true
			d.ChangedTopics[id] = true
		} else if ot != t {
			d.ChangedTopics[id] = true
		}
	}
	for id, t := range old.topicIDs {
		if _, ok := img.topicIDs[id]; !ok {
			d.DeletedTopics[id] = t
		}
	}
	for r := range old.configs {
		d.ChangedConfigs[r] = true
	}
	for r := range img.configs {
		d.ChangedConfigs[r] = true
	}
	for id := range old.brokers {
		d.ChangedBrokers[id] = true
	}
	for id := range img.brokers {
		d.ChangedBrokers[id] = true
	}
	d.ClusterIDChange = old.clusterID != img.clusterID
	return d
}
