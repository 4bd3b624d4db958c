package storage

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOffsetIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "00000000000000001000.index")
	ix := newIndex(path, offsetEntrySize, 1000)
	if err := ix.activate(10*offsetEntrySize, true); err != nil {
		t.Fatal(err)
	}
	defer ix.close()
	if st, _ := os.Stat(path); st.Size() != 10*offsetEntrySize {
		t.Fatalf("not preallocated: %d bytes", st.Size())
	}
	// Entries: last offset of a batch → its position.
	for i := int64(0); i < 5; i++ {
		ix.appendOffset(1000+10*i+9, 100*i)
	}
	cases := []struct{ target, pos int64 }{
		{999, 0}, {1000, 0}, {1009, 0}, {1010, 0}, {1019, 100}, {1025, 100}, {1049, 400}, {5000, 400},
	}
	for _, c := range cases {
		if got := ix.lookupOffset(c.target); got != c.pos {
			t.Errorf("lookupOffset(%d) = %d, want %d", c.target, got, c.pos)
		}
	}
	for _, c := range []struct{ limit, pos int64 }{{0, 0}, {99, 0}, {100, 100}, {350, 300}, {10_000, 400}} {
		if got := ix.lookupPosition(c.limit); got != c.pos {
			t.Errorf("lookupPosition(%d) = %d, want %d", c.limit, got, c.pos)
		}
	}
	if err := ix.checkOffsets(500); err != nil {
		t.Fatal(err)
	}
	if err := ix.checkOffsets(400); err == nil {
		t.Fatal("a position at the log size passed the check")
	}
	ix.truncateOffsetsFrom(1030)
	if ix.entries() != 3 {
		t.Fatalf("%d entries after truncating from 1030", ix.entries())
	}
	if err := ix.trim(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != 3*offsetEntrySize {
		t.Fatalf("trimmed to %d bytes", st.Size())
	}
	ix.close()

	again := newIndex(path, offsetEntrySize, 1000)
	defer again.close()
	if got := again.lookupOffset(1025); got != 100 {
		t.Fatalf("lazily loaded index: lookupOffset(1025) = %d", got)
	}
	if off, pos, ok := again.lastOffsetEntry(); !ok || off != 1029 || pos != 200 {
		t.Fatalf("last entry (%d, %d, %v)", off, pos, ok)
	}
}

func TestTimeIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "00000000000000000100.timeindex")
	ix := newIndex(path, timeEntrySize, 100)
	if err := ix.activate(4*timeEntrySize, true); err != nil {
		t.Fatal(err)
	}
	defer ix.close()
	ix.maybeAppendTime(50, 104)
	ix.maybeAppendTime(50, 110) // not above the last timestamp: skipped
	ix.maybeAppendTime(70, 120)
	ix.maybeAppendTime(60, 125) // lower: skipped
	ix.maybeAppendTime(90, 130)
	if ix.entries() != 3 || ix.full() {
		t.Fatalf("%d entries, full=%v", ix.entries(), ix.full())
	}
	for _, c := range []struct{ ts, wantTs, wantOff int64 }{
		{10, -1, 100}, {50, 50, 104}, {69, 50, 104}, {70, 70, 120}, {1000, 90, 130},
	} {
		if ts, off := ix.lookupTime(c.ts); ts != c.wantTs || off != c.wantOff {
			t.Errorf("lookupTime(%d) = (%d, %d), want (%d, %d)", c.ts, ts, off, c.wantTs, c.wantOff)
		}
	}
	if err := ix.checkTimes(130); err != nil {
		t.Fatal(err)
	}
	ix.maybeAppendTime(95, 131)
	ix.maybeAppendTime(99, 132) // full: dropped
	if !ix.full() || ix.entries() != 4 {
		t.Fatalf("%d entries, full=%v", ix.entries(), ix.full())
	}
	ix.truncateTimesFrom(120)
	if ts, off, ok := ix.lastTimeEntry(); !ok || ts != 50 || off != 104 {
		t.Fatalf("after truncation the last entry is (%d, %d)", ts, off)
	}
}
