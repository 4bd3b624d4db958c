package partition

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/metadata"
)

// produceEach appends n one-record batches, so that every offset is a
// batch boundary a follower may fetch from.
func (r *replica) produceEach(n int) {
	r.t.Helper()
	for range n {
		r.produce(1)
	}
}

// accept answers the replica's pending ISR change as the controller does
// when it commits it: with isr under a new partition epoch.
func (r *replica) accept(isr []int32) {
	r.mu.Lock()
	r.role.PartitionEpoch++
	r.role.ISR = isr
	leaderEpoch, partitionEpoch := r.role.LeaderEpoch, r.role.PartitionEpoch
	r.mu.Unlock()
	r.alterDone(isr, leaderEpoch, partitionEpoch, true)
}

func TestHighWatermarkIsTheSmallestLogEndOffsetOverTheISR(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2, 3}, []int32{1, 2, 3})
	r.produceEach(10)
	for _, step := range []struct {
		follower int32
		offset   int64
		wantHW   int64
	}{
		{2, 6, 0},   // follower 3 has not fetched under this leadership: nothing is proven
		{3, 4, 4},   // the slowest in-sync replica sets it
		{3, 10, 6},  // now follower 2 is the slowest
		{2, 10, 10}, // everyone has everything
		{2, 8, 10},  // it never moves back while the leadership lasts
	} {
		got := r.fetchAs(step.follower, step.offset)
		if got != step.wantHW || r.HighWatermark() != step.wantHW {
			t.Fatalf("after follower %d fetched at %d: high watermark %d (answered %d), want %d",
				step.follower, step.offset, r.HighWatermark(), got, step.wantHW)
		}
	}
}

func TestHighWatermarkIgnoresReplicasOutsideTheISR(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2, 3}, []int32{1, 2})
	r.produceEach(8)
	if hw := r.fetchAs(2, 5); hw != 5 {
		t.Errorf("high watermark = %d with follower 2 at 5 and follower 3 outside the ISR, want 5", hw)
	}
}

func TestHighWatermarkOfALeaderAloneIsItsDurableLogEnd(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1})
	r.produce(4)
	if hw, leo := r.HighWatermark(), r.Log().LogEndOffset(); hw != leo || hw != 4 {
		t.Errorf("high watermark = %d with the log ending at %d, want 4", hw, leo)
	}
}

func TestNewLeadershipExposesNothingUntilTheISRFetchedUnderIt(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1, 2})
	r.produceEach(5)
	r.fetchAs(2, 5)
	r.produceEach(5) // offsets 5-9, which follower 2 may or may not have

	r.lead(2, []int32{1, 2}, []int32{1, 2}) // re-elected under a new epoch
	if hw := r.HighWatermark(); hw != 5 {
		t.Fatalf("high watermark = %d at the start of the new leadership, want 5 (neither lower nor past what is proven)", hw)
	}
	r.produce(1)
	if hw := r.HighWatermark(); hw != 5 {
		t.Fatalf("high watermark = %d before the follower fetched under epoch 2, want 5", hw)
	}
	if hw := r.fetchAs(2, 11); hw != 11 {
		t.Errorf("high watermark = %d after the follower fetched at 11, want 11", hw)
	}
}

func TestCaughtUpFollowerIsProposedForTheISR(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1})
	r.produceEach(5)

	r.fetchAs(2, 3)
	if p := r.proposals(); len(p) != 0 {
		t.Fatalf("proposed %v for a follower below the high watermark", p)
	}
	r.fetchAs(2, 5)
	if p := r.proposals(); len(p) != 1 || !slices.Equal(p[0], []int32{1, 2}) {
		t.Fatalf("proposals = %v, want [[1 2]]", p)
	}

	// While the change is in flight the high watermark counts follower 2
	// too (Kafka's maximal ISR), and nothing more is proposed.
	r.produceEach(3)
	if hw := r.fetchAs(2, 6); hw != 6 {
		t.Errorf("high watermark = %d with the expansion pending and follower 2 at 6, want 6", hw)
	}
	if p := r.proposals(); len(p) != 1 {
		t.Errorf("proposals = %v, want one while the first is pending", p)
	}

	r.accept([]int32{1, 2})
	if isr := r.isr(); !slices.Equal(isr, []int32{1, 2}) {
		t.Errorf("ISR = %v after the controller accepted, want [1 2]", isr)
	}
	if hw := r.fetchAs(2, 8); hw != 8 {
		t.Errorf("high watermark = %d with follower 2 at the log end, want 8", hw)
	}
}

