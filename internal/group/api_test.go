package group

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiTest runs f against a loaded coordinator in a synctest bubble.
func apiTest(t *testing.T, f func(t *testing.T, c *Coordinator), edit ...func(*Config)) {
	synctest.Test(t, func(t *testing.T) {
		c := testCoordinator(&memLog{}, edit...)
		defer c.Stop()
		synctest.Wait()
		f(t, c)
	})
}

func TestJoinGroupTwoStepAndVersions(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		ctx := context.Background()
		first := c.JoinGroup(ctx, joinReq("g", "", 4), Client{ID: "cl"})
		if first.Version != 4 || first.ErrorCode != kerr.MemberIDRequired.Code || !strings.HasPrefix(first.MemberID, "cl-") {
			t.Fatalf("first join %+v", first)
		}
		second := c.JoinGroup(ctx, joinReq("g", first.MemberID, 4), Client{ID: "cl"})
		if second.ErrorCode != 0 || second.MemberID != first.MemberID || second.Generation != 1 {
			t.Fatalf("second join %+v", second)
		}
		// A member id this group never handed out.
		r := c.JoinGroup(ctx, joinReq("other", "made-up", 4), Client{})
		wantCode[int16](t, "unknown group with a member id", r.ErrorCode, kerr.UnknownMemberID)
		// v0 has no rebalance timeout: the session timeout stands in.
		v0 := joinReq("v0", "", 0)
		v0.RebalanceTimeoutMillis = -1
		if r := c.JoinGroup(ctx, v0, Client{}); r.ErrorCode != 0 {
			t.Fatalf("v0 join %+v", r)
		}
		d := describe(c, "v0").Groups[0]
		if d.State != "CompletingRebalance" {
			t.Fatalf("v0 group %+v", d)
		}
	})
}

func TestLeaveGroupVersions(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		ctx := context.Background()
		joins := stableGroup(t, c, "g", 3)
		old := kmsg.NewPtrLeaveGroupRequest()
		old.Version, old.Group, old.MemberID = 1, "g", "nobody"
		wantCode[int16](t, "v1 unknown member", c.LeaveGroup(ctx, old).ErrorCode, kerr.UnknownMemberID)
		old.MemberID = joins[2].MemberID
		wantCode[int16](t, "v1 leave", c.LeaveGroup(ctx, old).ErrorCode, nil)
		batch := kmsg.NewPtrLeaveGroupRequest()
		batch.Version, batch.Group = 5, "g"
		batch.Members = []kmsg.LeaveGroupRequestMember{{MemberID: joins[1].MemberID}, {MemberID: "nobody"}}
		r := c.LeaveGroup(ctx, batch)
		if r.ErrorCode != 0 || len(r.Members) != 2 || r.Members[0].ErrorCode != 0 || r.Members[1].ErrorCode != kerr.UnknownMemberID.Code {
			t.Fatalf("v5 leave %+v", r)
		}
		batch.Group = "unknown"
		if r := c.LeaveGroup(ctx, batch); r.ErrorCode != 0 || r.Members[0].ErrorCode != kerr.UnknownMemberID.Code {
			t.Fatalf("leave of an unknown group %+v", r)
		}
	})
}

func TestDescribeListAndDeleteGroups(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		ctx := context.Background()
		stableGroup(t, c, "busy", 1)
		c.OffsetCommit(ctx, commitReq("idle", "", -1, "t", 1))

		d := describe(c, "busy", "idle", "nothing")
		if d.Groups[0].State != "Stable" || d.Groups[0].Protocol != "range" || string(d.Groups[0].Members[0].MemberAssignment) != "assignment-0" {
			t.Fatalf("busy %+v", d.Groups[0])
		}
		if d.Groups[1].State != "Empty" || d.Groups[2].State != "Dead" || d.Groups[2].ErrorCode != 0 {
			t.Fatalf("idle %+v, nothing %+v", d.Groups[1], d.Groups[2])
		}
		v6 := kmsg.NewPtrDescribeGroupsRequest()
		v6.Version, v6.Groups = 6, []string{"nothing"}
		wantCode[int16](t, "v6 unknown group", c.DescribeGroups(ctx, v6).Groups[0].ErrorCode, kerr.GroupIDNotFound)

		list := func(states, types []string) []string {
			r := kmsg.NewPtrListGroupsRequest()
			r.Version, r.StatesFilter, r.TypesFilter = 5, states, types
			var out []string
			for _, g := range c.ListGroups(ctx, r).Groups {
				out = append(out, g.Group+":"+g.GroupState+":"+g.GroupType)
			}
			return out
		}
		if got := strings.Join(list(nil, nil), " "); got != "busy:Stable:classic idle:Empty:classic" {
			t.Fatalf("list: %s", got)
		}
		if got := list([]string{"empty"}, nil); len(got) != 1 || got[0] != "idle:Empty:classic" {
			t.Fatalf("list Empty: %v", got)
		}
		if got := list(nil, []string{"consumer"}); len(got) != 0 {
			t.Fatalf("list consumer-type groups: %v", got)
		}

		del := kmsg.NewPtrDeleteGroupsRequest()
		del.Version, del.Groups = 2, []string{"busy", "idle", "nothing"}
		r := c.DeleteGroups(ctx, del)
		if r.Groups[0].ErrorCode != kerr.NonEmptyGroup.Code || r.Groups[1].ErrorCode != 0 || r.Groups[2].ErrorCode != kerr.GroupIDNotFound.Code {
			t.Fatalf("delete %+v", r.Groups)
		}
		if got := list(nil, nil); len(got) != 1 {
			t.Fatalf("after delete: %v", got)
		}
	})
}

