package storage

import (
	"encoding/binary"

	"github.com/samsa-io/samsa/internal/record"
)

// TimestampOffset answers a ListOffsets query.
type TimestampOffset struct {
	Timestamp   int64 // ms
	Offset      int64
	LeaderEpoch int32 // partition leader epoch of the batch holding Offset; -1 when unknown
}

// segTs pairs a segment with its max timestamp, copied under Log.mu.
type segTs struct {
	seg             *segment
	maxTs, offMaxTs int64
}

// acquireSegmentTimes returns the live segments, acquired, with their max
// timestamps. The caller releases them.
func (l *Log) acquireSegmentTimes() []segTs {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]segTs, 0, len(l.segs))
	for _, s := range l.segs {
		if s.tryAcquire() {
			out = append(out, segTs{seg: s, maxTs: s.maxTs, offMaxTs: s.offMaxTs})
		}
	}
	return out
}

func releaseSegmentTimes(ss []segTs) {
	for _, s := range ss {
		s.seg.release()
	}
}

// OffsetForTimestamp answers ListOffsets for a timestamp ts ≥ 0: the first
// offset at or after the log start offset whose record timestamp is ≥ ts,
// found through the first segment whose max timestamp reaches ts, its time
// index, and a scan of batch headers. Within an uncompressed batch the
// exact record is found; within a compressed CreateTime batch the answer
// is the batch's first offset (≥ the log start) with the batch's max
// timestamp, until storage learns to decompress. ok is false when no
// record is that recent.
func (l *Log) OffsetForTimestamp(ts int64) (TimestampOffset, bool, error) {
	segs := l.acquireSegmentTimes()
	defer releaseSegmentTimes(segs)
	start := l.logStart.Load()
	l.tailMu.RLock()
	t := l.tail
	l.tailMu.RUnlock()
	var buf []byte
	for _, st := range segs {
		if st.maxTs < ts {
			continue
		}
		seg := st.seg
		_, idxOff := seg.tidx.lookupTime(ts)
		pos := seg.idx.lookupOffset(max(idxOff, start))
		end, _ := segmentEnd(seg, t)
		var hdr [record.HeaderSize]byte
		for pos < end {
			h, err := seg.headerAt(&hdr, pos, end)
			if err != nil {
				return TimestampOffset{}, false, err
			}
			if h.MaxTimestamp >= ts && h.LastOffset() >= start {
				if buf, err = readBatch(seg, pos, &h, buf); err != nil {
					return TimestampOffset{}, false, err
				}
				if to, ok := firstRecordAtOrAfter(buf, &h, ts, start); ok {
					return to, true, nil
				}
			}
			pos += h.Size()
		}
	}
	return TimestampOffset{}, false, nil
}

// MaxTimestamp answers ListOffsets with timestamp -3 (KIP-734): the
// largest timestamp in the log and the offset of the record that carries
// it (in a compressed batch, the batch's last offset). ok is false when no
// batch has a timestamp.
func (l *Log) MaxTimestamp() (TimestampOffset, bool, error) {
	segs := l.acquireSegmentTimes()
	defer releaseSegmentTimes(segs)
	best := -1
	for i, st := range segs {
		if st.maxTs >= 0 && (best < 0 || st.maxTs > segs[best].maxTs) {
			best = i
		}
	}
	if best < 0 {
		return TimestampOffset{}, false, nil
	}
	st := segs[best]
	l.tailMu.RLock()
	t := l.tail
	l.tailMu.RUnlock()
	end, _ := segmentEnd(st.seg, t)
	pos, h, found, err := st.seg.findBatch(st.offMaxTs, end)
	if err != nil {
		return TimestampOffset{}, false, err
	}
	res := TimestampOffset{Timestamp: st.maxTs, Offset: st.offMaxTs, LeaderEpoch: epochOrUnknown(h.PartitionLeaderEpoch)}
	if !found || h.MaxTimestamp != st.maxTs || (h.Codec() != record.CodecNone && !h.LogAppendTime()) {
		return res, true, nil
	}
	buf, err := readBatch(st.seg, pos, &h, nil)
	if err != nil {
		return TimestampOffset{}, false, err
	}
	if to, ok := firstRecordAtOrAfter(buf, &h, st.maxTs, 0); ok && to.Timestamp == st.maxTs {
		res.Offset = to.Offset
	}
	return res, true, nil
}

func epochOrUnknown(e int32) int32 {
	if e < 0 {
		return -1
	}
	return e
}

// firstRecordAtOrAfter finds, in the whole batch b with header h, the first
// record with timestamp ≥ ts and offset ≥ minOffset.
func firstRecordAtOrAfter(b []byte, h *record.Header, ts, minOffset int64) (TimestampOffset, bool) {
	epoch := epochOrUnknown(h.PartitionLeaderEpoch)
	if h.MaxTimestamp < ts || h.LastOffset() < minOffset {
		return TimestampOffset{}, false
	}
	if h.LogAppendTime() || h.Codec() != record.CodecNone {
		// Every record carries the batch timestamp (LogAppendTime), or the
		// records are compressed: answer at batch granularity.
		return TimestampOffset{Timestamp: h.MaxTimestamp, Offset: max(h.BaseOffset, minOffset), LeaderEpoch: epoch}, true
	}
	var found TimestampOffset
	ok := false
	walkRecords(b[record.HeaderSize:], h.NumRecords, func(offsetDelta int32, tsDelta int64) bool {
		off, rts := h.BaseOffset+int64(offsetDelta), h.BaseTimestamp+tsDelta
		if rts >= ts && off >= minOffset {
			found, ok = TimestampOffset{Timestamp: rts, Offset: off, LeaderEpoch: epoch}, true
			return false
		}
		return true
	})
	if !ok {
		// Records unreadable (the CRC matched, so the producer wrote them
		// that way): fall back to batch granularity.
		return TimestampOffset{Timestamp: h.MaxTimestamp, Offset: max(h.BaseOffset, minOffset), LeaderEpoch: epoch}, true
	}
	return found, true
}

// walkRecords visits the offset and timestamp deltas of the uncompressed
// records in b, stopping when fn returns false or at the first malformed
// record. Each record is: length varint, attributes int8, timestamp delta
// varlong, offset delta varint, then key, value and headers, skipped.
func walkRecords(b []byte, count int32, fn func(offsetDelta int32, tsDelta int64) bool) {
	for i := int32(0); i < count && len(b) > 0; i++ {
		length, n := binary.Varint(b)
		if n <= 0 || length < 0 || length > int64(len(b)-n) {
			return
		}
		rec := b[n : n+int(length)]
		b = b[n+int(length):]
		if len(rec) < 1 {
			return
		}
		tsDelta, n1 := binary.Varint(rec[1:])
		if n1 <= 0 {
			return
		}
		offDelta, n2 := binary.Varint(rec[1+n1:])
		if n2 <= 0 || offDelta < 0 || offDelta > int64(^uint32(0)>>1) {
			return
		}
		if !fn(int32(offDelta), tsDelta) {
			return
		}
	}
}
