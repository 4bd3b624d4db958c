package partition

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/storage"
)

// newFollower returns a replica following broker 2 under leader epoch 3,
// holding offsets 0-5 copied from it, in batches starting at 0, 2, 4 and 5,
// with the high watermark at 4.
func newFollower(t *testing.T) *replica {
	t.Helper()
	r := newReplica(t, nil)
	r.setRole(2, 3, []int32{1, 2}, []int32{1, 2})
	for _, b := range []struct {
		base int64
		n    int
	}{{0, 2}, {2, 2}, {4, 1}, {5, 1}} {
		if err := r.AppendAsFollower(3, leaderBatch(t, b.base, 3, b.n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.FollowLeader(3, 4, 0); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFollowerCopiesTheLeadersBatches(t *testing.T) {
	r := newFollower(t)
	if leo := r.Log().LogEndOffset(); leo != 6 {
		t.Errorf("log end offset = %d, want 6", leo)
	}
	for _, h := range headers(t, r.Log(), 0, 6) {
		if h.PartitionLeaderEpoch != 3 {
			t.Errorf("batch at %d has leader epoch %d, want the leader's 3", h.BaseOffset, h.PartitionLeaderEpoch)
		}
	}
	if e, end := r.Log().EndOffsetForEpoch(3); e != 3 || end != 6 {
		t.Errorf("epoch 3 ends at %d (epoch %d), want 6 (3)", end, e)
	}
}

func TestFollowerRefusesABatchThatDoesNotStartAtItsLogEnd(t *testing.T) {
	r := newFollower(t)
	err := r.AppendAsFollower(3, leaderBatch(t, 8, 3, 1))
	if !errors.Is(err, storage.ErrUnexpectedOffset) {
		t.Errorf("AppendAsFollower at 8 with the log ending at 6 = %v, want ErrUnexpectedOffset", err)
	}
	if leo := r.Log().LogEndOffset(); leo != 6 {
		t.Errorf("log end offset = %d, want 6", leo)
	}
}

func TestFollowerCallsAreRefusedUnlessItStillFollowsUnderTheirEpoch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *replica)
		epoch  int32 // what the fetcher's calls name
	}{
		{"when they name an older epoch", func(r *replica) {}, 2},
		{"when they name a newer epoch", func(r *replica) {}, 4},
		{"when the leader moved on to a new epoch", func(r *replica) { r.setRole(2, 4, []int32{1, 2}, []int32{1, 2}) }, 3},
		{"when the replica leads", func(r *replica) { r.lead(3, []int32{1, 2}, []int32{1}) }, 3},
		{"when the replica was reassigned away", func(r *replica) { r.setRole(2, 3, []int32{2, 3}, []int32{2, 3}) }, 3},
		{"when the replica was stopped", func(r *replica) { r.stop() }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFollower(t)
			tc.change(r)
			hw := r.HighWatermark()
			calls := map[string]func() error{
				"AppendAsFollower":        func() error { return r.AppendAsFollower(tc.epoch, leaderBatch(t, 6, tc.epoch, 1)) },
				"FollowLeader":            func() error { return r.FollowLeader(tc.epoch, 6, 2) },
				"TruncateTo":              func() error { return r.TruncateTo(tc.epoch, 1) },
				"TruncateFullyAndStartAt": func() error { return r.TruncateFullyAndStartAt(tc.epoch, 100) },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, ErrNotFollowing) {
					t.Errorf("%s = %v, want ErrNotFollowing", name, err)
				}
			}
			l := r.Log()
			if l.LogStartOffset() != 0 || l.LogEndOffset() != 6 || r.HighWatermark() != hw {
				t.Errorf("refused calls changed the replica: log [%d, %d), high watermark %d; want [0, 6), %d",
					l.LogStartOffset(), l.LogEndOffset(), r.HighWatermark(), hw)
			}
		})
	}
}

func TestFollowerHighWatermarkIsBoundedByItsOwnLog(t *testing.T) {
	r := newFollower(t)
	for _, step := range []struct {
		leaderHW, want int64
	}{
		{5, 5}, // the leader's, as far as this replica has the log
		{9, 6}, // never past this replica's log end
		{2, 6}, // never back
	} {
		if err := r.FollowLeader(3, step.leaderHW, 0); err != nil {
			t.Fatal(err)
		}
		if hw := r.HighWatermark(); hw != step.want {
			t.Errorf("high watermark = %d after the leader's %d, want %d", hw, step.leaderHW, step.want)
		}
	}
}

