package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	pb "go.etcd.io/raft/v3/raftpb"
)

// This file is the WAL's record framing: pure encode and decode, no I/O. The
// layouts are drawn in doc.go. Every decoder bounds what it reads by the bytes
// actually present, and what it accepts re-encodes to the same bytes.

// recordType tags a WAL record. Zero is never valid, so zeroed bytes (a
// preallocated or torn tail) never decode as a record.
type recordType uint8

const (
	recHeader    recordType = 1 // first record of every segment: segHeader
	recEntry     recordType = 2 // one raft log entry
	recHardState recordType = 3 // raft HardState (term, vote, commit)
)

const (
	recordHeaderLen  = 9        // length u32 | crc u32 | type u8
	maxRecordBytes   = 64 << 20 // hard cap on one record's payload
	segHeaderLen     = 49
	entryFixedLen    = 17 // index u64 | term u64 | entry type u8
	hardStateLen     = 24
	segKindFull      = 1 // segment holds every entry after its snapshot
	segKindContinued = 2 // segment continues the previous one
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// hardState is raft's HardState as plain values.
type hardState struct {
	term, vote, commit uint64
}

func hardStateOf(hs *pb.HardState) hardState {
	return hardState{term: hs.GetTerm(), vote: hs.GetVote(), commit: hs.GetCommit()}
}

func (h hardState) proto() *pb.HardState {
	return &pb.HardState{Term: new(h.term), Vote: new(h.vote), Commit: new(h.commit)}
}

// segHeader opens every segment. A full segment starts a new log: the
// snapshot (snapIndex, snapTerm) followed by every entry after it. A continued
// segment carries the same snapshot as its predecessor and only repeats the
// hard state so each file is readable on its own.
type segHeader struct {
	seq       uint64 // must equal the number in the file name
	kind      uint8  // segKindFull or segKindContinued
	snapIndex uint64 // index of the snapshot the log starts after
	snapTerm  uint64 // term of the entry at snapIndex
	hs        hardState
}

// walEntry is one raft entry as stored. data aliases the buffer it was
// decoded from.
type walEntry struct {
	index, term uint64
	typ         pb.EntryType
	data        []byte
}

func walEntryOf(e *pb.Entry) walEntry {
	return walEntry{index: e.GetIndex(), term: e.GetTerm(), typ: e.GetType(), data: e.GetData()}
}

func (e walEntry) proto() *pb.Entry {
	return &pb.Entry{Index: new(e.index), Term: new(e.term), Type: e.typ.Enum(), Data: e.data}
}

// record is one decoded WAL record; typ says which field is set.
type record struct {
	typ    recordType
	header segHeader
	entry  walEntry
	hs     hardState
}

// appendRecord frames payload as a record of type t onto dst.
func appendRecord(dst []byte, t recordType, payload []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, 0, 0, 0, 0, byte(t))
	dst = append(dst, payload...)
	binary.LittleEndian.PutUint32(dst[start+4:], recordCRC(dst[start:]))
	return dst
}

// recordCRC is the CRC-32C of a framed record's length, type and payload
// (everything but the crc field itself).
func recordCRC(rec []byte) uint32 {
	c := crc32.Update(0, castagnoli, rec[:4])
	return crc32.Update(c, castagnoli, rec[8:])
}

func appendHeaderRecord(dst []byte, h segHeader) []byte {
	var p [segHeaderLen]byte
	binary.LittleEndian.PutUint64(p[0:], h.seq)
	p[8] = h.kind
	binary.LittleEndian.PutUint64(p[9:], h.snapIndex)
	binary.LittleEndian.PutUint64(p[17:], h.snapTerm)
	binary.LittleEndian.PutUint64(p[25:], h.hs.term)
	binary.LittleEndian.PutUint64(p[33:], h.hs.vote)
	binary.LittleEndian.PutUint64(p[41:], h.hs.commit)
	return appendRecord(dst, recHeader, p[:])
}

func appendEntryRecord(dst []byte, e walEntry) []byte {
	p := make([]byte, entryFixedLen, entryFixedLen+len(e.data))
	binary.LittleEndian.PutUint64(p[0:], e.index)
	binary.LittleEndian.PutUint64(p[8:], e.term)
	p[16] = byte(e.typ)
	p = append(p, e.data...)
	return appendRecord(dst, recEntry, p)
}

