package group

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// parked runs f in a goroutine and returns a channel with its result.
func parked[T any](f func() T) chan T {
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	return ch
}

func TestUnloadAnswersEveryParkedRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		c := testCoordinator(log)
		defer c.Stop()
		synctest.Wait()
		ctx := context.Background()

		stable := stableGroup(t, c, "s", 2)
		syncing := joinAll(t, c, "f", 2)
		log.mu.Lock()
		log.gate = make(chan struct{}) // appends hang from now on
		log.mu.Unlock()

		join := parked(func() *kmsg.JoinGroupResponse { // still inside the initial delay
			return c.JoinGroup(ctx, joinReq("j", "", 3), Client{})
		})
		rejoin := parked(func() *kmsg.JoinGroupResponse { // waits for the other member to rejoin
			return c.JoinGroup(ctx, joinReq("s", stable[0].MemberID, 3), Client{})
		})
		follower := parked(func() *kmsg.SyncGroupResponse { // waits for the leader's assignment
			r := kmsg.NewPtrSyncGroupRequest()
			r.Group, r.MemberID, r.Generation = "f", syncing[1].MemberID, syncing[1].Generation
			return c.SyncGroup(ctx, r, Client{})
		})
		commit := parked(func() *kmsg.OffsetCommitResponse { // waits for the log
			return c.OffsetCommit(ctx, commitReq("simple", "", -1, "t", 1))
		})
		synctest.Wait()
		if len(join) > 0 || len(rejoin) > 0 || len(follower) > 0 || len(commit) > 0 {
			t.Fatal("a request that should wait was answered")
		}

		c.Unload(0)
		wantCode[int16](t, "parked join", (<-join).ErrorCode, kerr.NotCoordinator)
		wantCode[int16](t, "parked rejoin", (<-rejoin).ErrorCode, kerr.NotCoordinator)
		wantCode[int16](t, "parked sync", (<-follower).ErrorCode, kerr.NotCoordinator)
		wantCode[int16](t, "commit in flight", commitCodes(<-commit)[0], kerr.NotCoordinator)
		wantCode[int16](t, "heartbeat after unload", heartbeat(c, "s", stable[1].MemberID, stable[1].Generation), kerr.NotCoordinator)
		if r := c.JoinGroup(ctx, joinReq("j", "", 3), Client{}); r.ErrorCode != kerr.NotCoordinator.Code {
			t.Fatalf("join after unload: %v", kerr.ErrorForCode(r.ErrorCode))
		}

		// Leadership comes back: the stable group is there again.
		log.mu.Lock()
		log.gate = nil
		log.mu.Unlock()
		c.Load(0, log)
		synctest.Wait()
		if d := describe(c, "s").Groups[0]; d.State != "Stable" || len(d.Members) != 2 {
			t.Fatalf("after reload: %+v", d)
		}
		wantCode[int16](t, "heartbeat after reload", heartbeat(c, "s", stable[1].MemberID, stable[1].Generation), nil)
	})
}

func TestStopAnswersParkedRequestsAndRefusesNewOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := testCoordinator(&memLog{})
		synctest.Wait()
		join := parked(func() *kmsg.JoinGroupResponse {
			return c.JoinGroup(context.Background(), joinReq("j", "", 3), Client{})
		})
		synctest.Wait()
		c.Stop()
		wantCode[int16](t, "parked join", (<-join).ErrorCode, kerr.NotCoordinator)
		r := c.JoinGroup(context.Background(), joinReq("j", "", 3), Client{})
		wantCode[int16](t, "join after stop", r.ErrorCode, kerr.CoordinatorNotAvailable)
		c.Load(0, &memLog{}) // ignored
		c.Stop()             // twice is fine
	})
}

func TestUnloadWhileLoading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{readGate: make(chan struct{})}
		log.appendRaw(batchOf(t, 0, commitRec("g", "t", 0, 1)), 1)
		c := testCoordinator(log)
		defer c.Stop()
		synctest.Wait()
		c.Unload(0)
		close(log.readGate) // the read in progress returns; the loader sees it was unloaded
		synctest.Wait()
		if _, ec := fetchAll(t, c, "g"); ec != kerr.NotCoordinator.Code {
			t.Fatalf("fetch after unload during load: %v", kerr.ErrorForCode(ec))
		}
	})
}

func TestRequestsForGroupsElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := testCoordinator(nil, func(cfg *Config) { cfg.Group.OffsetsTopicPartitions = 50 })
		defer c.Stop()
		c.Load(PartitionFor("mine", 50), &memLog{})
		synctest.Wait()
		ctx := context.Background()
		for _, g := range []string{"mine", "elsewhere"} {
			want := kerr.NotCoordinator
			if PartitionFor(g, 50) == PartitionFor("mine", 50) {
				want = nil
			}
			wantCode[int16](t, g+" commit", commitCodes(c.OffsetCommit(ctx, commitReq(g, "", -1, "t", 1)))[0], want)
		}
		wantCode[int16](t, "empty group id", c.JoinGroup(ctx, joinReq("", "", 5), Client{}).ErrorCode, kerr.InvalidGroupID)
		short := joinReq("mine", "", 5)
		short.SessionTimeoutMillis = 10
		wantCode[int16](t, "session too short", c.JoinGroup(ctx, short, Client{}).ErrorCode, kerr.InvalidSessionTimeout)
	})
}
