package group

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Serve runs one group request on this coordinator and returns its
// response, whose version is the request's. It serves JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
// ListGroups, DeleteGroups and OffsetDelete; any other request is an error
// (a caller's bug, not a client's). client identifies the connection, for
// the requests that record it.
func (c *Coordinator) Serve(ctx context.Context, req kmsg.Request, client Client) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		return c.JoinGroup(ctx, r, client), nil
	case *kmsg.SyncGroupRequest:
		return c.SyncGroup(ctx, r, client), nil
	case *kmsg.HeartbeatRequest:
		return c.Heartbeat(ctx, r), nil
	case *kmsg.LeaveGroupRequest:
		return c.LeaveGroup(ctx, r), nil
	case *kmsg.OffsetCommitRequest:
		return c.OffsetCommit(ctx, r), nil
	case *kmsg.OffsetFetchRequest:
		return c.OffsetFetch(ctx, r), nil
	case *kmsg.DescribeGroupsRequest:
		return c.DescribeGroups(ctx, r), nil
	case *kmsg.ListGroupsRequest:
		return c.ListGroups(ctx, r), nil
	case *kmsg.DeleteGroupsRequest:
		return c.DeleteGroups(ctx, r), nil
	case *kmsg.OffsetDeleteRequest:
		return c.OffsetDelete(ctx, r), nil
	}
	return nil, fmt.Errorf("group coordinator does not serve %s", kmsg.NameForKey(req.Key()))
}
