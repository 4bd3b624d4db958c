package storage

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// A compaction pass writes each group's surviving batches into a cleaned
// segment, "<base>.log.cleaned" with ".index.cleaned" and
// ".timeindex.cleaned", under the same index rules as the active segment;
// swap.go then swaps it in.

// cleanedSegment is a cleaned segment being written: its .log.cleaned
// file through the worker's buffered writer, its indexes in memory.
type cleanedSegment struct {
	dir      string
	base     int64
	f        *os.File
	w        *bufio.Writer
	owned    bool // f belongs to a live segment now
	interval int64

	size            int64
	idx, tidx       []byte // index entries, in their file format
	sinceIndex      int64
	maxTs, offMaxTs int64
	lastTs          int64 // timestamp of the last time index entry
	next            int64 // offset after the last batch written
}

// createCleaned creates "<base>.log.cleaned" in dir (truncating a leftover).
func createCleaned(dir string, base int64, w *bufio.Writer, interval int32) (*cleanedSegment, error) {
	logPath, _, _ := segmentPaths(dir, base)
	f, err := os.OpenFile(logPath+cleanedSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w.Reset(f)
	return &cleanedSegment{dir: dir, base: base, f: f, w: w, interval: int64(interval),
		maxTs: -1, offMaxTs: -1, lastTs: math.MinInt64, next: base}, nil
}

// paths returns the segment's three file paths with suffix appended.
func (c *cleanedSegment) paths(suffix string) (log, idx, tidx string) {
	log, idx, tidx = segmentPaths(c.dir, c.base)
	return log + suffix, idx + suffix, tidx + suffix
}

// add writes one batch (header h), keeping Kafka's index rules: an offset
// index entry, with a time index entry for the max timestamp so far, once
// index.interval.bytes were written since the previous one.
func (c *cleanedSegment) add(b []byte, h *record.Header) error {
	if c.size+h.Size() > math.MaxInt32 || h.LastOffset()-c.base > math.MaxInt32 || h.BaseOffset < c.next {
		return fmt.Errorf("storage: cleaned segment %d cannot take the batch at %d (%d bytes)", c.base, h.BaseOffset, h.Size())
	}
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("write cleaned segment %d: %w", c.base, err)
	}
	if h.MaxTimestamp > c.maxTs {
		c.maxTs, c.offMaxTs = h.MaxTimestamp, h.LastOffset()
	}
	if c.sinceIndex >= c.interval {
		c.idx = binary.BigEndian.AppendUint32(c.idx, uint32(h.LastOffset()-c.base))
		c.idx = binary.BigEndian.AppendUint32(c.idx, uint32(c.size))
		if c.maxTs >= 0 {
			c.appendTime(c.maxTs, c.offMaxTs)
		}
		c.sinceIndex = 0
	}
	c.sinceIndex += h.Size()
	c.size += h.Size()
	c.next = h.NextOffset()
	return nil
}

func (c *cleanedSegment) appendTime(ts, offset int64) {
	if ts <= c.lastTs {
		return
	}
	c.tidx = binary.BigEndian.AppendUint64(c.tidx, uint64(ts))
	c.tidx = binary.BigEndian.AppendUint32(c.tidx, uint32(offset-c.base))
	c.lastTs = ts
}

// finish ends the time index with the segment's max timestamp (as
// finishActive does), writes the index files and fsyncs all three.
func (c *cleanedSegment) finish() error {
	if c.maxTs >= 0 {
		c.appendTime(c.maxTs, c.offMaxTs)
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("write cleaned segment %d: %w", c.base, err)
	}
	c.w.Reset(nil)
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("fsync cleaned segment %d: %w", c.base, err)
	}
	_, idx, tidx := c.paths(cleanedSuffix)
	for _, f := range []struct {
		path string
		data []byte
	}{{idx, c.idx}, {tidx, c.tidx}} {
		if err := writeFileSynced(f.path, f.data); err != nil {
			return fmt.Errorf("write cleaned index %s: %w", f.path, err)
		}
	}
	return nil
}

// writeFileSynced creates path with data and fsyncs it.
func writeFileSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// remove deletes the cleaned files, best effort (recovery removes any
// left).
func (c *cleanedSegment) remove() {
	for _, suffix := range []string{cleanedSuffix, swapSuffix} {
		log, idx, tidx := c.paths(suffix)
		os.Remove(idx)
		os.Remove(tidx)
		os.Remove(log)
	}
}

// closeUnlessOwned closes the file unless a segment took it over.
func (c *cleanedSegment) closeUnlessOwned() {
	c.w.Reset(nil)
	if !c.owned {
		c.f.Close()
	}
}

// segment turns the installed cleaned segment into a live, inactive
// segment ending at next, taking over the open file.
func (c *cleanedSegment) segment(next int64) *segment {
	logPath, idxPath, tidxPath := segmentPaths(c.dir, c.base)
	s := &segment{
		base:       c.base,
		dir:        c.dir,
		f:          c.f,
		fd:         int(c.f.Fd()),
		idx:        newIndex(idxPath, offsetEntrySize, c.base),
		tidx:       newIndex(tidxPath, timeEntrySize, c.base),
		logPath:    logPath,
		maxTs:      c.maxTs,
		offMaxTs:   c.offMaxTs,
		rollBaseTs: -1,
		created:    time.Now().UnixMilli(),
		syncedSize: c.size,
	}
	s.size.Store(c.size)
	s.nextOff.Store(next)
	s.refs.Store(1)
	c.owned = true
	return s
}
