package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Files at the top of a log directory.
const (
	recoveryPointFile = "recovery-point-offset-checkpoint"
	logStartFile      = "log-start-offset-checkpoint"
	highWatermarkFile = "replication-offset-checkpoint"
	cleanShutdownFile = ".kafka_cleanshutdown"
	lockFile          = ".lock"
	deleteDirSuffix   = "-delete"
)

// Dir is one log directory (one entry of log.dirs): the partition
// directories in it, their checkpoints, meta.properties and the
// clean-shutdown marker. It owns the Logs it opened and one background
// goroutine that removes deleted files.
//
// All methods are safe for concurrent use. Lock order: Dir.ckptMu, then
// Dir.mu; a Log never calls into its Dir with Log.mu held.
type Dir struct {
	path    string                   // immutable
	logger  *slog.Logger             // immutable
	flushed func(took time.Duration) // immutable: DirOptions.Flushed
	lock    *os.File                 // flock'd .lock; immutable
	clean   bool                     // immutable: the marker was present at open

	prevBrokerEpoch int64 // immutable: from the marker, -1 when unknown

	metaMu  sync.Mutex
	meta    Meta // guarded by metaMu
	hasMeta bool // guarded by metaMu

	mu          sync.Mutex
	logs        map[TopicPartition]*Log // guarded by mu
	opening     map[TopicPartition]bool // guarded by mu
	rpCkpt      map[TopicPartition]int64
	lsCkpt      map[TopicPartition]int64
	hwCkpt      map[TopicPartition]int64 // high watermarks (replication-offset-checkpoint)
	cleanCkpt   map[TopicPartition]int64 // cleaner-offset-checkpoint; guarded by mu
	brokerEpoch int64                    // guarded by mu
	closed      bool                     // guarded by mu
	opens       sync.WaitGroup           // OpenLog calls in progress; Close waits for them

	ckptMu sync.Mutex // serializes checkpoint file writes

	del deleter
}

// flushedHook is DirOptions.Flushed; nil for a log opened without a Dir
// (tests) or without the option.
func (d *Dir) flushedHook() func(time.Duration) {
	if d == nil {
		return nil
	}
	return d.flushed
}

// PartitionDir is a partition directory found on disk.
type PartitionDir struct {
	TopicPartition
	TopicID    [16]byte // from partition.metadata
	HasTopicID bool     // partition.metadata was present and valid
}

// OpenDir opens the log directory at path, creating it if missing. It
// locks the directory against other processes, reads meta.properties and
// the checkpoints, and consumes the clean-shutdown marker: when present the
// previous run ended cleanly (Clean reports true) and the marker is removed
// at once, so a crash from now on is seen as unclean. Directories left by
// DeleteLog are removed in the background.
func OpenDir(path string, opts DirOptions) (*Dir, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("open log dir %s: %w", path, err)
	}
	lock, err := os.OpenFile(filepath.Join(path, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log dir %s: %w", path, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open log dir %s: %w", path, ErrDirLocked)
		}
		return nil, fmt.Errorf("open log dir %s: lock: %w", path, err)
	}
	d := &Dir{path: path, logger: logger, flushed: opts.Flushed, lock: lock, prevBrokerEpoch: -1, brokerEpoch: -1,
		logs: map[TopicPartition]*Log{}, opening: map[TopicPartition]bool{}}
	if err := d.load(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open log dir %s: %w", path, err)
	}
	d.del.start(logger)
	d.removeDeletedDirs()
	logger.Info("storage: opened log dir", "path", path, "clean", d.clean)
	return d, nil
}

