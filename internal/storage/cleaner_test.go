package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// updates writes n records over keys k0..k(keys-1) in batches of per,
// values "v<i>", record timestamps from ts.
func updates(t testing.TB, l *Log, codec record.Codec, n, keys, per int, ts int64) {
	t.Helper()
	for i := 0; i < n; i += per {
		var recs []kv
		for j := i; j < min(i+per, n); j++ {
			recs = append(recs, put(fmt.Sprintf("k%d", j%keys), fmt.Sprintf("v%d-%s", j, strings.Repeat("x", 40))))
		}
		appendKeyed(t, l, codec, ts+int64(i), recs...)
	}
}

func TestCompactionKeepsTheLatestRecordPerKey(t *testing.T) {
	for _, codec := range []record.Codec{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLZ4, record.CodecZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			clock := newClock(1_000_000)
			d, l, _ := newLog(t, compactConfig())
			updates(t, l, codec, 3000, 10, 5, 1000)
			settle(t, l)
			before, _ := readAll(t, l)
			sizeBefore, end := l.Size(), l.LogEndOffset()
			active := activeBase(l)
			activeSeg := (*l.segList.Load())[l.NumSegments()-1]
			activeBytes := make([]byte, activeSeg.size.Load())
			if err := activeSeg.preadFull(activeBytes, 0); err != nil {
				t.Fatal(err)
			}

			held, err := l.Read(0, math.MaxInt64, 1<<20, true)
			if err != nil {
				t.Fatal(err)
			}
			heldBytes := make([]byte, held.Size)
			if _, err := held.File.ReadAt(heldBytes, held.Pos); err != nil {
				t.Fatal(err)
			}

			c := newTestCleaner(t, clock, d)
			if n := cleanAll(t, c); n == 0 {
				t.Fatal("nothing was compacted")
			}
			// A Slice taken before compaction still reads the old bytes.
			again := make([]byte, held.Size)
			if _, err := held.File.ReadAt(again, held.Pos); err != nil || !bytes.Equal(again, heldBytes) {
				t.Fatalf("a Slice of a compacted segment: %v", err)
			}
			held.Release()
			after, hs := readAll(t, l)
			checkSubset(t, after, before)
			checkLatest(t, after, before)
			if l.LogEndOffset() != end {
				t.Fatalf("log end moved from %d to %d", end, l.LogEndOffset())
			}
			// Below the active segment: one record per key, its latest
			// there.
			below := map[string]int{}
			for _, r := range after {
				if r.offset < active {
					below[r.key]++
				}
			}
			var wantBelow []rec
			for _, r := range before {
				if r.offset < active {
					wantBelow = append(wantBelow, r)
				}
			}
			for k, w := range latest(wantBelow) {
				if below[k] != 1 {
					t.Fatalf("key %s has %d records below the active segment", k, below[k])
				}
				found := false
				for _, r := range after {
					found = found || r.offset == w.offset
				}
				if !found {
					t.Fatalf("key %s lost its latest record below the active segment, %v", k, w)
				}
			}
			if l.Size() >= sizeBefore/4 {
				t.Fatalf("log of %d bytes only shrank to %d", sizeBefore, l.Size())
			}
			// The active segment is the same, byte for byte.
			if activeBase(l) != active || (*l.segList.Load())[l.NumSegments()-1] != activeSeg {
				t.Fatal("the active segment was replaced")
			}
			got := make([]byte, len(activeBytes))
			if err := activeSeg.preadFull(got, 0); err != nil || !bytes.Equal(got, activeBytes) {
				t.Fatalf("the active segment changed: %v", err)
			}
			// Surviving rewritten batches keep their codec.
			for _, r := range after {
				if r.codec != codec {
					t.Fatalf("record %v in a %v batch, written %v", r, r.codec, codec)
				}
			}
			// Reads of offsets in a gap get the next batch.
			for i := 1; i < len(hs); i++ {
				if gap := hs[i-1].NextOffset(); gap < hs[i].BaseOffset {
					s, err := l.Read(gap, math.MaxInt64, 1<<20, true)
					if err != nil || s.FirstOffset != hs[i].BaseOffset {
						t.Fatalf("Read(%d) in a gap: first offset %d, %v; want %d", gap, s.FirstOffset, err, hs[i].BaseOffset)
					}
					s.Release()
					break
				}
			}
			st := l.CompactionStats(clock.now())
			if st.Passes == 0 || st.BytesAfter >= st.BytesBefore || st.FirstDirtyOffset != active || st.DirtyRatio != 0 {
				t.Fatalf("stats %+v", st)
			}
			if cs := c.Stats(); cs.Passes == 0 || cs.BytesWritten == 0 || cs.RecordsRetained >= cs.RecordsRead {
				t.Fatalf("cleaner stats %+v", cs)
			}
		})
	}
}

