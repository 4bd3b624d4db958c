package group

import (
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request builders and small clients over the Coordinator's API, as the
// broker's api handlers would call it.

func joinReq(group, member string, version int16) *kmsg.JoinGroupRequest {
	r := kmsg.NewPtrJoinGroupRequest()
	r.Version, r.Group, r.MemberID = version, group, member
	r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = 10_000, 30_000
	r.ProtocolType = "consumer"
	r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subMeta("t")}}
	return r
}

// joinAll joins n new members to group concurrently (JoinGroup v3, no
// KIP-394 round trip) and returns their responses, leader first.
func joinAll(t testing.TB, c *Coordinator, group string, n int) []*kmsg.JoinGroupResponse {
	t.Helper()
	out := make([]*kmsg.JoinGroupResponse, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			out[i] = c.JoinGroup(context.Background(), joinReq(group, "", 3), Client{ID: "client", Host: "/10.0.0.1"})
		})
	}
	wg.Wait()
	for i, r := range out {
		if r.ErrorCode != 0 {
			t.Fatalf("join %d: %v", i, kerr.ErrorForCode(r.ErrorCode))
		}
		if r.MemberID == r.LeaderID {
			out[0], out[i] = out[i], out[0]
		}
	}
	return out
}

// syncAll sends every member's SyncGroup, the leader's with assign, and
// returns the responses in the order of joins.
func syncAll(t testing.TB, c *Coordinator, group string, joins []*kmsg.JoinGroupResponse, assign map[string][]byte) []*kmsg.SyncGroupResponse {
	t.Helper()
	out := make([]*kmsg.SyncGroupResponse, len(joins))
	var wg sync.WaitGroup
	for i, j := range joins {
		wg.Go(func() {
			r := kmsg.NewPtrSyncGroupRequest()
			r.Version, r.Group, r.MemberID, r.Generation = 3, group, j.MemberID, j.Generation
			if j.MemberID == j.LeaderID {
				for m, a := range assign {
					r.GroupAssignment = append(r.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: a})
				}
			}
			out[i] = c.SyncGroup(context.Background(), r, Client{})
		})
	}
	wg.Wait()
	return out
}

// stableGroup forms a Stable group of n members through the API and
// returns the joins (leader first); member i is assigned "assignment-i".
func stableGroup(t testing.TB, c *Coordinator, group string, n int) []*kmsg.JoinGroupResponse {
	t.Helper()
	joins := joinAll(t, c, group, n)
	assign := map[string][]byte{}
	for i, j := range joins {
		assign[j.MemberID] = []byte("assignment-" + string(rune('0'+i)))
	}
	for i, s := range syncAll(t, c, group, joins, assign) {
		if s.ErrorCode != 0 {
			t.Fatalf("sync %d: %v", i, kerr.ErrorForCode(s.ErrorCode))
		}
	}
	return joins
}

func commitReq(group, member string, gen int32, topic string, offsets ...int64) *kmsg.OffsetCommitRequest {
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Version, r.Group, r.MemberID, r.Generation = 8, group, member, gen
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = topic
	for i, o := range offsets {
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		meta := "meta-" + string(rune('a'+i))
		p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = int32(i), o, 7, &meta
		t.Partitions = append(t.Partitions, p)
	}
	r.Topics = append(r.Topics, t)
	return r
}

// commitCodes returns the error codes of a commit response, partition by
// partition.
func commitCodes(r *kmsg.OffsetCommitResponse) []int16 {
	var out []int16
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

// fetchAll fetches every committed offset of group (v8, null topics) and
// returns them as "topic/partition" → offset.
func fetchAll(t testing.TB, c *Coordinator, group string) (map[tp]kmsg.OffsetFetchResponseGroupTopicPartition, int16) {
	t.Helper()
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version = 8
	r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group}}
	resp := c.OffsetFetch(context.Background(), r)
	out := map[tp]kmsg.OffsetFetchResponseGroupTopicPartition{}
	for _, rt := range resp.Groups[0].Topics {
		for _, p := range rt.Partitions {
			out[tp{rt.Topic, p.Partition}] = p
		}
	}
	return out, resp.Groups[0].ErrorCode
}

func describe(c *Coordinator, groups ...string) *kmsg.DescribeGroupsResponse {
	r := kmsg.NewPtrDescribeGroupsRequest()
	r.Version, r.Groups = 5, groups
	return c.DescribeGroups(context.Background(), r)
}

func heartbeat(c *Coordinator, group, member string, gen int32) int16 {
	r := kmsg.NewPtrHeartbeatRequest()
	r.Version, r.Group, r.MemberID, r.Generation = 4, group, member, gen
	return c.Heartbeat(context.Background(), r).ErrorCode
}