// load reads the marker, meta.properties and the checkpoints.
func (d *Dir) load() error {
	marker := filepath.Join(d.path, cleanShutdownFile)
	if data, err := os.ReadFile(marker); err == nil {
		d.clean = true
		var content struct {
			BrokerEpoch *int64 `json:"brokerEpoch"`
		}
		if json.Unmarshal(data, &content) == nil && content.BrokerEpoch != nil {
			d.prevBrokerEpoch = *content.BrokerEpoch
		}
		if err := os.Remove(marker); err != nil {
			return err
		}
		if err := syncDir(d.path); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m, ok, err := readMeta(filepath.Join(d.path, metaFile))
	if err != nil {
		return err
	}
	d.meta, d.hasMeta = m, ok
	d.rpCkpt, err = readOffsetCheckpoint(filepath.Join(d.path, recoveryPointFile))
	if err != nil {
		// Without recovery points every log is recovered from its start:
		// slow, but safe.
		d.logger.Warn("storage: unreadable recovery point checkpoint; full recovery", "err", err)
		d.rpCkpt, d.clean = map[TopicPartition]int64{}, false
	}
	d.lsCkpt, err = readOffsetCheckpoint(filepath.Join(d.path, logStartFile))
	if err != nil {
		return fmt.Errorf("log start offset checkpoint: %w", err)
	}
	d.hwCkpt, err = readOffsetCheckpoint(filepath.Join(d.path, highWatermarkFile))
	if err != nil {
		// A lost high-watermark checkpoint only delays consumers until the
		// replicas report again; it is not worth refusing to start.
		d.logger.Warn("storage: unreadable replication offset checkpoint; starting without high watermarks", "err", err)
		d.hwCkpt = map[TopicPartition]int64{}
	}
	d.cleanCkpt = d.readCleanerCheckpoint()
	return nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Clean reports whether the previous run closed the directory cleanly.
func (d *Dir) Clean() bool { return d.clean }

// PreviousBrokerEpoch returns the broker epoch the clean-shutdown marker
// carried (KIP-966), or -1.
func (d *Dir) PreviousBrokerEpoch() int64 { return d.prevBrokerEpoch }

// SetBrokerEpoch sets the broker epoch Close writes into the marker.
func (d *Dir) SetBrokerEpoch(epoch int64) {
	d.mu.Lock()
	d.brokerEpoch = epoch
	d.mu.Unlock()
}

// Meta returns meta.properties; ok is false when the directory has none
// yet.
func (d *Dir) Meta() (m Meta, ok bool) {
	d.metaMu.Lock()
	defer d.metaMu.Unlock()
	return d.meta, d.hasMeta
}

// SetMeta writes meta.properties atomically (temporary file, fsync,
// rename, directory fsync).
func (d *Dir) SetMeta(m Meta) error {
	d.metaMu.Lock()
	defer d.metaMu.Unlock()
	if err := writeFileAtomic(filepath.Join(d.path, metaFile), encodeMeta(m)); err != nil {
		return fmt.Errorf("write meta.properties: %w", err)
	}
	d.meta, d.hasMeta = m, true
	return nil
}

// Partitions lists the partition directories on disk (not those being
// deleted), with the topic id from their partition.metadata.
func (d *Dir) Partitions() ([]PartitionDir, error) {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	var out []PartitionDir
	for _, de := range ents {
		name := de.Name()
		if !de.IsDir() || strings.HasSuffix(name, deleteDirSuffix) || strings.HasSuffix(name, "-future") || strings.HasSuffix(name, "-stray") {
			continue
		}
		tp, ok := parsePartitionDir(name)
		if !ok {
			continue
		}
		pd := PartitionDir{TopicPartition: tp}
		if data, err := os.ReadFile(filepath.Join(d.path, name, partitionMetadataFile)); err == nil {
			if id, err := decodePartitionMetadata(data); err == nil {
				pd.TopicID, pd.HasTopicID = id, true
			}
		}
		out = append(out, pd)
	}
	return out, nil
}

// OpenLog opens (creating if needed) the log of tp. After an unclean
// shutdown it runs recovery first, which may take a while; OpenLog calls
// for different partitions may run in parallel. A non-zero topicID is
// recorded in partition.metadata, and must match what is there.
func (d *Dir) OpenLog(tp TopicPartition, topicID [16]byte, cfg LogConfig) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tp.Topic == "" || strings.ContainsAny(tp.Topic, "/\x00") || tp.Topic == "." || tp.Topic == ".." || tp.Partition < 0 {
		return nil, fmt.Errorf("storage: invalid partition %q %d", tp.Topic, tp.Partition)
	}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return nil, ErrClosed
	case d.logs[tp] != nil || d.opening[tp]:
		d.mu.Unlock()
		return nil, fmt.Errorf("storage: log %s is already open", tp)
	}
	d.opening[tp] = true
	d.opens.Add(1)
	defer d.opens.Done()
	st := logState{clean: d.clean, recoveryPoint: d.rpCkpt[tp], logStart: -1, cleanPoint: -1, highWatermark: d.hwCkpt[tp]}
	if ls, ok := d.lsCkpt[tp]; ok {
		st.logStart = ls
	}
	if cp, ok := d.cleanCkpt[tp]; ok {
		st.cleanPoint = cp
	}
	d.mu.Unlock()

	l, err := d.openLog(tp, topicID, cfg, st)

	d.mu.Lock()
	delete(d.opening, tp)
	if err == nil && d.closed {
		d.mu.Unlock()
		l.Close()
		return nil, ErrClosed
	}
	if err == nil {
		d.logs[tp] = l
	}
	d.mu.Unlock()
	return l, err
}

