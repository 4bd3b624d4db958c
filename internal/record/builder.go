package record

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"
)

// Builder assembles a v2 batch from records: for converting old message
// sets, for transaction markers, and for tests. It encodes records as the
// Java producer does: offset deltas 0..n-1, the first record's timestamp as
// the base timestamp, the largest as the max timestamp.
//
// The zero Builder is not ready; use NewBuilder. A Builder may be reused
// with Reset. It is not safe for concurrent use.
type Builder struct {
	codec         Codec
	attrs         int16 // attribute bits other than the codec
	producerID    int64
	producerEpoch int16
	baseSequence  int32
	leaderEpoch   int32
	baseOffset    int64

	records      []byte // encoded records, uncompressed
	n            int32  // records so far
	baseTS       int64  // ms since epoch, the first record's
	maxTimestamp int64  // ms since epoch
}

// NewBuilder returns a Builder for a batch compressed with codec, without a
// producer id, CreateTime, base offset 0 and partition leader epoch -1.
func NewBuilder(codec Codec) *Builder {
	b := new(Builder)
	b.Reset(codec)
	return b
}

// Reset empties the Builder and restores NewBuilder's settings, keeping its
// buffer.
func (b *Builder) Reset(codec Codec) {
	*b = Builder{
		codec:         codec,
		producerID:    NoProducerID,
		producerEpoch: NoProducerEpoch,
		baseSequence:  NoSequence,
		leaderEpoch:   -1,
		records:       b.records[:0],
		maxTimestamp:  -1,
	}
}

// SetProducer sets the producer id, producer epoch and base sequence.
func (b *Builder) SetProducer(id int64, epoch int16, baseSequence int32) {
	b.producerID, b.producerEpoch, b.baseSequence = id, epoch, baseSequence
}

// SetTransactional sets or clears the transactional bit.
func (b *Builder) SetTransactional(on bool) { b.setBit(TransactionalBit, on) }

// SetControl sets or clears the control bit.
func (b *Builder) SetControl(on bool) { b.setBit(ControlBit, on) }

// SetLogAppendTime sets or clears the LogAppendTime timestamp type.
func (b *Builder) SetLogAppendTime(on bool) { b.setBit(TimestampTypeBit, on) }

// SetBaseOffset sets the base offset (0 for a batch a client would send).
func (b *Builder) SetBaseOffset(offset int64) { b.baseOffset = offset }

// SetPartitionLeaderEpoch sets the partition leader epoch.
func (b *Builder) SetPartitionLeaderEpoch(epoch int32) { b.leaderEpoch = epoch }

func (b *Builder) setBit(bit int16, on bool) {
	if on {
		b.attrs |= bit
	} else {
		b.attrs &^= bit
	}
}

// Len is the number of records added.
func (b *Builder) Len() int { return int(b.n) }

// Add appends a record. timestamp is ms since epoch (-1 for none); a nil key
// or value is null; headers may be nil. The bytes are copied.
func (b *Builder) Add(timestamp int64, key, value []byte, headers []RecordHeader) {
	if b.n == 0 {
		b.baseTS = timestamp
	}
	if timestamp > b.maxTimestamp {
		b.maxTimestamp = timestamp
	}
	b.records = appendRecord(b.records, timestamp-b.baseTS, b.n, key, value, headers)
	b.n++
}

// appendRecord appends one encoded record.
func appendRecord(dst []byte, tsDelta int64, offsetDelta int32, key, value []byte, headers []RecordHeader) []byte {
	body := 1 + sizeVarlong(tsDelta) + sizeVarint(offsetDelta) +
		sizeBytes(key) + sizeBytes(value) + sizeVarint(int32(len(headers)))
	for _, h := range headers {
		body += sizeBytes(h.Key) + sizeBytes(h.Value)
	}
	dst = appendVarint(dst, int32(body))
	dst = append(dst, 0) // attributes
	dst = appendVarlong(dst, tsDelta)
	dst = appendVarint(dst, offsetDelta)
	dst = appendBytes(dst, key)
	dst = appendBytes(dst, value)
	dst = appendVarint(dst, int32(len(headers)))
	for _, h := range headers {
		k := h.Key
		if k == nil {
			k = []byte{} // header keys are never null
		}
		dst = appendBytes(dst, k)
		dst = appendBytes(dst, h.Value)
	}
	return dst
}

// errEmptyBatch is returned by Build for a Builder without records.
var errEmptyBatch = errors.New("record: cannot build a batch without records")

