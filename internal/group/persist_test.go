package group

import (
	"context"
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// logRecord is one record of __consumer_offsets decoded with kmsg alone.
type logRecord struct {
	offsetKey   *kmsg.OffsetCommitKey
	groupKey    *kmsg.GroupMetadataKey
	offsetValue *kmsg.OffsetCommitValue
	groupValue  *kmsg.GroupMetadataValue
	tombstone   bool
}

func decodeWithKmsg(t *testing.T, l *memLog) []logRecord {
	t.Helper()
	var out []logRecord
	for _, r := range l.records(t) {
		var lr logRecord
		switch v := int16(binary.BigEndian.Uint16(r.key)); v {
		case 0, 1:
			lr.offsetKey = new(kmsg.OffsetCommitKey)
			if err := lr.offsetKey.ReadFrom(r.key); err != nil {
				t.Fatal(err)
			}
		case 2:
			lr.groupKey = new(kmsg.GroupMetadataKey)
			if err := lr.groupKey.ReadFrom(r.key); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("key version %d", v)
		}
		switch {
		case r.value == nil:
			lr.tombstone = true
		case lr.offsetKey != nil:
			lr.offsetValue = new(kmsg.OffsetCommitValue)
			if err := lr.offsetValue.ReadFrom(r.value); err != nil {
				t.Fatal(err)
			}
		default:
			lr.groupValue = new(kmsg.GroupMetadataValue)
			if err := lr.groupValue.ReadFrom(r.value); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, lr)
	}
	return out
}

func TestEveryChangeIsWrittenInKafkasFormat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		c := testCoordinator(log)
		defer c.Stop()
		synctest.Wait()

		joins := stableGroup(t, c, "g", 2) // the rebalance ends (CompletingRebalance) now
		start := time.Now().UnixMilli()
		leader := joins[0]
		if codes := commitCodes(c.OffsetCommit(context.Background(), commitReq("g", leader.MemberID, leader.Generation, "t", 10, 20))); codes[0] != 0 || codes[1] != 0 {
			t.Fatalf("commit: %v", codes)
		}
		del := kmsg.NewPtrDeleteGroupsRequest()
		del.Groups = []string{"s"}
		c.OffsetCommit(context.Background(), commitReq("s", "", -1, "t", 5))
		if r := c.DeleteGroups(context.Background(), del); r.Groups[0].ErrorCode != 0 {
			t.Fatalf("delete: %v", kerr.ErrorForCode(r.Groups[0].ErrorCode))
		}

		recs := decodeWithKmsg(t, log)
		if len(recs) != 6 {
			t.Fatalf("%d records, want metadata, 2 commits, a simple commit, its tombstone and the group's", len(recs))
		}
		md := recs[0]
		if md.groupKey == nil || md.groupKey.Version != 2 || md.groupKey.Group != "g" || md.groupValue.Version != 3 {
			t.Fatalf("first record %+v", md)
		}
		v := md.groupValue
		if v.ProtocolType != "consumer" || v.Generation != 1 || *v.Protocol != "range" || *v.Leader != leader.MemberID ||
			v.CurrentStateTimestamp != start || len(v.Members) != 2 {
			t.Fatalf("group metadata %+v", v)
		}
		for _, m := range v.Members {
			if m.ClientID != "client" || m.ClientHost != "/10.0.0.1" || m.SessionTimeoutMillis != 10_000 ||
				m.RebalanceTimeoutMillis != 30_000 || string(m.Subscription) != string(subMeta("t")) ||
				len(m.Assignment) == 0 {
				t.Fatalf("member %+v", m)
			}
		}
		for i, want := range []int64{10, 20} {
			r := recs[1+i]
			if r.offsetKey == nil || r.offsetKey.Version != 1 || r.offsetKey.Group != "g" || r.offsetKey.Topic != "t" ||
				r.offsetKey.Partition != int32(i) {
				t.Fatalf("offset key %+v", r.offsetKey)
			}
			ov := r.offsetValue
			if ov.Version != 3 || ov.Offset != want || ov.LeaderEpoch != 7 || ov.Metadata != "meta-"+string(rune('a'+i)) ||
				ov.CommitTimestamp != start {
				t.Fatalf("offset value %+v", ov)
			}
		}
		if !recs[4].tombstone || recs[4].offsetKey.Group != "s" || !recs[5].tombstone || recs[5].groupKey.Group != "s" {
			t.Fatalf("deletion records %+v %+v", recs[4], recs[5])
		}
	})
}