func TestCompactedLogReopens(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			clock := newClock(1_000_000)
			d, l, path := newLog(t, compactConfig())
			updates(t, l, record.CodecNone, 2000, 7, 4, 1000)
			settle(t, l)
			c := newTestCleaner(t, clock, d)
			cleanAll(t, c)
			want, _ := readAll(t, l)
			end, point := l.LogEndOffset(), l.clean.point.Load()
			c.Stop()
			if crash {
				if err := d.Checkpoint(); err != nil {
					t.Fatal(err)
				}
				d.crash()
			} else if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			ckpt, err := readOffsetCheckpoint(filepath.Join(path, cleanerCheckpointFile))
			if err != nil || ckpt[testTP] != point {
				t.Fatalf("cleaner checkpoint %v (%v), want %d", ckpt, err, point)
			}
			d2, l2 := reopen(t, path, compactConfig())
			got, _ := readAll(t, l2)
			if l2.LogEndOffset() != end || len(got) != len(want) {
				t.Fatalf("reopened: log end %d, %d records; want %d, %d", l2.LogEndOffset(), len(got), end, len(want))
			}
			checkSubset(t, got, want)
			if l2.clean.point.Load() != point {
				t.Fatalf("first dirty offset %d after reopen, want %d", l2.clean.point.Load(), point)
			}
			// Nothing new is dirty: no pass.
			settle(t, l2)
			c2 := newTestCleaner(t, clock, d2)
			if n := cleanAll(t, c2); n != 0 {
				t.Fatalf("%d passes over a compacted log", n)
			}
		})
	}
}

func TestTombstonesGoAfterDeleteRetention(t *testing.T) {
	clock := newClock(1_000_000)
	cfg := compactConfig()
	cfg.DeleteRetentionMs = 5000
	d, l, _ := newLog(t, cfg)
	appendKeyed(t, l, record.CodecNone, 1, put("gone", "v1"), put("kept", "v1"))
	appendKeyed(t, l, record.CodecGzip, 2, tomb("gone"), put("also", "kept"))
	updates(t, l, record.CodecNone, 600, 5, 3, 10) // other keys, several segments
	settle(t, l)
	before, _ := readAll(t, l)
	c := newTestCleaner(t, clock, d)
	keys := func() map[string]rec {
		recs, _ := readAll(t, l)
		checkSubset(t, recs, before) // record timestamps survive the delete horizon's rewrite
		return latest(recs)
	}

	cleanAll(t, c) // the first pass sets the delete horizon: now + 5000
	if r, ok := keys()["gone"]; !ok || r.value != nil {
		t.Fatalf("right after the first pass the tombstone must stay: %v", r)
	}
	_, hs := readAll(t, l)
	horizons := 0
	for _, h := range hs {
		if h.Attributes&record.DeleteHorizonBit != 0 {
			horizons++
			if h.BaseTimestamp != clock.now()+5000 || h.Codec() != record.CodecGzip {
				t.Fatalf("delete horizon %d in a %v batch, want %d in gzip", h.BaseTimestamp, h.Codec(), clock.now()+5000)
			}
		}
	}
	if horizons != 1 {
		t.Fatalf("%d batches with a delete horizon, want the tombstone's", horizons)
	}
	clock.add(4999)
	cleanAll(t, c)
	if r, ok := keys()["gone"]; !ok || r.value != nil {
		t.Fatalf("before delete.retention.ms the tombstone must stay: %v", r)
	}
	clock.add(1)
	if n := cleanAll(t, c); n == 0 {
		t.Fatal("a passed delete horizon did not make the log eligible")
	}
	ks := keys()
	if r, ok := ks["gone"]; ok {
		t.Fatalf("the tombstone outlived delete.retention.ms: %v", r)
	}
	if string(ks["kept"].value) != "v1" || string(ks["also"].value) != "kept" {
		t.Fatalf("keys kept: %v, %v", ks["kept"], ks["also"])
	}
}

