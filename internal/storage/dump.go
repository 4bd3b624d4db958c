package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/samsa-io/samsa/internal/record"
)

// dump.go prints segment files as Kafka's DumpLogSegments tool
// (kafka-dump-log.sh) does, line for line, so that what operators know of
// that tool's output holds for samsa's files:
//
//	Dumping 00000000000000000000.log
//	Log starting offset: 0
//	baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1001 size: 80 magic: 2 compresscodec: none crc: 123 isvalid: true
//	| offset: 0 CreateTime: 1000 keySize: -1 valueSize: 3 sequence: -1 headerKeys: [] payload: abc
//
// Where Kafka throws (a batch length below 14, a control record it cannot
// parse, an unknown codec) DumpFile returns an error with Kafka's message;
// where Kafka stops quietly (a torn last batch) so does DumpFile, and it
// reports the bytes left over as Kafka does. No file content makes it
// panic: every length is checked against the file before use.
//
// Where samsa differs: KRaft control records (leader change, snapshot
// header and footer, kraft version, voters) are named, not printed as
// JSON, since they appear only in Kafka's metadata log; magic 0 and 1
// batches get their batch line but deep iteration stops at one with an
// error (samsa converts such batches to magic 2 before storing them); an
// active segment's zero-filled tail (runway.go) ends the dump with a note
// on errOut where Kafka would call it a corrupt size; a time index is checked against the log scanned
// from its start rather than from the offset index's position; producer
// snapshots, transaction indexes and KRaft snapshots (.checkpoint) are
// skipped with a line on errOut.

// DumpOptions says how much of a file DumpFile prints.
type DumpOptions struct {
	PrintData          bool  // keys and values of records (implies Deep)
	Deep               bool  // a line per record
	SkipRecordMetadata bool  // no per-record metadata; control records print empty lines
	MaxBytes           int64 // bytes of a .log to read; < 0: all, reporting invalid trailing bytes
	IndexSanityCheck   bool  // indexes: only the broker's startup check
	VerifyIndexOnly    bool  // indexes: check against the log, print no entries
	MaxMessageSize     int   // .index: bytes read at each indexed position; ≤ 0: 5 MiB
}

// dumpHeaderUpToMagic is how many bytes of a batch Kafka reads to find its
// length and magic; dumpMinRecordOverhead is the smallest length a v0
// message can have, below which Kafka calls the file corrupt.
const (
	dumpHeaderUpToMagic   = record.MagicOffset + 1
	dumpMinRecordOverhead = 14
	dumpDefaultMaxMessage = 5 << 20
)

// DumpFile prints the file at path to out as Kafka's kafka-dump-log.sh
// does: a .log segment, or a segment's .index or .timeindex (which are
// checked against the .log beside them). Problems Kafka reports on stderr
// after dumping (mismatched index entries, non-consecutive offsets) go to
// errOut. An error means the file could not be read or is corrupt in a way
// that stops Kafka's tool too; what was printed before it stands.
func DumpFile(path string, opts DumpOptions, out, errOut io.Writer) error {
	fmt.Fprintf(out, "Dumping %s\n", path)
	name := filepath.Base(path)
	suffix := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		suffix = name[i:]
	}
	switch suffix {
	case logSuffix:
		return dumpLog(path, opts, out, errOut)
	case ".index":
		return dumpOffsetIndex(path, opts, out, errOut)
	case ".timeindex":
		return dumpTimeIndex(path, opts, out, errOut)
	case ".snapshot", ".txnindex", ".checkpoint":
		fmt.Fprintf(errOut, "Skipping %s: samsa does not dump %s files\n", path, suffix)
		return nil
	}
	fmt.Fprintf(errOut, "Ignoring unknown file %s\n", path)
	return nil
}

