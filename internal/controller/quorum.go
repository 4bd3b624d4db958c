package controller

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/quorum"
)

// MetadataTopic is the name Kafka gives the metadata log in DescribeQuorum.
const MetadataTopic = "__cluster_metadata"

// DescribeQuorum describes the metadata quorum (KIP-595, KIP-836 v1
// timestamps, KIP-853 v2 nodes) from the quorum's status on this node,
// which must be its leader: only the leader knows every replica's log end.
// It returns ErrNotActive on any other node, so the request is retried on
// the active controller.
//
// The quorum's entry indexes start at 1, so an index is also Kafka's
// exclusive offset of the log up to it: LogEndOffset is a replica's last
// index and HighWatermark the commit index. Voters are CurrentVoters,
// learners (broker-only nodes) Observers. Unknown log ends and times are
// -1. Anything but the single partition __cluster_metadata-0 is answered
// with UNKNOWN_TOPIC_OR_PARTITION, as Kafka does.
func (c *Controller) DescribeQuorum(_ context.Context, req *kmsg.DescribeQuorumRequest) (*kmsg.DescribeQuorumResponse, error) {
	if c.cfg.QuorumStatus == nil {
		return nil, errors.New("controller: no quorum status to describe")
	}
	st := c.cfg.QuorumStatus()
	if st.Role != quorum.RoleLeader {
		return nil, ErrNotActive
	}
	if len(req.Topics) != 1 || req.Topics[0].Topic != MetadataTopic ||
		len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0].Partition != 0 {
		return QuorumErrorResponse(req, kerr.UnknownTopicOrPartition), nil
	}
	resp := kmsg.NewPtrDescribeQuorumResponse()
	resp.Version = req.Version
	p := kmsg.NewDescribeQuorumResponseTopicPartition()
	p.LeaderID = nodeID(st.Leader)
	p.LeaderEpoch = int32(st.Term)
	p.HighWatermark = int64(st.HighWatermark)
	for _, v := range st.Voters {
		p.CurrentVoters = append(p.CurrentVoters, replicaState(v))
	}
	for _, l := range st.Learners {
		p.Observers = append(p.Observers, replicaState(l))
	}
	t := kmsg.NewDescribeQuorumResponseTopic()
	t.Topic = MetadataTopic
	t.Partitions = append(t.Partitions, p)
	resp.Topics = append(resp.Topics, t)
	if req.Version >= 2 {
		resp.Nodes = c.quorumNodes(st)
	}
	return resp, nil
}

// QuorumErrorResponse answers req with e for every partition it names.
func QuorumErrorResponse(req *kmsg.DescribeQuorumRequest, e *kerr.Error) *kmsg.DescribeQuorumResponse {
	resp := kmsg.NewPtrDescribeQuorumResponse()
	resp.Version = req.Version
	for _, rt := range req.Topics {
		out := kmsg.NewDescribeQuorumResponseTopic()
		out.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			op := kmsg.NewDescribeQuorumResponseTopicPartition()
			op.Partition = rp.Partition
			setErr(&op.ErrorCode, &op.ErrorMessage, e, e.Description)
			out.Partitions = append(out.Partitions, op)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

func nodeID(id uint64) int32 {
	if id == 0 {
		return -1
	}
	return int32(id)
}

// replicaState maps one quorum member. A log end of 0 from a replica never
// heard from is unknown.
func replicaState(r quorum.ReplicaStatus) kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
	s.ReplicaID = int32(r.ID)
	s.LogEndOffset = int64(r.LogEnd)
	if r.LogEnd == 0 && r.LastContact.IsZero() {
		s.LogEndOffset = -1
	}
	s.LastFetchTimestamp = unixMilli(r.LastContact)
	s.LastCaughtUpTimestamp = unixMilli(r.LastCaughtUp)
	return s
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

// quorumNodes lists the voters' controller endpoints (v2): from
// controller.quorum.voters, else the address the quorum knows.
func (c *Controller) quorumNodes(st quorum.Status) []kmsg.DescribeQuorumResponseNode {
	listener := "CONTROLLER"
	if names := c.cfg.Broker.ControllerListenerNames; len(names) > 0 {
		listener = names[0]
	}
	var out []kmsg.DescribeQuorumResponseNode
	for _, v := range st.Voters {
		host, port := "", 0
		for _, cv := range c.cfg.Broker.Quorum.Voters {
			if uint64(cv.ID) == v.ID {
				host, port = cv.Host, cv.Port
			}
		}
		if host == "" && v.Addr != "" {
			if h, ps, err := net.SplitHostPort(v.Addr); err == nil {
				if n, err := strconv.Atoi(ps); err == nil {
					host, port = h, n
				}
			}
		}
		n := kmsg.NewDescribeQuorumResponseNode()
		n.NodeID = int32(v.ID)
		if host != "" && port > 0 && port < 1<<16 {
			l := kmsg.NewDescribeQuorumResponseNodeListener()
			l.Name, l.Host, l.Port = listener, host, uint16(port)
			n.Listeners = append(n.Listeners, l)
		}
		out = append(out, n)
	}
	return out
}
