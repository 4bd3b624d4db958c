package api

import (
	"time"

	"encoding/binary"

	"github.com/samsa-io/samsa/internal/wire"
)

// The Fetch response is the one response samsa encodes by hand: its record
// bytes are not in memory but in segment files, and go out as file chunks
// (sendfile) between the encoded fields. Everything else follows the Kafka
// schema for versions 4–18 (flexible from 12, topic ids from 13, node
// endpoints from 16); tests check the output against kmsg's decoder.

// fetchResp is a Fetch response ready to encode.
type fetchResp struct {
	version   int16
	throttle  time.Duration // a consumer over its quota: no records, and this throttle time
	errorCode int16
	sessionID int32
	topics    []fetchRespTopic
	endpoints []fetchRespEndpoint // v16+: leaders named in CurrentLeader tags
}

type fetchRespTopic struct {
	name       string
	id         [16]byte
	partitions []fetchRespPartition
}

type fetchRespPartition struct {
	partition        int32
	errorCode        int16
	highWatermark    int64
	lastStableOffset int64
	logStartOffset   int64
	aborted          []abortedTxn // nil = null (read_uncommitted)
	records          wire.Chunk   // File == nil and no Bytes: empty records
	divergingEpoch   int32        // -1 = none
	divergingEnd     int64
	leaderID         int32 // -1 = no CurrentLeader tag
	leaderEpoch      int32
}

type abortedTxn struct {
	producerID  int64
	firstOffset int64
}

type fetchRespEndpoint struct {
	nodeID int32
	host   string
	port   int32
	rack   *string
}

// encoder appends Kafka primitives, switching to compact forms in flexible
// versions.
type encoder struct {
	b        []byte
	flexible bool
	chunks   []wire.Chunk
}

func (e *encoder) i8(v int8)   { e.b = append(e.b, byte(v)) }
func (e *encoder) i16(v int16) { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *encoder) i32(v int32) { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) i64(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) uv(v int)    { e.b = binary.AppendUvarint(e.b, uint64(v)) }

// arrayLen writes an array length; n = -1 is a null array.
func (e *encoder) arrayLen(n int) {
	if e.flexible {
		e.uv(n + 1)
	} else {
		e.i32(int32(n))
	}
}

func (e *encoder) str(s string) {
	if e.flexible {
		e.uv(len(s) + 1)
	} else {
		e.i16(int16(len(s)))
	}
	e.b = append(e.b, s...)
}

func (e *encoder) nullableStr(s *string) {
	if s == nil {
		if e.flexible {
			e.uv(0)
		} else {
			e.i16(-1)
		}
		return
	}
	e.str(*s)
}

// records writes a records field whose bytes are a chunk: the length here,
// the bytes as their own chunk.
func (e *encoder) records(c wire.Chunk) {
	n := c.Len()
	if e.flexible {
		e.uv(int(n) + 1)
	} else {
		e.i32(int32(n))
	}
	if n == 0 {
		return
	}
	e.cut()
	e.chunks = append(e.chunks, c)
}

// cut ends the current in-memory chunk.
func (e *encoder) cut() {
	if len(e.b) > 0 {
		e.chunks = append(e.chunks, wire.Chunk{Bytes: e.b})
		e.b = e.b[len(e.b):]
	}
}

// tag writes one tagged field whose payload fn encodes.
func (e *encoder) tag(num int, fn func(*encoder)) {
	sub := encoder{flexible: true}
	fn(&sub)
	e.uv(num)
	e.uv(len(sub.b))
	e.b = append(e.b, sub.b...)
}

// encodeFetch encodes r after the correlation id and response header.
func encodeFetch(buf []byte, correlationID int32, r *fetchResp) []wire.Chunk {
	e := encoder{b: buf, flexible: r.version >= 12}
	e.i32(correlationID)
	if e.flexible {
		e.uv(0) // response header tags
	}
	e.i32(int32(r.throttle.Milliseconds()))
	if r.version >= 7 {
		e.i16(r.errorCode)
		e.i32(r.sessionID)
	}
	e.arrayLen(len(r.topics))
	for i := range r.topics {
		t := &r.topics[i]
		if r.version >= 13 {
			e.b = append(e.b, t.id[:]...)
		} else {
			e.str(t.name)
		}
		e.arrayLen(len(t.partitions))
		for j := range t.partitions {
			encodeFetchPartition(&e, r.version, &t.partitions[j])
		}
		if e.flexible {
			e.uv(0)
		}
	}
	if e.flexible {
		if r.version >= 16 && len(r.endpoints) > 0 {
			e.uv(1)
			e.tag(0, func(s *encoder) {
				s.arrayLen(len(r.endpoints))
				for _, ep := range r.endpoints {
					s.i32(ep.nodeID)
					s.str(ep.host)
					s.i32(ep.port)
					s.nullableStr(ep.rack)
					s.uv(0)
				}
			})
		} else {
			e.uv(0)
		}
	}
	e.cut()
	return e.chunks
}

func encodeFetchPartition(e *encoder, version int16, p *fetchRespPartition) {
	e.i32(p.partition)
	e.i16(p.errorCode)
	e.i64(p.highWatermark)
	e.i64(p.lastStableOffset)
	if version >= 5 {
		e.i64(p.logStartOffset)
	}
	if p.aborted == nil {
		e.arrayLen(-1)
	} else {
		e.arrayLen(len(p.aborted))
		for _, a := range p.aborted {
			e.i64(a.producerID)
			e.i64(a.firstOffset)
			if e.flexible {
				e.uv(0)
			}
		}
	}
	if version >= 11 {
		e.i32(-1) // preferred read replica: none
	}
	e.records(p.records)
	if !e.flexible {
		return
	}
	n := 0
	if p.divergingEpoch >= 0 {
		n++
	}
	if p.leaderID >= 0 {
		n++
	}
	e.uv(n)
	if p.divergingEpoch >= 0 {
		e.tag(0, func(s *encoder) {
			s.i32(p.divergingEpoch)
			s.i64(p.divergingEnd)
			s.uv(0)
		})
	}
	if p.leaderID >= 0 {
		e.tag(1, func(s *encoder) {
			s.i32(p.leaderID)
			s.i32(p.leaderEpoch)
			s.uv(0)
		})
	}
}
