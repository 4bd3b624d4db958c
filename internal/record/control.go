package record

import "encoding/binary"

// Control batches carry one control record whose key says what it is:
//
//	key    version int16 (0), type int16
//	value  for transaction markers (types 0 and 1):
//	       version int16 (0), coordinatorEpoch int32
//
// The batch has the control and transactional bits set and the producer id
// and epoch of the transaction it ends; its base sequence is -1.
//
// As Kafka does, parsers accept a higher version than 0 and read the
// version 0 fields, ignoring what follows; a negative version is invalid.

// ControlType is the type in a control record's key.
type ControlType int16

// The control record types Kafka defines. Types 2 and up are KRaft's own
// (leader change, snapshot header and footer, voter changes) and appear only
// in the metadata log.
const (
	ControlAbort  ControlType = 0
	ControlCommit ControlType = 1
)

const (
	controlKeySize       = 4
	endTxnMarkerValueLen = 6
)

// EndTxnMarker is a transaction marker: the end of a producer's transaction
// on one partition.
type EndTxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool  // false: abort
	CoordinatorEpoch int32 // the transaction coordinator's epoch
}

// BuildEndTxnMarker appends a control batch holding the marker to dst.
// timestamp is the marker's record timestamp (ms since epoch). The batch has
// base offset 0 and partition leader epoch -1; the partition sets both
// when appending.
func BuildEndTxnMarker(dst []byte, m EndTxnMarker, timestamp int64) []byte {
	typ := ControlAbort
	if m.Commit {
		typ = ControlCommit
	}
	var key [controlKeySize]byte
	binary.BigEndian.PutUint16(key[2:], uint16(typ)) // version 0
	var value [endTxnMarkerValueLen]byte
	binary.BigEndian.PutUint32(value[2:], uint32(m.CoordinatorEpoch)) // version 0

	var b Builder
	b.Reset(CodecNone)
	b.SetProducer(m.ProducerID, m.ProducerEpoch, NoSequence)
	b.SetTransactional(true)
	b.SetControl(true)
	b.Add(timestamp, key[:], value[:], nil)
	dst, _ = b.Build(dst) // one record, no codec: cannot fail
	return dst
}

// ParseControlKey decodes a control record's key.
func ParseControlKey(key []byte) (ControlType, error) {
	if len(key) < controlKeySize {
		return 0, invalidf("control record key of %d bytes, want at least %d", len(key), controlKeySize)
	}
	if v := int16(binary.BigEndian.Uint16(key)); v < 0 {
		return 0, invalidf("control record key version %d", v)
	}
	return ControlType(binary.BigEndian.Uint16(key[2:])), nil
}

// ParseEndTxnMarker decodes the transaction marker in a control batch. It
// checks the batch's length and CRC and that it is a control batch holding
// exactly one commit or abort record.
func ParseEndTxnMarker(batch []byte) (EndTxnMarker, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return EndTxnMarker{}, err
	}
	switch {
	case h.Magic != 2:
		return EndTxnMarker{}, invalidf("control batch with magic %d", h.Magic)
	case h.Size() < HeaderSize || h.Size() > int64(len(batch)):
		return EndTxnMarker{}, corruptf("batch length %d does not fit %d bytes", h.Length, len(batch))
	case ComputeCRC(batch[:h.Size()]) != h.CRC:
		return EndTxnMarker{}, corruptf("control batch fails its CRC")
	case !h.Control():
		return EndTxnMarker{}, invalidf("not a control batch")
	case h.NumRecords != 1:
		return EndTxnMarker{}, invalidf("control batch with %d records", h.NumRecords)
	}
	section := batch[HeaderSize:h.Size()]
	if h.Codec() != CodecNone {
		// Kafka writes markers uncompressed, but a reader must take either.
		if section, err = Decompress(nil, h.Codec(), section, 1<<10); err != nil {
			return EndTxnMarker{}, err
		}
	}
	it := NewIter(section, 1)
	var r Record
	if !it.Next(&r) {
		return EndTxnMarker{}, it.Err()
	}
	if it.Next(&r); it.Err() != nil {
		return EndTxnMarker{}, it.Err()
	}
	typ, err := ParseControlKey(r.Key)
	if err != nil {
		return EndTxnMarker{}, err
	}
	if typ != ControlAbort && typ != ControlCommit {
		return EndTxnMarker{}, invalidf("control record type %d is not a transaction marker", typ)
	}
	if len(r.Value) < endTxnMarkerValueLen {
		return EndTxnMarker{}, invalidf("transaction marker value of %d bytes, want at least %d", len(r.Value), endTxnMarkerValueLen)
	}
	if v := int16(binary.BigEndian.Uint16(r.Value)); v < 0 {
		return EndTxnMarker{}, invalidf("transaction marker version %d", v)
	}
	return EndTxnMarker{
		ProducerID:       h.ProducerID,
		ProducerEpoch:    h.ProducerEpoch,
		Commit:           typ == ControlCommit,
		CoordinatorEpoch: int32(binary.BigEndian.Uint32(r.Value[2:])),
	}, nil
}
