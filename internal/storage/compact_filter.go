package storage

import (
	"encoding/binary"
	"math"

	"github.com/samsa-io/samsa/internal/record"
)

// The record rules of compaction, applied to one batch at a time. They
// are Kafka's (Cleaner.shouldRetainRecord, MemoryRecords.filterTo with
// KIP-534 delete horizons); the batch comes whole and CRC-checked, and
// what survives keeps its offsets: a batch keeps its base offset and last
// offset delta, a record its offset delta.
//
// Offsets of the v2 header fields rewritten here (see package record).
const (
	hdrLength        = 8
	hdrAttributes    = 21
	hdrBaseTs        = 27
	hdrMaxTs         = 35
	hdrRecordCount   = 57
	emptyBatchLength = record.HeaderSize - record.LogOverhead // length field of a batch without records
)

// filterOutcome says what became of a batch.
type filterOutcome uint8

const (
	batchDropped   filterOutcome = iota // nothing of it is kept
	batchVerbatim                       // copied as it was
	batchRewritten                      // some records dropped, or a delete horizon set
	batchEmptied                        // only its header is kept, without records
)

// cleanRules are what one cleaning pass decides records by.
type cleanRules struct {
	keys              *offsetMap
	mapEnd            int64 // records at or after it are kept: the map does not cover them
	now               int64 // ms
	deleteRetentionMs int64
	decompressLimit   int
}

// batchFilter applies cleanRules to batches. It reuses its buffers; not
// safe for concurrent use.
type batchFilter struct {
	rules   cleanRules
	section []byte // decompressed records of the batch at hand
	kept    []byte // surviving records, uncompressed

	recordsRead, recordsKept int64
	unreadable               int64 // batches kept whole because their records could not be read
}

// filterResult describes the output of one batch.
type filterResult struct {
	outcome    filterOutcome
	tombstones int   // tombstones in the output
	horizon    int64 // the output's delete horizon, ms; math.MaxInt64 when it has none
}

// filter appends to dst what survives of batch b, whose header is h. A
// record survives when it is at or past the map's end, or is the latest
// record of its key and not a tombstone past its delete horizon; records
// without a key are dropped, as Kafka drops them. Control batches are
// kept whole. When nothing survives, retainEmpty keeps the header alone
// (zero records, no codec, the same offsets, producer and sequence), as
// Kafka's RETAIN_EMPTY does, so that producer state and segment ends stay
// in the log.
//
// The first time a surviving tombstone is seen its batch is rewritten with
// the delete horizon (attribute bit 6, the horizon in the base timestamp
// field, record timestamps re-based to keep their values): tombstones go
// once a pass runs at or after it.
//
// A batch whose records cannot be decoded (the CRC matched: the producer
// sent it so) is kept whole.
func (f *batchFilter) filter(dst, b []byte, h *record.Header, retainEmpty bool) ([]byte, filterResult) {
	res := filterResult{outcome: batchVerbatim, horizon: math.MaxInt64}
	if h.Control() {
		return append(dst, b...), res
	}
	section, ok := f.records(b, h)
	if !ok {
		f.unreadable++
		return append(dst, b...), res
	}
	hasHorizon := h.Attributes&record.DeleteHorizonBit != 0
	expired := hasHorizon && f.rules.now >= h.BaseTimestamp

	// First walk: decide, counting what survives.
	it := record.NewIter(section, h.NumRecords)
	var r record.Record
	kept, tombstones := int32(0), 0
	maxTs := int64(-1)
	for it.Next(&r) {
		f.recordsRead++
		if !f.keep(h, &r, expired) {
			continue
		}
		kept++
		if r.Value == nil {
			tombstones++
		}
		maxTs = max(maxTs, h.BaseTimestamp+r.TimestampDelta)
	}
	if it.Err() != nil {
		f.unreadable++
		return append(dst, b...), res
	}
	f.recordsKept += int64(kept)
	setHorizon := tombstones > 0 && !hasHorizon
	res.tombstones = tombstones
	switch {
	case kept == h.NumRecords && !setHorizon:
		if hasHorizon && tombstones > 0 {
			res.horizon = h.BaseTimestamp
		}
		return append(dst, b...), res
	case kept == 0 && !retainEmpty:
		res.outcome = batchDropped
		return dst, res
	case kept == 0:
		res.outcome = batchEmptied
		return appendEmptyBatch(dst, b, h), res
	}

	// Second walk: copy the survivors, re-basing timestamps when the
	// delete horizon is set now.
	base := h.BaseTimestamp
	if setHorizon {
		base = addSaturating(f.rules.now, f.rules.deleteRetentionMs)
	}
	f.kept = f.kept[:0]
	it = record.NewIter(section, h.NumRecords)
	pos := 0
	for it.Next(&r) {
		raw := section[pos : pos+r.Len]
		pos += r.Len
		if !f.keep(h, &r, expired) {
			continue
		}
		if base == h.BaseTimestamp {
			f.kept = append(f.kept, raw...)
		} else {
			f.kept = appendRebased(f.kept, raw, h.BaseTimestamp+r.TimestampDelta-base)
		}
	}
	if h.LogAppendTime() {
		maxTs = h.MaxTimestamp // every record carries the append time
	}
	out, ok := f.rebuild(dst, b, h, kept, base, maxTs, setHorizon || hasHorizon)
	if !ok {
		f.unreadable++
		return append(dst, b...), filterResult{outcome: batchVerbatim, horizon: math.MaxInt64}
	}
	res.outcome = batchRewritten
	if tombstones > 0 {
		res.horizon = base
	}
	return out, res
}

