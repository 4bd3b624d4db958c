package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kafka's text checkpoint files: a version line, a count line, then one
// entry per line with fields separated by single spaces. Offset checkpoints
// (recovery-point-offset-checkpoint, log-start-offset-checkpoint) hold
// "topic partition offset" lines; leader-epoch-checkpoint holds
// "epoch startOffset" lines. Both are version 0.

const checkpointVersion = 0

var errBadCheckpoint = errors.New("storage: malformed checkpoint file")

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content: write to path.tmp, fsync, rename over path, fsync
// the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkpointLines splits a checkpoint file into its entry lines after
// checking the version and count lines.
func checkpointLines(data []byte) ([]string, error) {
	text := strings.TrimRight(string(data), "\n")
	lines := strings.Split(text, "\n")
	if len(lines) < 2 {
		return nil, errBadCheckpoint
	}
	v, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || v != checkpointVersion {
		return nil, fmt.Errorf("%w: version %q", errBadCheckpoint, lines[0])
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, fmt.Errorf("%w: count %q for %d entries", errBadCheckpoint, lines[1], len(lines)-2)
	}
	return lines[2:], nil
}

// encodeOffsetCheckpoint renders "topic partition offset" entries. Entries
// are sorted so that the file is deterministic.
func encodeOffsetCheckpoint(m map[TopicPartition]int64) []byte {
	tps := sortedPartitions(m)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, m[tp])
	}
	return b.Bytes()
}

// decodeOffsetCheckpoint parses an offset checkpoint file.
func decodeOffsetCheckpoint(data []byte) (map[TopicPartition]int64, error) {
	lines, err := checkpointLines(data)
	if err != nil {
		return nil, err
	}
	m := make(map[TopicPartition]int64, len(lines))
	for _, line := range lines {
		f := strings.Split(line, " ")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("%w: entry %q", errBadCheckpoint, line)
		}
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		off, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 {
			return nil, fmt.Errorf("%w: entry %q", errBadCheckpoint, line)
		}
		m[TopicPartition{Topic: f[0], Partition: int32(p)}] = off
	}
	return m, nil
}

// readOffsetCheckpoint reads an offset checkpoint file; a missing file is an
// empty checkpoint.
func readOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[TopicPartition]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeOffsetCheckpoint(data)
}

// encodeEpochCheckpoint renders leader-epoch-checkpoint entries.
func encodeEpochCheckpoint(entries []epochEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d\n", e.epoch, e.startOffset)
	}
	return b.Bytes()
}

// decodeEpochCheckpoint parses a leader-epoch-checkpoint file. Entries must
// be strictly increasing in both epoch and start offset.
func decodeEpochCheckpoint(data []byte) ([]epochEntry, error) {
	lines, err := checkpointLines(data)
	if err != nil {
		return nil, err
	}
	entries := make([]epochEntry, 0, len(lines))
	for _, line := range lines {
		f := strings.Split(line, " ")
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: entry %q", errBadCheckpoint, line)
		}
		ep, err1 := strconv.ParseInt(f[0], 10, 32)
		off, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || ep < 0 || off < 0 {
			return nil, fmt.Errorf("%w: entry %q", errBadCheckpoint, line)
		}
		if n := len(entries); n > 0 && (int32(ep) <= entries[n-1].epoch || off < entries[n-1].startOffset) {
			return nil, fmt.Errorf("%w: entry %q not monotonic", errBadCheckpoint, line)
		}
		entries = append(entries, epochEntry{epoch: int32(ep), startOffset: off})
	}
	return entries, nil
}

// Checkpoint writes the recovery point and log start offset of every open
// log to recovery-point-offset-checkpoint and log-start-offset-checkpoint,
// and the first dirty offset of compacted logs to cleaner-offset-checkpoint
// (entries of partitions on disk but not open are kept).
func (d *Dir) Checkpoint() error {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	err := d.writeCheckpointsLocked(true, true)
	if cerr := d.writeCleanerCheckpointLocked(); err == nil {
		err = cerr
	}
	return err
}

// checkpointLogStarts persists log start offsets now (DeleteRecords,
// TruncateFullyAndStartAt).
func (d *Dir) checkpointLogStarts() error {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	return d.writeCheckpointsLocked(false, true)
}

// writeCheckpointsLocked refreshes the checkpoint maps from the open logs
// and writes the chosen files. Called with ckptMu held.
func (d *Dir) writeCheckpointsLocked(rp, ls bool) error {
	d.mu.Lock()
	for tp, l := range d.logs {
		d.rpCkpt[tp] = l.RecoveryPoint()
		d.lsCkpt[tp] = l.LogStartOffset()
		d.hwCkpt[tp] = l.CheckpointedHighWatermark()
	}
	hwData := encodeOffsetCheckpoint(d.hwCkpt)
	var rpData, lsData []byte
	if rp {
		rpData = encodeOffsetCheckpoint(d.rpCkpt)
	}
	if ls {
		lsData = encodeOffsetCheckpoint(d.lsCkpt)
	}
	d.mu.Unlock()
	if rp {
		if err := writeFileAtomic(filepath.Join(d.path, recoveryPointFile), rpData); err != nil {
			return fmt.Errorf("write recovery point checkpoint: %w", err)
		}
	}
	if ls {
		if err := writeFileAtomic(filepath.Join(d.path, logStartFile), lsData); err != nil {
			return fmt.Errorf("write log start offset checkpoint: %w", err)
		}
	}
	if rp {
		if err := writeFileAtomic(filepath.Join(d.path, highWatermarkFile), hwData); err != nil {
			return fmt.Errorf("write replication offset checkpoint: %w", err)
		}
	}
	return nil
}
