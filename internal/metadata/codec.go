package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Encoding of one log entry (one proposal; its records apply atomically):
//
//	entry   := format(1 byte, = 1) count(uvarint) record{count}
//	record  := type(uvarint) version(uvarint) length(uvarint) payload[length]
//	payload := the record's fields in declaration order:
//	           intN big endian, bool one byte, string and []byte as
//	           uvarint length + bytes, []int32 as uvarint count + int32s,
//	           UUID 16 bytes, nested lists as uvarint count + items.
//
// Every record type is at version 0. A newer version may append fields; a
// decoder reads the fields it knows and ignores the rest of the payload,
// which is why the payload is length-prefixed.

const entryFormat = 1

// ErrCorrupt means bytes did not decode as a metadata entry.
var ErrCorrupt = errors.New("metadata: corrupt entry")

// Encode returns the entry holding recs.
func Encode(recs []Record) []byte {
	b := []byte{entryFormat}
	b = binary.AppendUvarint(b, uint64(len(recs)))
	var payload []byte
	for _, r := range recs {
		payload = encodeRecord(payload[:0], r)
		b = binary.AppendUvarint(b, uint64(r.Type()))
		b = binary.AppendUvarint(b, 0)
		b = binary.AppendUvarint(b, uint64(len(payload)))
		b = append(b, payload...)
	}
	return b
}

