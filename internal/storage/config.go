package storage

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// Index entry sizes, in bytes.
const (
	offsetEntrySize = 8  // relative offset int32 + position int32
	timeEntrySize   = 12 // timestamp int64 + relative offset int32
)

// MinSegmentIndexBytes is the smallest SegmentIndexBytes: room for one
// entry of either index.
const MinSegmentIndexBytes = timeEntrySize

// msDuration converts a setting in milliseconds to a duration, saturating
// instead of overflowing (Kafka's Long.MaxValue means "never"); a negative
// value is zero. It is config.Millis's twin: storage depends on no package
// of samsa's but record.
func msDuration(ms int64) time.Duration {
	switch {
	case ms <= 0:
		return 0
	case ms > math.MaxInt64/int64(time.Millisecond):
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// LogConfig is the per-partition (topic-level) configuration of a Log. The
// fields mirror Kafka's topic configs of the same meaning; the zero value is
// not valid, start from DefaultLogConfig.
type LogConfig struct {
	// SegmentBytes is the size, in bytes, past which the active segment is
	// rolled (segment.bytes). 14 ≤ SegmentBytes ≤ MaxInt32; default 1 GiB.
	SegmentBytes int64

	// SegmentMs is the time, in ms, after which the active segment is
	// rolled even when not full (segment.ms), measured as Kafka does: from
	// the max timestamp of the segment's first batch to that of the batch
	// being appended, or from the segment's creation when it is empty.
	// Default 7 days.
	SegmentMs int64

	// SegmentJitterMs is the upper bound, in ms, of a random amount
	// subtracted from SegmentMs per segment so that partitions do not all
	// roll at once (segment.jitter.ms). Default 0.
	SegmentJitterMs int64

	// IndexIntervalBytes is how many bytes of batches are appended between
	// two offset-index entries (index.interval.bytes). Default 4096.
	IndexIntervalBytes int32

	// SegmentIndexBytes is the size, in bytes, to which the active
	// segment's .index and .timeindex are preallocated; a full index rolls
	// the segment (segment.index.bytes). ≥ 12; default 10 MiB.
	SegmentIndexBytes int32

	// RetentionMs is how long, in ms, a segment is kept after its newest
	// record's timestamp (retention.ms); -1 keeps segments forever.
	// Default 7 days.
	RetentionMs int64

	// RetentionBytes bounds the partition's size in bytes; whole segments
	// are deleted from the oldest while the rest still exceeds it
	// (retention.bytes); -1 is unlimited. Default -1.
	RetentionBytes int64

	// FlushMessages selects the durability policy (flush.messages). 1 is
	// samsa's fsync mode: an append is durable once fdatasync'd, and the
	// flusher does group commit. Anything larger is Kafka's page-cache
	// mode: an append is durable once written, and the log is fsync'd in
	// the background every FlushMessages messages (and at every roll).
	// Default 1.
	FlushMessages int64

	// FlushMs is the longest time, in ms, data stays unsynced in page-cache
	// mode (flush.ms); math.MaxInt64 means never. Default math.MaxInt64.
	FlushMs int64

	// FileDeleteDelayMs is how long, in ms, files of deleted segments stay
	// on disk (renamed .deleted) before removal (file.delete.delay.ms).
	// Default 60000.
	FileDeleteDelayMs int64

	// Preallocate reserves SegmentBytes of disk for each new segment file
	// with fallocate(FALLOC_FL_KEEP_SIZE), which leaves the file size, and
	// so recovery, unchanged (preallocate). Default false.
	Preallocate bool

	// MaxMessageBytes bounds the size, in bytes, of one batch
	// (max.message.bytes). Default 1048588.
	MaxMessageBytes int32

	// ProducerIDExpirationMs is how long, in ms, the broker remembers an
	// idempotent producer after its last batch's timestamp
	// (producer.id.expiration.ms). Default 1 day.
	ProducerIDExpirationMs int64

	// CleanupPolicy says whether retention (CleanupDelete), compaction
	// (CleanupCompact) or both apply (cleanup.policy). Retention.ms and
	// retention.bytes delete segments only with CleanupDelete; the Cleaner
	// compacts only logs with CleanupCompact. Default CleanupDelete.
	CleanupPolicy CleanupPolicy

	// MinCleanableDirtyRatio is the share of the log's bytes that must be
	// dirty (written since the last compaction) before the Cleaner
	// compacts it (min.cleanable.dirty.ratio). In [0, 1]; default 0.5.
	MinCleanableDirtyRatio float64

	// MinCompactionLagMs is how long, in ms, a record stays uncompacted
	// after its timestamp: a segment whose max timestamp is younger is not
	// compacted, nor any after it (min.compaction.lag.ms). Default 0.
	MinCompactionLagMs int64

	// MaxCompactionLagMs bounds, in ms, how long a record may stay
	// uncompacted: a log whose oldest dirty segment starts with a batch
	// older than this is compacted whatever its dirty ratio, and a
	// compacted log's active segment rolls after at most this long
	// (max.compaction.lag.ms). ≥ 1; default math.MaxInt64 (never).
	MaxCompactionLagMs int64

	// DeleteRetentionMs is how long, in ms, a tombstone (a record with a
	// null value) stays in a compacted log after the cleaner first saw it
	// (delete.retention.ms), so that consumers reading from the start see
	// the deletion. ≥ 0; default 1 day.
	DeleteRetentionMs int64

	// OnDurable, when set, is called by the Log's flusher goroutine with
	// the new durable offset (exclusive: every offset below it is durable
	// under the flush policy) each time an fsync moved it. In page-cache
	// mode an append is durable as it returns and moves the offset
	// without a call: the appender reads DurableOffset instead. Values
	// increase, except that after Truncate or TruncateFullyAndStartAt they
	// restart from the new, lower durable offset. It must not block and
	// must not call back into the Log's append path.
	OnDurable func(endOffset int64)
}

// DefaultLogConfig returns Kafka's topic defaults, except FlushMessages,
// which is samsa's fsync mode.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		SegmentBytes:           1 << 30,
		SegmentMs:              7 * 24 * 60 * 60 * 1000,
		SegmentJitterMs:        0,
		IndexIntervalBytes:     4096,
		SegmentIndexBytes:      10 << 20,
		RetentionMs:            7 * 24 * 60 * 60 * 1000,
		RetentionBytes:         -1,
		FlushMessages:          1,
		FlushMs:                math.MaxInt64,
		FileDeleteDelayMs:      60000,
		MaxMessageBytes:        1048588,
		ProducerIDExpirationMs: 24 * 60 * 60 * 1000,
		CleanupPolicy:          CleanupDelete,
		MinCleanableDirtyRatio: 0.5,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     math.MaxInt64,
		DeleteRetentionMs:      24 * 60 * 60 * 1000,
	}
}

