package quorum

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	pb "go.etcd.io/raft/v3/raftpb"
)

// segmentBytes is the size after which appends move on to a new segment. A
// variable only so that tests can make segments small.
var segmentBytes int64 = 64 << 20

const segmentSuffix = ".wal"

func segmentName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segmentSuffix) }

// wal is the write-ahead log: numbered segment files of framed records (see
// doc.go). It is owned by one goroutine at a time (Open, then the node's
// loop) and is not safe for concurrent use.
type wal struct {
	dir    string
	logger *slog.Logger
	f      *os.File // last segment, opened for appending
	seq    uint64   // sequence number of f
	size   int64    // bytes in f

	snapIndex, snapTerm uint64    // snapshot the retained log starts after
	hs                  hardState // last hard state written
	buf                 []byte    // encode buffer, reused
}

// listSegments returns the sequence numbers of dir's segments, ascending.
func listSegments(dir string) ([]uint64, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, name := range names {
		base, ok := strings.CutSuffix(name, segmentSuffix)
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(base, 16, 64)
		if err != nil || len(base) != 16 {
			return nil, fmt.Errorf("unexpected file %s in %s", name, dir)
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// createWAL starts the log of a new node: one full segment whose snapshot is
// the empty bootstrap snapshot at index 0.
func createWAL(dir string, logger *slog.Logger) (*wal, error) {
	w := &wal{dir: dir, logger: logger}
	if err := w.cut(segKindFull, 0, 0, nil); err != nil {
		return nil, err
	}
	return w, nil
}

// openWAL replays dir's segments and opens the last one for appending. A torn
// tail of the last segment is truncated with a warning; any other damage is a
// *CorruptError.
func openWAL(dir string, seqs []uint64, logger *slog.Logger) (*wal, *logState, error) {
	first, err := newestFullSegment(dir, seqs)
	if err != nil {
		return nil, nil, err
	}
	superseded, seqs := seqs[:first], seqs[first:]
	st := &logState{}
	var tail int64
	for i, seq := range seqs {
		if i > 0 && seq != seqs[i-1]+1 {
			return nil, nil, fmt.Errorf("wal segment %s missing", segmentName(seqs[i-1]+1))
		}
		if tail, err = replaySegment(dir, seq, i == len(seqs)-1, st, logger); err != nil {
			return nil, nil, err
		}
	}
	last := seqs[len(seqs)-1]
	path := filepath.Join(dir, segmentName(last))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != tail {
		if err == nil {
			err = f.Truncate(tail)
		}
		if err == nil {
			err = fdatasync(f)
		}
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("truncate %s: %w", path, err)
		}
	}
	for _, seq := range superseded {
		// Left behind by a crash between a full cut and the removal of the
		// segments it replaced; the full segment holds everything they held.
		logger.Info("removing superseded wal segment", "file", segmentName(seq))
		if err := os.Remove(filepath.Join(dir, segmentName(seq))); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	w := &wal{dir: dir, logger: logger, f: f, seq: last, size: tail,
		snapIndex: st.snapIndex, snapTerm: st.snapTerm, hs: st.hs}
	return w, st, nil
}

// newestFullSegment returns the position in seqs of the newest segment whose
// header says it is full: replay starts there.
func newestFullSegment(dir string, seqs []uint64) (int, error) {
	for i := len(seqs) - 1; i >= 0; i-- {
		path := filepath.Join(dir, segmentName(seqs[i]))
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		b := make([]byte, recordHeaderLen+segHeaderLen)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		r, _, err := decodeRecord(b[:n])
		if err == nil && r.typ != recHeader {
			err = errors.New("segment does not start with a header")
		}
		if err != nil {
			// Segments are created whole (tmp + rename), so even the last
			// one's header cannot be torn.
			return 0, &CorruptError{File: path, Offset: 0, Reason: err.Error()}
		}
		if r.header.kind == segKindFull {
			return i, nil
		}
	}
	return 0, &CorruptError{File: filepath.Join(dir, segmentName(seqs[0])), Reason: "no full segment to start replay from"}
}

// replaySegment feeds one segment's records to st and returns the length of
// its valid prefix. Only in the last segment may that prefix end before the
// file does, and only when nothing valid follows the damage.
func replaySegment(dir string, seq uint64, last bool, st *logState, logger *slog.Logger) (int64, error) {
	path := filepath.Join(dir, segmentName(seq))
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	off := 0
	for off < len(data) {
		r, n, err := decodeRecord(data[off:])
		if err != nil {
			if !last || validRecordAfter(data[off+1:]) {
				return 0, &CorruptError{File: path, Offset: int64(off), Reason: err.Error()}
			}
			logger.Warn("truncating torn wal tail", "file", path, "offset", off,
				"dropped_bytes", len(data)-off, "reason", err.Error())
			return int64(off), nil
		}
		if off == 0 && (r.typ != recHeader || r.header.seq != seq) {
			return 0, &CorruptError{File: path, Offset: 0, Reason: "segment header missing or numbered for another file"}
		}
		if off > 0 && r.typ == recHeader {
			return 0, &CorruptError{File: path, Offset: int64(off), Reason: "segment header in the middle of a segment"}
		}
		if err := st.apply(r); err != nil {
			return 0, &CorruptError{File: path, Offset: int64(off), Reason: err.Error()}
		}
		off += n
	}
	return int64(off), nil
}

// validRecordAfter reports whether any offset of b starts a record that
// decodes. A torn write leaves garbage or zeros at the very end of the log; a
// valid record beyond the damage means the damage is in the middle, where
// acknowledged entries live.
func validRecordAfter(b []byte) bool {
	for i := 0; i+recordHeaderLen <= len(b); i++ {
		if _, _, err := decodeRecord(b[i:]); err == nil {
			return true
		}
	}
	return false
}

// save appends hs (if not nil) and then ents to the log, and makes them
// durable before returning if sync is set. Writing the hard state first means
// a torn batch can leave a commit index beyond the surviving entries (which
// recovery clamps) but never entries of a term the hard state has not seen.
func (w *wal) save(hs *pb.HardState, ents []*pb.Entry, sync bool) error {
	w.buf = w.buf[:0]
	if hs != nil {
		w.hs = hardStateOf(hs)
		w.buf = appendHardStateRecord(w.buf, w.hs)
	}
	for _, e := range ents {
		w.buf = appendEntryRecord(w.buf, walEntryOf(e))
	}
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return fmt.Errorf("write %s: %w", segmentName(w.seq), err)
	}
	w.size += int64(len(w.buf))
	if sync {
		if err := fdatasync(w.f); err != nil {
			return fmt.Errorf("sync %s: %w", segmentName(w.seq), err)
		}
	}
	if w.size >= segmentBytes {
		return w.cut(segKindContinued, w.snapIndex, w.snapTerm, nil)
	}
	return nil
}

// cut starts a new segment. A full cut records a new snapshot (index, term)
// and rewrites ents, every entry after it, so the new segment holds the whole
// log and all older segments are removed. A continued cut only moves on to a
// new file. The new segment is written whole and renamed into place, so
// recovery never sees half of one.
func (w *wal) cut(kind uint8, snapIndex, snapTerm uint64, ents []*pb.Entry) error {
	if w.f != nil {
		if err := fdatasync(w.f); err != nil {
			return fmt.Errorf("sync %s: %w", segmentName(w.seq), err)
		}
	}
	seq := w.seq + 1
	w.buf = appendHeaderRecord(w.buf[:0], segHeader{seq: seq, kind: kind,
		snapIndex: snapIndex, snapTerm: snapTerm, hs: w.hs})
	for _, e := range ents {
		w.buf = appendEntryRecord(w.buf, walEntryOf(e))
	}
	name := segmentName(seq)
	if err := writeFileAtomic(w.dir, name, w.buf); err != nil {
		return fmt.Errorf("create wal segment %s: %w", name, err)
	}
	f, err := os.OpenFile(filepath.Join(w.dir, name), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.seq, w.size = f, seq, int64(len(w.buf))
	w.snapIndex, w.snapTerm = snapIndex, snapTerm
	if kind == segKindFull {
		w.removeBefore(seq)
	}
	return nil
}

// removeBefore deletes segments older than seq. Failures are only logged:
// recovery starts at the newest full segment and removes leftovers.
func (w *wal) removeBefore(seq uint64) {
	seqs, err := listSegments(w.dir)
	if err != nil {
		w.logger.Warn("list wal segments", "dir", w.dir, "err", err)
		return
	}
	for _, s := range seqs {
		if s < seq {
			if err := os.Remove(filepath.Join(w.dir, segmentName(s))); err != nil {
				w.logger.Warn("remove wal segment", "file", segmentName(s), "err", err)
			}
		}
	}
}

func (w *wal) close() error {
	if w.f == nil {
		return nil
	}
	err := fdatasync(w.f)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
