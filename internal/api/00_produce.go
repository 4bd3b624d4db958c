package api

// Produce, versions 0–13.
//
// v0–v2 carry message format v0/v1, converted to v2 on append; v3+ carries
// exactly one v2 batch per partition. The append (validation, idempotence
// check, write) happens before Handle returns, so the produces of one
// connection apply in the order they were sent, which idempotent producers
// with several requests in flight rely on. Waiting for acks happens in the
// connection's writer:
//   - acks=0: no response at all; when a partition failed, the connection is
//     closed instead, as Kafka does, since the client has no other way to
//     learn of it;
//   - acks=1: answered when the leader has the batch — under the default
//     fsync flush policy (flush.messages=1) once it is fsynced;
//   - acks=-1: answered when the high watermark covers the batch (every
//     in-sync replica has it, durably under the fsync policy).
//
// A partition not acknowledged within timeout_ms gets REQUEST_TIMED_OUT;
// its batch may still become visible, as in Kafka. v8+ carries per-record
// errors; v10+ the current leader when the broker is not it (KIP-951);
// v13 names topics by id.

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/auth"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/wire"
)

var errAcksZeroFailed = errors.New("produce with acks=0 failed; closing the connection as Kafka does")

// produced is one partition's outcome, pending its acknowledgement.
type produced struct {
	p     *partition.Partition
	out   *kmsg.ProduceResponseTopicPartition
	next  int64 // offset after the batch; acked when the partition covers it
	epoch int32 // the leadership it was appended under
}

func (h *Handler) produce(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ProduceRequest)
	resp := kmsg.NewPtrProduceResponse()
	validAcks := req.Acks == 0 || req.Acks == 1 || req.Acks == -1
	img := h.image()
	now := time.Now().UnixMilli()

	var pending []produced
	failed := false
	for _, rt := range req.Topics {
		ot := kmsg.NewProduceResponseTopic()
		ot.Topic, ot.TopicID = rt.Topic, rt.TopicID
		ot.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		name := produceTopicName(img, &rt)
		internal := metadata.IsInternalTopic(name) && c.ClientID != adminClientID
		var tc *TopicCounters // the topic's, once a partition of it is appended to
		for i, rp := range rt.Partitions {
			out := &ot.Partitions[i]
			*out = kmsg.NewProduceResponseTopicPartition()
			out.Partition = rp.Partition
			out.BaseOffset, out.LogAppendTime, out.LogStartOffset = -1, -1, -1
			// Kafka's order: an unknown partition, then invalid acks, then
			// an internal topic, then leadership.
			p, lerr := h.lookupProduce(img, &rt, rp.Partition)
			unknown := lerr == kerr.UnknownTopicOrPartition || lerr == kerr.UnknownTopicID
			if !validAcks && !unknown {
				out.ErrorCode = kerr.InvalidRequiredAcks.Code
				failed = true
				continue
			}
			if internal && !unknown {
				h.produceError(img, out, &rt, kerr.InvalidTopicException, "Cannot append to internal topic "+name)
				failed = true
				continue
			}
			if lerr != nil {
				h.produceError(img, out, &rt, lerr, "")
				failed = true
				continue
			}
			if m := h.cfg.Counters; m != nil {
				if tc == nil {
					tc = m.Topic(name)
				}
				tc.ProduceRequests.Add(1)
			}
			res, aerr := p.Append(partition.AppendParams{
				Records: rp.Records, Acks: req.Acks, Now: now, ProduceVersion: c.Version,
			})
			if aerr != nil {
				if tc != nil && countsAsFailedProduce(aerr.Code) {
					tc.FailedProduceRequests.Add(1)
				}
				h.produceError(img, out, &rt, aerr.Code, aerr.Message)
				for _, re := range aerr.RecordErrors {
					er := kmsg.NewProduceResponseTopicPartitionErrorRecord()
					er.RelativeOffset, er.ErrorMessage = re.Index, kmsg.StringPtr(re.Message)
					out.ErrorRecords = append(out.ErrorRecords, er)
				}
				failed = true
				continue
			}
			out.BaseOffset, out.LogAppendTime, out.LogStartOffset = res.BaseOffset, res.LogAppendTime, res.LogStartOffset
			if m := h.cfg.Counters; m != nil {
				bytes, records := uint64(len(rp.Records)), uint64(res.LastOffset-res.BaseOffset+1)
				m.ProducedBytes.Add(bytes)
				m.ProducedRecords.Add(records)
				tc.ProducedBytes.Add(bytes)
				tc.ProducedRecords.Add(records)
			}
			pending = append(pending, produced{p: p, out: out, next: res.LastOffset + 1, epoch: res.LeaderEpoch})
		}
		resp.Topics = append(resp.Topics, ot)
	}

	// A client over its producer_byte_rate is told its throttle time, and
	// nothing more is read from it until that has passed, counted from
	// now (KIP-219; requests it pipelined behind this one wait too).
	throttle := h.throttle(c, auth.ProduceQuota, int64(len(c.Body)))
	resp.ThrottleMillis = int32(throttle.Milliseconds())
	if req.Acks == 0 {
		if failed {
			return wire.Reply{}, errAcksZeroFailed
		}
		return wire.Reply{None: true, Throttle: throttle}, nil
	}
	allAcked := true
	for _, pr := range pending {
		done, err := pr.p.Acked(pr.next, pr.epoch, req.Acks)
		if !done {
			allAcked = false
			break
		}
		if err != nil {
			pr.out.ErrorCode, pr.out.BaseOffset = err.Code, -1
		}
	}
	if allAcked {
		reply := c.respond(resp)
		reply.Throttle = throttle
		return reply, nil
	}
	deadline := c.Received.Add(time.Duration(req.TimeoutMillis) * time.Millisecond)
	reply := c.later(func(ctx context.Context) kmsg.Response {
		ctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		for _, pr := range pending {
			if err := pr.p.WaitAcked(ctx, pr.next, pr.epoch, req.Acks); err != nil {
				pr.out.ErrorCode = err.Code
				pr.out.BaseOffset = -1
			}
		}
		return resp
	})
	reply.Throttle = throttle
	return reply, nil
}

