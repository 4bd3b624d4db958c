package partition

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/record"
)

func TestAppendIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		setup     func(r *replica)
		batch     func(t *testing.T) []byte
		acks      int16
		want      *kerr.Error
	}{
		{
			name:  "by a replica without a role yet, with NOT_LEADER_FOR_PARTITION",
			setup: func(r *replica) {},
			acks:  1, want: kerr.NotLeaderForPartition,
		},
		{
			name:  "by a follower, with NOT_LEADER_FOR_PARTITION",
			setup: func(r *replica) { r.setRole(2, 1, []int32{1, 2}, []int32{1, 2}) },
			acks:  1, want: kerr.NotLeaderForPartition,
		},
		{
			name: "by a leader cut off from the controller, with NOT_LEADER_FOR_PARTITION",
			setup: func(r *replica) {
				r.lead(1, []int32{1}, []int32{1})
				r.cutOff.Store(true)
			},
			acks: 1, want: kerr.NotLeaderForPartition,
		},
		{
			name: "by a leader whose lease has lapsed, with NOT_LEADER_FOR_PARTITION",
			setup: func(r *replica) {
				r.lease = func() bool { return false }
				r.lead(1, []int32{1}, []int32{1})
			},
			acks: 1, want: kerr.NotLeaderForPartition,
		},
		{
			name:      "for acks=all while the ISR is smaller than min.insync.replicas, with NOT_ENOUGH_REPLICAS",
			overrides: map[string]string{"min.insync.replicas": "2"},
			setup:     func(r *replica) { r.lead(1, []int32{1, 2}, []int32{1}) },
			acks:      -1, want: kerr.NotEnoughReplicas,
		},
		{
			name:  "for a transactional batch, with INVALID_TXN_STATE",
			setup: func(r *replica) { r.lead(1, []int32{1}, []int32{1}) },
			batch: func(t *testing.T) []byte {
				b := record.NewBuilder(record.CodecNone)
				b.SetProducer(1000, 0, 0)
				b.SetTransactional(true)
				b.Add(time.Now().UnixMilli(), []byte("k"), []byte("v"), nil)
				out, err := b.Build(nil)
				if err != nil {
					t.Fatal(err)
				}
				return out
			},
			acks: -1, want: kerr.InvalidTxnState,
		},
		{
			name:  "for a batch that is not framed right, with CORRUPT_MESSAGE",
			setup: func(r *replica) { r.lead(1, []int32{1}, []int32{1}) },
			batch: func(t *testing.T) []byte {
				b := records(t, 2)
				b[len(b)-1] ^= 0xff // the CRC no longer matches
				return b
			},
			acks: 1, want: kerr.CorruptMessage,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReplica(t, tc.overrides)
			tc.setup(r)
			batch := records(t, 3)
			if tc.batch != nil {
				batch = tc.batch(t)
			}
			_, aerr := r.Append(AppendParams{Records: batch, Acks: tc.acks, Now: time.Now().UnixMilli(), ProduceVersion: 9})
			if aerr == nil || aerr.Code != tc.want {
				t.Fatalf("Append error = %+v, want %v", aerr, tc.want)
			}
			if leo := r.Log().LogEndOffset(); leo != 0 {
				t.Errorf("log end offset = %d after a refused append, want 0", leo)
			}
		})
	}
}

func TestAppendAcceptsAcksOneWhileTheISRIsBelowMinInsync(t *testing.T) {
	// min.insync.replicas binds acks=all only, as in Kafka.
	r := newReplica(t, map[string]string{"min.insync.replicas": "2"})
	r.lead(1, []int32{1, 2}, []int32{1})
	res, aerr := r.Append(AppendParams{Records: records(t, 1), Acks: 1, Now: time.Now().UnixMilli(), ProduceVersion: 9})
	if aerr != nil {
		t.Fatalf("Append: %v", aerr.Code)
	}
	if res.BaseOffset != 0 || res.LastOffset != 0 {
		t.Errorf("offsets = [%d, %d], want [0, 0]", res.BaseOffset, res.LastOffset)
	}
}

