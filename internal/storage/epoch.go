package storage

import (
	"errors"
	"os"
	"sync"
)

// UndefinedEpoch and UndefinedEpochOffset are what EndOffsetForEpoch
// returns for an epoch it cannot answer (Kafka's UNDEFINED_EPOCH and
// UNDEFINED_EPOCH_OFFSET).
const (
	UndefinedEpoch       int32 = -1
	UndefinedEpochOffset int64 = -1
)

const epochCheckpointFile = "leader-epoch-checkpoint"

// epochEntry says that leader epoch epoch wrote its first batch at
// startOffset.
type epochEntry struct {
	epoch       int32
	startOffset int64
}

// epochCache is the leader-epoch cache (KIP-101/279): one entry per epoch
// that wrote to the log, epochs and start offsets strictly increasing. It is
// persisted in leader-epoch-checkpoint, rewritten atomically (and fsync'd)
// whenever it changes.
//
// Concurrency: mutations happen with Log.mu held, which also serializes
// flush; mu lets readers (EndOffsetForEpoch, LatestEpoch) run concurrently
// with appends.
type epochCache struct {
	path string // immutable

	mu      sync.RWMutex
	entries []epochEntry // guarded by mu
}

// loadEpochCache reads the checkpoint. ok is false when the file is
// missing or corrupt; the cache is then empty and must be rebuilt from the
// log.
func loadEpochCache(path string) (c *epochCache, ok bool, err error) {
	c = &epochCache{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	entries, derr := decodeEpochCheckpoint(data)
	if derr != nil {
		return c, false, nil
	}
	c.entries = entries
	return c, true, nil
}

// flush rewrites the checkpoint file. Called with Log.mu held.
func (c *epochCache) flush() error {
	c.mu.RLock()
	data := encodeEpochCheckpoint(c.entries)
	c.mu.RUnlock()
	return writeFileAtomic(c.path, data)
}

// needsAssign is the cheap check done on every append: true when epoch
// is not the latest epoch or starts before it.
func (c *epochCache) needsAssign(epoch int32, start int64) bool {
	if epoch < 0 {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.entries)
	return n == 0 || c.entries[n-1].epoch != epoch || start < c.entries[n-1].startOffset
}

// assign records that epoch starts at start, first removing entries that
// would break monotonicity (epoch ≥ epoch or start offset ≥ start), as
// Kafka's LeaderEpochFileCache does. It reports whether anything changed.
func (c *epochCache) assign(epoch int32, start int64) bool {
	if !c.needsAssign(epoch, start) || start < 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := len(c.entries); n > 0; n-- {
		e := c.entries[n-1]
		if e.epoch < epoch && e.startOffset < start {
			break
		}
		c.entries = c.entries[:n-1]
	}
	c.entries = append(c.entries, epochEntry{epoch: epoch, startOffset: start})
	return true
}

// assignIfNewer records epoch at start only when epoch is above every
// epoch in the cache, as Kafka's segment recovery does: a scan that starts
// in the middle of an epoch must not move that epoch's start.
func (c *epochCache) assignIfNewer(epoch int32, start int64) bool {
	if e, ok := c.latest(); ok && epoch <= e.epoch {
		return false
	}
	return c.assign(epoch, start)
}

// latest returns the newest entry.
func (c *epochCache) latest() (epochEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return epochEntry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// earliest returns the oldest entry.
func (c *epochCache) earliest() (epochEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return epochEntry{}, false
	}
	return c.entries[0], true
}

// endOffsetFor answers OffsetForLeaderEpoch: the largest epoch ≤ requested
// and the start offset of the epoch after it, or logEnd when requested is
// the latest epoch; (UndefinedEpoch, UndefinedEpochOffset) when requested is
// undefined or above every epoch. A request below every epoch returns the
// requested epoch with the first epoch's start offset.
func (c *epochCache) endOffsetFor(requested int32, logEnd int64) (int32, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.entries)
	switch {
	case requested == UndefinedEpoch || n == 0:
		return UndefinedEpoch, UndefinedEpochOffset
	case c.entries[n-1].epoch == requested:
		return requested, logEnd
	}
	// higher: the first entry with epoch > requested.
	hi := 0
	for hi < n && c.entries[hi].epoch <= requested {
		hi++
	}
	if hi == n {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if hi == 0 {
		return requested, c.entries[0].startOffset
	}
	return c.entries[hi-1].epoch, c.entries[hi].startOffset
}

// truncateFromEnd removes entries starting at or after end.
func (c *epochCache) truncateFromEnd(end int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	for n > 0 && c.entries[n-1].startOffset >= end {
		n--
	}
	changed := n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart drops entries wholly before start: the latest entry at
// or below start is kept with its start moved to start.
func (c *epochCache) truncateFromStart(start int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for i < len(c.entries) && c.entries[i].startOffset <= start {
		i++
	}
	if i == 0 {
		return false
	}
	keep := c.entries[i-1]
	if i == 1 && keep.startOffset == start {
		return false
	}
	keep.startOffset = start
	rest := append([]epochEntry{keep}, c.entries[i:]...)
	c.entries = rest
	return true
}

// clear removes every entry.
func (c *epochCache) clear() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := len(c.entries) > 0
	c.entries = nil
	return changed
}

// snapshot copies the entries (tests, rebuild checks).
func (c *epochCache) snapshot() []epochEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]epochEntry(nil), c.entries...)
}