// Validate reports the first field that is out of range.
func (c *LogConfig) Validate() error {
	switch {
	case c.SegmentBytes < 14 || c.SegmentBytes > math.MaxInt32:
		return fmt.Errorf("storage: segment bytes %d not in [14, %d]", c.SegmentBytes, math.MaxInt32)
	case c.SegmentMs < 1:
		return fmt.Errorf("storage: segment ms %d < 1", c.SegmentMs)
	case c.SegmentJitterMs < 0:
		return fmt.Errorf("storage: segment jitter ms %d < 0", c.SegmentJitterMs)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("storage: index interval bytes %d < 0", c.IndexIntervalBytes)
	case c.SegmentIndexBytes < timeEntrySize:
		return fmt.Errorf("storage: segment index bytes %d < %d", c.SegmentIndexBytes, timeEntrySize)
	case c.RetentionMs < -1:
		return fmt.Errorf("storage: retention ms %d < -1", c.RetentionMs)
	case c.RetentionBytes < -1:
		return fmt.Errorf("storage: retention bytes %d < -1", c.RetentionBytes)
	case c.FlushMessages < 1:
		return fmt.Errorf("storage: flush messages %d < 1", c.FlushMessages)
	case c.FlushMs < 0:
		return fmt.Errorf("storage: flush ms %d < 0", c.FlushMs)
	case c.FileDeleteDelayMs < 0:
		return fmt.Errorf("storage: file delete delay ms %d < 0", c.FileDeleteDelayMs)
	case c.MaxMessageBytes < record.HeaderSize:
		return fmt.Errorf("storage: max message bytes %d < %d", c.MaxMessageBytes, record.HeaderSize)
	case c.ProducerIDExpirationMs < 1:
		return fmt.Errorf("storage: producer id expiration ms %d < 1", c.ProducerIDExpirationMs)
	}
	return c.validateCompaction()
}

// fsyncMode reports whether the durability policy is fsync-before-durable.
func (c *LogConfig) fsyncMode() bool { return c.FlushMessages == 1 }

// DirOptions configures a Dir.
type DirOptions struct {
	// Logger receives lifecycle events and corruption reports; nil
	// discards them.
	Logger *slog.Logger
	// Flushed, when set, is called by a log's flusher goroutine after each
	// flush that fsynced something (a group commit in fsync mode, a
	// flush.ms or flush.messages flush, segments rolled since the last),
	// with the time its fsyncs took. It must not block.
	Flushed func(took time.Duration)
}