// A follower's lag is how far its log ends short of the leader's high
// watermark in the last answer, and starts over with each leadership.
func TestFollowerLagIsTheLeadersHighWatermarkAheadOfItsLog(t *testing.T) {
	r := newFollower(t) // log end 6
	for _, step := range []struct {
		leaderHW, want int64
	}{
		{4, 0}, // the leader has committed less than this replica holds
		{9, 3},
		{6, 0},
	} {
		if err := r.FollowLeader(3, step.leaderHW, 0); err != nil {
			t.Fatal(err)
		}
		if lag := r.Health().Lag; lag != step.want {
			t.Errorf("lag = %d with the leader's high watermark at %d, want %d", lag, step.leaderHW, step.want)
		}
	}
	if err := r.FollowLeader(3, 20, 0); err != nil {
		t.Fatal(err)
	}
	r.setRole(2, 4, []int32{1, 2}, []int32{1, 2}) // a new leadership: nothing heard from it yet
	if lag := r.Health().Lag; lag != 0 {
		t.Errorf("lag = %d under a new leader epoch before its first answer, want 0", lag)
	}
	r.lead(5, []int32{1, 2}, []int32{1, 2})
	if lag := r.Health().Lag; lag != 0 {
		t.Errorf("lag = %d as the leader, want 0", lag)
	}
}

func TestFollowerMovesItsLogStartWithTheLeaders(t *testing.T) {
	r := newFollower(t)
	if err := r.FollowLeader(3, 4, 4); err != nil {
		t.Fatal(err)
	}
	if s := r.Log().LogStartOffset(); s != 4 {
		t.Errorf("log start offset = %d after the leader's moved to 4, want 4", s)
	}
	if err := r.FollowLeader(3, 4, 50); err != nil {
		t.Fatal(err)
	}
	if s, e := r.Log().LogStartOffset(), r.Log().LogEndOffset(); s != 6 || e != 6 {
		t.Errorf("log [%d, %d) after the leader's start moved to 50, want [6, 6): never past its own end", s, e)
	}
}

func TestFollowerTruncatesWhereTheLeaderDiverges(t *testing.T) {
	r := newFollower(t)
	if err := r.TruncateTo(3, 2); err != nil {
		t.Fatal(err)
	}
	if leo, hw := r.Log().LogEndOffset(), r.HighWatermark(); leo != 2 || hw != 2 {
		t.Errorf("after truncating to 2: log end offset %d, high watermark %d; want 2, 2", leo, hw)
	}
	// The leader's history continues from there.
	if err := r.AppendAsFollower(3, leaderBatch(t, 2, 3, 3)); err != nil {
		t.Fatal(err)
	}
	if leo := r.Log().LogEndOffset(); leo != 5 {
		t.Errorf("log end offset = %d, want 5", leo)
	}
}

func TestFollowerTruncationAboveTheHighWatermarkKeepsIt(t *testing.T) {
	r := newFollower(t)
	if err := r.TruncateTo(3, 5); err != nil {
		t.Fatal(err)
	}
	if leo, hw := r.Log().LogEndOffset(), r.HighWatermark(); leo != 5 || hw != 4 {
		t.Errorf("after truncating to 5: log end offset %d, high watermark %d; want 5, 4", leo, hw)
	}
}

func TestFollowerStartsOverWhereTheLeadersLogStarts(t *testing.T) {
	r := newFollower(t)
	if err := r.TruncateFullyAndStartAt(3, 100); err != nil {
		t.Fatal(err)
	}
	l := r.Log()
	if l.LogStartOffset() != 100 || l.LogEndOffset() != 100 || r.HighWatermark() != 100 {
		t.Errorf("log [%d, %d), high watermark %d; want [100, 100), 100", l.LogStartOffset(), l.LogEndOffset(), r.HighWatermark())
	}
	if err := r.AppendAsFollower(3, leaderBatch(t, 100, 3, 1)); err != nil {
		t.Errorf("AppendAsFollower at the new start: %v", err)
	}
}

func TestFollowerThatBecomesLeaderKeepsItsHighWatermark(t *testing.T) {
	r := newFollower(t) // high watermark 4, log end 6
	r.lead(5, []int32{1, 2}, []int32{1, 2})
	if hw := r.HighWatermark(); hw != 4 {
		t.Fatalf("high watermark = %d on becoming leader, want 4", hw)
	}
	if e, end := r.Log().EndOffsetForEpoch(5); e != 5 || end != 6 {
		t.Errorf("epoch 5 ends at %d (epoch %d), want the log end 6 (5)", end, e)
	}
	// Offsets 4 and 5 are not proven committed yet: clients asking for
	// the latest offset retry (KIP-207).
	if _, err := r.ListOffset(LatestTimestamp, 0, -1); err != kerr.OffsetNotAvailable {
		t.Errorf("ListOffset(latest) = %v, want OFFSET_NOT_AVAILABLE", err)
	}
	// The earliest offset is never in doubt (Kafka answers it too).
	if got, err := r.ListOffset(EarliestTimestamp, 0, -1); err != nil || got.Offset != 0 {
		t.Errorf("ListOffset(earliest) = %+v, %v; want offset 0", got, err)
	}
	r.fetchAs(2, 6)
	got, err := r.ListOffset(LatestTimestamp, 0, -1)
	if err != nil || got.Offset != 6 || got.LeaderEpoch != 5 {
		t.Errorf("ListOffset(latest) = %+v, %v; want offset 6 under epoch 5", got, err)
	}
}
