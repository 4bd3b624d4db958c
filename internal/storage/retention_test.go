package storage

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// timedLog has segments of about 3 batches; batch i has timestamp 1000i.
func timedLog(t *testing.T, cfg LogConfig, count int) (*Dir, *Log, string) {
	t.Helper()
	cfg.SegmentBytes = 1200
	d, l, path := newLog(t, cfg)
	for i := 0; i < count; i++ {
		appendOK(t, l, spec{n: 2, value: 150, ts: int64(1000 * i)})
	}
	return d, l, path
}

func TestRetentionByTime(t *testing.T) {
	cfg := testConfig()
	cfg.RetentionMs = 5000
	_, l, _ := timedLog(t, cfg, 30)
	segs := l.NumSegments()
	first := (*l.segList.Load())[1].base

	// Segment 0 holds timestamps up to 2000: it expires after 7000.
	if n, err := l.ApplyRetention(7000, math.MaxInt64); err != nil || n != 0 {
		t.Fatalf("at 7000: deleted %d, %v", n, err)
	}
	if n, err := l.ApplyRetention(7001, math.MaxInt64); err != nil || n != 1 {
		t.Fatalf("at 7001: deleted %d, %v", n, err)
	}
	if l.LogStartOffset() != first || l.NumSegments() != segs-1 {
		t.Fatalf("log start %d (want %d), %d segments", l.LogStartOffset(), first, l.NumSegments())
	}
	if _, err := l.Read(0, math.MaxInt64, 100, true); !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Fatalf("read below the new log start: %v", err)
	}

	t.Run("never past the high watermark", func(t *testing.T) {
		if n, _ := l.ApplyRetention(1e9, first+1); n != 0 {
			t.Fatalf("deleted %d segments holding offsets above the high watermark", n)
		}
	})
	t.Run("everything expired leaves one empty segment at the log end", func(t *testing.T) {
		end := l.LogEndOffset()
		if _, err := l.ApplyRetention(1e9, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		if l.NumSegments() != 1 || l.LogStartOffset() != end || l.LogEndOffset() != end || l.Size() != 0 {
			t.Fatalf("%d segments, log %d-%d, %d bytes", l.NumSegments(), l.LogStartOffset(), l.LogEndOffset(), l.Size())
		}
		if res := appendOK(t, l, spec{n: 1}); res.BaseOffset != end {
			t.Fatalf("appended at %d", res.BaseOffset)
		}
	})
}

func TestRetentionBySize(t *testing.T) {
	cfg := testConfig()
	_, l, _ := timedLog(t, cfg, 30)
	total := l.Size()
	cfg.RetentionBytes = total / 2
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	n, err := l.ApplyRetention(0, math.MaxInt64)
	if err != nil || n == 0 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if l.Size() < cfg.RetentionBytes {
		t.Fatalf("kept %d bytes, below retention.bytes %d", l.Size(), cfg.RetentionBytes)
	}
	if first := (*l.segList.Load())[0].size.Load(); l.Size()-first >= cfg.RetentionBytes {
		t.Fatalf("kept %d bytes; dropping the oldest segment would still keep %d", l.Size(), l.Size()-first)
	}
	cfg.RetentionBytes = 0
	l.SetConfig(cfg)
	l.ApplyRetention(0, math.MaxInt64)
	if l.NumSegments() != 1 || l.Size() == 0 {
		t.Fatalf("size retention removed the active segment: %d segments, %d bytes", l.NumSegments(), l.Size())
	}
}

func TestDeleteRecordsSurvivesCrash(t *testing.T) {
	cfg := testConfig()
	d, l, path := timedLog(t, cfg, 30)
	if _, err := l.DeleteRecordsBefore(l.LogEndOffset() + 1); !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Fatalf("beyond the log end: %v", err)
	}
	start, err := l.DeleteRecordsBefore(25)
	if err != nil || start != 25 {
		t.Fatalf("DeleteRecordsBefore(25) = %d, %v", start, err)
	}
	if again, _ := l.DeleteRecordsBefore(3); again != 25 {
		t.Fatalf("moving the log start back: %d", again)
	}
	for _, s := range *l.segList.Load() {
		if s.base > 25 {
			t.Fatal("segment list starts after the log start")
		}
		break
	}
	d.crash()
	_, l = reopen(t, path, cfg)
	if l.LogStartOffset() != 25 {
		t.Fatalf("log start %d after a crash, want 25", l.LogStartOffset())
	}
	s, err := l.Read(25, math.MaxInt64, 1, true)
	if err != nil || s.FirstOffset > 25 || s.LastOffset < 25 {
		t.Fatalf("Read(25) = %d-%d, %v", s.FirstOffset, s.LastOffset, err)
	}
	s.Release()
	if _, err := l.Read(24, math.MaxInt64, 1, true); !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Fatalf("Read(24): %v", err)
	}
}

func TestDeletedFilesWaitForTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.FileDeleteDelayMs = 60_000
		_, l, path := timedLog(t, cfg, 30)
		dir := partitionDir(path)
		before := len(segmentFiles(t, dir))
		if _, err := l.DeleteRecordsBefore(l.LogEndOffset()); err != nil {
			t.Fatal(err)
		}
		deleted := func() int {
			m, _ := filepath.Glob(filepath.Join(dir, "*"+deletedSuffix))
			return len(m)
		}
		if len(segmentFiles(t, dir)) != 1 || deleted() != 3*(before-1) {
			t.Fatalf("%d live segment files, %d .deleted files", len(segmentFiles(t, dir)), deleted())
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if deleted() == 0 {
			t.Fatal("files removed before file.delete.delay.ms")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := deleted(); n != 0 {
			t.Fatalf("%d .deleted files left after the delay", n)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), deletedSuffix) {
				t.Fatal(e.Name())
			}
		}
	})
}