func TestAppendAssignsConsecutiveOffsets(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(1, []int32{1}, []int32{1})
	for _, want := range []struct{ n, base, last int64 }{{3, 0, 2}, {1, 3, 3}, {5, 4, 8}} {
		res := r.produce(int(want.n))
		if res.BaseOffset != want.base || res.LastOffset != want.last {
			t.Errorf("batch of %d: offsets [%d, %d], want [%d, %d]", want.n, res.BaseOffset, res.LastOffset, want.base, want.last)
		}
		if res.LogAppendTime != -1 || res.LogStartOffset != 0 {
			t.Errorf("batch of %d: log append time %d, log start offset %d; want -1 and 0", want.n, res.LogAppendTime, res.LogStartOffset)
		}
	}
	if leo := r.Log().LogEndOffset(); leo != 9 {
		t.Errorf("log end offset = %d, want 9", leo)
	}
}

func TestAppendStampsTheLeaderEpoch(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(4, []int32{1}, []int32{1})
	r.produce(2)
	r.lead(7, []int32{1}, []int32{1})
	r.produce(1)
	var got []int32
	for _, h := range headers(t, r.Log(), 0, r.Log().LogEndOffset()) {
		got = append(got, h.PartitionLeaderEpoch)
	}
	if len(got) != 2 || got[0] != 4 || got[1] != 7 {
		t.Errorf("leader epochs of the batches = %v, want [4 7]", got)
	}
}

func TestAppendWithLogAppendTimeReportsTheBrokerTime(t *testing.T) {
	r := newReplica(t, map[string]string{"message.timestamp.type": "LogAppendTime"})
	r.lead(1, []int32{1}, []int32{1})
	now := time.Now().UnixMilli() + 12345 // the broker's clock, whatever the records say
	res, aerr := r.Append(AppendParams{Records: records(t, 2), Acks: 1, Now: now, ProduceVersion: 9})
	if aerr != nil {
		t.Fatalf("Append: %v", aerr.Code)
	}
	if res.LogAppendTime != now {
		t.Errorf("log append time = %d, want %d", res.LogAppendTime, now)
	}
}

func TestAppendReportsEachRecordWithoutAKeyOnACompactedTopic(t *testing.T) {
	r := newReplica(t, map[string]string{"cleanup.policy": "compact"})
	r.lead(1, []int32{1}, []int32{1})
	b := record.NewBuilder(record.CodecNone)
	now := time.Now().UnixMilli()
	b.Add(now, []byte("k"), []byte("v"), nil)
	b.Add(now, nil, []byte("no key"), nil)
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, aerr := r.Append(AppendParams{Records: batch, Acks: 1, Now: now, ProduceVersion: 9})
	if aerr == nil || aerr.Code != kerr.InvalidRecord {
		t.Fatalf("Append error = %+v, want INVALID_RECORD", aerr)
	}
	if len(aerr.RecordErrors) != 1 || aerr.RecordErrors[0].Index != 1 {
		t.Errorf("record errors = %+v, want one for record 1", aerr.RecordErrors)
	}
}