// countsAsFailedProduce reports whether an append refused with code counts
// in the topic's failed produces, as Kafka's FailedProduceRequestsPerSec
// does: records that fail validation, too few in-sync replicas, producer
// state errors. What a client handles by moving or splitting its batch
// (another leader, a batch too large), a corrupt batch and a storage error
// are left out there too.
func countsAsFailedProduce(code *kerr.Error) bool {
	switch code {
	case kerr.NotLeaderForPartition, kerr.UnknownTopicOrPartition, kerr.UnknownTopicID,
		kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.CorruptMessage, kerr.KafkaStorageError:
		return false
	}
	return true
}

// adminClientID is the client id Kafka lets append to internal topics (its
// own admin tools' writes to __consumer_offsets).
const adminClientID = "__admin_client"

// lookupProduce finds the partition a produce names, by topic id from v13.
func (h *Handler) lookupProduce(img *metadata.Image, rt *kmsg.ProduceRequestTopic, part int32) (*partition.Partition, *kerr.Error) {
	if rt.TopicID != metadata.ZeroUUID {
		return h.cfg.Partitions.LookupID(img, rt.TopicID, part)
	}
	return h.cfg.Partitions.Lookup(img, rt.Topic, part)
}

// produceError fills a partition's error, naming the current leader when
// the client must move (KIP-951). The response's leader endpoints are left
// out: with them franz-go moves the partition without a metadata refresh,
// and in a fault test, after the leader it moved to was cut off, it went on
// dialling that leader for over a minute without asking for metadata.
// Without them clients refresh their metadata, as before.
func (h *Handler) produceError(img *metadata.Image, out *kmsg.ProduceResponseTopicPartition, rt *kmsg.ProduceRequestTopic, code *kerr.Error, msg string) {
	out.ErrorCode = code.Code
	if msg != "" {
		out.ErrorMessage = kmsg.StringPtr(msg)
	}
	if code != kerr.NotLeaderForPartition {
		return
	}
	if mp, ok := img.Partition(produceTopicName(img, rt), out.Partition); ok && mp.Leader >= 0 {
		out.CurrentLeader.LeaderID, out.CurrentLeader.LeaderEpoch = mp.Leader, mp.LeaderEpoch
	}
}

// produceTopicName is the name of a produce request's topic, given by name
// or (v13 on) by id.
func produceTopicName(img *metadata.Image, rt *kmsg.ProduceRequestTopic) string {
	if rt.TopicID != metadata.ZeroUUID {
		if t, ok := img.TopicByID(rt.TopicID); ok {
			return t.Name
		}
	}
	return rt.Topic
}
