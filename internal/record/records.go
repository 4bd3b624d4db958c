package record

import "strconv"

// Layout of one record inside a v2 batch's records section (varint and
// varlong are zigzag LEB128, see varint.go):
//
//	length          varint   bytes that follow, up to the next record
//	attributes      int8     unused, 0
//	timestampDelta  varlong  ms from the batch's baseTimestamp
//	offsetDelta     varint   from the batch's baseOffset
//	keyLength       varint   -1 = null key
//	key             bytes
//	valueLength     varint   -1 = null value
//	value           bytes
//	headerCount     varint
//	headers         headerCount × (keyLength varint ≥ 0, key,
//	                               valueLength varint, -1 = null, value)
//
// Decoding checks every length against the bytes that remain before using
// it, so no input makes the decoder read out of bounds or allocate.

// minRecordBodySize is the smallest record body: attributes plus one byte
// for each of the five varints.
const minRecordBodySize = 6

// Record is one decoded record. Key, Value and Headers point into the bytes
// being decoded: for an Iter that is the caller's records section, valid as
// long as it is; for a Reader it is the Reader's buffer, valid until the
// next call to Next. A null key or value is nil; an empty one is non-nil with
// length 0.
type Record struct {
	Attributes     int8
	TimestampDelta int64 // ms, added to the batch's base timestamp
	OffsetDelta    int32 // added to the batch's base offset
	Key            []byte
	Value          []byte
	Headers        Headers
	Len            int // encoded size in bytes, length prefix included
}

// Headers is a record's headers, still encoded; iterate them with Iter. The
// encoding was checked when the record was decoded.
type Headers struct {
	b []byte
	n int
}

// Len is the number of headers.
func (h Headers) Len() int { return h.n }

// Iter returns an iterator over the headers.
func (h Headers) Iter() HeaderIter { return HeaderIter{b: h.b, n: h.n} }

// HeaderIter walks a record's headers without allocating.
type HeaderIter struct {
	b []byte
	n int
}

// RecordHeader is one record header. Key is never nil; a null Value is nil.
type RecordHeader struct {
	Key   []byte
	Value []byte
}

// Next returns the next header and true, or false after the last one.
func (it *HeaderIter) Next() (RecordHeader, bool) {
	if it.n <= 0 {
		return RecordHeader{}, false
	}
	k, rest, ok := readBytes(it.b)
	if !ok || k == nil {
		it.n = 0
		return RecordHeader{}, false
	}
	v, rest, ok := readBytes(rest)
	if !ok {
		it.n = 0
		return RecordHeader{}, false
	}
	it.b, it.n = rest, it.n-1
	return RecordHeader{Key: k, Value: v}, true
}

// readBytes reads a varint length and that many bytes; -1 is null.
func readBytes(b []byte) (v, rest []byte, ok bool) {
	l, n := readVarint(b)
	if n <= 0 || l < -1 || int(l) > len(b)-n {
		return nil, b, false
	}
	if l == -1 {
		return nil, b[n:], true
	}
	return b[n : n+int(l) : n+int(l)], b[n+int(l):], true
}

// bytesField reads a nullable length-prefixed field of a record body. field
// and header (the header's index, or -1) only name the field in errors.
func bytesField(b []byte, field string, header int) (v, rest []byte, err *Error) {
	l, n := readVarint(b)
	if n > 0 && l >= -1 && int(l) <= len(b)-n {
		if l == -1 {
			return nil, b[n:], nil
		}
		return b[n : n+int(l) : n+int(l)], b[n+int(l):], nil
	}
	if header >= 0 {
		field = "header " + strconv.Itoa(header) + " " + field
	}
	switch {
	case n == 0:
		return nil, nil, invalidf("%s length truncated", field)
	case n < 0:
		return nil, nil, invalidf("%s length is a malformed varint", field)
	case l < -1:
		return nil, nil, invalidf("%s length %d is negative", field, l)
	}
	return nil, nil, invalidf("%s length %d exceeds the %d bytes left in the record", field, l, len(b)-n)
}

