package storage

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

func runwayConfig() LogConfig {
	cfg := testConfig()
	cfg.SegmentBytes = 2 << 20
	cfg.SegmentIndexBytes = 64 << 10
	cfg.FlushMessages = 1 // fsync mode
	return cfg
}

// appendDurable appends n batches of about 1 KiB and waits until they are
// durable.
func appendDurable(t *testing.T, l *Log, n int) {
	t.Helper()
	for range n {
		appendOK(t, l, spec{n: 1, value: 1000})
	}
	if err := l.WaitDurable(context.Background(), l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
}

func fileLen(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// dataLen is where the whole v2 batches at the start of the file end.
func dataLen(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pos := int64(0)
	for int64(len(b))-pos >= record.HeaderSize {
		h, err := record.ParseHeader(b[pos:])
		if err != nil || h.Magic != 2 || h.Length == 0 || pos+h.Size() > int64(len(b)) {
			break
		}
		pos += h.Size()
	}
	return pos
}

// runwayIdle waits until no runway extension of l's active segment runs.
func runwayIdle(t *testing.T, l *Log) {
	t.Helper()
	l.mu.Lock()
	seg := l.activeLocked()
	l.mu.Unlock()
	eventually(t, "the runway extension", func() bool { return !seg.extending.Load() })
}

// wantBatches fails the test unless l reads back as n whole batches.
func wantBatches(t *testing.T, l *Log, n int) {
	t.Helper()
	if hs := batches(t, l, 0); len(hs) != n {
		t.Fatalf("read %d batches, want %d", len(hs), n)
	}
}

// runwayLog opens a log in fsync mode in a new directory and appends n
// durable batches.
func runwayLog(t *testing.T, n int) (string, *Dir, *Log) {
	t.Helper()
	path := t.TempDir()
	d := openDir(t, path)
	l := openTestLog(t, d, runwayConfig())
	appendDurable(t, l, n)
	return path, d, l
}

// checkNoRunway fails the test unless every file holds only whole batches.
func checkNoRunway(t *testing.T, files []string) {
	t.Helper()
	for _, f := range files {
		if data, length := dataLen(t, f), fileLen(t, f); data != length {
			t.Errorf("%s: %d bytes of batches in a %d-byte file", f, data, length)
		}
	}
}

func TestRunwayKeepsTheActiveFileAheadOfItsData(t *testing.T) {
	_, l, _ := newLog(t, runwayConfig())
	dir := l.dir
	appendDurable(t, l, 100)
	runwayIdle(t, l)
	files := segmentFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d segments", len(files))
	}
	data, length := dataLen(t, files[0]), fileLen(t, files[0])
	if data != l.Size() {
		t.Fatalf("batches end at %d, Size says %d", data, l.Size())
	}
	if length < data+runwayMinStep/2 || length > l.Config().SegmentBytes {
		t.Fatalf("file of %d bytes for %d of data: want a runway of at least %d within the segment size", length, data, runwayMinStep/2)
	}
	wantBatches(t, l, 100)
}

// A partition written to once gets a runway of one small step; a busy one
// works up to a megabyte at a time.
func TestRunwayGrowsWithTheWrites(t *testing.T) {
	_, l, _ := newLog(t, runwayConfig())
	appendDurable(t, l, 1)
	runwayIdle(t, l)
	f := segmentFiles(t, l.dir)[0]
	if length, data := fileLen(t, f), l.Size(); length <= data || length > data+runwayMinStep {
		t.Fatalf("after one append: file of %d bytes for %d of data, want a runway of at most %d", length, data, runwayMinStep)
	}
	for range 30 {
		appendDurable(t, l, 100) // about 100 KiB a time
		runwayIdle(t, l)
	}
	l.mu.Lock()
	step := l.activeLocked().runwayStep()
	l.mu.Unlock()
	if step != runwayChunk {
		t.Fatalf("step %d after 3 MiB of appends, want %d", step, runwayChunk)
	}
}

func TestRunwayOnlyInFsyncMode(t *testing.T) {
	cfg := runwayConfig()
	cfg.FlushMessages = 1 << 40
	_, l, _ := newLog(t, cfg)
	dir := l.dir
	appendDurable(t, l, 50)
	f := segmentFiles(t, dir)[0]
	if got := fileLen(t, f); got != l.Size() {
		t.Fatalf("page-cache mode: file of %d bytes for %d of data", got, l.Size())
	}
}

func TestRunwayIsCutWhenASegmentRolls(t *testing.T) {
	_, l, _ := newLog(t, runwayConfig())
	dir := l.dir
	appendDurable(t, l, 5000) // about 5 MiB: three segments
	files := segmentFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("%d segments, want at least 3", len(files))
	}
	checkNoRunway(t, files[:len(files)-1])
	wantBatches(t, l, 5000)
}

