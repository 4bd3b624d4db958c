package record

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
)

// DefaultMaxMessageBytes is Kafka's default max.message.bytes.
const DefaultMaxMessageBytes = 1048588

// maxRecordErrors bounds the per-record errors one rejection carries. Kafka
// reports them all; a batch of a million bad records would make that a
// response of megabytes, so the rest are counted, not listed.
const maxRecordErrors = 1000

// ValidateOptions are the topic's settings and the broker's clock, as the
// Produce handler knows them. The zero value checks no timestamps, requires no
// keys, and uses the default size limits.
type ValidateOptions struct {
	// MaxMessageBytes is max.message.bytes: the largest batch accepted, log
	// overhead included. 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int
	// DecompressLimit bounds the decompressed size of a compressed batch's
	// records when they are read. 0 means DefaultDecompressLimit.
	DecompressLimit int

	// Now is the broker's clock in ms since epoch: the time LogAppendTime
	// stamps, and the reference for the timestamp bounds.
	Now int64
	// LogAppendTime is message.timestamp.type=LogAppendTime: Validate
	// stamps Now into the batch (in place) and checks no record timestamps.
	LogAppendTime bool
	// CheckTimestamps enables the CreateTime bounds below. Records with
	// timestamp -1 (none) are never checked, as in Kafka.
	CheckTimestamps bool
	// TimestampBeforeMaxMs is message.timestamp.before.max.ms: how far a
	// record's timestamp may lie before Now.
	TimestampBeforeMaxMs int64
	// TimestampAfterMaxMs is message.timestamp.after.max.ms: how far a
	// record's timestamp may lie after Now.
	TimestampAfterMaxMs int64

	// RequireKeys rejects records without a key, for compacted topics.
	// It makes Validate decompress compressed batches.
	RequireKeys bool
	// CheckCompressedRecords makes Validate decompress and check every
	// record of a compressed batch, as it always does for uncompressed ones.
	// Set it when the records will be rewritten anyway (recompression) or
	// when exact per-record timestamp checks are wanted.
	CheckCompressedRecords bool
	// NoZstd rejects zstd batches, for Produce v3-v6 (zstd came with v7).
	NoZstd bool
}

// Info is what Validate learned about an accepted batch, so the broker need
// not parse it again.
type Info struct {
	// Header is the batch header as it is after Validate: with any
	// timestamp and CRC rewrites applied.
	Header Header
	// MaxTimestamp is the largest record timestamp (ms since epoch), or the
	// LogAppendTime, or the header's value when the records were not read.
	MaxTimestamp int64
	// MaxTimestampDelta is the offset delta of the first record holding
	// MaxTimestamp; the last record's when LogAppendTime applies or the
	// records were not read; -1 when no record has a timestamp.
	MaxTimestampDelta int32
	// Modified reports that Validate rewrote the header in place (max
	// timestamp or LogAppendTime) and recomputed the CRC.
	Modified bool
	// NumRecords is the number of records.
	NumRecords int32
	// Codec is the batch's compression codec.
	Codec Codec
	// RecordsChecked reports that every record was read and checked.
	RecordsChecked bool
	// RecordsBytes is the size of the records section after decompression,
	// when the records were read; 0 otherwise.
	RecordsBytes int64
}

// Validate checks the records of one partition in a Produce request (v3+,
// which carries exactly one v2 batch) the way Kafka's broker does, and
// returns what the broker needs to append it. On failure the error is an
// *Error with the Kafka code for the partition's response.
//
// Validate may rewrite b in place: the max timestamp when the records
// disagree with the header, and the LogAppendTime. b must hold nothing but
// the batch.
//
// An uncompressed batch is walked record by record without allocating. A
// compressed one is decompressed only when a check needs its records (see
// ValidateOptions); otherwise its header is trusted, as the package doc
// explains.
func Validate(b []byte, opts ValidateOptions) (Info, error) {
	size, err := frame(b)
	if err != nil {
		return Info{}, err
	}
	b = b[:size]
	h, _ := ParseHeader(b) // frame guarantees a whole header
	if err := checkHeader(b, &h, &opts); err != nil {
		return Info{}, err
	}
	info := Info{
		MaxTimestamp:      h.MaxTimestamp,
		MaxTimestampDelta: h.LastOffsetDelta,
		NumRecords:        h.NumRecords,
		Codec:             h.Codec(),
	}
	if h.Codec() == CodecNone || opts.RequireKeys || opts.CheckCompressedRecords {
		c := checker{opts: opts, h: h, maxTimestamp: -1, maxDelta: -1}
		if err := c.walk(b[HeaderSize:]); err != nil {
			return Info{}, err
		}
		if err := recordFailures(c.errs, c.nerrs, c.badTimestamp, h.NumRecords); err != nil {
			return Info{}, err
		}
		info.MaxTimestamp, info.MaxTimestampDelta = c.maxTimestamp, c.maxDelta
		info.RecordsChecked, info.RecordsBytes = true, c.bytes
	} else if err := checkHeaderTimestamps(&h, &opts); err != nil {
		return Info{}, err
	}

	switch {
	case opts.LogAppendTime:
		SetLogAppendTime(b, opts.Now)
		info.MaxTimestamp, info.MaxTimestampDelta, info.Modified = opts.Now, h.LastOffsetDelta, true
	case info.MaxTimestamp != h.MaxTimestamp:
		// Kafka makes the header agree with the records it read.
		binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(info.MaxTimestamp))
		SetCRC(b)
		info.Modified = true
	}
	if info.Modified {
		h, _ = ParseHeader(b)
	}
	info.Header = h
	return info, nil
}