// Decode parses an entry. It never panics; malformed input is ErrCorrupt.
func Decode(b []byte) ([]Record, error) {
	d := decoder{b: b}
	if d.u8() != entryFormat {
		return nil, fmt.Errorf("%w: unknown entry format", ErrCorrupt)
	}
	n := d.count(3) // type, version and length take at least a byte each
	recs := make([]Record, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		typ := RecordType(d.uvarint())
		d.uvarint() // version: all known versions decode the same prefix
		payload := d.bytes()
		if d.err != nil {
			break
		}
		pd := decoder{b: payload}
		r := pd.record(typ)
		if pd.err != nil {
			return nil, fmt.Errorf("%w: record %d (type %d): %v", ErrCorrupt, i, typ, pd.err)
		}
		recs = append(recs, r)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return recs, nil
}

func encodeRecord(b []byte, r Record) []byte {
	switch r := r.(type) {
	case ClusterRecord:
		b = appendString(b, r.ClusterID)
	case TopicRecord:
		b = appendString(b, r.Name)
		b = append(b, r.ID[:]...)
	case PartitionRecord:
		b = append(b, r.TopicID[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(r.Partition))
		b = appendInt32s(b, r.Replicas)
		b = appendInt32s(b, r.ISR)
		b = binary.BigEndian.AppendUint32(b, uint32(r.Leader))
		b = binary.BigEndian.AppendUint32(b, uint32(r.LeaderEpoch))
		b = binary.BigEndian.AppendUint32(b, uint32(r.PartitionEpoch))
		b = appendInt32s(b, r.AddingReplicas)
		b = appendInt32s(b, r.RemovingReplicas)
	case PartitionChangeRecord:
		b = append(b, r.TopicID[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(r.Partition))
		b = binary.BigEndian.AppendUint32(b, uint32(r.Leader))
		b = appendOptInt32s(b, r.ISR)
		b = appendOptInt32s(b, r.Replicas)
		b = appendOptInt32s(b, r.AddingReplicas)
		b = appendOptInt32s(b, r.RemovingReplicas)
	case RemoveTopicRecord:
		b = append(b, r.TopicID[:]...)
	case ConfigRecord:
		b = append(b, byte(r.ResourceType))
		b = appendString(b, r.ResourceName)
		b = appendString(b, r.Name)
		b = appendString(b, r.Value)
		b = appendBool(b, r.Delete)
	case RegisterBrokerRecord:
		b = binary.BigEndian.AppendUint32(b, uint32(r.BrokerID))
		b = append(b, r.IncarnationID[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(r.BrokerEpoch))
		b = binary.AppendUvarint(b, uint64(len(r.Endpoints)))
		for _, e := range r.Endpoints {
			b = appendString(b, e.Listener)
			b = appendString(b, e.Host)
			b = binary.BigEndian.AppendUint32(b, uint32(e.Port))
			b = binary.BigEndian.AppendUint16(b, uint16(e.SecurityProtocol))
		}
		b = appendString(b, r.Rack)
		b = appendBool(b, r.Fenced)
	case UnregisterBrokerRecord:
		b = binary.BigEndian.AppendUint32(b, uint32(r.BrokerID))
		b = binary.BigEndian.AppendUint64(b, uint64(r.BrokerEpoch))
	case BrokerRegistrationChangeRecord:
		b = binary.BigEndian.AppendUint32(b, uint32(r.BrokerID))
		b = binary.BigEndian.AppendUint64(b, uint64(r.BrokerEpoch))
		b = append(b, byte(r.Fenced), byte(r.InControlledShutdown))
	case ProducerIDsRecord:
		b = binary.BigEndian.AppendUint32(b, uint32(r.BrokerID))
		b = binary.BigEndian.AppendUint64(b, uint64(r.BrokerEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(r.NextProducerID))
	case ClientQuotaRecord:
		b = appendQuotaName(b, r.Entity.User)
		b = appendQuotaName(b, r.Entity.ClientID)
		b = appendString(b, r.Key)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(r.Value))
		b = appendBool(b, r.Remove)
		b = appendQuotaName(b, r.Entity.IP) // appended later: absent from older entries
	default:
		panic(fmt.Sprintf("metadata: encode of unknown record %T", r))
	}
	return b
}

func (d *decoder) record(typ RecordType) Record {
	switch typ {
	case TypeCluster:
		return ClusterRecord{ClusterID: d.string()}
	case TypeTopic:
		return TopicRecord{Name: d.string(), ID: d.uuid()}
	case TypePartition:
		return PartitionRecord{
			TopicID: d.uuid(), Partition: d.i32(), Replicas: d.int32s(), ISR: d.int32s(),
			Leader: d.i32(), LeaderEpoch: d.i32(), PartitionEpoch: d.i32(),
			AddingReplicas: d.int32s(), RemovingReplicas: d.int32s(),
		}
	case TypePartitionChange:
		return PartitionChangeRecord{
			TopicID: d.uuid(), Partition: d.i32(), Leader: d.i32(), ISR: d.optInt32s(),
			Replicas: d.optInt32s(), AddingReplicas: d.optInt32s(), RemovingReplicas: d.optInt32s(),
		}
	case TypeRemoveTopic:
		return RemoveTopicRecord{TopicID: d.uuid()}
	case TypeConfig:
		return ConfigRecord{ResourceType: int8(d.u8()), ResourceName: d.string(), Name: d.string(), Value: d.string(), Delete: d.bool()}
	case TypeRegisterBroker:
		r := RegisterBrokerRecord{BrokerID: d.i32(), IncarnationID: d.uuid(), BrokerEpoch: d.i64()}
		n := d.count(9)
		for i := 0; i < n && d.err == nil; i++ {
			r.Endpoints = append(r.Endpoints, Endpoint{Listener: d.string(), Host: d.string(), Port: d.i32(), SecurityProtocol: int16(d.u16())})
		}
		r.Rack, r.Fenced = d.string(), d.bool()
		return r
	case TypeUnregisterBroker:
		return UnregisterBrokerRecord{BrokerID: d.i32(), BrokerEpoch: d.i64()}
	case TypeBrokerRegistrationChange:
		return BrokerRegistrationChangeRecord{BrokerID: d.i32(), BrokerEpoch: d.i64(), Fenced: int8(d.u8()), InControlledShutdown: int8(d.u8())}
	case TypeProducerIDs:
		return ProducerIDsRecord{BrokerID: d.i32(), BrokerEpoch: d.i64(), NextProducerID: d.i64()}
	case TypeClientQuota:
		r := ClientQuotaRecord{Entity: QuotaEntity{User: d.quotaName(), ClientID: d.quotaName()}, Key: d.string()}
		r.Value, r.Remove = math.Float64frombits(uint64(d.i64())), d.bool()
		if len(d.b) > 0 {
			r.Entity.IP = d.quotaName()
		}
		return r
	}
	d.fail(fmt.Errorf("unknown record type %d", typ))
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendQuotaName encodes an entity part: flags (1 set, 2 default), name.
func appendQuotaName(b []byte, n QuotaName) []byte {
	var flags byte
	if n.Set {
		flags |= 1
	}
	if n.Default {
		flags |= 2
	}
	return appendString(append(b, flags), n.Name)
}

func (d *decoder) quotaName() QuotaName {
	flags := d.u8()
	return QuotaName{Set: flags&1 != 0, Default: flags&2 != 0, Name: d.string()}
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendInt32s(b []byte, v []int32) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// appendOptInt32s encodes a list that may be absent: 0 = nil, n+1 = n items.
func appendOptInt32s(b []byte, v []int32) []byte {
	if v == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v))+1)
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// decoder reads fields, bounding every length by the bytes left. After the
// first failure every read returns zero values and err stays set.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("unexpected end of data")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) i32() int32 {
	if v := d.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (d *decoder) i64() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (d *decoder) bool() bool { return d.u8() != 0 }

func (d *decoder) uuid() (u UUID) {
	copy(u[:], d.take(16))
	return u
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list length, rejecting one that cannot fit in the bytes left
// when every item takes at least minItem bytes.
func (d *decoder) count(minItem int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minItem) {
		d.fail(fmt.Errorf("list of %d items cannot fit in %d bytes", n, len(d.b)))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	return d.take(int(n))
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) int32s() []int32 {
	n := d.count(4)
	if n == 0 {
		return []int32{}
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = d.i32()
	}
	return v
}

func (d *decoder) optInt32s() []int32 {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)/4) {
		d.fail(errShort)
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = d.i32()
	}
	return v
}