// Build appends the batch to dst and returns it. The Builder keeps its
// records; Reset it to start another batch.
func (b *Builder) Build(dst []byte) ([]byte, error) {
	if b.n == 0 {
		return dst, errEmptyBatch
	}
	start := len(dst)
	room := HeaderSize + len(b.records) // exact when uncompressed
	if b.codec != CodecNone {
		room = HeaderSize + len(b.records)/2 + 64 // a guess; Compress grows it if wrong
	}
	dst = slices.Grow(dst, room)
	dst = b.appendHeader(dst)
	var err error
	if dst, err = Compress(dst, b.codec, b.records); err != nil {
		return dst[:start], err
	}
	finishBatch(dst[start:])
	return dst, nil
}

// appendHeader appends a header whose length and CRC finishBatch fills in.
func (b *Builder) appendHeader(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.baseOffset))
	dst = binary.BigEndian.AppendUint32(dst, 0) // length
	dst = binary.BigEndian.AppendUint32(dst, uint32(b.leaderEpoch))
	dst = append(dst, 2)                        // magic
	dst = binary.BigEndian.AppendUint32(dst, 0) // CRC
	dst = binary.BigEndian.AppendUint16(dst, uint16(b.attrs|int16(b.codec&CompressionMask)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(b.n-1))
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.baseTS))
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.maxTimestamp))
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.producerID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(b.producerEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(b.baseSequence))
	return binary.BigEndian.AppendUint32(dst, uint32(b.n))
}

// finishBatch sets the length field and the CRC of a whole batch.
func finishBatch(batch []byte) {
	if len(batch)-LogOverhead > math.MaxInt32 {
		panic("record: batch larger than 2 GiB")
	}
	binary.BigEndian.PutUint32(batch[offLength:], uint32(len(batch)-LogOverhead))
	SetCRC(batch)
}

func sizeBytes(b []byte) int {
	if b == nil {
		return sizeVarint(-1)
	}
	return sizeVarint(int32(len(b))) + len(b)
}

func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return appendVarint(dst, -1)
	}
	return append(appendVarint(dst, int32(len(b))), b...)
}

// Recompress returns a copy of the v2 batch re-encoded with codec (CodecNone
// to store it uncompressed) at level (Kafka's numbers, see CompressLevel). The records themselves are carried over byte
// for byte, so offsets, timestamps and headers are exactly as they were;
// only the codec bits, the length and the CRC change. The records are read
// (decompressing with at most limit bytes, ≤ 0: DefaultDecompressLimit) and
// their structure and count checked on the way; the CRC is checked first.
// The result may be larger than the input: checking it against
// max.message.bytes (MESSAGE_TOO_LARGE) is the caller's job, as in Kafka.
func Recompress(batch []byte, codec Codec, level, limit int) ([]byte, error) {
	if codec < CodecNone || codec > CodecZstd {
		return nil, unsupportedCodecf("compression codec %d", codec)
	}
	h, err := ParseHeader(batch)
	if err != nil {
		return nil, err
	}
	if h.Magic != 2 {
		return nil, invalidf("cannot recompress a magic %d batch", h.Magic)
	}
	if h.Size() < HeaderSize || h.Size() > int64(len(batch)) {
		return nil, corruptf("batch length %d does not fit %d bytes", h.Length, len(batch))
	}
	if ComputeCRC(batch[:h.Size()]) != h.CRC {
		// A fresh CRC must not bless corrupt bytes.
		return nil, corruptf("batch fails its CRC")
	}
	if h.Codec() > CodecZstd {
		return nil, unsupportedCodecf("unknown compression codec %d", h.Codec())
	}
	section := batch[HeaderSize:h.Size()]
	if h.Codec() != CodecNone {
		scratch := getScratch()
		defer putScratch(scratch)
		if section, err = Decompress((*scratch)[:0], h.Codec(), section, limit); err != nil {
			return nil, err
		}
		*scratch = section
	}
	it := NewIter(section, h.NumRecords)
	var r Record
	for it.Next(&r) {
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	out := make([]byte, HeaderSize, HeaderSize+len(section)/2+64)
	copy(out, batch[:HeaderSize])
	attrs := uint16(h.Attributes)&^CompressionMask | uint16(codec)
	binary.BigEndian.PutUint16(out[offAttributes:], attrs)
	if out, err = CompressLevel(out, codec, level, section); err != nil {
		return nil, err
	}
	finishBatch(out)
	return out, nil
}

// scratchPool holds buffers for data that lives only during a call, such as
// a decompressed records section being recompressed.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

// putScratch returns a buffer to the pool unless it grew too large to keep.
func putScratch(b *[]byte) {
	if cap(*b) > readerKeepBuf {
		*b = nil
	}
	*b = (*b)[:0]
	scratchPool.Put(b)
}