func TestMinCompactionLagProtectsRecentRecords(t *testing.T) {
	clock := newClock(100_000)
	cfg := compactConfig()
	cfg.MinCompactionLagMs = 10_000
	d, l, _ := newLog(t, cfg)
	updates(t, l, record.CodecNone, 1000, 4, 4, 50_000) // old: timestamps 50 000…51 000
	old := l.LogEndOffset()
	l.mu.Lock()
	l.rollLocked(0, l.cfg.Load())
	l.mu.Unlock()
	updates(t, l, record.CodecNone, 1000, 4, 4, 95_000) // recent: 95 000…96 000
	settle(t, l)
	before, _ := readAll(t, l)
	c := newTestCleaner(t, clock, d)
	if cleanAll(t, c) == 0 {
		t.Fatal("the old records were not compacted")
	}
	after, _ := readAll(t, l)
	var recentBefore, recentAfter int
	for _, r := range before {
		if r.offset >= old {
			recentBefore++
		}
	}
	perKey := map[string]int{}
	for _, r := range after {
		if r.offset >= old {
			recentAfter++
		} else {
			perKey[r.key]++
		}
	}
	if recentAfter != recentBefore {
		t.Fatalf("%d of %d records younger than min.compaction.lag.ms were compacted", recentBefore-recentAfter, recentBefore)
	}
	for k, n := range perKey {
		if n != 1 {
			t.Fatalf("key %s has %d old records", k, n)
		}
	}
	clock.set(200_000) // now everything is old enough
	if cleanAll(t, c) == 0 {
		t.Fatal("the lag passed but nothing was compacted")
	}
	after, _ = readAll(t, l)
	checkLatest(t, after, before)
	if len(after) >= recentAfter {
		t.Fatalf("%d records left", len(after))
	}
}

func TestMaxCompactionLag(t *testing.T) {
	clock := newClock(100_000)
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.99
	cfg.MaxCompactionLagMs = 60_000
	cfg.SegmentMs = math.MaxInt64 / 2
	d, l, _ := newLog(t, cfg)
	appendKeyed(t, l, record.CodecNone, 30_000, put("a", "1"), put("a", "2"))
	// The active segment rolls after max.compaction.lag.ms by batch time.
	appendKeyed(t, l, record.CodecNone, 95_000, put("b", "1"))
	if l.NumSegments() != 2 {
		t.Fatalf("%d segments: max.compaction.lag.ms did not roll the active segment", l.NumSegments())
	}
	settle(t, l)
	c := newTestCleaner(t, clock, d)
	if n := cleanAll(t, c); n == 0 {
		t.Fatal("a log past max.compaction.lag.ms was not compacted below its dirty ratio")
	}
	recs, _ := readAll(t, l)
	if len(recs) != 2 || string(recs[0].value) != "2" {
		t.Fatalf("records %v", recs)
	}
}

