package api

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// guardBenchProduce is a Produce v9 request with one 16 KiB batch.
func guardBenchProduce() (kmsg.Request, []byte) {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks = -1
	topic := kmsg.NewProduceRequestTopic()
	topic.Topic = "bench"
	part := kmsg.NewProduceRequestTopicPartition()
	part.Records = make([]byte, 16<<10)
	topic.Partitions = append(topic.Partitions, part)
	req.Topics = append(req.Topics, topic)
	return req, req.AppendTo(nil)
}

// guardBenchFetch is a Fetch v13 request for 100 partitions of one topic.
func guardBenchFetch() (kmsg.Request, []byte) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(13)
	topic := kmsg.NewFetchRequestTopic()
	topic.TopicID = [16]byte{1, 2, 3}
	for p := range int32(100) {
		part := kmsg.NewFetchRequestTopicPartition()
		part.Partition = p
		part.FetchOffset = 1 << 40
		part.PartitionMaxBytes = 1 << 20
		topic.Partitions = append(topic.Partitions, part)
	}
	req.Topics = append(req.Topics, topic)
	return req, req.AppendTo(nil)
}

// BenchmarkGuard measures the guard alone and, for scale, kmsg's ReadFrom
// of the same body.
func BenchmarkGuard(b *testing.B) {
	for _, c := range []struct {
		name string
		make func() (kmsg.Request, []byte)
	}{
		{"produce v9 16KiB batch", guardBenchProduce},
		{"fetch v13 100 partitions", guardBenchFetch},
	} {
		req, body := c.make()
		b.Run(c.name+"/guard", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := guardRequestBody(req.Key(), req.GetVersion(), body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/kmsg", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := req.ReadFrom(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