func appendHardStateRecord(dst []byte, h hardState) []byte {
	var p [hardStateLen]byte
	binary.LittleEndian.PutUint64(p[0:], h.term)
	binary.LittleEndian.PutUint64(p[8:], h.vote)
	binary.LittleEndian.PutUint64(p[16:], h.commit)
	return appendRecord(dst, recHardState, p[:])
}

// errShortRecord means b ends inside a record: at the tail of the last segment
// it is what a crash during a write leaves behind.
var errShortRecord = errors.New("record extends past the end of the file")

// decodeRecord decodes the record at the start of b and returns it with its
// framed length. Entry data aliases b.
func decodeRecord(b []byte) (record, int, error) {
	if len(b) < recordHeaderLen {
		return record{}, 0, errShortRecord
	}
	n := binary.LittleEndian.Uint32(b[0:])
	t := recordType(b[8])
	if t < recHeader || t > recHardState {
		return record{}, 0, fmt.Errorf("unknown record type %d", t)
	}
	if n > maxRecordBytes {
		return record{}, 0, fmt.Errorf("record length %d over the %d limit", n, maxRecordBytes)
	}
	if uint64(n) > uint64(len(b)-recordHeaderLen) {
		return record{}, 0, errShortRecord
	}
	total := recordHeaderLen + int(n)
	if got, want := binary.LittleEndian.Uint32(b[4:]), recordCRC(b[:total]); got != want {
		return record{}, 0, fmt.Errorf("crc mismatch: stored %#08x, computed %#08x", got, want)
	}
	p := b[recordHeaderLen:total]
	r := record{typ: t}
	switch t {
	case recHeader:
		if len(p) != segHeaderLen {
			return record{}, 0, fmt.Errorf("segment header of %d bytes, want %d", len(p), segHeaderLen)
		}
		r.header = segHeader{
			seq:       binary.LittleEndian.Uint64(p[0:]),
			kind:      p[8],
			snapIndex: binary.LittleEndian.Uint64(p[9:]),
			snapTerm:  binary.LittleEndian.Uint64(p[17:]),
			hs:        decodeHardState(p[25:]),
		}
		if k := r.header.kind; k != segKindFull && k != segKindContinued {
			return record{}, 0, fmt.Errorf("unknown segment kind %d", k)
		}
	case recEntry:
		if len(p) < entryFixedLen {
			return record{}, 0, fmt.Errorf("entry record of %d bytes, want at least %d", len(p), entryFixedLen)
		}
		r.entry = walEntry{
			index: binary.LittleEndian.Uint64(p[0:]),
			term:  binary.LittleEndian.Uint64(p[8:]),
			typ:   pb.EntryType(p[16]),
			data:  p[entryFixedLen:len(p):len(p)],
		}
		if r.entry.typ > pb.EntryConfChangeV2 {
			return record{}, 0, fmt.Errorf("unknown entry type %d", p[16])
		}
		if len(r.entry.data) == 0 {
			r.entry.data = nil
		}
	case recHardState:
		if len(p) != hardStateLen {
			return record{}, 0, fmt.Errorf("hard state record of %d bytes, want %d", len(p), hardStateLen)
		}
		r.hs = decodeHardState(p)
	}
	return r, total, nil
}

func decodeHardState(p []byte) hardState {
	return hardState{
		term:   binary.LittleEndian.Uint64(p[0:]),
		vote:   binary.LittleEndian.Uint64(p[8:]),
		commit: binary.LittleEndian.Uint64(p[16:]),
	}
}

// encodeRecord re-encodes r; decodeRecord(encodeRecord(r)) == r.
func encodeRecord(dst []byte, r record) []byte {
	switch r.typ {
	case recHeader:
		return appendHeaderRecord(dst, r.header)
	case recEntry:
		return appendEntryRecord(dst, r.entry)
	case recHardState:
		return appendHardStateRecord(dst, r.hs)
	}
	panic(fmt.Sprintf("quorum: encode of record type %d", r.typ))
}