func TestCleanerSkipsDeleteOnlyLogs(t *testing.T) {
	clock := newClock(1_000_000)
	cfg := compactConfig()
	cfg.CleanupPolicy = CleanupDelete
	d, l, path := newLog(t, cfg)
	updates(t, l, record.CodecNone, 1000, 3, 5, 1)
	settle(t, l)
	files := func() string {
		ents, _ := os.ReadDir(partitionDir(path))
		var b strings.Builder
		for _, e := range ents {
			info, _ := e.Info()
			fmt.Fprintf(&b, "%s %d\n", e.Name(), info.Size())
		}
		return b.String()
	}
	before, size := files(), l.Size()
	c := newTestCleaner(t, clock, d)
	if n := cleanAll(t, c); n != 0 || files() != before || l.Size() != size {
		t.Fatalf("the cleaner touched a delete-only log (%d passes)", n)
	}
	// And retention leaves compact-only logs alone.
	cfg.CleanupPolicy = CleanupCompact
	cfg.RetentionMs, cfg.RetentionBytes = 0, 0
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ApplyRetention(math.MaxInt64/2, l.LogEndOffset()); n != 0 || err != nil {
		t.Fatalf("retention deleted %d segments of a compact-only log: %v", n, err)
	}
	// With compact,delete both apply.
	cfg.CleanupPolicy = CleanupCompact | CleanupDelete
	cfg.RetentionMs, cfg.RetentionBytes = -1, -1
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if n := cleanAll(t, c); n == 0 || l.Size() >= size/4 {
		t.Fatalf("a compact,delete log: %d passes, %d of %d bytes left", n, l.Size(), size)
	}
	cfg.RetentionMs = 0
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ApplyRetention(math.MaxInt64/2, l.LogEndOffset()); n == 0 || err != nil {
		t.Fatalf("retention of a compact,delete log: %d, %v", n, err)
	}
}