// keep decides one record of a data batch.
func (f *batchFilter) keep(h *record.Header, r *record.Record, horizonPassed bool) bool {
	offset := h.BaseOffset + int64(r.OffsetDelta)
	if offset >= f.rules.mapEnd {
		return true
	}
	if r.Key == nil {
		return false
	}
	if offset < f.rules.keys.get(r.Key) {
		return false // a later record of the key is in the dirty section
	}
	return r.Value != nil || !horizonPassed
}

// records returns the uncompressed records section of b, decompressing
// into the filter's buffer (bounded by the decompress limit).
func (f *batchFilter) records(b []byte, h *record.Header) ([]byte, bool) {
	section := b[record.HeaderSize:]
	if h.Codec() == record.CodecNone {
		return section, true
	}
	if h.Codec() > record.CodecZstd {
		return nil, false
	}
	out, err := record.Decompress(f.section[:0], h.Codec(), section, f.rules.decompressLimit)
	if cap(out) > cap(f.section) {
		f.section = out[:0]
	}
	return out, err == nil
}

// rebuild appends a batch with b's header and the records in f.kept,
// compressed with b's codec.
func (f *batchFilter) rebuild(dst, b []byte, h *record.Header, count int32, baseTs, maxTs int64, horizon bool) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, b[:record.HeaderSize]...)
	var err error
	if dst, err = record.Compress(dst, h.Codec(), f.kept); err != nil {
		return dst[:start], false
	}
	out := dst[start:]
	if len(out)-record.LogOverhead > math.MaxInt32 {
		return dst[:start], false
	}
	attrs := uint16(h.Attributes)
	if horizon {
		attrs |= record.DeleteHorizonBit
	}
	binary.BigEndian.PutUint32(out[hdrLength:], uint32(len(out)-record.LogOverhead))
	binary.BigEndian.PutUint16(out[hdrAttributes:], attrs)
	binary.BigEndian.PutUint64(out[hdrBaseTs:], uint64(baseTs))
	binary.BigEndian.PutUint64(out[hdrMaxTs:], uint64(maxTs))
	binary.BigEndian.PutUint32(out[hdrRecordCount:], uint32(count))
	record.SetCRC(out)
	return dst, true
}

// appendEmptyBatch appends b's header as a batch without records: same
// offsets, leader epoch, producer id, epoch and base sequence; no codec, no
// delete horizon; both timestamps set to the max timestamp.
func appendEmptyBatch(dst, b []byte, h *record.Header) []byte {
	start := len(dst)
	dst = append(dst, b[:record.HeaderSize]...)
	out := dst[start:]
	attrs := uint16(h.Attributes) &^ (record.CompressionMask | record.DeleteHorizonBit)
	binary.BigEndian.PutUint32(out[hdrLength:], emptyBatchLength)
	binary.BigEndian.PutUint16(out[hdrAttributes:], attrs)
	binary.BigEndian.PutUint64(out[hdrBaseTs:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(out[hdrMaxTs:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint32(out[hdrRecordCount:], 0)
	record.SetCRC(out)
	return dst
}

// appendRebased appends the encoded record raw with its timestamp delta
// replaced by delta. raw was decoded by record.Iter, so its varints are
// well formed. Layout: length varint, attributes, timestamp delta varlong,
// then the rest (offset delta, key, value, headers) unchanged.
func appendRebased(dst, raw []byte, delta int64) []byte {
	_, n := binary.Varint(raw)
	body := raw[n:]
	_, m := binary.Varint(body[1:])
	rest := body[1+m:]
	var ts [binary.MaxVarintLen64]byte
	tn := binary.PutVarint(ts[:], delta)
	dst = binary.AppendVarint(dst, int64(1+tn+len(rest)))
	dst = append(dst, body[0])
	dst = append(dst, ts[:tn]...)
	return append(dst, rest...)
}

// addSaturating returns a+b for b ≥ 0, capped at math.MaxInt64.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