// frame finds the one batch in b and returns its size, applying the checks
// and codes of Kafka's ProduceRequest.validateRecords and its batch
// iterator: a length below the smallest message or a magic outside 0-2 is
// CORRUPT_MESSAGE; no whole batch, a second batch, or an old magic is
// INVALID_RECORD.
func frame(b []byte) (int, error) {
	size, err := nextBatch(b, "")
	if err != nil {
		return 0, err
	}
	if size < 0 {
		return 0, invalidf("no complete record batch in %d bytes", len(b))
	}
	if magic := int8(b[offMagic]); magic != 2 {
		return 0, invalidf("magic %d message set: Produce v3+ carries only magic 2 batches; v0-v2 sets go through ConvertLegacy", magic)
	}
	if rest := b[size:]; len(rest) > 0 {
		next, err := nextBatch(rest, "after the batch: ")
		if err != nil {
			return 0, err
		}
		if next >= 0 {
			return 0, invalidf("more than one record batch: Produce v3+ carries exactly one per partition")
		}
		// Kafka's iterator would stop at a partial batch and the log would
		// drop it; a client that sends one is broken, so say so instead.
		return 0, invalidf("%d bytes after the record batch", len(rest))
	}
	if size < HeaderSize {
		return 0, corruptf("batch of %d bytes is shorter than the %d-byte header", size, HeaderSize)
	}
	return size, nil
}

// nextBatch returns the size of the batch at the start of b, or -1 when b
// does not hold a whole one.
func nextBatch(b []byte, where string) (int, error) {
	if len(b) < LogOverhead {
		return -1, nil
	}
	length := int32(binary.BigEndian.Uint32(b[offLength:]))
	if length < legacyMinMessage {
		return 0, corruptf("%sbatch length %d is below the minimum of %d", where, length, legacyMinMessage)
	}
	if len(b) <= offMagic {
		return -1, nil
	}
	if magic := int8(b[offMagic]); magic < 0 || magic > 2 {
		return 0, corruptf("%sunknown magic %d", where, magic)
	}
	if size := LogOverhead + int64(length); size <= int64(len(b)) {
		return int(size), nil
	}
	return -1, nil
}

// checkHeader applies the batch-level checks, in Kafka's order: codec, base
// offset, size, CRC, then the rules for client batches.
func checkHeader(b []byte, h *Header, opts *ValidateOptions) error {
	switch c := h.Codec(); {
	case c > CodecZstd:
		return unsupportedCodecf("unknown compression codec %d", c)
	case c == CodecZstd && opts.NoZstd:
		return unsupportedCodecf("zstd needs Produce v7 or later")
	}
	if h.BaseOffset != 0 {
		return invalidf("base offset of a produced batch must be 0, not %d", h.BaseOffset)
	}
	maxBytes := opts.MaxMessageBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMessageBytes
	}
	if len(b) > maxBytes {
		return tooLargef("batch of %d bytes exceeds max.message.bytes %d", len(b), maxBytes)
	}
	if got := ComputeCRC(b); got != h.CRC {
		return corruptf("CRC is %#08x, the batch hashes to %#08x", h.CRC, got)
	}
	switch {
	case h.LastOffsetDelta < 0:
		return invalidf("last offset delta %d is negative", h.LastOffsetDelta)
	case h.NumRecords <= 0:
		return invalidf("record count %d: a batch holds at least one record", h.NumRecords)
	case int64(h.LastOffsetDelta)+1 != int64(h.NumRecords):
		return invalidf("last offset delta %d does not match the record count %d", h.LastOffsetDelta, h.NumRecords)
	case h.Control():
		return invalidf("clients may not write control batches")
	case h.Transactional() && !h.Idempotent():
		return invalidf("transactional batch without a producer id")
	case h.Idempotent() && h.BaseSequence < 0:
		return invalidf("invalid base sequence %d for producer id %d", h.BaseSequence, h.ProducerID)
	case h.Idempotent() && h.ProducerEpoch < 0:
		return invalidf("invalid producer epoch %d for producer id %d", h.ProducerEpoch, h.ProducerID)
	case h.LogAppendTime():
		return timestampf("producers may not set the LogAppendTime timestamp type")
	}
	return nil
}

