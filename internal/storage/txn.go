package storage

import (
	"encoding/binary"
	"fmt"
)

// Transactions are not implemented yet; this is the data model they will
// use, so that files and fields exist in their final form.
//
// Producer state (producer_state.go) already records, per producer, the
// first offset of its transaction in progress (set by its first
// transactional batch, cleared by a control batch) and the coordinator
// epoch of its last marker; both are in the snapshots. The last stable
// offset of the partition is the smallest such first offset (or the high
// watermark when none): producerState.firstUnstableOffset.
//
// Aborted transactions will be listed per segment in
// "<20-digit base offset>.txnindex" (layout in the package doc). A
// read_committed Fetch returns the entries overlapping the fetched range
// so that the consumer can drop the aborted records.

const txnEntrySize = 34

// abortedTxn is one .txnindex entry.
type abortedTxn struct {
	producerID       int64
	firstOffset      int64
	lastOffset       int64
	lastStableOffset int64
}

// appendAbortedTxn encodes e after dst.
func appendAbortedTxn(dst []byte, e abortedTxn) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.producerID))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.firstOffset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.lastOffset))
	return binary.BigEndian.AppendUint64(dst, uint64(e.lastStableOffset))
}

// decodeAbortedTxn decodes the entry at the start of b.
func decodeAbortedTxn(b []byte) (abortedTxn, error) {
	if len(b) < txnEntrySize {
		return abortedTxn{}, fmt.Errorf("%w: txnindex entry of %d bytes", ErrCorrupt, len(b))
	}
	if v := binary.BigEndian.Uint16(b); v != 0 {
		return abortedTxn{}, fmt.Errorf("%w: txnindex entry version %d", ErrCorrupt, v)
	}
	return abortedTxn{
		producerID:       int64(binary.BigEndian.Uint64(b[2:])),
		firstOffset:      int64(binary.BigEndian.Uint64(b[10:])),
		lastOffset:       int64(binary.BigEndian.Uint64(b[18:])),
		lastStableOffset: int64(binary.BigEndian.Uint64(b[26:])),
	}, nil
}
