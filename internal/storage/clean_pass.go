package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/samsa-io/samsa/internal/record"
)

// One compaction pass over one log, as Kafka's Cleaner.doClean:
//
//  1. Map: read the dirty segments of the plan from the first dirty
//     offset, recording for each key the offset of its latest record, until
//     the map is full or the plan ends. mapEnd is where that stopped.
//  2. Group the segments from the log's first up to the one holding
//     mapEnd-1 into runs of at most segment.bytes (and offsets that fit a
//     segment's 32-bit relative offsets).
//  3. For each group: write the batches that survive (compact_filter.go)
//     into "<base>.log.cleaned" with its indexes, fsync, and swap it in
//     for the group (swap.go).
//  4. Move the log's first dirty offset up to mapEnd.
//
// Everything but the swap runs without Log.mu, on segments the plan
// holds references to; a truncation, retention or close meanwhile makes
// the swap refuse and the pass stop.

// cleanWorker is one cleaner thread's memory: the offset map and I/O
// buffers, reused from pass to pass.
type cleanWorker struct {
	cfg    *CleanerConfig
	keys   *offsetMap
	filter batchFilter
	rd     *bufio.Reader
	wr     *bufio.Writer
	batch  []byte // the batch being read
	out    []byte // what survives of it
	hook   func(step string) error
	io     *throttler // log.cleaner.io.max.bytes.per.second, shared
	sleep  func(ctx context.Context, d time.Duration) error
}

func newCleanWorker(cfg *CleanerConfig, io *throttler) *cleanWorker {
	return &cleanWorker{
		cfg:   cfg,
		io:    io,
		sleep: sleepCtx,
		keys:  newOffsetMap(cfg.mapKeys(), cfg.DedupeLoadFactor),
		rd:    bufio.NewReaderSize(nil, cfg.ioBuffer()),
		wr:    bufio.NewWriterSize(nil, cfg.ioBuffer()),
	}
}

// keepBuffer is the largest buffer a worker keeps between passes, so that
// one huge batch does not pin its memory.
const keepBuffer = 4 << 20

// shrink drops buffers that grew past keepBuffer.
func (w *cleanWorker) shrink() {
	for _, b := range []*[]byte{&w.batch, &w.out, &w.filter.section, &w.filter.kept} {
		if cap(*b) > keepBuffer {
			*b = nil
		}
	}
}

// passResult is what one pass did.
type passResult struct {
	cleanedTo                          int64 // the new first dirty offset
	segsBefore, segsAfter              int
	bytesRead, bytesBefore, bytesAfter int64
	recordsRead, recordsKept           int64
}

// pass compacts l as planned. It holds l.clean.mu (taken by the caller).
func (w *cleanWorker) pass(ctx context.Context, l *Log, p *cleanPlan, now int64) (passResult, error) {
	var res passResult
	defer w.shrink()
	w.keys.reset()
	w.filter = batchFilter{section: w.filter.section, kept: w.filter.kept}
	mapEnd, read, err := w.buildMap(ctx, l, p)
	res.bytesRead += read
	if err != nil {
		return res, err
	}
	k := 0
	for k < len(p.segs) && p.segs[k].base < mapEnd {
		k++
	}
	res.cleanedTo = mapEnd
	w.filter.rules = cleanRules{
		keys:              w.keys,
		mapEnd:            mapEnd,
		now:               now,
		deleteRetentionMs: p.cfg.DeleteRetentionMs,
		decompressLimit:   record.DefaultDecompressLimit,
	}
	horizon := int64(math.MaxInt64)
	for _, g := range groupSegments(p.segs[:k], p.ends[:k], p.cfg.SegmentBytes) {
		gr, err := w.cleanGroup(ctx, l, p, g)
		res.bytesRead += gr.before
		if err != nil {
			return res, err
		}
		res.segsBefore += len(g.segs)
		if gr.skipped {
			res.segsAfter += len(g.segs)
			continue
		}
		res.segsAfter++
		res.bytesBefore += gr.before
		res.bytesAfter += gr.after
		horizon = min(horizon, gr.horizon)
	}
	res.recordsRead, res.recordsKept = w.filter.recordsRead, w.filter.recordsKept
	if n := w.filter.unreadable; n > 0 {
		l.logger.Warn("storage: compaction kept batches whose records it could not read", "batches", n)
	}
	l.mu.Lock()
	if l.closed || l.truncGen != p.gen {
		l.mu.Unlock()
		return res, errCleanAborted
	}
	if mapEnd > l.clean.point.Load() {
		l.clean.point.Store(mapEnd)
	}
	l.clean.horizon.Store(horizon)
	l.mu.Unlock()
	return res, nil
}

