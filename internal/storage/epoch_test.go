package storage

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestEpochCacheAssign(t *testing.T) {
	c := &epochCache{path: filepath.Join(t.TempDir(), epochCheckpointFile)}
	steps := []struct {
		epoch int32
		start int64
		want  []epochEntry
	}{
		{0, 0, []epochEntry{{0, 0}}},
		{0, 5, []epochEntry{{0, 0}}},                    // same epoch later: nothing new
		{2, 10, []epochEntry{{0, 0}, {2, 10}}},          // epochs may skip
		{3, 10, []epochEntry{{0, 0}, {3, 10}}},          // same start: the newer epoch replaces
		{1, 20, []epochEntry{{0, 0}, {1, 20}}},          // a lower epoch truncates the higher ones
		{4, 15, []epochEntry{{0, 0}, {4, 15}}},          // an earlier start truncates later entries
		{5, 30, []epochEntry{{0, 0}, {4, 15}, {5, 30}}}, // plain append
		{-1, 40, []epochEntry{{0, 0}, {4, 15}, {5, 30}}},
	}
	for _, s := range steps {
		c.assign(s.epoch, s.start)
		if got := c.snapshot(); !slices.Equal(got, s.want) {
			t.Fatalf("after assign(%d, %d): %v, want %v", s.epoch, s.start, got, s.want)
		}
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	again, ok, err := loadEpochCache(c.path)
	if err != nil || !ok || !slices.Equal(again.snapshot(), c.snapshot()) {
		t.Fatalf("reloaded %v, %v, %v", again.snapshot(), ok, err)
	}
}

func TestEndOffsetForEpoch(t *testing.T) {
	c := &epochCache{entries: []epochEntry{{1, 0}, {3, 100}, {6, 250}}}
	const leo = 400
	cases := []struct {
		name      string
		requested int32
		epoch     int32
		end       int64
	}{
		{"undefined epoch", -1, UndefinedEpoch, UndefinedEpochOffset},
		{"the latest epoch ends at the log end", 6, 6, leo},
		{"a known epoch ends where the next starts", 3, 3, 250},
		{"an unknown epoch between known ones answers for the one below", 4, 3, 250},
		{"an epoch below every entry gets the first start offset", 0, 0, 0},
		{"an epoch above every entry is undefined", 7, UndefinedEpoch, UndefinedEpochOffset},
	}
	for _, tc := range cases {
		if e, end := c.endOffsetFor(tc.requested, leo); e != tc.epoch || end != tc.end {
			t.Errorf("%s: endOffsetFor(%d) = (%d, %d), want (%d, %d)", tc.name, tc.requested, e, end, tc.epoch, tc.end)
		}
	}
	empty := &epochCache{}
	if e, end := empty.endOffsetFor(0, leo); e != UndefinedEpoch || end != UndefinedEpochOffset {
		t.Errorf("empty cache: (%d, %d)", e, end)
	}
}

func TestEpochCacheTruncation(t *testing.T) {
	base := []epochEntry{{1, 0}, {3, 100}, {6, 250}}
	cases := []struct {
		name string
		fn   func(c *epochCache) bool
		want []epochEntry
	}{
		{"from the end at a start offset drops that entry", func(c *epochCache) bool { return c.truncateFromEnd(250) }, base[:2]},
		{"from the end past every start keeps all", func(c *epochCache) bool { return c.truncateFromEnd(251) }, base},
		{"from the start moves the covering entry up", func(c *epochCache) bool { return c.truncateFromStart(120) }, []epochEntry{{3, 120}, {6, 250}}},
		{"from the start at an entry's start keeps it", func(c *epochCache) bool { return c.truncateFromStart(100) }, []epochEntry{{3, 100}, {6, 250}}},
		{"from the start at zero changes nothing", func(c *epochCache) bool { return c.truncateFromStart(0) }, base},
		{"clear empties it", func(c *epochCache) bool { return c.clear() }, nil},
	}
	for _, tc := range cases {
		c := &epochCache{entries: slices.Clone(base)}
		changed := tc.fn(c)
		if got := c.snapshot(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if changed != !slices.Equal(base, tc.want) {
			t.Errorf("%s: reported changed=%v", tc.name, changed)
		}
	}
}

func TestLogEpochsFollowAppends(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	if l.LatestEpoch() != UndefinedEpoch {
		t.Fatal("empty log has an epoch")
	}
	for i, ep := range []int32{0, 0, 2, 2, 2, 5} {
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 10}), ep, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if l.LatestEpoch() != 5 {
		t.Fatalf("latest epoch %d", l.LatestEpoch())
	}
	for _, c := range []struct {
		req, epoch int32
		end        int64
	}{{0, 0, 20}, {1, 0, 20}, {2, 2, 50}, {4, 2, 50}, {5, 5, 60}, {6, -1, -1}} {
		if e, end := l.EndOffsetForEpoch(c.req); e != c.epoch || end != c.end {
			t.Errorf("EndOffsetForEpoch(%d) = (%d, %d), want (%d, %d)", c.req, e, end, c.epoch, c.end)
		}
	}
}
