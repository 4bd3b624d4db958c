// Package record reads, validates and builds Kafka record batches (message
// format v2, "magic 2"), the unit in which samsa receives, stores and serves
// data. It owns the batch layout, the record layout, CRC-32C, the four
// compression codecs, control records (transaction markers) and the
// conversion of old (magic 0 and 1) message sets. It does no I/O beyond the
// io.Reader it is handed, starts no goroutines, and keeps no state except
// pools of codec buffers; every function is safe for concurrent use on
// different data.
//
// A batch is handled as the bytes it arrived in: samsa never re-encodes a
// batch on the produce or fetch path. The broker only rewrites the two header
// fields that are outside the CRC (base offset and partition leader epoch) and
// the max timestamp and timestamp type (after which the CRC is recomputed):
// for LogAppendTime topics, and when a batch's records disagree with its
// header, as Kafka does.
//
// Layout of a v2 batch (big endian; all offsets in bytes):
//
//	offset  size  field                    covered by CRC
//	     0     8  baseOffset               no
//	     8     4  batchLength              no   (bytes after this field)
//	    12     4  partitionLeaderEpoch     no
//	    16     1  magic (= 2)              no
//	    17     4  crc (CRC-32C)            no
//	    21     2  attributes               yes
//	    23     4  lastOffsetDelta          yes
//	    27     8  baseTimestamp            yes
//	    35     8  maxTimestamp             yes
//	    43     8  producerId               yes
//	    51     2  producerEpoch            yes
//	    53     4  baseSequence             yes
//	    57     4  recordCount              yes
//	    61     …  records (possibly compressed)
//
// Attributes: bits 0-2 compression codec, bit 3 timestamp type
// (1 = LogAppendTime), bit 4 transactional, bit 5 control batch, bit 6
// delete horizon set (compaction). The record layout is in records.go, the
// old message format in legacy.go, control records in control.go.
//
// # Bad input
//
// Every byte here may come from a client. Every length is checked against
// the bytes that remain (or, for decompressed data, against the caller's
// limit) before it is used or anything is allocated; varints longer than 5
// (int32) or 10 (int64) bytes are errors; no input makes a function panic.
// A rejected batch is an *Error carrying the Kafka error code the Produce
// response reports (see errors.go), chosen as Kafka's ProduceRequest,
// batch iterator, record reader and LogValidator choose it: CORRUPT_MESSAGE
// for a bad CRC, a batch length below the smallest message, an unknown
// magic, and malformed compressed data; INVALID_RECORD for no whole batch or
// more than one, malformed records, counts that disagree, and the rules for
// client batches; MESSAGE_TOO_LARGE, UNSUPPORTED_COMPRESSION_TYPE and
// INVALID_TIMESTAMP.
//
// # Compressed batches are trusted by their header
//
// Validate walks every record of an uncompressed batch (cheap, and without
// allocating). A compressed batch is decompressed only when a check needs
// its records: keys on a compacted topic, exact per-record timestamp checks,
// or recompression (ValidateOptions.RequireKeys, CheckCompressedRecords).
// Otherwise the header's count, offsets and timestamps are taken as they
// are: the CRC proves they are what the producer sent, and decompressing
// every batch would cost the broker more CPU than the rest of the produce
// path. This departs from Kafka, which always decompresses: a producer that
// compresses garbage under a correct CRC gets it stored, and its consumers,
// not the broker, find out. Timestamps of such a batch are checked by its
// base and max timestamps only.
//
// # Where samsa is stricter than Kafka
//
// Validate follows Kafka's LogValidator and ProduceRequest checks and codes,
// and refuses a few things Kafka lets through or repairs, all of which no
// real client sends: bytes after the batch (Kafka drops a trailing partial
// batch); offset deltas other than 0..n-1 (Kafka renumbers compressed
// batches and ignores them in uncompressed ones); a LogAppendTime claim
// (rejected for the batch, not per record); a transactional batch without
// a producer id, or a producer id without an epoch; lengths below -1 and
// varints with bits beyond their width (Kafka reads them as null, or drops
// the bits). Malformed compressed data is CORRUPT_MESSAGE, where Kafka
// answers UNKNOWN_SERVER_ERROR. A rejection lists at most 1000 records.
//
// # Decompression is bounded
//
// Codecs are read as streams through DecompressReader, which fails with
// INVALID_RECORD once the output passes the caller's limit
// (DefaultDecompressLimit, 64 MiB, unless told otherwise); a decompression
// bomb costs at most the limit plus the codec's fixed working memory.
// Decoders and buffers are pooled.
//
// Where to start reading: Header and ParseHeader here; Validate in
// validate.go, which the Produce path calls; Iter and Reader (records.go,
// stream.go) for reading records; Builder and Recompress in builder.go;
// codecs in decompress.go, snappy.go and compress.go; ConvertLegacy in
// legacy.go; transaction markers in control.go.
package record

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Field offsets within a v2 batch.
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// HeaderSize is the size of a v2 batch header, records excluded.
	HeaderSize = 61

	// LogOverhead is the size of the baseOffset and batchLength fields, which
	// precede the part of the batch that batchLength counts.
	LogOverhead = 12

	// MagicOffset is where the magic byte sits in batches of every format
	// (v0 and v1 messages put it at the same position), so a reader can
	// look at it before knowing the format.
	MagicOffset = offMagic
)

