package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// deleteJob is a set of files (or, with all, directory trees) to remove.
type deleteJob struct {
	paths []string
	all   bool
	due   time.Time
}

// deleter removes files of deleted segments and logs after their delay,
// in one goroutine owned by the Dir (started in OpenDir, stopped in Close).
type deleter struct {
	logger *slog.Logger

	mu   sync.Mutex
	jobs []deleteJob // guarded by mu
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

func (dl *deleter) start(logger *slog.Logger) {
	dl.logger = logger
	dl.kick = make(chan struct{}, 1)
	dl.quit = make(chan struct{})
	dl.done = make(chan struct{})
	go dl.run()
}

// schedule queues a job to run after delayMs.
func (dl *deleter) schedule(j deleteJob, delayMs int64) {
	j.due = time.Now().Add(msDuration(delayMs))
	dl.mu.Lock()
	dl.jobs = append(dl.jobs, j)
	dl.mu.Unlock()
	select {
	case dl.kick <- struct{}{}:
	default:
	}
}

// stop ends the goroutine and waits for it; queued jobs are dropped (the
// next open removes what they would have).
func (dl *deleter) stop() {
	close(dl.quit)
	<-dl.done
}

func (dl *deleter) run() {
	defer close(dl.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := dl.runDue(time.Now())
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-dl.quit:
			return
		case <-dl.kick:
		case <-timer.C:
		}
	}
}

// runDue runs the jobs due at now and returns when the next one is due
// (zero when none is queued).
func (dl *deleter) runDue(now time.Time) time.Time {
	dl.mu.Lock()
	var due []deleteJob
	keep := dl.jobs[:0]
	var next time.Time
	for _, j := range dl.jobs {
		if !j.due.After(now) {
			due = append(due, j)
			continue
		}
		keep = append(keep, j)
		if next.IsZero() || j.due.Before(next) {
			next = j.due
		}
	}
	clear(dl.jobs[len(keep):])
	dl.jobs = keep
	dl.mu.Unlock()
	for _, j := range due {
		for _, p := range j.paths {
			var err error
			if j.all {
				err = os.RemoveAll(p)
			} else {
				err = os.Remove(p)
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				dl.logger.Warn("storage: removing deleted file", "path", p, "err", err)
			}
		}
	}
	return next
}

// DeleteLog closes the log of tp (when open), renames its directory to
// "<topic>-<partition>.<uuid hex>-delete" so that it is never opened
// again, drops it from the checkpoints and removes it in the background.
func (d *Dir) DeleteLog(tp TopicPartition) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	l := d.logs[tp]
	delete(d.logs, tp)
	d.mu.Unlock()
	delay := int64(0)
	if l != nil {
		delay = l.cfg.Load().FileDeleteDelayMs
		l.close(false)
	}
	dir := filepath.Join(d.path, tp.String())
	var id [16]byte
	if _, err := io.ReadFull(rand.Reader, id[:]); err != nil {
		return err
	}
	target := dir + "." + hex.EncodeToString(id[:]) + deleteDirSuffix
	if err := os.Rename(dir, target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	if err := syncDir(d.path); err != nil {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	d.ckptMu.Lock()
	d.mu.Lock()
	delete(d.rpCkpt, tp)
	delete(d.lsCkpt, tp)
	delete(d.hwCkpt, tp)
	delete(d.cleanCkpt, tp)
	d.mu.Unlock()
	err := d.writeCheckpointsLocked(true, true)
	if cerr := d.writeCleanerCheckpointLocked(); err == nil {
		err = cerr
	}
	d.ckptMu.Unlock()
	d.del.schedule(deleteJob{paths: []string{target}, all: true}, delay)
	d.logger.Info("storage: deleted log", "topic", tp.Topic, "partition", tp.Partition)
	return err
}

// removeDeletedDirs schedules the removal of directories a previous run
// renamed for deletion.
func (d *Dir) removeDeletedDirs() {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return
	}
	for _, de := range ents {
		if de.IsDir() && strings.HasSuffix(de.Name(), deleteDirSuffix) {
			d.del.schedule(deleteJob{paths: []string{filepath.Join(d.path, de.Name())}, all: true}, 0)
		}
	}
}

// scheduleDelete hands files of deleted segments to the deleter.
func (d *Dir) scheduleDelete(paths []string, delayMs int64) {
	if len(paths) > 0 {
		d.del.schedule(deleteJob{paths: paths}, delayMs)
	}
}