// dumpBaseOffset parses the base offset from a segment file's name.
func dumpBaseOffset(path string) (int64, error) {
	prefix, _, _ := strings.Cut(filepath.Base(path), ".")
	n, err := strconv.ParseInt(prefix, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("For input string: \"%s\": %s is not named after a base offset", prefix, path)
	}
	return n, nil
}

// siblingPath is the file of the same segment with another suffix.
func siblingPath(path, suffix string) string {
	prefix, _, _ := strings.Cut(filepath.Base(path), ".")
	return filepath.Join(filepath.Dir(path), prefix+suffix)
}

// dumpBatch is one batch as Kafka's file iterator sees it.
type dumpBatch struct {
	pos  int64
	data []byte        // the whole batch
	h    record.Header // the v2 header; for magic 0 and 1 only BaseOffset
}

func (b *dumpBatch) magic() int8 { return int8(b.data[record.MagicOffset]) }

// lastOffset is the batch's last offset: a v0/v1 wrapper carries it as its
// offset.
func (b *dumpBatch) lastOffset() int64 {
	if b.magic() < 2 {
		return b.h.BaseOffset
	}
	return b.h.LastOffset()
}

// dumpReader walks the batches of a .log between two positions, as
// Kafka's FileLogInputStream does.
type dumpReader struct {
	f    *os.File
	path string
	size int64 // of the file
}

// next returns the batch at pos, or nil when no whole batch starts there
// before end (a torn tail, or end reached).
func (r *dumpReader) next(pos, end int64) (*dumpBatch, error) {
	if pos >= end-dumpHeaderUpToMagic {
		return nil, nil
	}
	var head [dumpHeaderUpToMagic]byte
	if err := r.readAt(head[:], pos, "log header"); err != nil {
		return nil, err
	}
	length := int64(int32(binary.BigEndian.Uint32(head[8:])))
	if length < dumpMinRecordOverhead {
		return nil, fmt.Errorf("Found record size %d smaller than minimum record overhead (%d) in file %s.", length, dumpMinRecordOverhead, r.path)
	}
	if pos > end-record.LogOverhead-length {
		return nil, nil
	}
	b := &dumpBatch{pos: pos, data: make([]byte, record.LogOverhead+length)}
	if err := r.readAt(b.data, pos, "batch"); err != nil {
		return nil, err
	}
	b.h.BaseOffset = int64(binary.BigEndian.Uint64(b.data))
	if b.magic() >= 2 || b.magic() < 0 {
		// Kafka reads a fixed-size header even from a batch shorter than
		// one, taking the bytes that follow it in the file.
		hb := b.data
		if len(hb) < record.HeaderSize {
			hb = make([]byte, record.HeaderSize)
			if err := r.readAt(hb, pos, "record batch header"); err != nil {
				return nil, err
			}
		}
		b.h, _ = record.ParseHeader(hb) // long enough
	}
	return b, nil
}

func (r *dumpReader) readAt(p []byte, pos int64, what string) error {
	n, err := r.f.ReadAt(p, pos)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("Failed to read `%s` from file channel `%s`. Expected to read %d bytes, but reached end of file after reading %d bytes. Started read from position %d.", what, r.path, len(p), n, pos)
	}
	return err
}

// zeroTail reports whether the file holds only zeros from pos to its end.
func (r *dumpReader) zeroTail(pos int64) bool {
	buf := make([]byte, 64<<10)
	for pos < r.size {
		n, err := r.f.ReadAt(buf[:min(int64(len(buf)), r.size-pos)], pos)
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		if err != nil && n == 0 {
			return false
		}
		pos += int64(n)
	}
	return true
}

func openDumpReader(path string) (*dumpReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &dumpReader{f: f, path: path, size: st.Size()}, nil
}

