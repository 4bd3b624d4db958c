package storage

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
)

// CleanupPolicy is a topic's cleanup.policy: a set of CleanupDelete and
// CleanupCompact.
type CleanupPolicy uint8

// The two cleanup policies; a log may have both ("compact,delete").
const (
	CleanupDelete  CleanupPolicy = 1 << iota // retention deletes old segments
	CleanupCompact                           // the Cleaner keeps the latest record per key
)

// ParseCleanupPolicy reads cleanup.policy as Kafka lists it: "delete",
// "compact", or both in either order. An empty list or another word is an
// error.
func ParseCleanupPolicy(words []string) (CleanupPolicy, error) {
	var p CleanupPolicy
	for _, w := range words {
		switch strings.TrimSpace(w) {
		case "delete":
			p |= CleanupDelete
		case "compact":
			p |= CleanupCompact
		default:
			return 0, fmt.Errorf("storage: unknown cleanup policy %q", w)
		}
	}
	if p == 0 {
		return 0, fmt.Errorf("storage: empty cleanup policy")
	}
	return p, nil
}

// String renders the policy as cleanup.policy spells it.
func (p CleanupPolicy) String() string {
	switch p {
	case CleanupDelete:
		return "delete"
	case CleanupCompact:
		return "compact"
	case CleanupCompact | CleanupDelete:
		return "compact,delete"
	}
	return fmt.Sprintf("CleanupPolicy(%d)", uint8(p))
}

// Compact reports whether the Cleaner compacts logs with this policy.
func (p CleanupPolicy) Compact() bool { return p&CleanupCompact != 0 }

// Delete reports whether retention deletes segments of logs with this
// policy.
func (p CleanupPolicy) Delete() bool { return p&CleanupDelete != 0 }

// validateCompaction checks the compaction fields of a LogConfig.
func (c *LogConfig) validateCompaction() error {
	switch {
	case c.CleanupPolicy == 0 || c.CleanupPolicy&^(CleanupDelete|CleanupCompact) != 0:
		return fmt.Errorf("storage: cleanup policy %d is not delete, compact or both", c.CleanupPolicy)
	case !(c.MinCleanableDirtyRatio >= 0 && c.MinCleanableDirtyRatio <= 1): // also refuses NaN
		return fmt.Errorf("storage: min cleanable dirty ratio %v not in [0, 1]", c.MinCleanableDirtyRatio)
	case c.MinCompactionLagMs < 0:
		return fmt.Errorf("storage: min compaction lag ms %d < 0", c.MinCompactionLagMs)
	case c.MaxCompactionLagMs < 1:
		return fmt.Errorf("storage: max compaction lag ms %d < 1", c.MaxCompactionLagMs)
	case c.MinCompactionLagMs > c.MaxCompactionLagMs:
		// Kafka refuses the same conflict.
		return fmt.Errorf("storage: min compaction lag ms %d > max compaction lag ms %d", c.MinCompactionLagMs, c.MaxCompactionLagMs)
	case c.DeleteRetentionMs < 0:
		return fmt.Errorf("storage: delete retention ms %d < 0", c.DeleteRetentionMs)
	}
	return nil
}

// rollMs is the segment age, in ms, that rolls the active segment: Kafka's
// maxSegmentMs, segment.ms lowered to max.compaction.lag.ms on compacted
// logs so that no record waits in the active segment longer than the lag
// allows.
func (c *LogConfig) rollMs() int64 {
	if c.CleanupPolicy.Compact() {
		return min(c.SegmentMs, c.MaxCompactionLagMs)
	}
	return c.SegmentMs
}

// dedupeSlotSize is the bytes one key takes in the cleaner's offset map: a
// 128-bit key hash and an offset.
const dedupeSlotSize = 24

