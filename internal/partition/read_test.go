package partition

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// committedAt4 returns a leader with six one-record batches of which
// follower 2, its ISR, has fetched the first four: the high watermark is 4.
func committedAt4(t *testing.T) *replica {
	t.Helper()
	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1, 2})
	r.produceEach(6)
	if hw := r.fetchAs(2, 4); hw != 4 {
		t.Fatalf("high watermark = %d, want 4", hw)
	}
	return r
}

func TestConsumersReadOnlyBelowTheHighWatermark(t *testing.T) {
	for _, tc := range []struct {
		name        string
		offset      int64
		isolation   int8
		first, last int64 // the records returned; last < first for none
		want        *kerr.Error
	}{
		{"from the start, up to the high watermark", 0, 0, 0, 3, nil},
		{"read_committed, up to the last stable offset", 1, 1, 1, 3, nil},
		{"at the high watermark, nothing yet", 4, 0, 0, -1, nil},
		{"between the high watermark and the log end, nothing yet", 5, 0, 0, -1, nil},
		{"at the log end, nothing yet", 6, 0, 0, -1, nil},
		{"past the log end, OFFSET_OUT_OF_RANGE", 7, 0, 0, -1, kerr.OffsetOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := committedAt4(t)
			res, err := r.Fetch(FetchParams{Offset: tc.offset, MaxBytes: 1 << 20, Isolation: tc.isolation, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
			defer res.Release()
			if err != tc.want {
				t.Fatalf("Fetch error = %v, want %v", err, tc.want)
			}
			if res.HighWatermark != 4 || res.LastStableOffset != 4 || res.LogStartOffset != 0 {
				t.Errorf("high watermark %d, last stable offset %d, log start offset %d; want 4, 4, 0",
					res.HighWatermark, res.LastStableOffset, res.LogStartOffset)
			}
			switch {
			case tc.last < tc.first && res.Records.Size != 0:
				t.Errorf("got records [%d, %d], want none", res.Records.FirstOffset, res.Records.LastOffset)
			case tc.last >= tc.first && (res.Records.FirstOffset != tc.first || res.Records.LastOffset != tc.last):
				t.Errorf("got records [%d, %d], want [%d, %d]", res.Records.FirstOffset, res.Records.LastOffset, tc.first, tc.last)
			}
		})
	}
}

func TestReadsCheckTheLeaderEpochTheClientKnows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current int32
		want    *kerr.Error
	}{
		{"unchecked (-1)", -1, nil},
		{"the current epoch", 5, nil},
		{"an older epoch, FENCED_LEADER_EPOCH", 4, kerr.FencedLeaderEpoch},
		{"a newer epoch, UNKNOWN_LEADER_EPOCH", 6, kerr.UnknownLeaderEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReplica(t, nil)
			r.lead(5, []int32{1}, []int32{1})
			r.produce(1)
			res, err := r.Fetch(FetchParams{Offset: 0, MaxBytes: 1 << 20, CurrentLeaderEpoch: tc.current, LastFetchedEpoch: -1})
			res.Release()
			if err != tc.want {
				t.Errorf("Fetch error = %v, want %v", err, tc.want)
			}
			if _, err := r.ListOffset(LatestTimestamp, 0, tc.current); err != tc.want {
				t.Errorf("ListOffset error = %v, want %v", err, tc.want)
			}
			if _, _, err := r.EndOffsetForEpoch(5, tc.current); err != tc.want {
				t.Errorf("EndOffsetForEpoch error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadsAreRefusedByAFollower(t *testing.T) {
	r := newReplica(t, nil)
	r.setRole(2, 1, []int32{1, 2}, []int32{1, 2})
	res, err := r.Fetch(FetchParams{Offset: 0, MaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
	if err != kerr.NotLeaderForPartition {
		t.Errorf("Fetch error = %v, want NOT_LEADER_FOR_PARTITION", err)
	}
	if res.HighWatermark != -1 || res.LogStartOffset != -1 {
		t.Errorf("a refused fetch reports high watermark %d, log start %d; want -1, -1", res.HighWatermark, res.LogStartOffset)
	}
	if _, err := r.ListOffset(EarliestTimestamp, 0, -1); err != kerr.NotLeaderForPartition {
		t.Errorf("ListOffset error = %v, want NOT_LEADER_FOR_PARTITION", err)
	}
	if _, err := r.DeleteRecords(-1); err != kerr.NotLeaderForPartition {
		t.Errorf("DeleteRecords error = %v, want NOT_LEADER_FOR_PARTITION", err)
	}
}

func TestListOffset(t *testing.T) {
	r := committedAt4(t)
	ts := time.Now().UnixMilli() + 60_000 // later than every record
	for _, tc := range []struct {
		name      string
		timestamp int64
		want      int64
	}{
		{"latest is the high watermark", LatestTimestamp, 4},
		{"earliest is the log start offset", EarliestTimestamp, 0},
		{"the first record at or after a timestamp", 0, 0},
		{"none for a timestamp after every committed record", ts, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.ListOffset(tc.timestamp, 0, -1)
			if err != nil || got.Offset != tc.want {
				t.Errorf("ListOffset(%d) = %+v, %v; want offset %d", tc.timestamp, got, err, tc.want)
			}
		})
	}
}

func TestDeleteRecords(t *testing.T) {
	r := committedAt4(t)
	if _, err := r.DeleteRecords(5); err != kerr.OffsetOutOfRange {
		t.Errorf("DeleteRecords(5) past the high watermark = %v, want OFFSET_OUT_OF_RANGE", err)
	}
	low, err := r.DeleteRecords(2)
	if err != nil || low != 2 || r.Log().LogStartOffset() != 2 {
		t.Errorf("DeleteRecords(2) = %d, %v with log start %d; want 2, nil, 2", low, err, r.Log().LogStartOffset())
	}
	if low, err := r.DeleteRecords(-1); err != nil || low != 4 {
		t.Errorf("DeleteRecords(-1) = %d, %v; want the high watermark 4", low, err)
	}
	res, ferr := r.Fetch(FetchParams{Offset: 1, MaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
	res.Release()
	if ferr != kerr.OffsetOutOfRange {
		t.Errorf("Fetch below the new log start = %v, want OFFSET_OUT_OF_RANGE", ferr)
	}
}

// The earliest offset comes with the epoch that wrote it, as Kafka
// answers (the client validates its position with it), not the current one.
func TestListOffsetEarliestNamesTheOldestEpoch(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(3, []int32{1}, []int32{1})
	r.produceEach(2)
	r.lead(5, []int32{1}, []int32{1})
	r.produceEach(2)
	got, err := r.ListOffset(EarliestTimestamp, 0, -1)
	if err != nil || got.Offset != 0 || got.LeaderEpoch != 3 {
		t.Errorf("earliest = %+v, %v; want offset 0 of epoch 3", got, err)
	}
}

// Records of a topic that is only compacted cannot be deleted (Kafka:
// POLICY_VIOLATION); with compact,delete they can.
func TestDeleteRecordsNeedsTheDeletePolicy(t *testing.T) {
	for policy, want := range map[string]*kerr.Error{"compact": kerr.PolicyViolation, "compact,delete": nil} {
		r := newReplica(t, map[string]string{"cleanup.policy": policy})
		r.lead(1, []int32{1}, []int32{1})
		if _, err := r.DeleteRecords(0); err != want {
			t.Errorf("cleanup.policy=%s: DeleteRecords(0) = %v, want %v", policy, err, want)
		}
	}
}

func TestWatchersAreSignalledByWhatCanGiveThemData(t *testing.T) {
	for _, flush := range []string{pageCache, "1"} {
		t.Run("flush.messages="+flush, func(t *testing.T) {
			r := newReplica(t, map[string]string{"flush.messages": flush})
			r.lead(1, []int32{1, 2}, []int32{1, 2})
			consumer, follower := NewWaiter(), NewWaiter()
			r.Watch(consumer, false)
			r.Watch(follower, true)
			signalled := func(w *Waiter) bool {
				select {
				case <-w.C:
					return true
				default:
					return false
				}
			}
			r.produce(2) // appended and durable here, but not on replica 2
			if err := r.Log().WaitDurable(context.Background(), 2); err != nil {
				t.Fatal(err)
			}
			if !signalled(follower) {
				t.Error("a follower's fetch was not signalled by an append")
			}
			if signalled(consumer) {
				t.Error("a consumer's fetch was signalled before the high watermark moved")
			}
			r.fetchAs(2, 2)
			if !signalled(consumer) {
				t.Fatal("no signal after the high watermark moved")
			}
			signalled(follower) // the high watermark's move woke it too
			r.Unwatch(consumer)
			r.Unwatch(follower)
			r.produce(1)
			r.fetchAs(2, 3)
			if signalled(consumer) || signalled(follower) {
				t.Error("signalled after Unwatch")
			}
		})
	}
}
