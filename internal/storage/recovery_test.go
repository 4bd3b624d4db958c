package storage

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// filled returns a log with count batches over several segments, and the
// headers of those batches.
func filled(t *testing.T, cfg LogConfig, count int) (*Dir, *Log, string, []record.Header) {
	t.Helper()
	d, l, path := newLog(t, cfg)
	for i := 0; i < count; i++ {
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 1 + i%3, value: 150, ts: int64(1000 + 10*i)}), int32(i/20), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return d, l, path, batches(t, l, 0)
}

// reopen opens path again after the previous Dir was closed or crashed.
func reopen(t *testing.T, path string, cfg LogConfig) (*Dir, *Log) {
	t.Helper()
	d := openDir(t, path)
	return d, openTestLog(t, d, cfg)
}

// samePrefix asserts that got is want[:n].
func samePrefix(t *testing.T, got, want []record.Header, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d batches, want %d", len(got), n)
	}
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			t.Fatalf("batch %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func partitionDir(path string) string { return filepath.Join(path, testTP.String()) }

func TestCleanReopen(t *testing.T) {
	cfg := testConfig()
	d, l, path, want := filled(t, cfg, 100)
	end := l.LogEndOffset()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range segmentFiles(t, partitionDir(path)) {
		base := f[:len(f)-len(logSuffix)]
		for _, idx := range []struct {
			suffix string
			size   int64
		}{{indexSuffix, offsetEntrySize}, {timeIndexSuffix, timeEntrySize}} {
			st, err := os.Stat(base + idx.suffix)
			if err != nil || st.Size()%idx.size != 0 || st.Size() >= int64(cfg.SegmentIndexBytes) {
				t.Fatalf("%s not trimmed: %v %d bytes", base+idx.suffix, err, st.Size())
			}
		}
	}
	d, l = reopen(t, path, cfg)
	if !d.Clean() {
		t.Fatal("Clean() = false after Close")
	}
	if l.LogEndOffset() != end || l.RecoveryPoint() != end {
		t.Fatalf("log end %d, recovery point %d, want %d", l.LogEndOffset(), l.RecoveryPoint(), end)
	}
	samePrefix(t, batches(t, l, 0), want, len(want))
	appendOK(t, l, spec{n: 1})
	if l.LogEndOffset() != end+1 {
		t.Fatal("append after reopen")
	}
}

func TestUncleanReopenKeepsWrittenData(t *testing.T) {
	cfg := testConfig()
	d, l, path, want := filled(t, cfg, 100)
	if err := d.Checkpoint(); err != nil { // recovery point mid-log
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 2, value: 150, ts: 5000}), 4, 0); err != nil {
			t.Fatal(err)
		}
	}
	want = batches(t, l, 0)
	d.crash()
	d, l = reopen(t, path, cfg)
	if d.Clean() {
		t.Fatal("Clean() after a crash")
	}
	samePrefix(t, batches(t, l, 0), want, len(want))
	if e, off := l.EndOffsetForEpoch(2); e != 2 || off != want[60].BaseOffset {
		t.Fatalf("epoch 2 ends at (%d, %d), want (2, %d)", e, off, want[60].BaseOffset)
	}
}

// damage crashes the log, applies f to the newest segment file, reopens it
// and returns the recovered batches.
func damage(t *testing.T, f func(t *testing.T, path string, last record.Header)) ([]record.Header, []record.Header, *Log) {
	t.Helper()
	cfg := testConfig()
	d, _, path, want := filled(t, cfg, 80)
	d.crash()
	files := segmentFiles(t, partitionDir(path))
	f(t, files[len(files)-1], want[len(want)-1])
	_, l := reopen(t, path, cfg)
	return batches(t, l, 0), want, l
}

func TestRecoveryTornTail(t *testing.T) {
	got, want, l := damage(t, func(t *testing.T, path string, last record.Header) {
		st, _ := os.Stat(path)
		if err := os.Truncate(path, st.Size()-10); err != nil {
			t.Fatal(err)
		}
	})
	samePrefix(t, got, want, len(want)-1)
	if l.LogEndOffset() != want[len(want)-1].BaseOffset {
		t.Fatalf("log end %d", l.LogEndOffset())
	}
	appendOK(t, l, spec{n: 1})
	samePrefix(t, batches(t, l, 0)[:len(want)-1], want, len(want)-1)
}

