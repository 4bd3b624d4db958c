package storage

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// fuzzSegment is a valid segment of 12 batches (offsets 0-35) and the end
// position of each batch.
func fuzzSegment() ([]byte, []int) {
	var seg []byte
	var ends []int
	for i := 0; i < 12; i++ {
		b := makeBatch(spec{n: 3, value: 10 + i, ts: int64(i * 100), tsStep: 7, pid: 5, epoch: 0, seq: int32(3 * i)})
		record.SetBaseOffset(b, int64(3*i))
		record.SetPartitionLeaderEpoch(b, int32(i/4))
		seg = append(seg, b...)
		ends = append(ends, len(seg))
	}
	return seg, ends
}

// FuzzRecovery damages the tail of a segment (appending data, or cutting
// the file at cut and appending data) and opens the log as after a crash.
// Opening must not panic, every batch kept must pass its CRC and follow
// the previous one, and every valid batch before the damage must be kept.
func FuzzRecovery(f *testing.F) {
	valid, _ := fuzzSegment()
	f.Add([]byte{}, false, uint16(0))
	f.Add(make([]byte, 100), false, uint16(0))
	f.Add(valid[:200], true, uint16(300))
	f.Add(valid[len(valid)-90:], true, uint16(len(valid)-40))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 36, 0x7f, 0xff, 0xff, 0xff}, false, uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 64), true, uint16(1))

	base := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm" // recovery fsyncs; tmpfs keeps the fuzzer fast
	}
	f.Fuzz(func(t *testing.T, data []byte, replace bool, cut uint16) {
		seg, ends := fuzzSegment()
		damageAt := len(seg)
		if replace {
			damageAt = int(cut) % (len(seg) + 1)
			seg = seg[:damageAt]
		}
		seg = append(seg, data...)

		path, err := os.MkdirTemp(base, "fuzz-recovery-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(path)
		pdir := filepath.Join(path, testTP.String())
		if err := os.Mkdir(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pdir, segmentName(0)+logSuffix), seg, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDir(path, DirOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		l, err := d.OpenLog(testTP, [16]byte{}, testConfig())
		if err != nil {
			t.Fatalf("OpenLog: %v", err)
		}

		kept := 0
		for kept < len(ends) && ends[kept] <= damageAt {
			kept++
		}
		wantEnd := int64(0)
		if kept > 0 {
			wantEnd = int64(3 * kept)
		}
		if l.LogEndOffset() < wantEnd {
			t.Fatalf("log end %d: lost valid batches before the damage (want ≥ %d)", l.LogEndOffset(), wantEnd)
		}
		onDisk, err := os.ReadFile(filepath.Join(pdir, segmentName(0)+logSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if kept > 0 && !bytes.Equal(onDisk[:ends[kept-1]], seg[:ends[kept-1]]) {
			t.Fatal("valid prefix changed")
		}
		next := int64(0)
		for b := onDisk; len(b) > 0; {
			h, err := record.ParseHeader(b)
			if err != nil || h.Size() > int64(len(b)) || h.Size() < record.HeaderSize {
				t.Fatalf("kept a partial batch at offset %d", next)
			}
			if record.ComputeCRC(b[:h.Size()]) != h.CRC || h.Magic != 2 {
				t.Fatalf("kept a batch at offset %d that fails its CRC", h.BaseOffset)
			}
			if h.BaseOffset < next {
				t.Fatalf("kept batch at %d after offset %d", h.BaseOffset, next)
			}
			next = h.NextOffset()
			b = b[h.Size():]
		}
		if next != l.LogEndOffset() {
			t.Fatalf("log end %d, batches end at %d", l.LogEndOffset(), next)
		}
		if next > 0 {
			s, err := l.Read(0, math.MaxInt64, math.MaxInt32, true)
			if err != nil || s.FirstOffset != 0 || s.LastOffset != next-1 {
				t.Fatalf("Read after recovery: %d-%d, %v", s.FirstOffset, s.LastOffset, err)
			}
			s.Release()
		}
	})
}
