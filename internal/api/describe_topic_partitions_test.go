package api_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// DescribeTopicPartitions pages through topics and partitions with a
// cursor, never more at once than max.request.partition.size.limit or the
// request's own limit, whichever is smaller.
func TestDescribeTopicPartitionsPages(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"max.request.partition.size.limit": "4"}))
	c.CreateTopic(t, "a", 5, 1, nil)
	c.CreateTopic(t, "b", 3, 1, nil)
	cl := c.Client(t)

	pages := func(requestLimit int32) []string {
		t.Helper()
		var out []string
		var cursor *kmsg.DescribeTopicPartitionsRequestCursor
		for range 10 {
			req := kmsg.NewPtrDescribeTopicPartitionsRequest()
			for _, name := range []string{"a", "b"} {
				rt := kmsg.NewDescribeTopicPartitionsRequestTopic()
				rt.Topic = name
				req.Topics = append(req.Topics, rt)
			}
			req.ResponsePartitionLimit, req.Cursor = requestLimit, cursor
			resp, err := req.RequestWith(ctxT(t), cl)
			if err != nil {
				t.Fatal(err)
			}
			page := ""
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					page += fmt.Sprintf("%s%d ", *rt.Topic, p.Partition)
				}
			}
			out = append(out, page)
			if resp.NextCursor == nil {
				return out
			}
			cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
		}
		t.Fatalf("no end after pages %q", out)
		return nil
	}
	want := []string{"a0 a1 a2 a3 ", "a4 b0 b1 b2 "}
	if got := pages(0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages with the broker's limit: %q, want %q", got, want)
	}
	if got := pages(100); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("a request asking for more than the broker's limit: %q, want %q", got, want)
	}
	want = []string{"a0 a1 a2 ", "a3 a4 b0 ", "b1 b2 "}
	if got := pages(3); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages of 3: %q, want %q", got, want)
	}
}
