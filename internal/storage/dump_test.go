package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// dumpLogFixture appends, to a fresh log, the batches the dump tests look
// at and returns the log's directory and the headers of what it holds.
//
//	offsets 0-1  idempotent (producer 7, epoch 2, sequence 0), key and headers
//	offsets 2-3  gzip
//	offset  4    transactional (producer 9)
//	offset  5    its commit marker (control batch)
//	offsets 6-   uncompressed 300-byte values, to fill the indexes
func dumpLogFixture(t *testing.T) (dir string, hs []record.Header, pos []int64) {
	t.Helper()
	_, l, path := newLog(t, testConfig())
	build := func(b *record.Builder) []byte {
		out, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	b := record.NewBuilder(record.CodecNone)
	b.SetProducer(7, 2, 0)
	b.Add(1000, []byte("k1"), []byte("v1"), []record.RecordHeader{{Key: []byte("h1"), Value: []byte("x")}, {Key: []byte("h2"), Value: nil}})
	b.Add(1005, nil, []byte("v2"), nil)
	idem := build(b)
	b = record.NewBuilder(record.CodecGzip)
	b.Add(2000, nil, []byte("a"), nil)
	b.Add(2001, []byte("kb"), []byte("b"), nil)
	gz := build(b)
	b = record.NewBuilder(record.CodecNone)
	b.SetProducer(9, 0, 0)
	b.SetTransactional(true)
	b.Add(3000, nil, []byte("t"), nil)
	txn := build(b)
	marker := record.BuildEndTxnMarker(nil, record.EndTxnMarker{ProducerID: 9, ProducerEpoch: 0, Commit: true, CoordinatorEpoch: 4}, 3001)
	for i, batch := range [][]byte{idem, gz, txn, marker} {
		if _, err := l.AppendAsLeader(batch, 0, 5000); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	for i := 0; i < 6; i++ {
		appendOK(t, l, spec{n: 1, value: 300, ts: int64(4000 + i)})
	}
	if err := l.ScanHeaders(0, func(p int64, h record.Header) bool {
		hs, pos = append(hs, h), append(pos, p)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 {
		t.Fatalf("%d segments, want 1", l.NumSegments())
	}
	return filepath.Join(path, testTP.String()), hs, pos
}

func dump(t *testing.T, path string, opts DumpOptions) (out, errOut string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = DumpFile(path, opts, &o, &e)
	return o.String(), e.String(), err
}

func TestDumpLogBatchesAndRecords(t *testing.T) {
	dir, hs, pos := dumpLogFixture(t)
	seg := filepath.Join(dir, "00000000000000000000.log")
	out, errOut, err := dump(t, seg, DumpOptions{PrintData: true, MaxBytes: -1})
	if err != nil {
		t.Fatalf("DumpFile: %v", err)
	}
	batchLine := func(i int, rest string) string {
		return fmt.Sprintf("%s position: %d %s size: %d magic: 2 compresscodec: %s crc: %d isvalid: true",
			rest, pos[i], "CreateTime: "+fmt.Sprint(hs[i].MaxTimestamp), hs[i].Size(), hs[i].Codec(), hs[i].CRC)
	}
	want := []string{
		"Dumping " + seg,
		"Log starting offset: 0",
		batchLine(0, "baseOffset: 0 lastOffset: 1 count: 2 baseSequence: 0 lastSequence: 1 producerId: 7 producerEpoch: 2 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty"),
		"| offset: 0 CreateTime: 1000 keySize: 2 valueSize: 2 sequence: 0 headerKeys: [h1,h2] key: k1 payload: v1",
		"| offset: 1 CreateTime: 1005 keySize: -1 valueSize: 2 sequence: 1 headerKeys: [] payload: v2",
		batchLine(1, "baseOffset: 2 lastOffset: 3 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty"),
		"| offset: 2 CreateTime: 2000 keySize: -1 valueSize: 1 sequence: -1 headerKeys: [] payload: a",
		"| offset: 3 CreateTime: 2001 keySize: 2 valueSize: 1 sequence: -1 headerKeys: [] key: kb payload: b",
		batchLine(2, "baseOffset: 4 lastOffset: 4 count: 1 baseSequence: 0 lastSequence: 0 producerId: 9 producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: true isControl: false deleteHorizonMs: OptionalLong.empty"),
		"| offset: 4 CreateTime: 3000 keySize: -1 valueSize: 1 sequence: 0 headerKeys: [] payload: t",
		batchLine(3, "baseOffset: 5 lastOffset: 5 count: 1 baseSequence: -1 lastSequence: -1 producerId: 9 producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: true isControl: true deleteHorizonMs: OptionalLong.empty"),
		"| offset: 5 CreateTime: 3001 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 4",
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// The six 300-byte batches follow, a batch and a record line each (their
	// values hold newlines, printed raw as Kafka does).
	if len(lines) < len(want) || strings.Count(out, "\nbaseOffset: ") != len(hs) || strings.Count(out, "\n| offset: ") != 12 {
		t.Fatalf("want %d batch and 12 record lines:\n%s", len(hs), out)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	if hs[1].Codec() != record.CodecGzip || !strings.Contains(lines[5], "compresscodec: gzip") {
		t.Errorf("the second batch is not gzip: %s", lines[5])
	}
	if errOut != "" {
		t.Errorf("stderr %q", errOut)
	}

	t.Run("a batch line alone without --deep-iteration", func(t *testing.T) {
		out, _, err := dump(t, seg, DumpOptions{MaxBytes: -1})
		if err != nil || strings.Contains(out, "| offset") || strings.Count(out, "baseOffset: ") != len(hs) {
			t.Fatalf("err %v, out:\n%s", err, out)
		}
	})
	t.Run("--skip-record-metadata prints the data after the indent", func(t *testing.T) {
		out, _, _ := dump(t, seg, DumpOptions{PrintData: true, SkipRecordMetadata: true, MaxBytes: -1})
		lines := strings.Split(out, "\n")
		if lines[3] != "| key: k1 payload: v1" || lines[4] != "| payload: v2" || lines[11] != "" {
			t.Fatalf("out:\n%s", out)
		}
	})
	t.Run("--max-bytes stops before the batch that does not fit, silently", func(t *testing.T) {
		out, _, err := dump(t, seg, DumpOptions{MaxBytes: pos[2] + 1})
		if err != nil || strings.Count(out, "baseOffset: ") != 2 || strings.Contains(out, "Found") {
			t.Fatalf("err %v, out:\n%s", err, out)
		}
	})
}

// copySegment copies the fixture's .log into a new directory, cut to
// size bytes, and returns its path.
func copySegment(t *testing.T, dir string, mutate func([]byte) []byte) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "00000000000000000000.log"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(path, mutate(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDumpLogDamage(t *testing.T) {
	dir, hs, pos := dumpLogFixture(t)
	end := pos[len(pos)-1] + hs[len(hs)-1].Size()

	t.Run("a torn last batch is reported as invalid bytes", func(t *testing.T) {
		seg := copySegment(t, dir, func(b []byte) []byte { return b[:end-10] })
		out, _, err := dump(t, seg, DumpOptions{MaxBytes: -1})
		want := fmt.Sprintf("Found %d invalid bytes at the end of 00000000000000000000.log\n", hs[len(hs)-1].Size()-10)
		if err != nil || !strings.HasSuffix(out, want) || strings.Count(out, "baseOffset: ") != len(hs)-1 {
			t.Fatalf("err %v, out:\n%s", err, out)
		}
	})
	t.Run("a corrupt record is printed as invalid", func(t *testing.T) {
		seg := copySegment(t, dir, func(b []byte) []byte { b[pos[2]+record.HeaderSize+3] ^= 0xff; return b[:end] })
		out, _, err := dump(t, seg, DumpOptions{MaxBytes: -1})
		if err != nil || strings.Count(out, "isvalid: false") != 1 || !strings.Contains(out, fmt.Sprintf("position: %d ", pos[2])) {
			t.Fatalf("err %v, out:\n%s", err, out)
		}
	})
	t.Run("a length below 14 stops with Kafka's message", func(t *testing.T) {
		seg := copySegment(t, dir, func(b []byte) []byte {
			b = append(b[:end], make([]byte, 20)...)
			b[end+11] = 3
			return b
		})
		out, _, err := dump(t, seg, DumpOptions{MaxBytes: -1})
		want := "Found record size 3 smaller than minimum record overhead (14) in file " + seg + "."
		if err == nil || err.Error() != want || strings.Count(out, "baseOffset: ") != len(hs) {
			t.Fatalf("err %v, out:\n%s", err, out)
		}
	})
	t.Run("a zero-filled tail ends the dump with a note", func(t *testing.T) {
		seg := copySegment(t, dir, func(b []byte) []byte { return append(b[:end], make([]byte, 4096)...) })
		out, errOut, err := dump(t, seg, DumpOptions{MaxBytes: -1})
		if err != nil || strings.Contains(out, "Found") || !strings.HasPrefix(errOut, "4096 zero bytes at the end") {
			t.Fatalf("err %v, stderr %q, out:\n%s", err, errOut, out)
		}
	})
	t.Run("an unknown suffix is ignored as Kafka does", func(t *testing.T) {
		out, errOut, err := dump(t, filepath.Join(dir, "notes.txt"), DumpOptions{})
		if err != nil || out != "Dumping "+filepath.Join(dir, "notes.txt")+"\n" || errOut != "Ignoring unknown file "+filepath.Join(dir, "notes.txt")+"\n" {
			t.Fatalf("err %v, stdout %q, stderr %q", err, out, errOut)
		}
	})
}

func TestDumpIndexes(t *testing.T) {
	dir, hs, pos := dumpLogFixture(t)
	byPos := map[int64]record.Header{}
	for i, p := range pos {
		byPos[p] = hs[i]
	}

	t.Run("the offset index stops at its zero-filled tail and matches the log", func(t *testing.T) {
		path := filepath.Join(dir, "00000000000000000000.index")
		st, err := os.Stat(path)
		if err != nil || st.Size() <= 8*4 {
			t.Fatalf("index %v, size %d: want a preallocated active index", err, st.Size())
		}
		out, errOut, err := dump(t, path, DumpOptions{})
		if err != nil || errOut != "" {
			t.Fatalf("err %v, stderr %q", err, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) < 3 || lines[0] != "Dumping "+path {
			t.Fatalf("out:\n%s", out)
		}
		for _, l := range lines[1:] {
			var off, p int64
			if _, err := fmt.Sscanf(l, "offset: %d position: %d", &off, &p); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if h, ok := byPos[p]; !ok || h.LastOffset() != off {
				t.Errorf("line %q names no batch ending at that offset", l)
			}
		}
		if out2, _, _ := dump(t, path, DumpOptions{VerifyIndexOnly: true}); out2 != "Dumping "+path+"\n" {
			t.Errorf("--verify-index-only printed:\n%s", out2)
		}
		if out3, _, err := dump(t, path, DumpOptions{IndexSanityCheck: true}); err != nil || out3 != "Dumping "+path+"\n"+path+" passed sanity check.\n" {
			t.Errorf("sanity check: %v\n%s", err, out3)
		}
	})
	t.Run("the time index names batches and their largest timestamps", func(t *testing.T) {
		path := filepath.Join(dir, "00000000000000000000.timeindex")
		out, errOut, err := dump(t, path, DumpOptions{})
		if err != nil || errOut != "" {
			t.Fatalf("err %v, stderr %q", err, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) < 2 {
			t.Fatalf("out:\n%s", out)
		}
		for _, l := range lines[1:] {
			var ts, off int64
			if _, err := fmt.Sscanf(l, "timestamp: %d offset: %d", &ts, &off); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			found := false
			for _, h := range hs {
				found = found || (h.LastOffset() == off && h.MaxTimestamp == ts)
			}
			if !found {
				t.Errorf("line %q names no batch", l)
			}
		}
	})
	t.Run("a wrong index entry is reported on stderr as Kafka does", func(t *testing.T) {
		tmp := t.TempDir()
		data, _ := os.ReadFile(filepath.Join(dir, "00000000000000000000.log"))
		os.WriteFile(filepath.Join(tmp, "00000000000000000000.log"), data, 0o644)
		// Entry (3, pos of the batch 2-3) then (1, pos of batch 4): the
		// second is wrong (that batch ends at 4).
		idx := []byte{0, 0, 0, 3, 0, 0, 0, byte(pos[1]), 0, 0, 0, 1, 0, 0, 0, byte(pos[2])}
		if pos[2] > 255 {
			t.Skip("fixture positions do not fit the hand-made index")
		}
		path := filepath.Join(tmp, "00000000000000000000.index")
		os.WriteFile(path, idx, 0o644)
		out, errOut, err := dump(t, path, DumpOptions{})
		abs, _ := filepath.Abs(path)
		wantOut := fmt.Sprintf("Dumping %s\noffset: 3 position: %d\noffset: 1 position: %d\n", path, pos[1], pos[2])
		if err != nil || out != wantOut || errOut != "Mismatches in :"+abs+"\n  Index offset: 1, log offset: 4\n" {
			t.Fatalf("err %v\nstdout %q\nstderr %q", err, out, errOut)
		}
		if _, _, err := dump(t, path, DumpOptions{IndexSanityCheck: true}); err != nil {
			t.Fatalf("sanity check of a well-formed file: %v", err)
		}
		os.WriteFile(path, idx[:12], 0o644)
		if _, _, err := dump(t, path, DumpOptions{IndexSanityCheck: true}); err == nil || !strings.Contains(err.Error(), "found 12 bytes which is neither positive nor a multiple of 8") {
			t.Fatalf("sanity check of a 12-byte index: %v", err)
		}
	})
}

func FuzzDumpFile(f *testing.F) {
	var seed []byte
	for _, s := range []spec{{n: 2, value: 10, ts: 5}, {n: 1, value: 3, pid: 4, epoch: 1, seq: 0, txn: true}} {
		seed = append(seed, makeBatch(s)...)
	}
	f.Add(seed, []byte{0, 0, 0, 1, 0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1})
	f.Add(seed[:len(seed)-5], make([]byte, 16), make([]byte, 24))
	f.Fuzz(func(t *testing.T, log, index, timeIndex []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{".log": log, ".index": index, ".timeindex": timeIndex} {
			if err := os.WriteFile(filepath.Join(dir, "00000000000000000042"+name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{".log", ".index", ".timeindex"} {
			path := filepath.Join(dir, "00000000000000000042"+name)
			for _, opts := range []DumpOptions{{PrintData: true, MaxBytes: -1}, {IndexSanityCheck: true}, {VerifyIndexOnly: true, MaxBytes: 100}} {
				var out bytes.Buffer
				_ = DumpFile(path, opts, &out, &out)
				if !strings.HasPrefix(out.String(), "Dumping "+path+"\n") {
					t.Fatalf("output does not start with the Dumping line: %q", out.String())
				}
			}
		}
	})
}