func TestFollowerBehindTheLeaderEpochStartIsNotProposed(t *testing.T) {
	// Kafka admits a follower only once it has reached the start of this
	// leader epoch: before that it may still hold a diverging history.
	r := newReplica(t, nil)
	r.setRole(3, 1, []int32{1, 2, 3}, []int32{1, 3})
	if err := r.AppendAsFollower(1, leaderBatch(t, 0, 1, 5)); err != nil {
		t.Fatal(err)
	}
	r.lead(2, []int32{1, 2, 3}, []int32{1, 3}) // epoch 2 starts at 5; the high watermark is 0

	r.fetchAs(2, 3)
	if p := r.proposals(); len(p) != 0 {
		t.Fatalf("proposed %v for a follower at 3, before the epoch start 5", p)
	}
	r.fetchAs(2, 5)
	if p := r.proposals(); len(p) != 1 || !slices.Equal(p[0], []int32{1, 3, 2}) {
		t.Errorf("proposals = %v, want [[1 3 2]]", p)
	}
}

func TestRefusedISRChangeIsRetriedAfterABackoff(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1})
	r.produce(1)
	r.fetchAs(2, 1)
	before := time.Now()
	r.alterDone(nil, 0, 0, false)
	if isr := r.isr(); !slices.Equal(isr, []int32{1}) {
		t.Fatalf("ISR = %v after a refusal, want [1]", isr)
	}
	if expand, _ := r.recordFollower(2, 1, 1, 1, before); expand != nil {
		t.Errorf("proposed %v at once after a refusal", expand)
	}
	later := time.Now().Add(alterRetryBackoff + time.Millisecond)
	if expand, _ := r.recordFollower(2, 1, 1, 1, later); !slices.Equal(expand, []int32{1, 2}) {
		t.Errorf("proposal after the backoff = %v, want [1 2]", expand)
	}
}

func TestAnswerForAnotherLeaderEpochIsNotApplied(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(3, []int32{1, 2}, []int32{1})
	r.produce(1)
	r.fetchAs(2, 1)
	r.alterDone([]int32{1, 2}, 2, r.partitionEpoch()+1, true)
	if isr := r.isr(); !slices.Equal(isr, []int32{1}) {
		t.Errorf("ISR = %v after an answer for leader epoch 2 under epoch 3, want [1]", isr)
	}
}

func TestOlderMetadataDoesNotUndoAnAcceptedISRChange(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1})
	stale := r.role
	r.produce(1)
	r.fetchAs(2, 1)
	r.accept([]int32{1, 2})
	if changed := r.Partition.setRole(&stale, r.start); changed {
		t.Error("setRole reported a change for metadata older than the replica's")
	}
	if isr := r.isr(); !slices.Equal(isr, []int32{1, 2}) {
		t.Errorf("ISR = %v after older metadata, want [1 2]", isr)
	}
}