func TestAcked(t *testing.T) {
	t.Run("acks=1 is answered once this replica has the batch durably", func(t *testing.T) {
		r := newReplica(t, nil)
		r.lead(1, []int32{1, 2}, []int32{1, 2})
		res := r.produce(3)
		if done, err := r.Acked(res.LastOffset+1, 1, 1); !done || err != nil {
			t.Errorf("Acked(acks=1) = %v, %v; want true, nil", done, err)
		}
	})
	t.Run("acks=all waits until every in-sync follower has the batch", func(t *testing.T) {
		r := newReplica(t, nil)
		r.lead(1, []int32{1, 2}, []int32{1, 2})
		next := r.produce(3).LastOffset + 1
		if done, err := r.Acked(next, 1, -1); done || err != nil {
			t.Fatalf("Acked(acks=all) before the follower fetched = %v, %v; want false, nil", done, err)
		}
		r.fetchAs(2, 2)
		if done, _ := r.Acked(next, 1, -1); done {
			t.Fatal("Acked(acks=all) = true with the follower at offset 2 of 3")
		}
		r.fetchAs(2, 3)
		if done, err := r.Acked(next, 1, -1); !done || err != nil {
			t.Errorf("Acked(acks=all) after the follower fetched = %v, %v; want true, nil", done, err)
		}
	})
	t.Run("acks=all fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND once the ISR shrank below min.insync.replicas", func(t *testing.T) {
		r := newReplica(t, map[string]string{"min.insync.replicas": "2"})
		r.lead(1, []int32{1, 2}, []int32{1, 2})
		res, aerr := r.Append(AppendParams{Records: records(t, 1), Acks: -1, Now: time.Now().UnixMilli(), ProduceVersion: 9})
		if aerr != nil {
			t.Fatalf("Append: %v", aerr.Code)
		}
		r.lead(1, []int32{1, 2}, []int32{1}) // the controller drops follower 2
		done, err := r.Acked(res.LastOffset+1, 1, -1)
		if !done || err != kerr.NotEnoughReplicasAfterAppend {
			t.Errorf("Acked(acks=all) = %v, %v; want true, NOT_ENOUGH_REPLICAS_AFTER_APPEND", done, err)
		}
	})
}

func TestAckedInFsyncModeWaitsForTheFsync(t *testing.T) {
	r := newReplica(t, map[string]string{"flush.messages": "1"})
	r.lead(1, []int32{1}, []int32{1})
	next := r.produce(2).LastOffset + 1
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, acks := range []int16{1, -1} {
		if err := r.WaitAcked(ctx, next, 1, acks); err != nil {
			t.Fatalf("WaitAcked(acks=%d): %v", acks, err)
		}
	}
	if d := r.Log().DurableOffset(); d < next {
		t.Errorf("acknowledged with the durable offset at %d, below %d", d, next)
	}
	if hw := r.HighWatermark(); hw != next {
		t.Errorf("high watermark = %d, want %d", hw, next)
	}
}

func TestWaitAcked(t *testing.T) {
	// Each case has a leader with follower 2 in the ISR and three records
	// follower 2 has not fetched, so an acks=all produce waits. It runs in
	// a synctest bubble: synctest.Wait returns once the produce is blocked
	// waiting, so what follows must wake it.
	for _, tc := range []struct {
		name  string
		event func(r *replica, next int64)
		want  *kerr.Error
	}{
		{"returns when the follower's fetch moves the high watermark",
			func(r *replica, next int64) { r.fetchAs(2, next) }, nil},
		{"fails with NOT_LEADER_FOR_PARTITION when the leadership moves",
			func(r *replica, _ int64) { r.setRole(2, 2, []int32{1, 2}, []int32{1, 2}) }, kerr.NotLeaderForPartition},
		{"fails with NOT_LEADER_FOR_PARTITION when the replica stops",
			func(r *replica, _ int64) { r.stop() }, kerr.NotLeaderForPartition},
		{"fails with REQUEST_TIMED_OUT when the request's time is up",
			func(*replica, int64) {}, kerr.RequestTimedOut}, // the bubble's clock runs on to the deadline
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newReplica(t, nil)
				r.lead(1, []int32{1, 2}, []int32{1, 2})
				next := r.produce(3).LastOffset + 1
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				got := result(t, func() *kerr.Error { return r.WaitAcked(ctx, next, 1, -1) })
				synctest.Wait()
				select {
				case err := <-got:
					t.Fatalf("WaitAcked returned %v before anything happened", err)
				default:
				}
				tc.event(r, next)
				if err := receive(t, got); err != tc.want {
					t.Errorf("WaitAcked = %v, want %v", err, tc.want)
				}
			})
		})
	}
}