func TestOffsetCommitAndFetchEdges(t *testing.T) {
	ids := map[string][16]byte{"t": {1}, "u": {2}}
	apiTest(t, func(t *testing.T, c *Coordinator) {
		ctx := context.Background()
		long := strings.Repeat("x", 4097)
		r := commitReq("g", "", -1, "t", 1, 2)
		r.Topics[0].Partitions[1].Metadata = &long
		r.Topics = append(r.Topics, kmsg.OffsetCommitRequestTopic{Topic: "missing", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0}}})
		codes := commitCodes(c.OffsetCommit(ctx, r))
		if codes[0] != 0 || codes[1] != kerr.OffsetMetadataTooLarge.Code || codes[2] != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("codes %v", codes)
		}
		stale := commitReq("nobody", "m", 3, "t", 1)
		wantCode[int16](t, "v8 unknown group", commitCodes(c.OffsetCommit(ctx, stale))[0], kerr.IllegalGeneration)
		stale.Version = 9
		wantCode[int16](t, "v9 unknown group", commitCodes(c.OffsetCommit(ctx, stale))[0], kerr.GroupIDNotFound)

		// v1 carries group errors per partition, v2+ at the top.
		f := kmsg.NewPtrOffsetFetchRequest()
		f.Version, f.Group = 1, "nowhere-but-routed"
		f.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}
		if got := c.OffsetFetch(ctx, f); got.Topics[0].Partitions[0].Offset != -1 {
			t.Fatalf("v1 fetch of an unknown group %+v", got)
		}
		f.Group, f.Version = "g", 7
		f.Topics = nil // all
		got := c.OffsetFetch(ctx, f)
		if len(got.Topics) != 1 || len(got.Topics[0].Partitions) != 1 || got.Topics[0].Partitions[0].Offset != 1 ||
			*got.Topics[0].Partitions[0].Metadata != "meta-a" {
			t.Fatalf("v7 fetch all %+v", got)
		}

		// v10 names topics by id.
		v10 := commitReq("g", "", -1, "", 5)
		v10.Version = 10
		v10.Topics[0].TopicID = ids["u"]
		v10.Topics = append(v10.Topics, kmsg.OffsetCommitRequestTopic{TopicID: [16]byte{9}, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0}}})
		cr := c.OffsetCommit(ctx, v10)
		if cr.Topics[0].TopicID != ids["u"] || commitCodes(cr)[0] != 0 || commitCodes(cr)[1] != kerr.UnknownTopicID.Code {
			t.Fatalf("v10 commit %+v", cr)
		}
		fr := kmsg.NewPtrOffsetFetchRequest()
		fr.Version = 10
		fr.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
		fetched := c.OffsetFetch(ctx, fr).Groups[0]
		if len(fetched.Topics) != 2 || fetched.Topics[0].TopicID != ids["t"] || fetched.Topics[1].TopicID != ids["u"] ||
			fetched.Topics[1].Partitions[0].Offset != 5 {
			t.Fatalf("v10 fetch %+v", fetched)
		}
	}, func(cfg *Config) {
		cfg.PartitionExists = func(topic string, _ int32) bool { return topic != "missing" }
		cfg.TopicName = func(id [16]byte) (string, bool) {
			for n, i := range ids {
				if i == id {
					return n, true
				}
			}
			return "", false
		}
		cfg.TopicID = func(name string) ([16]byte, bool) { id, ok := ids[name]; return id, ok }
	})
}

func TestOffsetDeleteAPI(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		ctx := context.Background()
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = "nobody"
		req.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
		wantCode[int16](t, "unknown group", c.OffsetDelete(ctx, req).ErrorCode, kerr.GroupIDNotFound)
		req.Group = ""
		wantCode[int16](t, "empty group id", c.OffsetDelete(ctx, req).ErrorCode, kerr.InvalidGroupID)
		joins := stableGroup(t, c, "g", 1)
		c.OffsetCommit(ctx, commitReq("g", joins[0].MemberID, joins[0].Generation, "t", 1))
		req.Group = "g"
		r := c.OffsetDelete(ctx, req)
		if r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code {
			t.Fatalf("delete a subscribed topic's offset %+v", r)
		}
	})
}