func dumpLog(path string, opts DumpOptions, out, errOut io.Writer) error {
	base, err := dumpBaseOffset(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Log starting offset: %d\n", base)
	r, err := openDumpReader(path)
	if err != nil {
		return err
	}
	defer r.f.Close()
	end := r.size
	if opts.MaxBytes >= 0 && opts.MaxBytes < end {
		end = opts.MaxBytes
	}
	deep := opts.Deep || opts.PrintData
	var pos int64
	last := int64(-1)
	var gaps [][2]int64 // (previous offset, offset) pairs that do not follow
	for {
		b, err := r.next(pos, end)
		if err != nil && r.zeroTail(pos) {
			// Not Kafka's: samsa keeps an active segment zero-filled
			// ahead of its data (runway.go); those zeros are not a
			// corrupt batch.
			fmt.Fprintf(errOut, "%d zero bytes at the end of %s: the active segment's preallocated space\n", r.size-pos, filepath.Base(path))
			end = pos
			break
		}
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		if err := printBatchLine(out, b); err != nil {
			return err
		}
		if deep {
			if err := dumpRecords(out, b, opts, &last, &gaps); err != nil {
				return err
			}
		}
		pos += int64(len(b.data))
	}
	if trailing := end - pos; trailing > 0 && opts.MaxBytes < 0 {
		fmt.Fprintf(out, "Found %d invalid bytes at the end of %s\n", trailing, filepath.Base(path))
	}
	if len(gaps) > 0 {
		abs, _ := filepath.Abs(path)
		fmt.Fprintf(errOut, "Non-consecutive offsets in %s\n", abs)
		slices.SortStableFunc(gaps, func(a, b [2]int64) int { return cmpInt64(a[0], b[0]) })
		for i, g := range gaps {
			if i+1 < len(gaps) && gaps[i+1][0] == g[0] {
				continue // Kafka keeps the last pair per previous offset
			}
			fmt.Fprintf(errOut, "  %d is followed by %d\n", g[0], g[1])
		}
	}
	return nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// codecName is Kafka's CompressionType name, or the error Kafka throws for
// an id it does not know.
func codecName(attrs int) (string, error) {
	if c := record.Codec(attrs & record.CompressionMask); c <= record.CodecZstd {
		return c.String(), nil
	}
	return "", fmt.Errorf("Unknown compression type id: %d", attrs&record.CompressionMask)
}

// printBatchLine prints Kafka's batch-level line.
func printBatchLine(out io.Writer, b *dumpBatch) error {
	var sb strings.Builder
	var tsType string
	var maxTs int64
	var attrs int
	var crc uint32
	var valid bool
	if m := b.magic(); m == 0 || m == 1 {
		fmt.Fprintf(&sb, "offset: %d", b.lastOffset())
		tsType, maxTs, attrs, crc, valid = legacyFields(b.data)
	} else {
		h := &b.h
		deleteHorizon := "OptionalLong.empty"
		if h.Attributes&record.DeleteHorizonBit != 0 {
			deleteHorizon = fmt.Sprintf("OptionalLong[%d]", h.BaseTimestamp)
		}
		fmt.Fprintf(&sb, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d "+
			"partitionLeaderEpoch: %d isTransactional: %t isControl: %t deleteHorizonMs: %s",
			h.BaseOffset, h.LastOffset(), h.NumRecords, h.BaseSequence, h.LastSequence(), h.ProducerID, h.ProducerEpoch,
			h.PartitionLeaderEpoch, h.Transactional(), h.Control(), deleteHorizon)
		tsType, maxTs, attrs, crc = v2TimestampType(h), h.MaxTimestamp, int(h.Attributes), h.CRC
		valid = len(b.data) >= record.HeaderSize && record.ComputeCRC(b.data) == h.CRC
	}
	codec, err := codecName(attrs)
	if err != nil {
		return err
	}
	fmt.Fprintf(&sb, " position: %d %s: %d size: %d magic: %d compresscodec: %s crc: %d isvalid: %t\n",
		b.pos, tsType, maxTs, len(b.data), b.magic(), codec, crc, valid)
	_, err = io.WriteString(out, sb.String())
	return err
}

func v2TimestampType(h *record.Header) string {
	if h.LogAppendTime() {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// legacyFields reads a magic 0 or 1 message set entry:
//
//	offset int64, size int32, crc uint32, magic int8, attributes int8,
//	timestamp int64 (magic 1 only), key and value (int32 length + bytes)
//
// The CRC (IEEE) covers everything from the magic byte on.
func legacyFields(b []byte) (tsType string, ts int64, attrs int, crc uint32, valid bool) {
	const offCRC, offAttrs, offTimestamp = 12, 17, 18
	crc = binary.BigEndian.Uint32(b[offCRC:])
	attrs = int(b[offAttrs]) // the batch is at least LogOverhead+14 bytes
	valid = crc32.ChecksumIEEE(b[record.MagicOffset:]) == crc
	tsType, ts = "NoTimestampType", -1
	if b[record.MagicOffset] == 1 {
		tsType = "CreateTime"
		if attrs&record.TimestampTypeBit != 0 {
			tsType = "LogAppendTime"
		}
		if len(b) >= offTimestamp+8 {
			ts = int64(binary.BigEndian.Uint64(b[offTimestamp:]))
		}
	}
	return tsType, ts, attrs, crc, valid
}

// forEachRecord calls fn with each record of a v2 batch and its offset
// and timestamp, decompressing a compressed batch within record's bounds.
func forEachRecord(b *dumpBatch, fn func(r *record.Record, offset, ts int64) error) error {
	if b.magic() < 2 {
		return fmt.Errorf("batch at position %d: samsa does not list the records of magic %d batches", b.pos, b.magic())
	}
	h := &b.h
	if h.NumRecords == 0 {
		return nil // Kafka reads no records from an empty batch
	}
	if len(b.data) < record.HeaderSize {
		return fmt.Errorf("batch at position %d: record batch is corrupt (size %d is below the batch header's %d)", b.pos, len(b.data), record.HeaderSize)
	}
	section := b.data[record.HeaderSize:]
	if c, err := codecName(int(h.Attributes)); err != nil {
		return err
	} else if c != "none" {
		var derr error
		if section, derr = record.Decompress(nil, h.Codec(), section, record.DefaultDecompressLimit); derr != nil {
			return fmt.Errorf("batch at position %d: %w", b.pos, derr)
		}
	}
	it := record.NewIter(section, h.NumRecords)
	var r record.Record
	for it.Next(&r) {
		ts := h.BaseTimestamp + r.TimestampDelta
		if h.LogAppendTime() {
			ts = h.MaxTimestamp
		}
		if err := fn(&r, h.BaseOffset+int64(r.OffsetDelta), ts); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("batch at position %d: %w", b.pos, err)
	}
	return nil
}

// dumpRecords prints the record lines of a batch, noting offsets that do
// not follow the one before.
func dumpRecords(out io.Writer, b *dumpBatch, opts DumpOptions, last *int64, gaps *[][2]int64) error {
	h := &b.h
	var sb strings.Builder
	return forEachRecord(b, func(r *record.Record, offset, ts int64) error {
		if offset != *last+1 {
			*gaps = append(*gaps, [2]int64{*last, offset})
		}
		*last = offset
		sb.Reset()
		if !opts.SkipRecordMetadata {
			fmt.Fprintf(&sb, "| offset: %d %s: %d keySize: %d valueSize: %d", offset, v2TimestampType(h), ts, lenOrNull(r.Key), lenOrNull(r.Value))
			sequence := record.NoSequence
			if h.BaseSequence >= 0 {
				sequence = record.IncrementSequence(h.BaseSequence, r.OffsetDelta)
			}
			fmt.Fprintf(&sb, " sequence: %d headerKeys: [", sequence)
			it := r.Headers.Iter()
			for i := 0; ; i++ {
				hd, ok := it.Next()
				if !ok {
					break
				}
				if i > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(javaString(hd.Key))
			}
			sb.WriteByte(']')
			if h.Control() {
				if err := controlRecordText(&sb, r); err != nil {
					return fmt.Errorf("record at offset %d: %w", offset, err)
				}
			}
		}
		if opts.PrintData && !h.Control() {
			prefix := " "
			if opts.SkipRecordMetadata {
				prefix = "| "
			}
			if r.Key != nil {
				sb.WriteString(prefix + "key: " + javaString(r.Key))
				prefix = " "
			}
			if r.Value != nil {
				sb.WriteString(prefix + "payload: " + javaString(r.Value))
			}
		}
		sb.WriteByte('\n')
		_, err := io.WriteString(out, sb.String())
		return err
	})
}

func lenOrNull(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// controlTypeNames are Kafka's ControlRecordType names by id.
var controlTypeNames = []string{"ABORT", "COMMIT", "LEADER_CHANGE", "SNAPSHOT_HEADER", "SNAPSHOT_FOOTER", "KRAFT_VERSION", "KRAFT_VOTERS"}

// controlRecordText appends what Kafka prints for a control record, or
// returns the error Kafka throws for one it cannot parse.
func controlRecordText(sb *strings.Builder, r *record.Record) error {
	if len(r.Key) < 4 {
		return fmt.Errorf("Invalid value size found for end control record key. Must have at least 4 bytes, but found only %d", len(r.Key))
	}
	if v := int16(binary.BigEndian.Uint16(r.Key)); v < 0 {
		return fmt.Errorf("Invalid version found for control record: %d. May indicate data corruption", v)
	}
	typ := int16(binary.BigEndian.Uint16(r.Key[2:]))
	switch {
	case typ == int16(record.ControlAbort) || typ == int16(record.ControlCommit):
		if len(r.Value) < 6 {
			return fmt.Errorf("Invalid value size found for end transaction marker. Must have at least 6 bytes, but found only %d", len(r.Value))
		}
		if v := int16(binary.BigEndian.Uint16(r.Value)); v < 0 {
			return fmt.Errorf("Invalid version found for end transaction marker: %d. May indicate data corruption", v)
		}
		fmt.Fprintf(sb, " endTxnMarker: %s coordinatorEpoch: %d", controlTypeNames[typ], int32(binary.BigEndian.Uint32(r.Value[2:])))
	case typ >= 0 && int(typ) < len(controlTypeNames):
		fmt.Fprintf(sb, " controlType: %s(%d)", controlTypeNames[typ], typ)
	default:
		fmt.Fprintf(sb, " controlType: UNKNOWN(%d)", typ)
	}
	return nil
}

// javaString is b decoded as Java's new String(b, UTF_8) does: each
// malformed byte becomes U+FFFD.
func javaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r) // utf8.RuneError for a malformed byte
		b = b[n:]
	}
	return sb.String()
}

// readIndexFile reads a whole index file; entries is its size rounded down
// to whole entries, zero-filled tail included, as Kafka maps it.
func readIndexFile(path string, entrySize int) (data []byte, entries int, err error) {
	data, err = os.ReadFile(path)
	return data, len(data) / entrySize, err
}

// openIndexDump reads an index file of entrySize-byte entries and opens the
// .log beside it; the caller closes the reader.
func openIndexDump(path string, entrySize int) (base int64, r *dumpReader, data []byte, n int, err error) {
	if base, err = dumpBaseOffset(path); err != nil {
		return 0, nil, nil, 0, err
	}
	if r, err = openDumpReader(siblingPath(path, logSuffix)); err != nil {
		return 0, nil, nil, 0, err
	}
	if data, n, err = readIndexFile(path, entrySize); err != nil {
		r.f.Close()
		return 0, nil, nil, 0, err
	}
	return base, r, data, n, nil
}

// dumpOffsetIndex prints an offset index and checks each entry against the
// batch at its position in the .log beside it, as Kafka's dumpIndex does.
// Like Kafka it stops at the first entry after the first whose offset is
// the base offset: the zero-filled, preallocated tail of an active
// segment's index.
func dumpOffsetIndex(path string, opts DumpOptions, out, errOut io.Writer) error {
	base, r, data, n, err := openIndexDump(path, offsetEntrySize)
	if err != nil {
		return err
	}
	defer r.f.Close()
	if n == 0 {
		fmt.Fprintf(out, "%s is empty.\n", path)
		return nil
	}
	entry := func(i int) (int64, int64) {
		e := data[i*offsetEntrySize:]
		return base + int64(int32(binary.BigEndian.Uint32(e))), int64(int32(binary.BigEndian.Uint32(e[4:])))
	}
	abs, _ := filepath.Abs(path)
	if opts.IndexSanityCheck {
		if last, _ := entry(n - 1); last < base {
			return fmt.Errorf("Corrupt index found, index file (%s) has non-zero size but the last offset is %d which is less than the base offset %d.", abs, last, base)
		}
		if len(data)%offsetEntrySize != 0 {
			return fmt.Errorf("Index file %s is corrupt, found %d bytes which is neither positive nor a multiple of %d.", abs, len(data), offsetEntrySize)
		}
		fmt.Fprintf(out, "%s passed sanity check.\n", path)
		return nil
	}
	maxMessage := int64(opts.MaxMessageSize)
	if maxMessage <= 0 {
		maxMessage = dumpDefaultMaxMessage
	}
	mismatches := map[int64]int64{} // index offset → last offset of the batch there
	defer func() {
		if len(mismatches) == 0 {
			return
		}
		fmt.Fprintf(errOut, "Mismatches in :%s\n", abs)
		keys := slices.Sorted(func(yield func(int64) bool) {
			for k := range mismatches {
				if !yield(k) {
					return
				}
			}
		})
		slices.Reverse(keys)
		for _, k := range keys {
			fmt.Fprintf(errOut, "  Index offset: %d, log offset: %d\n", k, mismatches[k])
		}
	}()
	for i := 0; i < n; i++ {
		offset, pos := entry(i)
		if offset == base && i > 0 {
			return nil
		}
		if pos < 0 || pos > r.size {
			return fmt.Errorf("Invalid position: %d in read from %s (size %d)", pos, r.path, r.size)
		}
		b, err := r.next(pos, min(pos+maxMessage, r.size))
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("no whole batch at position %d of %s (index entry %d)", pos, r.path, i)
		}
		if b.lastOffset() != offset {
			mismatches[offset] = b.lastOffset()
		}
		if !opts.VerifyIndexOnly {
			fmt.Fprintf(out, "offset: %d position: %d\n", offset, pos)
		}
	}
	return nil
}

// timeIndexProblems are what Kafka's dumpTimeIndex reports on stderr.
type timeIndexProblems struct {
	mismatch, outOfOrder, notFound [][2]int64
}

func (p *timeIndexProblems) print(w io.Writer, abs string) {
	if len(p.mismatch) > 0 {
		fmt.Fprintf(w, "Found timestamp mismatch in :%s\n", abs)
		for _, m := range p.mismatch {
			fmt.Fprintf(w, "  Index timestamp: %d, log timestamp: %d\n", m[0], m[1])
		}
	}
	if len(p.outOfOrder) > 0 {
		fmt.Fprintf(w, "Found out of order timestamp in :%s\n", abs)
		for _, m := range p.outOfOrder {
			fmt.Fprintf(w, "  Index timestamp: %d, Previously indexed timestamp: %d\n", m[0], m[1])
		}
	}
	if len(p.notFound) > 0 {
		fmt.Fprintln(w, "The following indexed offsets are not found in the log.")
		for _, m := range p.notFound {
			fmt.Fprintf(w, "Indexed offset: %d, found log offset: %d\n", m[0], m[1])
		}
	}
}

// dumpTimeIndex prints a time index and checks each entry against the
// .log beside it, as Kafka's dumpTimeIndex does: the batch whose last
// offset the entry names must exist and its largest record timestamp must
// be the entry's, and timestamps must increase.
func dumpTimeIndex(path string, opts DumpOptions, out, errOut io.Writer) error {
	base, r, data, n, err := openIndexDump(path, timeEntrySize)
	if err != nil {
		return err
	}
	defer r.f.Close()
	entry := func(i int) (int64, int64) {
		e := data[i*timeEntrySize:]
		return int64(binary.BigEndian.Uint64(e)), base + int64(int32(binary.BigEndian.Uint32(e[8:])))
	}
	abs, _ := filepath.Abs(path)
	if opts.IndexSanityCheck {
		if n > 0 {
			lastTs, lastOffset := entry(n - 1)
			if firstTs, _ := entry(0); lastTs < firstTs {
				return fmt.Errorf("Corrupt time index found, time index file (%s) has non-zero size but the last timestamp is %d which is less than the first timestamp %d", abs, lastTs, firstTs)
			}
			if lastOffset < base {
				return fmt.Errorf("Corrupt time index found, time index file (%s) has non-zero size but the last offset is %d which is less than the first offset %d", abs, lastOffset, base)
			}
		}
		if len(data)%timeEntrySize != 0 {
			return fmt.Errorf("Time index file %s is corrupt, found %d bytes which is neither positive nor a multiple of %d.", abs, len(data), timeEntrySize)
		}
		fmt.Fprintf(out, "%s passed sanity check.\n", path)
		return nil
	}
	var batches []batchRef // read on the first entry: only an index with entries needs the log
	var problems timeIndexProblems
	defer func() { problems.print(errOut, abs) }()
	prevTs := int64(-1)
	for i := 0; i < n; i++ {
		ts, offset := entry(i)
		if offset == base && i > 0 {
			return nil
		}
		if batches == nil {
			if batches, err = allBatches(r); err != nil {
				return err
			}
		}
		j := slices.IndexFunc(batches, func(b batchRef) bool { return b.last >= offset })
		switch {
		case j < 0:
			problems.notFound = append(problems.notFound, [2]int64{offset, -1})
		case batches[j].last != offset:
			problems.notFound = append(problems.notFound, [2]int64{offset, batches[j].last})
		default:
			b, err := r.next(batches[j].pos, r.size)
			if err != nil || b == nil {
				return fmt.Errorf("reread batch at position %d of %s: %v", batches[j].pos, r.path, err)
			}
			maxTs := int64(-1)
			if err := forEachRecord(b, func(_ *record.Record, _, rts int64) error {
				maxTs = max(maxTs, rts)
				return nil
			}); err != nil {
				return err
			}
			if maxTs != ts {
				problems.mismatch = append(problems.mismatch, [2]int64{ts, maxTs})
			}
			if prevTs >= ts {
				problems.outOfOrder = append(problems.outOfOrder, [2]int64{ts, prevTs})
			}
		}
		if !opts.VerifyIndexOnly {
			fmt.Fprintf(out, "timestamp: %d offset: %d\n", ts, offset)
		}
		prevTs = ts
	}
	return nil
}

// batchRef is where a batch starts and its last offset.
type batchRef struct{ pos, last int64 }

// allBatches finds every whole batch of a .log.
func allBatches(r *dumpReader) ([]batchRef, error) {
	out := []batchRef{}
	for pos := int64(0); ; {
		b, err := r.next(pos, r.size)
		if err != nil && r.zeroTail(pos) {
			return out, nil // an active segment's zero-filled tail (runway.go)
		}
		if err != nil || b == nil {
			return out, err
		}
		out = append(out, batchRef{pos, b.lastOffset()})
		pos += int64(len(b.data))
	}
}