func TestWaitAckedAfterLosingTheLeadership(t *testing.T) {
	// A produce waiting on a replica that lost the leadership, was
	// truncated and has since followed the new leader past its offsets
	// must not be answered with success: its records are gone. (The
	// produce handler waits on partitions one after another, so a later
	// partition is checked only after an earlier one answered.) Kafka's
	// DelayedProduce answers NOT_LEADER_OR_FOLLOWER once the replica no
	// longer leads.

	r := newReplica(t, nil)
	r.lead(1, []int32{1, 2}, []int32{1, 2})
	next := r.produce(3).LastOffset + 1 // never reaches follower 2

	// Broker 2 takes over under epoch 2 and writes other records at the
	// same offsets; this replica truncates and copies them.
	r.setRole(2, 2, []int32{1, 2}, []int32{1, 2})
	if err := r.TruncateTo(2, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.AppendAsFollower(2, leaderBatch(t, 0, 2, 5)); err != nil {
		t.Fatal(err)
	}
	if err := r.FollowLeader(2, 5, 0); err != nil {
		t.Fatal(err)
	}

	for _, acks := range []int16{1, -1} {
		if done, err := r.Acked(next, 1, acks); !done || err != kerr.NotLeaderForPartition {
			t.Errorf("Acked(acks=%d) = %v, %v for records the new leader truncated away; want true, NOT_LEADER_FOR_PARTITION", acks, done, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.WaitAcked(ctx, next, 1, -1); err != kerr.NotLeaderForPartition {
		t.Errorf("WaitAcked = %v, want NOT_LEADER_FOR_PARTITION", err)
	}
}

func TestAckedAfterTheLeadershipEnds(t *testing.T) {
	// A produce still waiting when its leadership ends is answered by what
	// that leadership had committed, not refused wholesale: a refused
	// batch that is in fact kept is written twice by a producer without
	// idempotence when it retries.
	t.Run("records the high watermark covered before the leader changed succeed", func(t *testing.T) {
		r := newReplica(t, nil)
		r.lead(1, []int32{1, 2}, []int32{1, 2})
		next := r.produce(3).LastOffset + 1
		r.fetchAs(2, next) // committed under epoch 1
		r.setRole(2, 2, []int32{1, 2}, []int32{1, 2})
		for _, acks := range []int16{1, -1} {
			if done, err := r.Acked(next, 1, acks); !done || err != nil {
				t.Errorf("Acked(acks=%d) = %v, %v for records committed under the ended leadership; want true, nil", acks, done, err)
			}
		}
		// A later batch of the same leadership that the follower never
		// fetched was not committed.
		if done, err := r.Acked(next+1, 1, -1); !done || err != kerr.NotLeaderForPartition {
			t.Errorf("Acked(acks=all) past the committed offsets = %v, %v; want true, NOT_LEADER_FOR_PARTITION", done, err)
		}
	})
	t.Run("a leader alone in the ISR, left without a successor, settles what it appended", func(t *testing.T) {
		// The controlled shutdown of a one-node cluster: the partition is
		// left without a leader while a produce waits for the fsync.
		r := newReplica(t, map[string]string{"flush.messages": "1"})
		r.lead(1, []int32{1}, []int32{1})
		next := r.produce(3).LastOffset + 1
		r.setRole(-1, 2, []int32{1}, []int32{1})
		if d := r.Log().DurableOffset(); d != next {
			t.Errorf("durable offset = %d after the leadership ended, want %d", d, next)
		}
		if hw := r.HighWatermark(); hw != next {
			t.Errorf("high watermark = %d after the leadership ended, want %d", hw, next)
		}
		for _, acks := range []int16{1, -1} {
			if done, err := r.Acked(next, 1, acks); !done || err != nil {
				t.Errorf("Acked(acks=%d) = %v, %v; want true, nil", acks, done, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.WaitAcked(ctx, next, 1, -1); err != nil {
			t.Errorf("WaitAcked = %v, want success", err)
		}
	})
	t.Run("records a follower in the ISR lacks are refused when the partition is left without a leader", func(t *testing.T) {
		r := newReplica(t, nil)
		r.lead(1, []int32{1, 2}, []int32{1, 2})
		next := r.produce(3).LastOffset + 1 // never fetched by follower 2
		r.setRole(-1, 2, []int32{1, 2}, []int32{1, 2})
		if done, err := r.Acked(next, 1, -1); !done || err != kerr.NotLeaderForPartition {
			t.Errorf("Acked(acks=all) = %v, %v; want true, NOT_LEADER_FOR_PARTITION", done, err)
		}
	})
}

func TestAppendInternal(t *testing.T) {
	t.Run("returns once every in-sync replica has the batch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newReplica(t, nil)
			r.lead(1, []int32{1, 2}, []int32{1, 2})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			got := result(t, func() error { return r.AppendInternal(ctx, records(t, 2)) })
			synctest.Wait()
			select {
			case err := <-got:
				t.Fatalf("AppendInternal returned %v before the follower had the batch", err)
			default:
			}
			if leo := r.Log().LogEndOffset(); leo != 2 {
				t.Fatalf("log end offset = %d while AppendInternal waits, want 2", leo)
			}
			r.fetchAs(2, 2)
			if err := receive(t, got); err != nil {
				t.Errorf("AppendInternal: %v", err)
			}
			if hw := r.HighWatermark(); hw != 2 {
				t.Errorf("high watermark = %d, want 2", hw)
			}
		})
	})
	t.Run("is refused by a follower with NOT_LEADER_FOR_PARTITION", func(t *testing.T) {
		r := newReplica(t, nil)
		r.setRole(2, 1, []int32{1, 2}, []int32{1, 2})
		err := r.AppendInternal(context.Background(), records(t, 1))
		if !errors.Is(err, kerr.NotLeaderForPartition) {
			t.Errorf("AppendInternal = %v, want NOT_LEADER_FOR_PARTITION", err)
		}
		if leo := r.Log().LogEndOffset(); leo != 0 {
			t.Errorf("log end offset = %d, want 0", leo)
		}
	})
	t.Run("fails with REQUEST_TIMED_OUT when the follower never fetches", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newReplica(t, nil)
			r.lead(1, []int32{1, 2}, []int32{1, 2})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := r.AppendInternal(ctx, records(t, 1)); !errors.Is(err, kerr.RequestTimedOut) {
				t.Errorf("AppendInternal = %v, want REQUEST_TIMED_OUT", err)
			}
		})
	})
}

// An append checked against a leadership that ended before it could take
// writeMu is not written: a follower truncation may already have cut the
// log, and a batch of the old epoch must not land after it.
func TestAppendUnderALeadershipThatEndedWritesNothing(t *testing.T) {
	r := newReplica(t, nil)
	r.lead(4, []int32{1, 2}, []int32{1, 2})
	r.produce(2)
	r.setRole(2, 5, []int32{1, 2}, []int32{1, 2}) // broker 2 leads now
	batch := records(t, 1)
	if _, err := r.appendAsLeader(batch, 4, time.Now().UnixMilli()); !errors.Is(err, errLeadershipChanged) {
		t.Fatalf("append under the ended leadership: %v, want errLeadershipChanged", err)
	}
	if leo := r.Log().LogEndOffset(); leo != 2 {
		t.Fatalf("log end offset %d after the refused append, want 2", leo)
	}
	r.lead(6, []int32{1, 2}, []int32{1, 2})
	if _, err := r.appendAsLeader(batch, 4, time.Now().UnixMilli()); !errors.Is(err, errLeadershipChanged) {
		t.Fatalf("append under an older epoch of a new leadership: %v, want errLeadershipChanged", err)
	}
}