// CleanerConfig configures a Cleaner: the broker-level log.cleaner.*
// settings. Start from DefaultCleanerConfig.
type CleanerConfig struct {
	// Enable starts the cleaner threads with Start (log.cleaner.enable).
	// When false Start does nothing; CleanOnce still works. Default true.
	Enable bool

	// Threads is how many logs are compacted in parallel, one goroutine
	// each (log.cleaner.threads). ≥ 0; default 1.
	Threads int

	// DedupeBufferSize is the memory, in bytes, of the key → offset maps
	// of all threads together (log.cleaner.dedupe.buffer.size); each
	// thread's map holds at most DedupeBufferSize / Threads / 24 keys
	// times DedupeLoadFactor. A dirty section with more distinct keys is
	// compacted in several passes. Each map grows to that size only as
	// keys arrive. Kafka requires 1 MiB per thread (package config checks
	// it); storage accepts anything down to one key. Default 128 MiB.
	DedupeBufferSize int64

	// DedupeLoadFactor is how full a thread's map may get
	// (log.cleaner.io.buffer.load.factor). In (0, 1]; default 0.9.
	DedupeLoadFactor float64

	// IOBufferSize is the read plus write buffer, in bytes, of all threads
	// together (log.cleaner.io.buffer.size); a batch larger than a
	// thread's read buffer is read whole anyway. ≥ 0; default 512 KiB.
	IOBufferSize int

	// BackoffMs is how long, in ms, a thread waits when no log needs
	// compacting (log.cleaner.backoff.ms). ≥ 0; default 15000.
	BackoffMs int64

	// IOMaxBytesPerSecond bounds the bytes all threads read and write
	// together per second (log.cleaner.io.max.bytes.per.second); 0, or
	// Kafka's default Double.MaxValue, is no bound.
	IOMaxBytesPerSecond float64

	// Now is the clock, ms since the epoch; nil means the system clock.
	// It decides the compaction lags and tombstone delete horizons.
	Now func() int64

	// Logger receives one Info line per compacted log and the errors; nil
	// discards them.
	Logger *slog.Logger
}

// DefaultCleanerConfig returns Kafka's defaults.
func DefaultCleanerConfig() CleanerConfig {
	return CleanerConfig{
		Enable:           true,
		Threads:          1,
		DedupeBufferSize: 128 << 20,
		DedupeLoadFactor: 0.9,
		IOBufferSize:     512 << 10,
		BackoffMs:        15000,
	}
}

// Validate reports the first field that is out of range.
func (c *CleanerConfig) Validate() error {
	threads := int64(max(c.Threads, 1))
	switch {
	case c.Threads < 0:
		return fmt.Errorf("storage: cleaner threads %d < 0", c.Threads)
	case c.DedupeBufferSize/threads < dedupeSlotSize:
		return fmt.Errorf("storage: cleaner dedupe buffer %d bytes holds no key for each of %d threads", c.DedupeBufferSize, threads)
	case !(c.DedupeLoadFactor > 0 && c.DedupeLoadFactor <= 1):
		return fmt.Errorf("storage: cleaner dedupe load factor %v not in (0, 1]", c.DedupeLoadFactor)
	case c.IOBufferSize < 0:
		return fmt.Errorf("storage: cleaner io buffer size %d < 0", c.IOBufferSize)
	case c.BackoffMs < 0:
		return fmt.Errorf("storage: cleaner backoff ms %d < 0", c.BackoffMs)
	}
	return nil
}

// mapKeys is the most keys one thread's offset map holds.
func (c *CleanerConfig) mapKeys() int {
	slots := c.DedupeBufferSize / int64(max(c.Threads, 1)) / dedupeSlotSize
	slots = min(slots, math.MaxInt32)
	return max(int(float64(slots)*c.DedupeLoadFactor), 1)
}

// ioBuffer is one thread's read (or write) buffer size.
func (c *CleanerConfig) ioBuffer() int {
	return max(c.IOBufferSize/max(c.Threads, 1)/2, 4<<10)
}

// now returns the configured clock's time in ms.
func (c *CleanerConfig) now() int64 {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now().UnixMilli()
}