// parseBody decodes a record body: the bytes its length prefix counts.
func parseBody(r *Record, b []byte) *Error {
	if len(b) < minRecordBodySize {
		return invalidf("record length %d is below the minimum of %d", len(b), minRecordBodySize)
	}
	r.Attributes = int8(b[0])
	b = b[1:]
	ts, n := readVarlong(b)
	if n <= 0 {
		return invalidf("timestamp delta is a malformed varlong")
	}
	r.TimestampDelta = ts
	b = b[n:]
	od, n := readVarint(b)
	if n <= 0 {
		return invalidf("offset delta is a malformed varint")
	}
	r.OffsetDelta = od
	b = b[n:]
	var err *Error
	if r.Key, b, err = bytesField(b, "key", -1); err != nil {
		return err
	}
	if r.Value, b, err = bytesField(b, "value", -1); err != nil {
		return err
	}
	count, n := readVarint(b)
	if n <= 0 {
		return invalidf("header count is a malformed or truncated varint")
	}
	b = b[n:]
	// Each header takes at least two bytes (two one-byte lengths).
	if count < 0 || int(count) > len(b)/2 {
		return invalidf("header count %d does not fit the %d bytes left in the record", count, len(b))
	}
	hb := b
	for i := 0; i < int(count); i++ {
		var k []byte
		if k, b, err = bytesField(b, "key", i); err != nil {
			return err
		}
		if k == nil {
			return invalidf("header %d has a null key", i)
		}
		if _, b, err = bytesField(b, "value", i); err != nil {
			return err
		}
	}
	if len(b) != 0 {
		return invalidf("%d bytes after the record's last field", len(b))
	}
	r.Headers = Headers{b: hb, n: int(count)}
	return nil
}

// Iter decodes the records of an uncompressed records section in place,
// without allocating. The zero Iter is empty.
//
//	it := record.NewIter(section, h.NumRecords)
//	for it.Next(&r) { … }
//	if err := it.Err(); err != nil { … }
type Iter struct {
	b     []byte
	left  int // declared records not read yet
	index int // index of the next record
	err   error
}

// NewIter returns an iterator over section, which must hold exactly
// numRecords records: fewer, more, or bytes after the last one make Err
// report INVALID_RECORD.
func NewIter(section []byte, numRecords int32) Iter {
	it := Iter{b: section, left: int(numRecords)}
	if numRecords < 0 {
		it.err = invalidf("negative record count %d", numRecords)
	}
	return it
}

// Next decodes the next record into r and reports whether there was one.
// It returns false at the end and on the first error.
func (it *Iter) Next(r *Record) bool {
	if it.err != nil {
		return false
	}
	if it.left == 0 {
		if len(it.b) != 0 {
			it.err = invalidf("%d bytes after the last of the %d declared records", len(it.b), it.index)
			it.b = nil
		}
		return false
	}
	if len(it.b) == 0 {
		it.err = invalidf("records section ends after %d of %d declared records", it.index, it.index+it.left)
		return false
	}
	l, n := readVarint(it.b)
	switch {
	case n == 0:
		it.err = atRecord(invalidf("record length truncated"), it.index)
		return false
	case n < 0:
		it.err = atRecord(invalidf("record length is a malformed varint"), it.index)
		return false
	case l < 0 || int(l) > len(it.b)-n:
		it.err = atRecord(invalidf("record length %d exceeds the %d bytes left", l, len(it.b)-n), it.index)
		return false
	}
	if err := parseBody(r, it.b[n:n+int(l)]); err != nil {
		it.err = atRecord(err, it.index)
		return false
	}
	r.Len = n + int(l)
	it.b = it.b[n+int(l):]
	it.left--
	it.index++
	return true
}

// Err returns the error that stopped the iteration, or nil at a clean end.
func (it *Iter) Err() error { return it.err }
