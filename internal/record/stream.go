package record

import (
	"errors"
	"io"
	"sync"
)

// Reader decodes records from a stream, typically a DecompressReader over a
// compressed batch's records section. It reads into one buffer that it
// reuses, so a Record's slices are valid only until the next call to Next.
//
// The buffer grows only as bytes actually arrive, to at most the largest
// record plus a read's worth, and never past the byte limit: a record length
// beyond the bytes the limit still allows is rejected before anything is
// allocated for it.
//
// A Reader is not safe for concurrent use. Get one with NewReader and hand it
// back with Release.
type Reader struct {
	src   io.Reader
	buf   []byte // buf[r:w] is read but not yet decoded
	r, w  int
	left  int   // declared records not read yet
	index int   // index of the next record
	limit int64 // most bytes to take from src
	taken int64 // bytes taken from src so far
	eof   bool  // src reported io.EOF
	err   error
}

const (
	// readerMinBuf is the first buffer a Reader allocates, and the size it
	// reads in.
	readerMinBuf = 32 << 10
	// readerKeepBuf is the largest buffer a released Reader keeps, so one
	// huge record does not pin memory in the pool.
	readerKeepBuf = 1 << 20
)

var readerPool = sync.Pool{New: func() any { return new(Reader) }}

// NewReader returns a Reader over numRecords records read from src, which
// must yield exactly those records and then io.EOF. Taking more than limit
// bytes from src is an INVALID_RECORD error.
func NewReader(src io.Reader, numRecords int32, limit int) *Reader {
	rd := readerPool.Get().(*Reader)
	buf := rd.buf
	*rd = Reader{src: src, buf: buf, left: int(numRecords), limit: int64(limit)}
	if numRecords < 0 {
		rd.err = invalidf("negative record count %d", numRecords)
	}
	return rd
}

// Release returns the Reader to the pool. The Reader and the slices of every
// Record it returned must not be used afterwards.
func (rd *Reader) Release() {
	buf := rd.buf
	if cap(buf) > readerKeepBuf {
		buf = nil
	}
	*rd = Reader{buf: buf}
	readerPool.Put(rd)
}

// Taken is the number of bytes the Reader has taken from its source.
func (rd *Reader) Taken() int64 { return rd.taken }

// Next decodes the next record into r and reports whether there was one. It
// returns false at the end and on the first error.
func (rd *Reader) Next(r *Record) bool {
	if rd.err != nil {
		return false
	}
	if rd.left == 0 {
		if rd.fill(1) {
			rd.err = invalidf("records continue after the %d declared records", rd.index)
		}
		return false
	}
	l, n, err := rd.length()
	if err != nil {
		if rd.err == nil {
			rd.err = atRecord(err, rd.index)
		}
		return false
	}
	rd.r += n
	if !rd.fill(int(l)) {
		if rd.err == nil {
			rd.err = atRecord(invalidf("record length %d exceeds the %d bytes left", l, rd.w-rd.r), rd.index)
		}
		return false
	}
	if perr := parseBody(r, rd.buf[rd.r:rd.r+int(l)]); perr != nil {
		rd.err = atRecord(perr, rd.index)
		return false
	}
	r.Len = n + int(l)
	rd.r += int(l)
	rd.left--
	rd.index++
	return true
}

// Err returns the error that stopped the Reader, or nil at a clean end.
func (rd *Reader) Err() error { return rd.err }

// length reads a record's length prefix, without consuming it.
// A failure of the source is left in rd.err and also returned.
func (rd *Reader) length() (l int32, n int, err error) {
	for {
		l, n = readVarint(rd.buf[rd.r:rd.w])
		switch {
		case n < 0:
			return 0, 0, invalidf("record length is a malformed varint")
		case n > 0 && l < 0:
			return 0, 0, invalidf("record length %d is negative", l)
		case n > 0:
			// Bytes still buffered count as taken already.
			if int64(l) > rd.limit-rd.taken+int64(rd.w-rd.r-n) {
				rd.err = errOverLimit(int(rd.limit)) // the batch's fault, not the record's
				return 0, 0, rd.err
			}
			return l, n, nil
		}
		if !rd.fill(rd.w - rd.r + 1) {
			if rd.err != nil {
				return 0, 0, rd.err
			}
			if rd.w == rd.r {
				// Like the limit, about the batch rather than a record.
				rd.err = invalidf("records end after %d of %d declared records", rd.index, rd.index+rd.left)
				return 0, 0, rd.err
			}
			return 0, 0, invalidf("record length truncated")
		}
	}
}

// fill makes at least need bytes available in buf[r:w], reading from src.
// It returns false when src ends or fails first; a failure is left in
// rd.err, a plain end is not.
func (rd *Reader) fill(need int) bool {
	empty := 0 // reads in a row that returned nothing
	for rd.w-rd.r < need {
		if rd.eof {
			return false
		}
		if rd.taken > rd.limit {
			rd.err = errOverLimit(int(rd.limit))
			return false
		}
		if rd.w == len(rd.buf) {
			rd.makeRoom(need)
		}
		// Never take more than limit+1 bytes in all: one past the limit is
		// enough to know it was passed.
		room := rd.buf[rd.w:]
		if allowed := rd.limit + 1 - rd.taken; int64(len(room)) > allowed {
			room = room[:allowed]
		}
		n, err := rd.src.Read(room)
		rd.w += n
		rd.taken += int64(n)
		if rd.taken > rd.limit {
			rd.err = errOverLimit(int(rd.limit))
			return false
		}
		switch {
		case err == io.EOF:
			rd.eof = true
		case err != nil:
			rd.err = streamErr(err)
			return false
		case n == 0:
			if empty++; empty >= 100 {
				rd.err = streamErr(io.ErrNoProgress)
				return false
			}
		default:
			empty = 0
		}
	}
	return true
}

// makeRoom frees or allocates space after buf[w], keeping buf[r:w]. Growth
// doubles, capped at what need requires, so the buffer tracks the bytes
// that actually arrived rather than what a length field claimed.
func (rd *Reader) makeRoom(need int) {
	have := rd.w - rd.r
	if rd.r > 0 && len(rd.buf)-have >= min(need-have, readerMinBuf) {
		copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r, rd.w = 0, have
		return
	}
	size := max(2*len(rd.buf), readerMinBuf)
	size = min(size, max(need, readerMinBuf))
	if size <= len(rd.buf) {
		size = len(rd.buf) + readerMinBuf
	}
	buf := make([]byte, size)
	copy(buf, rd.buf[rd.r:rd.w])
	rd.buf, rd.r, rd.w = buf, 0, have
}

// streamErr turns a source's error into a protocol outcome: errors from
// this package keep their code, anything else means the data was corrupt.
func streamErr(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf("compressed data truncated")
	}
	return corruptf("reading records: %v", err)
}