func TestRecoveryGarbageAfterTail(t *testing.T) {
	for name, junk := range map[string][]byte{
		"zeros":                          make([]byte, 4096),
		"random bytes":                   bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x17}, 300),
		"a header claiming a huge batch": binary.BigEndian.AppendUint32(make([]byte, 8), math.MaxInt32),
	} {
		t.Run(name, func(t *testing.T) {
			got, want, _ := damage(t, func(t *testing.T, path string, _ record.Header) {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.Write(junk)
				f.Close()
			})
			samePrefix(t, got, want, len(want))
		})
	}
}

func TestRecoveryFlippedBit(t *testing.T) {
	var cut int
	got, want, _ := damage(t, func(t *testing.T, path string, _ record.Header) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Flip a bit in the middle of the file, inside a record.
		mid := int64(len(data) / 2)
		var pos int64
		for pos+int64(binary.BigEndian.Uint32(data[pos+8:]))+12 <= mid {
			pos += int64(binary.BigEndian.Uint32(data[pos+8:])) + 12
		}
		data[pos+record.HeaderSize+2] ^= 0x10
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cut = int(int64(binary.BigEndian.Uint64(data[pos:])))
	})
	n := 0
	for n < len(want) && want[n].BaseOffset < int64(cut) {
		n++
	}
	if n == len(want) || n == 0 {
		t.Fatalf("flip at offset %d not in the last segment's middle", cut)
	}
	samePrefix(t, got, want, n)
}

func TestRecoveryCutsLaterSegments(t *testing.T) {
	cfg := testConfig()
	d, _, path, want := filled(t, cfg, 80)
	d.crash()
	files := segmentFiles(t, partitionDir(path))
	if len(files) < 4 {
		t.Fatalf("%d segments", len(files))
	}
	// Corrupt the first batch of the second segment: with no recovery
	// point checkpoint, recovery scans everything, and everything from
	// that batch on is dropped.
	data, _ := os.ReadFile(files[1])
	data[30] ^= 0xff
	os.WriteFile(files[1], data, 0o644)
	_, l := reopen(t, path, cfg)
	base, _ := parseSegmentName(filepath.Base(files[1]), logSuffix)
	n := 0
	for want[n].BaseOffset < base {
		n++
	}
	samePrefix(t, batches(t, l, 0), want, n)
	if l.NumSegments() != 2 || len(segmentFiles(t, partitionDir(path))) != 2 {
		t.Fatalf("%d segments remain, want the first and the emptied second", l.NumSegments())
	}
	latest := want[n-1].PartitionLeaderEpoch
	if e, off := l.EndOffsetForEpoch(latest); l.LatestEpoch() != latest || e != latest || off != l.LogEndOffset() {
		t.Fatalf("epoch cache after the cut: latest %d, epoch %d ends at (%d, %d)", l.LatestEpoch(), latest, e, off)
	}
}

func TestMissingOrCorruptIndexesAreRebuilt(t *testing.T) {
	cases := map[string]func(t *testing.T, base string){
		"missing offset index": func(t *testing.T, base string) { os.Remove(base + indexSuffix) },
		"missing time index":   func(t *testing.T, base string) { os.Remove(base + timeIndexSuffix) },
		"torn offset index": func(t *testing.T, base string) {
			st, _ := os.Stat(base + indexSuffix)
			os.Truncate(base+indexSuffix, st.Size()-3)
		},
		"offset index pointing past the log": func(t *testing.T, base string) {
			f, _ := os.OpenFile(base+indexSuffix, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0, 0, 0x10, 0, 0x7f, 0, 0, 0})
			f.Close()
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			d, _, path, want := filled(t, cfg, 80)
			d.Close()
			files := segmentFiles(t, partitionDir(path))
			for _, f := range []string{files[0], files[len(files)-1]} {
				breakIt(t, f[:len(f)-len(logSuffix)])
			}
			_, l := reopen(t, path, cfg)
			samePrefix(t, batches(t, l, 0), want, len(want))
			for _, h := range want {
				s, err := l.Read(h.LastOffset(), math.MaxInt64, 1, true)
				if err != nil || s.FirstOffset != h.BaseOffset {
					t.Fatalf("Read(%d) = %d, %v", h.LastOffset(), s.FirstOffset, err)
				}
				s.Release()
			}
			f := files[0]
			seg := &segment{base: 0, idx: newIndex(f[:len(f)-4]+indexSuffix, offsetEntrySize, 0), tidx: newIndex(f[:len(f)-4]+timeIndexSuffix, timeEntrySize, 0)}
			st, _ := os.Stat(f)
			seg.size.Store(st.Size())
			if err := quickCheck(seg, math.MaxInt64); err != nil {
				t.Fatalf("rebuilt index of the first segment fails its check: %v", err)
			}
		})
	}
}