// pace counts n bytes read or written against the cleaner's I/O bound and
// waits as long as it says, in slices, so that closing the log or
// stopping the Cleaner meanwhile aborts the pass without waiting it out.
func (w *cleanWorker) pace(ctx context.Context, l *Log, n int) error {
	for wait := w.io.throttle(n); wait > 0; wait -= paceSlice {
		w.sleep(ctx, min(wait, paceSlice))
		if err := checkAbort(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// paceSlice is the longest a throttled thread sleeps between two looks
// at whether its pass was aborted.
const paceSlice = 100 * time.Millisecond

// checkAbort stops a pass whose log is closing or whose Cleaner stops.
func checkAbort(ctx context.Context, l *Log) error {
	if l.clean.abort.Load() {
		return errCleanAborted
	}
	if ctx.Err() != nil {
		return errCleanAborted
	}
	return nil
}

// buildMap fills w.keys from the plan's dirty segments and returns the
// offset up to which the map covers the log (records below it, from the
// first dirty offset, are in the map) and the bytes read. Like Kafka's
// buildOffsetMap it stops when a new key does not fit; unlike Kafka it
// keeps updating keys it already holds until then, and a map that fills
// in the middle of a batch covers the records before the one that did
// not fit. Control batches and batches whose records cannot be read add
// nothing.
func (w *cleanWorker) buildMap(ctx context.Context, l *Log, p *cleanPlan) (mapEnd, read int64, err error) {
	mapEnd = p.firstDirty
	for i := p.firstDirtyIndex(); i < len(p.segs); i++ {
		s := p.segs[i]
		pos := int64(0)
		if s.base < p.firstDirty {
			bpos, _, found, err := s.findBatch(p.firstDirty, s.size.Load())
			if err != nil {
				return mapEnd, read, err
			}
			if !found {
				mapEnd = p.ends[i]
				continue
			}
			pos = bpos
		}
		br := w.reader(s, pos)
		for {
			if err := checkAbort(ctx, l); err != nil {
				return mapEnd, read, err
			}
			b, h, err := br.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return mapEnd, read, err
			}
			read += h.Size()
			if err := w.pace(ctx, l, len(b)); err != nil {
				return mapEnd, read, err
			}
			if stop, full := w.mapBatch(b, &h, p.firstDirty); full {
				return max(stop, mapEnd), read, nil
			}
			mapEnd = max(mapEnd, h.NextOffset())
		}
		// Offsets after the segment's last batch, up to the next segment,
		// hold nothing: the map covers them too.
		mapEnd = max(mapEnd, p.ends[i])
	}
	return mapEnd, read, nil
}

// mapBatch adds the keys of one batch. full is set when a new key did not
// fit; stop is then the offset of that record.
func (w *cleanWorker) mapBatch(b []byte, h *record.Header, from int64) (stop int64, full bool) {
	if h.Control() || h.NumRecords == 0 {
		return 0, false
	}
	section, ok := w.filter.records(b, h)
	if !ok {
		return 0, false
	}
	it := record.NewIter(section, h.NumRecords)
	var r record.Record
	for it.Next(&r) {
		off := h.BaseOffset + int64(r.OffsetDelta)
		if r.Key == nil || off < from {
			continue
		}
		if !w.keys.put(r.Key, off) {
			return off, true
		}
	}
	return 0, false // a malformed batch keeps what it added: those records exist
}

// segGroup is a run of consecutive segments rewritten into one.
type segGroup struct {
	segs []*segment
	ends []int64
}

// groupSegments splits segs into runs whose sizes add up to at most
// maxBytes and whose offsets fit one segment (a run always holds at least
// one segment), as Kafka's groupSegmentsBySize.
func groupSegments(segs []*segment, ends []int64, maxBytes int64) []segGroup {
	var out []segGroup
	for i := 0; i < len(segs); {
		j, size := i+1, segs[i].size.Load()
		for j < len(segs) && size+segs[j].size.Load() <= maxBytes && ends[j]-1-segs[i].base <= math.MaxInt32 {
			size += segs[j].size.Load()
			j++
		}
		out = append(out, segGroup{segs: segs[i:j], ends: ends[i:j]})
		i = j
	}
	return out
}

// groupResult is what rewriting one group did.
type groupResult struct {
	before, after int64
	horizon       int64 // earliest delete horizon of the tombstones written
	skipped       bool  // the group was left as it was
}

// cleanGroup rewrites g into a cleaned segment and swaps it in. The last
// batch of the group is kept (empty if need be) so that the cleaned
// segment ends where the group did: every segment's last batch ends at
// the next segment's base, which is what lets recovery tell which
// segments a .swap file replaces. So is the newest batch of each producer
// the log still tracks, so that its sequence numbers survive a reload.
func (w *cleanWorker) cleanGroup(ctx context.Context, l *Log, p *cleanPlan, g segGroup) (gr groupResult, err error) {
	gr.horizon = math.MaxInt64
	lastSeg := -1
	for i, s := range g.segs {
		gr.before += s.size.Load()
		if s.size.Load() > 0 {
			lastSeg = i
		}
	}
	cs, err := createCleaned(l.dir, g.segs[0].base, w.wr, p.cfg.IndexIntervalBytes)
	if err != nil {
		return gr, err
	}
	swapped := false
	defer func() {
		if !swapped && !errors.Is(err, errSimulatedCrash) {
			cs.remove()
		}
		cs.closeUnlessOwned()
	}()
	for i, s := range g.segs {
		br := w.reader(s, 0)
		for {
			if err := checkAbort(ctx, l); err != nil {
				return gr, err
			}
			b, h, err := br.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return gr, err
			}
			if err := w.pace(ctx, l, len(b)); err != nil {
				return gr, err
			}
			last, ok := p.lastData[h.ProducerID]
			retain := (i == lastSeg && br.pos == br.end) || (h.ProducerID >= 0 && ok && last == h.LastOffset())
			var fr filterResult
			w.out, fr = w.filter.filter(w.out[:0], b, &h, retain)
			if fr.outcome == batchDropped {
				continue
			}
			gr.horizon = min(gr.horizon, fr.horizon)
			oh, _ := record.ParseHeader(w.out)
			if err := cs.add(w.out, &oh); err != nil {
				return gr, err
			}
			if err := w.pace(ctx, l, len(w.out)); err != nil {
				return gr, err
			}
		}
	}
	if cs.size == 0 {
		// Only empty segments (left by recovery): nothing to swap in.
		gr.skipped = true
		return gr, nil
	}
	if err := cs.finish(); err != nil {
		return gr, err
	}
	gr.after = cs.size
	if err := l.swapIn(g, cs, p.gen, w.hook); err != nil {
		if errors.Is(err, errSwapIncomplete) {
			swapped = true
		}
		return gr, err
	}
	swapped = true
	return gr, nil
}

// batchReader reads the batches of an inactive segment in order, checking
// each one's bounds and CRC: only whole, valid batches are compacted.
type batchReader struct {
	seg      *segment
	rd       *bufio.Reader
	pos, end int64
	buf      *[]byte
}

// reader starts reading s at pos (a batch boundary).
func (w *cleanWorker) reader(s *segment, pos int64) *batchReader {
	end := s.size.Load()
	w.rd.Reset(io.NewSectionReader(s.f, pos, end-pos))
	return &batchReader{seg: s, rd: w.rd, pos: pos, end: end, buf: &w.batch}
}

// next returns the next batch, valid until the following call, or io.EOF
// at the end of the segment.
func (br *batchReader) next() ([]byte, record.Header, error) {
	if br.pos >= br.end {
		return nil, record.Header{}, io.EOF
	}
	path, pos := br.seg.logPath, br.pos
	if br.end-pos < record.HeaderSize {
		return nil, record.Header{}, fmt.Errorf("%w: %s: torn batch header at %d", ErrCorrupt, path, pos)
	}
	buf := *br.buf
	if cap(buf) < record.HeaderSize {
		buf = make([]byte, 64<<10)
	}
	buf = buf[:record.HeaderSize]
	if _, err := io.ReadFull(br.rd, buf); err != nil {
		return nil, record.Header{}, fmt.Errorf("read %s at %d: %w", path, pos, err)
	}
	h, _ := record.ParseHeader(buf)
	if h.Magic != 2 || h.Length < record.HeaderSize-record.LogOverhead || h.LastOffsetDelta < 0 || pos+h.Size() > br.end {
		return nil, h, fmt.Errorf("%w: %s: batch at %d (magic %d, length %d) in a %d-byte segment", ErrCorrupt, path, pos, h.Magic, h.Length, br.end)
	}
	size := int(h.Size()) // bounded by the segment's size, which fits an int32
	if cap(buf) < size {
		buf = append(buf[:record.HeaderSize], make([]byte, size-record.HeaderSize)...)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(br.rd, buf[record.HeaderSize:]); err != nil {
		return nil, h, fmt.Errorf("read %s at %d: %w", path, pos, err)
	}
	*br.buf = buf
	if record.CRC32C(buf[21:]) != h.CRC {
		return nil, h, fmt.Errorf("%w: %s: crc mismatch in batch at %d", ErrCorrupt, path, pos)
	}
	br.pos += h.Size()
	return buf, h, nil
}