func TestRunwayIsCutOnACleanClose(t *testing.T) {
	path, d, l := runwayLog(t, 300)
	leo := l.LogEndOffset()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoRunway(t, segmentFiles(t, l.dir))
	d = openDir(t, path)
	if !d.Clean() {
		t.Fatal("no clean-shutdown marker")
	}
	l = openTestLog(t, d, runwayConfig())
	if l.LogEndOffset() != leo {
		t.Fatalf("log end %d after reopening, want %d", l.LogEndOffset(), leo)
	}
	appendDurable(t, l, 10)
	wantBatches(t, l, 310)
}

func TestRunwayIsCutByRecoveryAfterACrash(t *testing.T) {
	path, d, l := runwayLog(t, 300)
	runwayIdle(t, l)
	leo, size := l.LogEndOffset(), l.Size()
	last := segmentFiles(t, l.dir)[0]
	if fileLen(t, last) <= size {
		t.Fatal("no runway before the crash")
	}
	d.crash()

	d = openDir(t, path)
	l = openTestLog(t, d, runwayConfig())
	if l.LogEndOffset() != leo || l.Size() != size {
		t.Fatalf("recovered log end %d, size %d; want %d, %d", l.LogEndOffset(), l.Size(), leo, size)
	}
	wantBatches(t, l, 300)
	appendDurable(t, l, 10)
	wantBatches(t, l, 310)
	if data := dataLen(t, last); data != l.Size() {
		t.Fatalf("batches end at %d, Size says %d", data, l.Size())
	}
}

func TestRunwayAndTruncation(t *testing.T) {
	_, l, _ := newLog(t, runwayConfig())
	dir := l.dir
	appendDurable(t, l, 200)
	// An extension the last append started would otherwise grow the
	// runway again right after the cut, as it may on an active segment.
	runwayIdle(t, l)
	if err := l.Truncate(150); err != nil {
		t.Fatal(err)
	}
	f := segmentFiles(t, dir)[0]
	checkNoRunway(t, []string{f})
	if data := dataLen(t, f); data != l.Size() {
		t.Fatalf("after truncation: %d bytes of batches, Size %d", data, l.Size())
	}
	appendDurable(t, l, 20)
	hs := batches(t, l, 0)
	if len(hs) != 170 || hs[len(hs)-1].LastOffset() != 169 {
		t.Fatalf("read %d batches ending at %d, want 170 ending at 169", len(hs), hs[len(hs)-1].LastOffset())
	}
}

// Appends race runway extensions (and overrun them: 64 KiB batches use up
// a 1 MiB runway in 16 appends) while readers read; every batch must read
// back whole. Run with -race.
func TestRunwayUnderConcurrentAppendsAndReads(t *testing.T) {
	cfg := runwayConfig()
	cfg.SegmentBytes = 8 << 20
	_, l, _ := newLog(t, cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 400 {
			if _, err := l.AppendAsLeader(makeBatch(spec{n: 64, value: 1000}), 0, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
			batches(t, l, 0)
		}
	}
	if err := l.WaitDurable(context.Background(), l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, l, 400)
	checkNoRunway(t, segmentFiles(t, l.dir)[:l.NumSegments()-1])
}

// An extension's write-back error was consumed by its own sync: the
// flusher must fail the log rather than acknowledge what follows.
func TestARunwayWriteBackErrorFailsTheLog(t *testing.T) {
	_, _, l := runwayLog(t, 1)
	runwayIdle(t, l)
	l.mu.Lock()
	l.activeLocked().backgroundFailed(errors.New("EIO"))
	l.mu.Unlock()
	res := appendOK(t, l, spec{n: 1, value: 100})
	if err := l.WaitDurable(context.Background(), res.LastOffset+1); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("WaitDurable after a write-back error: %v, want ErrLogFailed", err)
	}
}
