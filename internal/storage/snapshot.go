package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
)

// Producer-state snapshots, "<20-digit offset>.snapshot" in the partition
// directory; the layout table is in the package doc.

const (
	snapshotVersion    = 1
	snapshotHeaderSize = 18
	snapshotEntrySize  = 31
	snapshotBatchSize  = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errBadSnapshot = errors.New("storage: corrupt producer snapshot")

// encodeSnapshot appends the snapshot of ps at offset to dst.
func encodeSnapshot(dst []byte, ps *producerState, offset int64) []byte {
	ids := make([]int64, 0, len(ps.producers))
	for id := range ps.producers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	start := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, snapshotVersion)
	dst = binary.BigEndian.AppendUint32(dst, 0) // CRC, filled below
	dst = binary.BigEndian.AppendUint64(dst, uint64(offset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(ids)))
	for _, id := range ids {
		e := ps.producers[id]
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.id))
		dst = binary.BigEndian.AppendUint16(dst, uint16(e.epoch))
		dst = binary.BigEndian.AppendUint32(dst, uint32(e.coordinatorEpoch))
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.currentTxnFirstOffset))
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.lastTimestamp))
		dst = append(dst, byte(e.n))
		for i := 0; i < e.n; i++ {
			b := &e.batches[(e.head+i)%maxBatchesPerProducer]
			dst = binary.BigEndian.AppendUint32(dst, uint32(b.firstSeq))
			dst = binary.BigEndian.AppendUint32(dst, uint32(b.lastSeq))
			dst = binary.BigEndian.AppendUint64(dst, uint64(b.firstOffset))
			dst = binary.BigEndian.AppendUint64(dst, uint64(b.lastOffset))
			dst = binary.BigEndian.AppendUint64(dst, uint64(b.timestamp))
		}
	}
	binary.BigEndian.PutUint32(dst[start+2:], crc32.Checksum(dst[start+6:], castagnoli))
	return dst
}

// decodeSnapshot parses a snapshot, checking its version, CRC and every
// length against the bytes present.
func decodeSnapshot(b []byte) (*producerState, int64, error) {
	if len(b) < snapshotHeaderSize {
		return nil, 0, fmt.Errorf("%w: %d bytes", errBadSnapshot, len(b))
	}
	if v := binary.BigEndian.Uint16(b); v != snapshotVersion {
		return nil, 0, fmt.Errorf("%w: version %d", errBadSnapshot, v)
	}
	if crc := binary.BigEndian.Uint32(b[2:]); crc != crc32.Checksum(b[6:], castagnoli) {
		return nil, 0, fmt.Errorf("%w: crc mismatch", errBadSnapshot)
	}
	offset := int64(binary.BigEndian.Uint64(b[6:]))
	count := binary.BigEndian.Uint32(b[14:])
	b = b[snapshotHeaderSize:]
	if uint64(count)*snapshotEntrySize > uint64(len(b)) {
		return nil, 0, fmt.Errorf("%w: %d producers in %d bytes", errBadSnapshot, count, len(b))
	}
	ps := &producerState{producers: make(map[int64]*producerEntry, count)}
	for range count {
		if len(b) < snapshotEntrySize {
			return nil, 0, fmt.Errorf("%w: truncated entry", errBadSnapshot)
		}
		e := &producerEntry{
			id:                    int64(binary.BigEndian.Uint64(b)),
			epoch:                 int16(binary.BigEndian.Uint16(b[8:])),
			coordinatorEpoch:      int32(binary.BigEndian.Uint32(b[10:])),
			currentTxnFirstOffset: int64(binary.BigEndian.Uint64(b[14:])),
			lastTimestamp:         int64(binary.BigEndian.Uint64(b[22:])),
			n:                     int(b[30]),
		}
		b = b[snapshotEntrySize:]
		if e.n > maxBatchesPerProducer || len(b) < e.n*snapshotBatchSize {
			return nil, 0, fmt.Errorf("%w: producer %d has %d batches", errBadSnapshot, e.id, e.n)
		}
		for i := 0; i < e.n; i++ {
			e.batches[i] = batchMeta{
				firstSeq:    int32(binary.BigEndian.Uint32(b)),
				lastSeq:     int32(binary.BigEndian.Uint32(b[4:])),
				firstOffset: int64(binary.BigEndian.Uint64(b[8:])),
				lastOffset:  int64(binary.BigEndian.Uint64(b[16:])),
				timestamp:   int64(binary.BigEndian.Uint64(b[24:])),
			}
			b = b[snapshotBatchSize:]
		}
		if _, dup := ps.producers[e.id]; dup {
			return nil, 0, fmt.Errorf("%w: producer %d twice", errBadSnapshot, e.id)
		}
		ps.producers[e.id] = e
	}
	if len(b) != 0 {
		return nil, 0, fmt.Errorf("%w: %d trailing bytes", errBadSnapshot, len(b))
	}
	return ps, offset, nil
}

func snapshotPath(dir string, offset int64) string {
	return filepath.Join(dir, segmentName(offset)+snapshotSuffix)
}

// listSnapshots returns the offsets of the snapshot files in dir,
// ascending.
func listSnapshots(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var offs []int64
	for _, de := range ents {
		if off, ok := parseSegmentName(de.Name(), snapshotSuffix); ok {
			offs = append(offs, off)
		}
	}
	slices.Sort(offs)
	return offs, nil
}

// writeSnapshot writes ps as the snapshot at offset through a temporary
// file and a rename. With sync it is also fsync'd (with its directory);
// without, a crash may leave it missing or torn, which its CRC detects.
func writeSnapshot(dir string, ps *producerState, offset int64, buf []byte, sync bool) ([]byte, error) {
	buf = encodeSnapshot(buf[:0], ps, offset)
	path := snapshotPath(dir, offset)
	if sync {
		return buf, writeFileAtomic(path, buf)
	}
	tmp := path + tmpSuffix
	if err := os.WriteFile(tmp, buf, 0o644); err != nil {
		os.Remove(tmp)
		return buf, err
	}
	return buf, os.Rename(tmp, path)
}

// removeSnapshots deletes snapshot files whose offset satisfies drop.
func removeSnapshots(dir string, drop func(offset int64) bool) error {
	offs, err := listSnapshots(dir)
	if err != nil {
		return err
	}
	for _, off := range offs {
		if drop(off) {
			if err := os.Remove(snapshotPath(dir, off)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}