func TestSmallDedupeBufferCleansPartOfTheDirtySection(t *testing.T) {
	clock := newClock(1_000_000)
	d, l, _ := newLog(t, compactConfig())
	// 200 distinct keys, each written 5 times, over many segments.
	for round := 0; round < 5; round++ {
		for k := 0; k < 200; k += 4 {
			appendKeyed(t, l, record.CodecNone, 1, put(fmt.Sprintf("k%03d", k), "a"), put(fmt.Sprintf("k%03d", k+1), "b"),
				put(fmt.Sprintf("k%03d", k+2), "c"), put(fmt.Sprintf("k%03d", k+3), "d"))
		}
	}
	settle(t, l)
	before, _ := readAll(t, l)
	active := activeBase(l)
	cfg := DefaultCleanerConfig()
	cfg.DedupeBufferSize = 60 * dedupeSlotSize // 54 keys at 0.9
	cfg.Now = clock.now
	c, err := NewCleaner(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.CleanOnce(context.Background()); !ok || err != nil {
		t.Fatalf("first pass: %v, %v", ok, err)
	}
	first := l.clean.point.Load()
	if first <= 0 || first >= active {
		t.Fatalf("first pass covered up to %d of %d", first, active)
	}
	mid, _ := readAll(t, l)
	checkSubset(t, mid, before)
	checkLatest(t, mid, before)
	if n := cleanAll(t, c); n < 2 {
		t.Fatalf("%d more passes; the map holds 54 of 200 keys", n)
	}
	if got := l.clean.point.Load(); got != active {
		t.Fatalf("first dirty offset %d after all passes, want %d", got, active)
	}
	after, _ := readAll(t, l)
	checkLatest(t, after, before)
	seen := map[string]bool{}
	for _, r := range after {
		if r.offset < active && seen[r.key] {
			t.Fatalf("key %s twice below the active segment", r.key)
		}
		seen[r.key] = true
	}
}

func TestLastBatchOfAProducerSurvives(t *testing.T) {
	clock := newClock(1_000_000)
	const pid = 77
	d, l, path := newLog(t, compactConfig())
	var last AppendResult
	for seq := int32(0); seq < 30; seq += 2 {
		var err error
		last, err = l.AppendAsLeader(keyedBatch(t, record.CodecNone, 1, pid, seq, put("p", "x"), put("q", "y")), 0, 1)
		if err != nil {
			t.Fatal(err)
		}
	}
	// Others overwrite every key the producer wrote.
	updates(t, l, record.CodecNone, 200, 3, 2, 1)
	appendKeyed(t, l, record.CodecNone, 1, put("p", "later"), put("q", "later"))
	updates(t, l, record.CodecNone, 200, 3, 2, 1)
	settle(t, l)
	c := newTestCleaner(t, clock, d)
	cleanAll(t, c)
	_, hs := readAll(t, l)
	var kept []record.Header
	for _, h := range hs {
		if h.ProducerID == pid {
			kept = append(kept, h)
		}
	}
	if len(kept) != 1 || kept[0].BaseOffset != last.BaseOffset || kept[0].LastOffset() != last.LastOffset || kept[0].NumRecords != 0 || kept[0].BaseSequence != 28 {
		t.Fatalf("producer batches after compaction: %+v; want the last one, empty", kept)
	}
	// Rebuilt from the log alone, the producer state still knows the last
	// batch: its retry is a duplicate, with its original offsets.
	c.Stop()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := removeSnapshots(partitionDir(path), func(int64) bool { return true }); err != nil {
		t.Fatal(err)
	}
	_, l2 := reopen(t, path, compactConfig())
	res, err := l2.AppendAsLeader(keyedBatch(t, record.CodecNone, 1, pid, 28, put("p", "x"), put("q", "y")), 0, 1)
	if err != nil || !res.Duplicate || res.BaseOffset != last.BaseOffset || res.LastOffset != last.LastOffset {
		t.Fatalf("retry after compaction: %+v, %v; want a duplicate at %d-%d", res, err, last.BaseOffset, last.LastOffset)
	}
	if res, err := l2.AppendAsLeader(keyedBatch(t, record.CodecNone, 1, pid, 30, put("p", "z")), 0, 1); err != nil || res.Duplicate {
		t.Fatalf("the next sequence: %+v, %v", res, err)
	}
}

func TestCleaningStopsOnTruncationAndCancel(t *testing.T) {
	clock := newClock(1_000_000)
	d, l, path := newLog(t, compactConfig())
	updates(t, l, record.CodecNone, 1000, 5, 5, 1)
	settle(t, l)
	before, _ := readAll(t, l)
	noLeftovers := func() {
		t.Helper()
		for _, pat := range []string{"*" + cleanedSuffix, "*" + swapSuffix} {
			if m, _ := filepath.Glob(filepath.Join(partitionDir(path), pat)); len(m) > 0 {
				t.Fatalf("left behind %v", m)
			}
		}
	}

	c := newTestCleaner(t, clock, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := c.CleanOnce(ctx); ok || err != nil {
		t.Fatalf("a cancelled pass: %v, %v", ok, err)
	}
	noLeftovers()

	// A truncation between planning and swapping voids the pass.
	if !l.clean.mu.TryLock() {
		t.Fatal("cleaning lock held")
	}
	cd, ok := l.candidate(clock.now())
	if !ok {
		t.Fatal("nothing to compact")
	}
	if err := l.Truncate(l.LogEndOffset() - 3); err != nil {
		t.Fatal(err)
	}
	w := newCleanWorker(&c.cfg, nil)
	if _, err := w.pass(context.Background(), l, &cd.plan, clock.now()); !errors.Is(err, errCleanAborted) {
		t.Fatalf("pass after a truncation: %v", err)
	}
	cd.drop()
	noLeftovers()
	after, _ := readAll(t, l)
	if len(after) < len(before)-5 {
		t.Fatalf("an aborted pass lost records: %d of %d", len(after), len(before))
	}
}

func TestCleanerThreads(t *testing.T) {
	clock := newClock(1_000_000)
	d, l, _ := newLog(t, compactConfig())
	updates(t, l, record.CodecNone, 2000, 3, 4, 1)
	settle(t, l)
	cfg := DefaultCleanerConfig()
	cfg.Threads = 2
	cfg.DedupeBufferSize = 1 << 20
	cfg.BackoffMs = 1
	cfg.Now = clock.now
	c, err := NewCleaner(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	c.Start()
	eventually(t, "a background pass", func() bool { return c.Stats().Passes > 0 })
	c.Stop()
	c.Stop()
	recs, _ := readAll(t, l)
	if len(recs) > 3+int(l.LogEndOffset()-activeBase(l)) {
		t.Fatalf("%d records after a background pass", len(recs))
	}
	// Closing the directory with a cleaner still running is safe too.
	c2, _ := NewCleaner(cfg, d)
	c2.Start()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	c2.Stop()
}

func TestCleanupPolicyAndConfig(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  CleanupPolicy
		err   bool
	}{
		{[]string{"delete"}, CleanupDelete, false},
		{[]string{"compact"}, CleanupCompact, false},
		{[]string{"compact", "delete"}, CleanupCompact | CleanupDelete, false},
		{[]string{"delete", "compact"}, CleanupCompact | CleanupDelete, false},
		{nil, 0, true},
		{[]string{"shred"}, 0, true},
	} {
		got, err := ParseCleanupPolicy(tc.words)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseCleanupPolicy(%q) = %v, %v", tc.words, got, err)
		}
	}
	bad := []func(*LogConfig){
		func(c *LogConfig) { c.CleanupPolicy = 0 },
		func(c *LogConfig) { c.MinCleanableDirtyRatio = 1.5 },
		func(c *LogConfig) { c.MinCleanableDirtyRatio = math.NaN() },
		func(c *LogConfig) { c.MinCompactionLagMs = -1 },
		func(c *LogConfig) { c.MaxCompactionLagMs = 0 },
		func(c *LogConfig) { c.MinCompactionLagMs, c.MaxCompactionLagMs = 10, 5 },
		func(c *LogConfig) { c.DeleteRetentionMs = -1 },
	}
	for i, f := range bad {
		c := DefaultLogConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("bad log config %d accepted", i)
		}
	}
	badCleaner := []func(*CleanerConfig){
		func(c *CleanerConfig) { c.Threads = -1 },
		func(c *CleanerConfig) { c.DedupeBufferSize = dedupeSlotSize - 1 },
		func(c *CleanerConfig) { c.DedupeLoadFactor = 0 },
		func(c *CleanerConfig) { c.IOBufferSize = -1 },
		func(c *CleanerConfig) { c.BackoffMs = -1 },
	}
	for i, f := range badCleaner {
		c := DefaultCleanerConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("bad cleaner config %d accepted", i)
		}
	}
	if c := DefaultCleanerConfig(); c.Validate() != nil {
		t.Error("default cleaner config refused")
	}
}