func TestLaggingFollowerIsProposedForRemoval(t *testing.T) {
	const lagMax = 10 * time.Second
	setup := func(t *testing.T) (*replica, time.Time) {
		r := newReplica(t, nil)
		r.lead(1, []int32{1, 2, 3}, []int32{1, 2})
		return r, r.start
	}
	at := func(t0 time.Time, d time.Duration) time.Time { return t0.Add(d) }

	t.Run("an ISR follower that never fetches gets the lag time from the leadership's start", func(t *testing.T) {
		r, t0 := setup(t)
		if isr := r.laggingISR(at(t0, lagMax), lagMax); isr != nil {
			t.Errorf("proposed %v at exactly the lag time", isr)
		}
		if isr := r.laggingISR(at(t0, lagMax+time.Millisecond), lagMax); !slices.Equal(isr, []int32{1}) {
			t.Errorf("proposed %v past the lag time, want [1]", isr)
		}
	})
	t.Run("a follower that reached the log end is in sync from then", func(t *testing.T) {
		r, t0 := setup(t)
		r.recordFollower(2, 1, 10, 10, at(t0, 8*time.Second))
		if isr := r.laggingISR(at(t0, 18*time.Second), lagMax); isr != nil {
			t.Errorf("proposed %v within the lag time of its catching up", isr)
		}
		if isr := r.laggingISR(at(t0, 18*time.Second+time.Millisecond), lagMax); !slices.Equal(isr, []int32{1}) {
			t.Errorf("proposed %v past the lag time, want [1]", isr)
		}
	})
	t.Run("a follower that keeps fetching but never reaches the log end is removed", func(t *testing.T) {
		r, t0 := setup(t)
		r.recordFollower(2, 1, 0, 10, at(t0, 3*time.Second))
		r.recordFollower(2, 1, 5, 20, at(t0, 6*time.Second))
		r.recordFollower(2, 1, 15, 30, at(t0, 9*time.Second))
		if isr := r.laggingISR(at(t0, 11*time.Second), lagMax); !slices.Equal(isr, []int32{1}) {
			t.Errorf("proposed %v, want [1]", isr)
		}
	})
	t.Run("a follower that has what the leader had at its previous fetch was in sync then", func(t *testing.T) {
		r, t0 := setup(t)
		r.recordFollower(2, 1, 0, 10, at(t0, 5*time.Second))
		r.recordFollower(2, 1, 10, 20, at(t0, 9*time.Second))
		if isr := r.laggingISR(at(t0, 15*time.Second), lagMax); isr != nil {
			t.Errorf("proposed %v within the lag time of the previous fetch", isr)
		}
		if isr := r.laggingISR(at(t0, 15*time.Second+time.Millisecond), lagMax); !slices.Equal(isr, []int32{1}) {
			t.Errorf("proposed %v past the lag time of the previous fetch, want [1]", isr)
		}
	})
	t.Run("a follower outside the ISR is not the ISR's concern", func(t *testing.T) {
		r, t0 := setup(t)
		r.recordFollower(2, 1, 10, 10, at(t0, 20*time.Second))
		if isr := r.laggingISR(at(t0, 21*time.Second), lagMax); isr != nil {
			t.Errorf("proposed %v because follower 3, outside the ISR, lags", isr)
		}
	})
	t.Run("only one change is in flight at a time", func(t *testing.T) {
		r, t0 := setup(t)
		late := at(t0, time.Minute)
		if isr := r.laggingISR(late, lagMax); isr == nil {
			t.Fatal("no shrink proposed")
		}
		if isr := r.laggingISR(late, lagMax); isr != nil {
			t.Errorf("proposed %v again while the first change is pending", isr)
		}
		r.accept([]int32{1})
		if isr := r.isr(); !slices.Equal(isr, []int32{1}) {
			t.Errorf("ISR = %v after the controller accepted, want [1]", isr)
		}
	})
	t.Run("a follower replica proposes nothing", func(t *testing.T) {
		r, t0 := setup(t)
		r.setRole(2, 2, []int32{1, 2, 3}, []int32{1, 2})
		if isr := r.laggingISR(at(t0, time.Hour), lagMax); isr != nil {
			t.Errorf("a follower proposed %v", isr)
		}
	})
}

func TestShrunkISRLetsTheHighWatermarkAdvance(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1, 2})
	r.produce(3)
	if hw := r.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark = %d before follower 2 fetched, want 0", hw)
	}
	if isr := r.laggingISR(r.start.Add(time.Hour), time.Second); !slices.Equal(isr, []int32{1}) {
		t.Fatalf("proposed %v, want [1]", isr)
	}
	// Until the controller commits it the old, larger ISR still holds it back.
	if hw := r.HighWatermark(); hw != 0 {
		t.Fatalf("high watermark = %d with the shrink pending, want 0", hw)
	}
	r.accept([]int32{1})
	if hw := r.HighWatermark(); hw != 3 {
		t.Errorf("high watermark = %d after the ISR shrank to the leader, want 3", hw)
	}
}

func TestISRChangeNamesTheBrokerEpochsFollowersFetchedWith(t *testing.T) {
	// KIP-903: the controller refuses to add a replica whose broker has
	// restarted since the fetch that qualified it.
	r := newReplica(t, nil)
	r.lead(4, []int32{1, 2, 3}, []int32{1})
	r.produce(1)
	if _, err := r.FetchForFollower(2, 42, FetchParams{Offset: 1, MaxBytes: 1 << 20, CurrentLeaderEpoch: 4, LastFetchedEpoch: -1}); err != nil {
		t.Fatal(err)
	}
	leaderEpoch, partitionEpoch, isrLen, brokerEpoch := r.alterRequest()
	if leaderEpoch != 4 || partitionEpoch != r.partitionEpoch() || isrLen != 1 {
		t.Errorf("epochs = %d/%d and ISR of %d, want 4/%d and 1", leaderEpoch, partitionEpoch, isrLen, r.partitionEpoch())
	}
	for id, want := range map[int32]int64{2: 42, 3: -1, 9: -1} {
		if got := brokerEpoch(id); got != want {
			t.Errorf("broker epoch of %d = %d, want %d", id, got, want)
		}
	}
}

func TestFetchForFollowerIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replica int32
		fp      FetchParams
		want    *kerr.Error
	}{
		{"for a broker that is not a replica, with NOT_LEADER_FOR_PARTITION", 7,
			FetchParams{Offset: 0, CurrentLeaderEpoch: 2, LastFetchedEpoch: -1}, kerr.NotLeaderForPartition},
		{"for a follower on an older leader epoch, with FENCED_LEADER_EPOCH", 2,
			FetchParams{Offset: 0, CurrentLeaderEpoch: 1, LastFetchedEpoch: -1}, kerr.FencedLeaderEpoch},
		{"for a follower on a newer leader epoch, with UNKNOWN_LEADER_EPOCH", 2,
			FetchParams{Offset: 0, CurrentLeaderEpoch: 3, LastFetchedEpoch: -1}, kerr.UnknownLeaderEpoch},
		{"past the log end, with OFFSET_OUT_OF_RANGE", 2,
			FetchParams{Offset: 4, CurrentLeaderEpoch: 2, LastFetchedEpoch: -1}, kerr.OffsetOutOfRange},
		{"for an epoch newer than the log's, with OFFSET_OUT_OF_RANGE", 2,
			FetchParams{Offset: 3, CurrentLeaderEpoch: 2, LastFetchedEpoch: 5}, kerr.OffsetOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReplica(t, nil)
			r.lead(2, []int32{1, 2}, []int32{1, 2})
			r.produce(3)
			tc.fp.MaxBytes = 1 << 20
			res, err := r.FetchForFollower(tc.replica, 1, tc.fp)
			res.Release()
			if err != tc.want {
				t.Fatalf("FetchForFollower error = %v, want %v", err, tc.want)
			}
			if hw := r.HighWatermark(); hw != 0 {
				t.Errorf("a refused fetch moved the high watermark to %d", hw)
			}
		})
	}
}

func TestFetchForFollowerReadsPastTheHighWatermark(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1, 2})
	r.produceEach(6)
	res, err := r.FetchForFollower(2, 1, FetchParams{Offset: 2, MaxBytes: 1 << 20, CurrentLeaderEpoch: 1, LastFetchedEpoch: -1})
	defer res.Release()
	if err != nil {
		t.Fatal(err)
	}
	if res.HighWatermark != 2 {
		t.Errorf("high watermark = %d, want 2", res.HighWatermark)
	}
	if res.Records.FirstOffset != 2 || res.Records.LastOffset != 5 {
		t.Errorf("records [%d, %d], want [2, 5]: a follower copies what is not committed yet", res.Records.FirstOffset, res.Records.LastOffset)
	}
}

func TestFetchForFollowerPointsADivergingFollowerAtTheEpochEnd(t *testing.T) {
	// The follower last fetched under epoch 2, which this leader never
	// had: its history ends where epoch 1 ended here (KIP-595).
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1})
	r.produceEach(3)
	r.lead(3, []int32{1, 2}, []int32{1})
	r.produceEach(2)
	res, err := r.FetchForFollower(2, 1, FetchParams{Offset: 4, MaxBytes: 1 << 20, CurrentLeaderEpoch: 3, LastFetchedEpoch: 2})
	defer res.Release()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Diverging || res.DivergingEpoch != 1 || res.DivergingEndOffset != 3 {
		t.Errorf("diverging = %v epoch %d end %d, want true, 1, 3", res.Diverging, res.DivergingEpoch, res.DivergingEndOffset)
	}
	if res.Records.Size != 0 {
		t.Errorf("a diverging follower got %d bytes of records", res.Records.Size)
	}
}

// Health counts a partition's replication against its replicas before a
// reassignment, as Kafka's UnderReplicatedPartitions does: replicas being
// added do not make it under-replicated while they copy the log.
func TestHealthDuringAReassignment(t *testing.T) {
	r := newReplica(t, map[string]string{"min.insync.replicas": "2"})
	r.lead(1, []int32{self, 2, 3}, []int32{self, 2})
	if h := r.Health(); !h.Leader || h.Replicas != 3 || h.ISR != 2 || h.MinInsyncReplicas != 2 {
		t.Errorf("leading with 2 of 3 in sync: %+v", h)
	}
	mp := metadata.Partition{
		Topic: "orders", TopicID: r.TopicID, Replicas: []int32{self, 2, 3, 4}, AddingReplicas: []int32{4},
		ISR: []int32{self, 2, 3}, Leader: self, LeaderEpoch: 1, PartitionEpoch: r.partitionEpoch() + 1,
	}
	r.Partition.setRole(&mp, r.start)
	if h := r.Health(); h.Replicas != 3 || h.ISR != 3 {
		t.Errorf("adding a fourth replica to three in sync: %+v, want 3 replicas and 3 in sync", h)
	}
}
