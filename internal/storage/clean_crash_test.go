package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// TestCrashAtEachSwapStep kills the process (Dir.crash) at every step of a
// compaction pass's swaps, reopens, and checks that the log is whole: the
// same log end, only records that were written, at their offsets, every
// key's latest record, and no leftover temporary files; a pass after that
// compacts it as if nothing had happened. The pass's first group has
// several segments, so that old segments are renamed one by one; the
// steps of its first two groups are covered (the later ones repeat them).
func TestCrashAtEachSwapStep(t *testing.T) {
	var steps []string
	for n := 0; n < 21; n++ {
		clock := newClock(1_000_000)
		path := t.TempDir()
		d := openDir(t, path)
		cfg := compactConfig()
		l := openTestLog(t, d, cfg)
		updates(t, l, record.CodecLZ4, 1500, 6, 5, 1)
		settle(t, l)
		c := newTestCleaner(t, clock, d)
		cleanAll(t, c) // leaves small cleaned segments, grouped by the next pass
		updates(t, l, record.CodecNone, 600, 9, 3, 1)
		appendKeyed(t, l, record.CodecNone, 1, tomb("k1"))
		updates(t, l, record.CodecNone, 300, 4, 3, 1)
		settle(t, l)
		before, _ := readAll(t, l)
		end := l.LogEndOffset()

		var seen []string
		crashed := ""
		c.testHook = func(step string) error {
			seen = append(seen, step)
			if len(seen) == n+1 {
				crashed = step
				if step == "cleaned" {
					// A kill while the cleaned files were written leaves
					// them torn.
					matches, _ := filepath.Glob(filepath.Join(partitionDir(path), "*"+logSuffix+cleanedSuffix))
					for _, m := range matches {
						os.Truncate(m, 100)
					}
				}
				return errSimulatedCrash
			}
			return nil
		}
		ok, err := c.CleanOnce(context.Background())
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		if ok {
			t.Fatalf("the pass completed after %d steps: %v", len(seen), seen)
		}
		steps = append(steps, crashed)
		t.Run(fmt.Sprintf("%02d-%s", n, crashed), func(t *testing.T) {
			c.Stop()
			d.crash()
			d2, l2 := reopen(t, path, cfg)
			after, _ := readAll(t, l2)
			if l2.LogEndOffset() != end {
				t.Fatalf("log end %d after the crash, want %d", l2.LogEndOffset(), end)
			}
			checkSubset(t, after, before)
			checkLatest(t, after, before)
			for _, pat := range []string{"*" + cleanedSuffix, "*" + swapSuffix, "*" + deletedSuffix} {
				if m, _ := filepath.Glob(filepath.Join(partitionDir(path), pat)); len(m) > 0 {
					t.Fatalf("left behind %v", m)
				}
			}
			settle(t, l2)
			cleanAll(t, newTestCleaner(t, clock, d2))
			final, _ := readAll(t, l2)
			checkSubset(t, final, before)
			checkLatest(t, final, before)
			active := activeBase(l2)
			seen := map[string]bool{}
			for _, r := range final {
				if r.offset < active && seen[r.key] {
					t.Fatalf("key %s twice below the active segment after recompaction", r.key)
				}
				seen[r.key] = true
			}
		})
	}
	if len(steps) < 2 || steps[len(steps)-1] != "installed .log" || steps[len(steps)-2] == "installed .log" {
		t.Fatalf("steps covered: %v", steps)
	}
}