// Attribute bits.
const (
	CompressionMask        = 0x07
	TimestampTypeBit       = 0x08
	TransactionalBit       = 0x10
	ControlBit             = 0x20
	DeleteHorizonBit       = 0x40
	NoProducerID     int64 = -1
	NoSequence       int32 = -1
	NoProducerEpoch  int16 = -1
)

// Codec is a compression codec as carried in the attributes.
type Codec int8

// The codecs Kafka defines.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

// String returns the codec's name as Kafka's configs spell it.
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return "unknown"
}

// ErrShortBatch means the bytes end before a whole batch header or body. It
// is a CORRUPT_MESSAGE *Error.
var ErrShortBatch error = &Error{Code: kerr.CorruptMessage, Msg: "batch truncated"}

// Header is the decoded fixed-size header of a v2 batch.
type Header struct {
	BaseOffset           int64
	Length               int32 // bytes after the Length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64 // ms since epoch
	MaxTimestamp         int64 // ms since epoch
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// ParseHeader decodes the header at the start of b. It checks only that b is
// long enough; it does not check the magic, the CRC or the length.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortBatch
	}
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		Length:               int32(binary.BigEndian.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(binary.BigEndian.Uint32(b[offRecordCount:])),
	}, nil
}

// Size is the whole encoded size of the batch: the log overhead plus Length.
func (h *Header) Size() int64 { return LogOverhead + int64(h.Length) }

// LastOffset is the offset of the batch's last record.
func (h *Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h *Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Codec is the batch's compression codec.
func (h *Header) Codec() Codec { return Codec(h.Attributes & CompressionMask) }

// LogAppendTime reports whether the batch's timestamps are the broker's.
func (h *Header) LogAppendTime() bool { return h.Attributes&TimestampTypeBit != 0 }

// Transactional reports whether the batch is part of a transaction.
func (h *Header) Transactional() bool { return h.Attributes&TransactionalBit != 0 }

// Control reports whether the batch holds control records (transaction
// markers).
func (h *Header) Control() bool { return h.Attributes&ControlBit != 0 }

// Idempotent reports whether the batch carries a producer id, which makes the
// broker check its sequence numbers.
func (h *Header) Idempotent() bool { return h.ProducerID >= 0 }

// LastSequence is the sequence number of the batch's last record, wrapping
// at MaxInt32 as Kafka's does.
func (h *Header) LastSequence() int32 {
	if h.BaseSequence == NoSequence {
		return NoSequence
	}
	return IncrementSequence(h.BaseSequence, h.LastOffsetDelta)
}

// IncrementSequence adds n to a sequence number, wrapping past MaxInt32 to 0.
func IncrementSequence(seq, n int32) int32 {
	if seq > int32(^uint32(0)>>1)-n {
		return n - (int32(^uint32(0)>>1) - seq) - 1
	}
	return seq + n
}

// BatchSize reads the size of the batch at the start of b from its length
// field. It returns ErrShortBatch when b holds fewer than LogOverhead bytes.
// The result can be negative or huge when b is corrupt; callers bound it.
func BatchSize(b []byte) (int64, error) {
	if len(b) < LogOverhead {
		return 0, ErrShortBatch
	}
	return LogOverhead + int64(int32(binary.BigEndian.Uint32(b[offLength:]))), nil
}

// SetBaseOffset rewrites the batch's base offset. The field is outside the
// CRC, so the checksum stays valid.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(offset))
}

// SetPartitionLeaderEpoch rewrites the batch's partition leader epoch, which
// is outside the CRC.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch as LogAppendTime, sets its max timestamp
// to ts (ms since epoch) and recomputes the CRC, as Kafka does for topics
// with message.timestamp.type=LogAppendTime. The base timestamp and record
// timestamp deltas are left alone, as in Kafka: consumers take every
// record's time from the max timestamp when the bit is set, and the base
// timestamp doubles as the delete horizon once compaction sets bit 6.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[offAttributes:]) | TimestampTypeBit
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	SetCRC(b)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ComputeCRC returns the CRC-32C of the batch's covered bytes (from the
// attributes to the end). b must hold the whole batch.
func ComputeCRC(b []byte) uint32 {
	return crc32.Checksum(b[offAttributes:], castagnoli)
}

// SetCRC recomputes and stores the batch's CRC.
func SetCRC(b []byte) {
	binary.BigEndian.PutUint32(b[offCRC:], ComputeCRC(b))
}

// CRC32C is the Castagnoli CRC used by batches; exported for the storage
// layer, which checks batches it reads back from disk.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