func TestMissingEpochCheckpointIsRebuilt(t *testing.T) {
	cfg := testConfig()
	d, l, path, _ := filled(t, cfg, 80)
	want := l.epochs.snapshot()
	d.Close()
	os.Remove(filepath.Join(partitionDir(path), epochCheckpointFile))
	_, l = reopen(t, path, cfg)
	got := l.epochs.snapshot()
	if len(got) != len(want) || len(want) != 4 {
		t.Fatalf("rebuilt %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("rebuilt %v, want %v", got, want)
		}
	}
}

func TestCorruptProducerSnapshotFallsBack(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 300
	d, l, path := newLog(t, cfg)
	produced := produceRun(t, l, 9)
	d.Close()
	snaps, _ := listSnapshots(partitionDir(path))
	if len(snaps) < 3 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	newest := snapshotPath(partitionDir(path), snaps[len(snaps)-1])
	data, _ := os.ReadFile(newest)
	data[len(data)-1] ^= 1
	os.WriteFile(newest, data, 0o644)
	_, l = reopen(t, path, cfg)
	checkIdempotence(t, l, produced)
}

func TestLogStartCheckpointBeyondTheLog(t *testing.T) {
	cfg := testConfig()
	d, _, path, _ := filled(t, cfg, 10)
	d.Close()
	ckpt := map[TopicPartition]int64{testTP: 1000}
	if err := writeFileAtomic(filepath.Join(path, logStartFile), encodeOffsetCheckpoint(ckpt)); err != nil {
		t.Fatal(err)
	}
	_, l := reopen(t, path, cfg)
	if l.LogStartOffset() != 1000 || l.LogEndOffset() != 1000 || l.NumSegments() != 1 {
		t.Fatalf("log %d-%d with %d segments, want empty at 1000", l.LogStartOffset(), l.LogEndOffset(), l.NumSegments())
	}
	if res := appendOK(t, l, spec{n: 1}); res.BaseOffset != 1000 {
		t.Fatalf("appended at %d", res.BaseOffset)
	}
}

func TestRecoveryFromMidEpochKeepsEpochStarts(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 2000
	d, l, path, _ := filled(t, cfg, 100) // epochs 0-4, 20 batches each
	epochs := l.epochs.snapshot()
	// Recovery starts at a segment inside epoch 3, older than the latest.
	mid := int64(-1)
	for _, s := range *l.segList.Load() {
		if s.base > epochs[3].startOffset && s.base < epochs[4].startOffset {
			mid = s.base
			break
		}
	}
	if mid < 0 {
		t.Fatal("no segment starts inside epoch 3")
	}
	d.crash()
	ckpt := map[TopicPartition]int64{testTP: mid}
	if err := writeFileAtomic(filepath.Join(path, recoveryPointFile), encodeOffsetCheckpoint(ckpt)); err != nil {
		t.Fatal(err)
	}
	_, l = reopen(t, path, cfg)
	if got := l.epochs.snapshot(); !slices.Equal(got, epochs) {
		t.Fatalf("epochs after recovery from %d: %v, want %v", mid, got, epochs)
	}
}

func TestUntrimmedIndexOfOldSegmentIsRebuilt(t *testing.T) {
	cfg := testConfig()
	cfg.RetentionMs = 10_000
	d, l, path, want := filled(t, cfg, 80)
	first := (*l.segList.Load())[0]
	maxTs := first.maxTs
	d.Close()
	// As if the process died before trimming the first segment's indexes:
	// both end in preallocated zeros.
	f := segmentFiles(t, partitionDir(path))[0]
	base := f[:len(f)-len(logSuffix)]
	for _, p := range []string{base + indexSuffix, base + timeIndexSuffix} {
		st, _ := os.Stat(p)
		os.Truncate(p, st.Size()+120)
	}
	_, l = reopen(t, path, cfg)
	samePrefix(t, batches(t, l, 0), want, len(want))
	if got := (*l.segList.Load())[0].maxTs; got != maxTs {
		t.Fatalf("first segment's max timestamp %d after reload, want %d", got, maxTs)
	}
	if n, _ := l.ApplyRetention(maxTs+cfg.RetentionMs, math.MaxInt64); n != 0 {
		t.Fatalf("retention deleted %d segments early", n)
	}
}
