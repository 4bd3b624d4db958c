package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// cleanerCheckpointFile holds, per compacted log of the directory, its
// first dirty offset (Kafka's cleaner-offset-checkpoint, in the offset
// checkpoint format of checkpoint.go). It is written after every
// compaction pass and with the other checkpoints; an entry missing or
// above the log end means the whole log is dirty, which costs one longer
// pass and loses nothing.
const cleanerCheckpointFile = "cleaner-offset-checkpoint"

// readCleanerCheckpoint loads the file; an unreadable one is ignored with a
// warning (every log is then compacted from its start).
func (d *Dir) readCleanerCheckpoint() map[TopicPartition]int64 {
	m, err := readOffsetCheckpoint(filepath.Join(d.path, cleanerCheckpointFile))
	if err != nil {
		d.logger.Warn("storage: unreadable cleaner checkpoint; compacting logs from their start", "err", err)
		return map[TopicPartition]int64{}
	}
	return m
}

// checkpointCleaner writes the cleaner checkpoint after a pass.
func (d *Dir) checkpointCleaner() {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return // Close writes it
	}
	if err := d.writeCleanerCheckpointLocked(); err != nil {
		d.logger.Warn("storage: writing the cleaner checkpoint", "err", err)
	}
}

// writeCleanerCheckpointLocked refreshes the entries of the open logs that
// have a first dirty offset and writes the file, unless there is nothing
// to say and no file yet. Called with ckptMu held.
func (d *Dir) writeCleanerCheckpointLocked() error {
	path := filepath.Join(d.path, cleanerCheckpointFile)
	d.mu.Lock()
	for tp, l := range d.logs {
		if p := l.clean.point.Load(); p >= 0 {
			d.cleanCkpt[tp] = p
		}
	}
	empty := len(d.cleanCkpt) == 0
	data := encodeOffsetCheckpoint(d.cleanCkpt)
	d.mu.Unlock()
	if empty {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write cleaner checkpoint: %w", err)
	}
	return nil
}
