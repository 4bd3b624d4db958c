package api

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// forward sends an admin request to the active controller, bounded by the
// request's own timeout when it has one. On failure it returns nil and the
// caller answers every item with REQUEST_TIMED_OUT, a retriable error: the
// operation may or may not have happened, which only a retry can tell.
func (h *Handler) forward(ctx context.Context, req kmsg.Request, timeoutMillis int32) kmsg.Response {
	if timeoutMillis > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutMillis)*time.Millisecond)
		defer cancel()
	}
	resp, err := h.cfg.Controller.Request(ctx, req)
	if err != nil {
		h.log.Warn("controller request failed", "api", kmsg.NameForKey(req.Key()), "err", err)
		return nil
	}
	return resp
}

var errTimedOut = kerr.RequestTimedOut

// inRequestOrder merges the answers to a request of n items: local holds
// those answered here, by index; remote, in order, those the controller
// answered for the rest.
func inRequestOrder[T any](n int, local map[int]T, remote []T) []T {
	out := make([]T, 0, n)
	for i := range n {
		if a, ok := local[i]; ok {
			out = append(out, a)
		} else if len(remote) > 0 {
			out, remote = append(out, remote[0]), remote[1:]
		}
	}
	return out
}