func TestReloadRebuildsGroupsAndOffsets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		c := testCoordinator(log)
		defer c.Stop()
		synctest.Wait()
		ctx := context.Background()

		joins := stableGroup(t, c, "g", 2)
		c.OffsetCommit(ctx, commitReq("g", joins[1].MemberID, joins[1].Generation, "t", 10, 20))
		c.OffsetCommit(ctx, commitReq("simple", "", -1, "t", 1, 2, 3))
		od := kmsg.NewPtrOffsetDeleteRequest()
		od.Group = "simple"
		od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
		if r := c.OffsetDelete(ctx, od); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("offset delete %+v", r)
		}
		c.OffsetCommit(ctx, commitReq("doomed", "", -1, "t", 9))
		del := kmsg.NewPtrDeleteGroupsRequest()
		del.Groups = []string{"doomed"}
		c.DeleteGroups(ctx, del)
		before := describe(c, "g", "simple", "doomed")
		c.Stop()

		c2 := testCoordinator(log)
		defer c2.Stop()
		synctest.Wait()
		after := describe(c2, "g", "simple", "doomed")
		for i := range before.Groups {
			b, a := before.Groups[i], after.Groups[i]
			if a.State != b.State || a.Protocol != b.Protocol || a.ProtocolType != b.ProtocolType || len(a.Members) != len(b.Members) {
				t.Fatalf("group %s: before %+v, after reload %+v", b.Group, b, a)
			}
			for j := range b.Members {
				bm, am := b.Members[j], a.Members[j]
				if am.MemberID != bm.MemberID || am.ClientID != bm.ClientID || am.ClientHost != bm.ClientHost ||
					string(am.MemberAssignment) != string(bm.MemberAssignment) || string(am.ProtocolMetadata) != string(bm.ProtocolMetadata) {
					t.Fatalf("member before %+v, after reload %+v", bm, am)
				}
			}
		}
		if after.Groups[0].State != "Stable" || after.Groups[2].State != "Dead" {
			t.Fatalf("states after reload %s %s", after.Groups[0].State, after.Groups[2].State)
		}
		g, _ := fetchAll(t, c2, "g")
		if len(g) != 2 || g[tp{"t", 0}].Offset != 10 || g[tp{"t", 1}].Offset != 20 || *g[tp{"t", 1}].Metadata != "meta-b" ||
			g[tp{"t", 1}].LeaderEpoch != 7 {
			t.Fatalf("offsets of g after reload %+v", g)
		}
		s, _ := fetchAll(t, c2, "simple")
		if len(s) != 2 || s[tp{"t", 0}].Offset != 1 || s[tp{"t", 2}].Offset != 3 {
			t.Fatalf("offsets of simple after reload %+v", s)
		}
		// Members of the reloaded generation carry on.
		if code := heartbeat(c2, "g", joins[1].MemberID, joins[1].Generation); code != 0 {
			t.Fatalf("heartbeat after reload: %v", kerr.ErrorForCode(code))
		}
	})
}

func TestFailedAppendFailsCommitRetriablyAndChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		c := testCoordinator(log)
		defer c.Stop()
		synctest.Wait()
		ctx := context.Background()
		c.OffsetCommit(ctx, commitReq("g", "", -1, "t", 1))
		for _, fail := range []error{kerr.NotEnoughReplicas, kerr.NotLeaderForPartition, context.DeadlineExceeded} {
			log.mu.Lock()
			log.failWith = fail
			log.mu.Unlock()
			codes := commitCodes(c.OffsetCommit(ctx, commitReq("g", "", -1, "t", 99)))
			if !kerr.IsRetriable(kerr.ErrorForCode(codes[0])) && codes[0] != kerr.NotCoordinator.Code {
				t.Fatalf("append failing with %v: commit answered %v", fail, kerr.ErrorForCode(codes[0]))
			}
			if got, _ := fetchAll(t, c, "g"); got[tp{"t", 0}].Offset != 1 {
				t.Fatalf("after a failed commit the offset is %d", got[tp{"t", 0}].Offset)
			}
		}
		log.mu.Lock()
		log.failWith = nil
		log.mu.Unlock()
		if codes := commitCodes(c.OffsetCommit(ctx, commitReq("g", "", -1, "t", 99))); codes[0] != 0 {
			t.Fatalf("commit after recovery: %v", kerr.ErrorForCode(codes[0]))
		}
	})
}

func TestCommitTimesOutWhenTheLogDoesNotCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{gate: make(chan struct{})}
		c := testCoordinator(log, func(cfg *Config) { cfg.Group.OffsetCommitTimeoutMs = 5000 })
		defer c.Stop()
		synctest.Wait()
		start := time.Now()
		codes := commitCodes(c.OffsetCommit(context.Background(), commitReq("g", "", -1, "t", 1)))
		if codes[0] != kerr.CoordinatorNotAvailable.Code || time.Since(start) != 5*time.Second {
			t.Fatalf("after %v: %v", time.Since(start), kerr.ErrorForCode(codes[0]))
		}
	})
}