// checkHeaderTimestamps bounds a compressed batch's timestamps by its
// header alone: the first record's (base) and the largest.
func checkHeaderTimestamps(h *Header, opts *ValidateOptions) error {
	if opts.LogAppendTime || !opts.CheckTimestamps {
		return nil
	}
	for _, ts := range [2]int64{h.BaseTimestamp, h.MaxTimestamp} {
		if ts != -1 && !timestampInBounds(ts, opts) {
			return timestampf("timestamp %d is outside [now-%d, now+%d] with now %d", ts, opts.TimestampBeforeMaxMs, opts.TimestampAfterMaxMs, opts.Now)
		}
	}
	return nil
}

// timestampInBounds reports whether ts lies within the before/after bounds
// around Now, without overflowing on extreme values.
// math.MaxInt64, Kafka's default for both, means no bound.
func timestampInBounds(ts int64, opts *ValidateOptions) bool {
	if ts <= opts.Now {
		if opts.TimestampBeforeMaxMs == math.MaxInt64 {
			return true
		}
		d := uint64(opts.Now) - uint64(ts) // ≥ 0, fits in uint64
		return opts.TimestampBeforeMaxMs >= 0 && d <= uint64(opts.TimestampBeforeMaxMs)
	}
	if opts.TimestampAfterMaxMs == math.MaxInt64 {
		return true
	}
	d := uint64(ts) - uint64(opts.Now)
	return opts.TimestampAfterMaxMs >= 0 && d <= uint64(opts.TimestampAfterMaxMs)
}

// checker applies the per-record checks while the records are read. It
// holds copies, not pointers: escape analysis does not tell a struct's
// fields apart, and errs goes to the heap on failure.
type checker struct {
	opts         ValidateOptions
	h            Header
	index        int
	maxTimestamp int64
	maxDelta     int32
	bytes        int64
	errs         []RecordError // per-record failures, at most maxRecordErrors
	nerrs        int           // per-record failures in all
	badTimestamp bool          // some failure was a timestamp
}

// walk reads every record of the section, decompressing as the codec says.
// Structural errors stop it; per-record failures are collected.
func (c *checker) walk(section []byte) error {
	var r Record
	if c.h.Codec() == CodecNone {
		it := NewIter(section, c.h.NumRecords)
		for it.Next(&r) {
			c.record(&r)
		}
		return it.Err()
	}
	limit := c.opts.DecompressLimit
	if limit <= 0 {
		limit = DefaultDecompressLimit
	}
	d, err := NewDecompressReader(c.h.Codec(), section, limit)
	if err != nil {
		return err
	}
	defer d.Release()
	rd := NewReader(d, c.h.NumRecords, limit)
	defer rd.Release()
	for rd.Next(&r) {
		c.record(&r)
	}
	return rd.Err()
}

func (c *checker) record(r *Record) {
	i := c.index
	c.index++
	c.bytes += int64(r.Len)
	ts := c.h.BaseTimestamp + r.TimestampDelta
	switch {
	case r.OffsetDelta != int32(i):
		c.fail(i, false, "offset delta %d, expected %d", r.OffsetDelta, i)
	case c.opts.RequireKeys && r.Key == nil:
		c.fail(i, false, "compacted topic cannot accept a record without a key")
	case !c.opts.LogAppendTime && c.opts.CheckTimestamps && ts != -1 && !timestampInBounds(ts, &c.opts):
		c.fail(i, true, "timestamp %d is outside [now-%d, now+%d] with now %d", ts, c.opts.TimestampBeforeMaxMs, c.opts.TimestampAfterMaxMs, c.opts.Now)
	}
	if ts > c.maxTimestamp {
		c.maxTimestamp, c.maxDelta = ts, r.OffsetDelta
	}
}

func (c *checker) fail(index int, timestamp bool, format string, args ...any) {
	c.nerrs++
	c.badTimestamp = c.badTimestamp || timestamp
	if len(c.errs) < maxRecordErrors {
		c.errs = append(c.errs, RecordError{BatchIndex: int32(index), Msg: fmt.Sprintf(format, args...)})
	}
}

// recordFailures is the error for the per-record failures collected, if
// any. As in Kafka, one timestamp failure makes the whole INVALID_TIMESTAMP.
// (A plain function, not a checker method, so that the checker and what it
// points to stay on the stack.)
func recordFailures(errs []RecordError, n int, badTimestamp bool, numRecords int32) error {
	if n == 0 {
		return nil
	}
	code := kerr.InvalidRecord
	if badTimestamp {
		code = kerr.InvalidTimestamp
	}
	return &Error{
		Code: code,
		Msg: strconv.Itoa(n) + " of " + strconv.Itoa(int(numRecords)) + " records rejected, the first: record " +
			strconv.Itoa(int(errs[0].BatchIndex)) + ": " + errs[0].Msg,
		Records: errs,
	}
}