func TestFollowerOfACompactedLeader(t *testing.T) {
	clock := newClock(1_000_000)
	d, leader, _ := newLog(t, compactConfig())
	updates(t, leader, record.CodecSnappy, 1500, 8, 3, 1)
	settle(t, leader)
	cleanAll(t, newTestCleaner(t, clock, d))
	want, _ := readAll(t, leader)

	d2 := openDir(t, t.TempDir())
	f := openTestLog(t, d2, compactConfig())
	for next := int64(0); next < leader.LogEndOffset(); {
		b, err := leader.ReadBytes(next, math.MaxInt64, 3000)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.AppendAsFollower(b); err != nil {
			t.Fatalf("AppendAsFollower at %d: %v", next, err)
		}
		next = f.LogEndOffset()
	}
	got, _ := readAll(t, f)
	if f.LogEndOffset() != leader.LogEndOffset() || len(got) != len(want) {
		t.Fatalf("follower: log end %d, %d records; leader %d, %d", f.LogEndOffset(), len(got), leader.LogEndOffset(), len(want))
	}
	checkSubset(t, got, want)
	overlap := keyedBatch(t, record.CodecNone, 1, 0, 0, put("x", "y"))
	record.SetBaseOffset(overlap, f.LogEndOffset()-1)
	if err := f.AppendAsFollower(overlap); !errors.Is(err, ErrUnexpectedOffset) {
		t.Fatalf("an overlapping batch: %v", err)
	}
}