// passTime lets d of the bubble's fake clock go by; timers due meanwhile
// fire in order.
func passTime(d time.Duration) { <-time.After(d) }

func TestSessionTimersRunOnTheActor(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		joins := stableGroup(t, c, "g", 2) // session timeout 10 s
		for range 4 {
			passTime(3 * time.Second)
			heartbeat(c, "g", joins[0].MemberID, joins[0].Generation)
		}
		synctest.Wait()
		d := describe(c, "g").Groups[0]
		if d.State != "PreparingRebalance" || len(d.Members) != 1 || d.Members[0].MemberID != joins[0].MemberID {
			t.Fatalf("after the silent member's session: %+v", d)
		}
		wantCode[int16](t, "survivor's heartbeat", heartbeat(c, "g", joins[0].MemberID, joins[0].Generation), kerr.RebalanceInProgress)
	})
}

func TestExpiryCheckWritesTombstones(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		c := testCoordinator(log, func(cfg *Config) {
			cfg.Group.OffsetsRetentionMinutes = 1
			cfg.Group.OffsetsRetentionCheckIntervalMs = 10_000
		})
		defer c.Stop()
		synctest.Wait()
		c.OffsetCommit(context.Background(), commitReq("simple", "", -1, "t", 1, 2))
		passTime(50 * time.Second)
		synctest.Wait()
		if got, _ := fetchAll(t, c, "simple"); len(got) != 2 {
			t.Fatalf("expired early: %v", got)
		}
		passTime(20 * time.Second)
		synctest.Wait()
		if got, _ := fetchAll(t, c, "simple"); len(got) != 0 {
			t.Fatalf("not expired after the retention: %v", got)
		}
		recs := decodeWithKmsg(t, log)
		last := recs[len(recs)-3:]
		if !last[0].tombstone || !last[1].tombstone || !last[2].tombstone || last[2].groupKey == nil {
			t.Fatalf("expiry records %+v", last)
		}
		if len(c.ListGroups(context.Background(), kmsg.NewPtrListGroupsRequest()).Groups) != 0 {
			t.Fatal("the emptied group is still listed")
		}
	})
}

func TestServeDispatchesEveryGroupRequest(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		ctx := context.Background()
		for _, req := range []kmsg.Request{
			kmsg.NewPtrHeartbeatRequest(), kmsg.NewPtrLeaveGroupRequest(), kmsg.NewPtrSyncGroupRequest(),
			kmsg.NewPtrOffsetCommitRequest(), kmsg.NewPtrOffsetFetchRequest(), kmsg.NewPtrDescribeGroupsRequest(),
			kmsg.NewPtrListGroupsRequest(), kmsg.NewPtrDeleteGroupsRequest(), kmsg.NewPtrOffsetDeleteRequest(),
		} {
			resp, err := c.Serve(ctx, req, Client{})
			if err != nil || resp.Key() != req.Key() {
				t.Fatalf("%s: %v %v", kmsg.NameForKey(req.Key()), resp, err)
			}
		}
		if _, err := c.Serve(ctx, kmsg.NewPtrMetadataRequest(), Client{}); err == nil {
			t.Fatal("served a Metadata request")
		}
	})
}

// Commits a connection pipelines are handed to the group as they arrive:
// they settle together, and the last one wins.
func TestPipelinedCommitsApplyInOrder(t *testing.T) {
	apiTest(t, func(t *testing.T, c *Coordinator) {
		var pending []*PendingCommit
		for o := int64(1); o <= 20; o++ {
			pending = append(pending, c.StartOffsetCommit(commitReq("pipe", "", -1, "t", o, o*10)))
		}
		for i, pc := range pending {
			if codes := commitCodes(pc.Wait(context.Background())); codes[0] != 0 || codes[1] != 0 {
				t.Fatalf("commit %d: %v", i, codes)
			}
			select {
			case <-pc.Ready():
			default:
				t.Fatalf("commit %d answered but not Ready", i)
			}
		}
		got, code := fetchAll(t, c, "pipe")
		if code != 0 || got[tp{"t", 0}].Offset != 20 || got[tp{"t", 1}].Offset != 200 {
			t.Fatalf("committed %v (code %d), want the last commit's offsets 20 and 200", got, code)
		}
		// A commit refused before it reaches a group is Ready at once.
		bad := c.StartOffsetCommit(commitReq("pipe", "", -1, "no-such-topic", 1))
		select {
		case <-bad.Ready():
		default:
			t.Fatal("a commit with nothing to write is not Ready")
		}
		if codes := commitCodes(bad.Wait(context.Background())); codes[0] != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("unknown topic: %v", codes)
		}
	}, func(cfg *Config) {
		cfg.PartitionExists = func(topic string, _ int32) bool { return topic != "no-such-topic" }
	})
}