func (d *Dir) openLog(tp TopicPartition, topicID [16]byte, cfg LogConfig, st logState) (*Log, error) {
	dir := filepath.Join(d.path, tp.String())
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		st.clean = true // nothing to recover
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		if err := syncDir(d.path); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	topicID, err := checkPartitionMetadata(dir, topicID, d.logger)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", tp, err)
	}
	logger := d.logger.With("topic", tp.Topic, "partition", tp.Partition)
	l, err := openLog(d, dir, tp, topicID, cfg, st, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("storage: opened log", "log_start_offset", l.LogStartOffset(), "offset", l.LogEndOffset(), "segments", l.NumSegments(), "clean", st.clean)
	return l, nil
}

// checkPartitionMetadata verifies or writes partition.metadata and returns
// the topic id in effect: the one given, or with a zero one, the one on
// disk (zero when none).
func checkPartitionMetadata(dir string, topicID [16]byte, logger *slog.Logger) ([16]byte, error) {
	path := filepath.Join(dir, partitionMetadataFile)
	data, err := os.ReadFile(path)
	if err == nil {
		id, derr := decodePartitionMetadata(data)
		switch {
		case derr == nil && topicID == [16]byte{}:
			return id, nil
		case derr == nil && id != topicID:
			return id, fmt.Errorf("%w: directory has %s, expected %s", ErrInconsistentTopicID, EncodeUUID(id), EncodeUUID(topicID))
		case derr == nil:
			return id, nil
		}
		logger.Warn("storage: unreadable partition.metadata", "path", path, "err", derr)
	} else if !errors.Is(err, os.ErrNotExist) {
		return topicID, err
	}
	if topicID == [16]byte{} {
		return topicID, nil
	}
	return topicID, writeFileAtomic(path, encodePartitionMetadata(topicID))
}

// Close closes every log (each flushed and fsync'd), writes the
// checkpoints, stops the deleter and, when all of that succeeded, writes
// the clean-shutdown marker last, fsync'd. Files whose deletion was still
// pending are removed by the next OpenDir/OpenLog.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	logs := make([]*Log, 0, len(d.logs))
	for _, l := range d.logs {
		logs = append(logs, l)
	}
	epoch := d.brokerEpoch
	d.mu.Unlock()
	d.opens.Wait() // a log opened meanwhile closes itself
	var errs []error
	for _, l := range logs {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log %s: %w", l.tp, err))
		}
	}
	if err := d.Checkpoint(); err != nil {
		errs = append(errs, err)
	}
	d.del.stop()
	if len(errs) == 0 {
		marker := fmt.Appendf(nil, `{"version":0,"brokerEpoch":%d}`, epoch)
		if err := writeFileAtomic(filepath.Join(d.path, cleanShutdownFile), marker); err != nil {
			errs = append(errs, fmt.Errorf("write clean shutdown marker: %w", err))
		}
	}
	d.lock.Close() // releases the flock
	d.logger.Info("storage: closed log dir", "path", d.path, "clean", len(errs) == 0)
	return errors.Join(errs...)
}
