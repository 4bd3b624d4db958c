package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// log.flush.offset.checkpoint.interval.ms=0 is valid, as in Kafka: the
// recovery points are checkpointed when the broker stops, and the data is
// there after a restart.
func TestZeroCheckpointInterval(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"log.flush.offset.checkpoint.interval.ms": "0"}))
	c.CreateTopic(t, "t", 1, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Client(t).ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c.Restart(0)
	cl := c.Client(t, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cl.PollRecords(ctx, 1)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Fatalf("after the restart: %v", recs)
	}
}
