package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// This file holds the two wrappers the quorum puts around the state
// machine's opaque bytes. Their layouts are drawn in doc.go.
//
// A proposal envelope tags each raft entry with the proposing process's nonce
// and a sequence number, so that the proposer can recognise its own entry
// when it commits and tell it apart from a different entry committed at the
// same index after a leader change.
//
// A snapshot envelope carries the peer addresses learned from configuration
// changes next to the state machine's snapshot, because raft's ConfState
// keeps only node ids.

const (
	envVersion   = 1
	envHeaderLen = 17 // version u8 | nonce u64 | seq u64
	snapEnvVer   = 1
)

// proposalID names one proposal: nonce is random per Open, seq counts up.
type proposalID struct {
	nonce, seq uint64
}

func appendEnvelope(dst []byte, id proposalID, payload []byte) []byte {
	dst = append(dst, envVersion)
	dst = binary.LittleEndian.AppendUint64(dst, id.nonce)
	dst = binary.LittleEndian.AppendUint64(dst, id.seq)
	return append(dst, payload...)
}

// parseEnvelope splits entry data into its proposal id and payload, which
// aliases b.
func parseEnvelope(b []byte) (proposalID, []byte, error) {
	if len(b) < envHeaderLen {
		return proposalID{}, nil, fmt.Errorf("entry data of %d bytes is shorter than its envelope", len(b))
	}
	if b[0] != envVersion {
		return proposalID{}, nil, fmt.Errorf("unknown entry envelope version %d", b[0])
	}
	id := proposalID{
		nonce: binary.LittleEndian.Uint64(b[1:]),
		seq:   binary.LittleEndian.Uint64(b[9:]),
	}
	return id, b[envHeaderLen:], nil
}

// encodeSnapData wraps the state machine's snapshot with the known peers.
func encodeSnapData(peers map[uint64]string, sm []byte) []byte {
	ids := make([]uint64, 0, len(peers))
	for id := range peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b := []byte{snapEnvVer}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		addr := peers[id]
		b = binary.LittleEndian.AppendUint64(b, id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(addr)))
		b = append(b, addr...)
	}
	return append(b, sm...)
}

var errSnapData = errors.New("malformed snapshot envelope")

// decodeSnapData undoes encodeSnapData. Empty data (the bootstrap snapshot)
// has no peers and no state. The state aliases b.
func decodeSnapData(b []byte) (map[uint64]string, []byte, error) {
	if len(b) == 0 {
		return nil, nil, nil
	}
	if len(b) < 5 || b[0] != snapEnvVer {
		return nil, nil, errSnapData
	}
	n := binary.LittleEndian.Uint32(b[1:])
	b = b[5:]
	if uint64(n) > uint64(len(b))/10 {
		return nil, nil, errSnapData
	}
	peers := make(map[uint64]string, n)
	for range n {
		if len(b) < 10 {
			return nil, nil, errSnapData
		}
		id := binary.LittleEndian.Uint64(b)
		l := int(binary.LittleEndian.Uint16(b[8:]))
		if len(b) < 10+l {
			return nil, nil, errSnapData
		}
		peers[id] = string(b[10 : 10+l])
		b = b[10+l:]
	}
	if len(b) == 0 {
		b = nil
	}
	return peers, b, nil
}
