package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster.go is `samsa cluster info`: the cluster id, the controller, the
// brokers (the controller marked with *) with the partitions each leads and
// hosts, the metadata quorum (DescribeQuorum: leader, epoch, each voter's
// and observer's log end and lag), and every partition whose replicas are
// not all in sync or that has no leader. With --partitions every partition
// is listed with its leader, replicas and ISR.

func runCluster(ctx context.Context, e *env, args []string) int {
	return runSub(ctx, e, []subcommand{
		{"info", "show the cluster id, controller, brokers and topic count", clusterInfo},
	}, args)
}

type clusterDescription struct {
	ClusterID        string             `json:"cluster_id"`
	Controller       int32              `json:"controller"`
	Brokers          []clusterBroker    `json:"brokers"`
	Topics           int                `json:"topics"`
	InternalTopics   int                `json:"internal_topics"`
	Partitions       int                `json:"partitions"`
	UnderReplicated  int                `json:"under_replicated_partitions"`
	Offline          int                `json:"offline_partitions"`
	Quorum           *clusterQuorum     `json:"quorum,omitempty"`
	PartitionDetails []clusterPartition `json:"partition_details"` // unhealthy ones, or all with --partitions
}

type clusterBroker struct {
	ID         int32  `json:"id"`
	Host       string `json:"host"`
	Port       int32  `json:"port"`
	Rack       string `json:"rack,omitempty"`
	Controller bool   `json:"controller"`
	Leaders    int    `json:"leaders"`  // partitions it leads
	Replicas   int    `json:"replicas"` // partitions it hosts a replica of
}

type clusterQuorum struct {
	Leader        int32           `json:"leader"`
	Epoch         int32           `json:"epoch"`
	HighWatermark int64           `json:"high_watermark"`
	Voters        []quorumReplica `json:"voters"`
	Observers     []quorumReplica `json:"observers"`
}

type quorumReplica struct {
	ID           int32 `json:"id"`
	LogEndOffset int64 `json:"log_end_offset"`
	Lag          int64 `json:"lag"`
	// LastCaughtUpMsAgo is how long ago the replica last had the leader's
	// whole log; -1 when unknown.
	LastCaughtUpMsAgo int64 `json:"last_caught_up_ms_ago"`
}

type clusterPartition struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
	Status    string  `json:"status"` // ok, under-replicated, offline
}

func clusterInfo(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa cluster info [flags]",
		"Show the cluster id, the active controller, the brokers (the controller marked with *) with the\n"+
			"partitions each leads and hosts, the metadata quorum (leader, epoch, and each voter's and\n"+
			"observer's log end offset and lag), and the partitions that are under-replicated or offline.")
	conn := addConnFlags(f)
	all := f.Bool("partitions", "list every partition with its leader, replicas and ISR")
	format := formatFlag(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if err := checkFormat(*format); err != nil {
		return e.usageFail(f, err)
	}
	if len(f.Args()) > 0 {
		return e.usageFail(f, usagef("unexpected argument %q", f.Args()[0]))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	md, err := adm.Metadata(ctx)
	if err != nil {
		return e.fail(err)
	}
	d := describeCluster(md, *all)
	d.Quorum = describeQuorum(ctx, cl)
	if *format == "json" {
		if err := writeJSON(e.stdout, d); err != nil {
			return e.fail(err)
		}
		return 0
	}
	printCluster(e.stdout, d)
	return 0
}

// describeCluster summarises the metadata: brokers with their leader and
// replica counts, partition health, and the partitions to list.
func describeCluster(md kadm.Metadata, all bool) clusterDescription {
	d := clusterDescription{ClusterID: md.Cluster, Controller: md.Controller, Brokers: []clusterBroker{}, PartitionDetails: []clusterPartition{}}
	leaders, replicas := map[int32]int{}, map[int32]int{}
	live := map[int32]bool{}
	for _, b := range md.Brokers {
		live[b.NodeID] = true
	}
	for _, name := range slices.Sorted(maps.Keys(md.Topics)) {
		t := md.Topics[name]
		if t.IsInternal || isInternalTopic(name) {
			d.InternalTopics++
		} else {
			d.Topics++
		}
		for _, id := range slices.Sorted(maps.Keys(t.Partitions)) {
			p := t.Partitions[id]
			d.Partitions++
			if p.Leader >= 0 {
				leaders[p.Leader]++
			}
			for _, r := range p.Replicas {
				replicas[r]++
			}
			status := "ok"
			switch {
			case p.Leader < 0 || !live[p.Leader]:
				status = "offline"
				d.Offline++
			case len(p.ISR) < len(p.Replicas):
				status = "under-replicated"
				d.UnderReplicated++
			}
			if all || status != "ok" {
				d.PartitionDetails = append(d.PartitionDetails, clusterPartition{
					Topic: name, Partition: id, Leader: p.Leader, Replicas: orEmpty(p.Replicas), ISR: orEmpty(p.ISR), Status: status,
				})
			}
		}
	}
	for _, b := range md.Brokers {
		rack := ""
		if b.Rack != nil {
			rack = *b.Rack
		}
		d.Brokers = append(d.Brokers, clusterBroker{b.NodeID, b.Host, b.Port, rack, b.NodeID == md.Controller, leaders[b.NodeID], replicas[b.NodeID]})
	}
	return d
}

// describeQuorum asks for the metadata quorum's state; nil when the cluster
// does not answer DescribeQuorum (a Kafka cluster with ZooKeeper, say).
func describeQuorum(ctx context.Context, cl *kgo.Client) *clusterQuorum {
	p, _, err := requestQuorum(ctx, cl)
	if err != nil {
		return nil
	}
	q := &clusterQuorum{Leader: p.LeaderID, Epoch: p.LeaderEpoch, HighWatermark: p.HighWatermark, Voters: []quorumReplica{}, Observers: []quorumReplica{}}
	now := time.Now().UnixMilli()
	conv := func(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState) []quorumReplica {
		out := []quorumReplica{}
		for _, r := range rs {
			qr := quorumReplica{ID: r.ReplicaID, LogEndOffset: r.LogEndOffset, Lag: -1, LastCaughtUpMsAgo: -1}
			if r.LogEndOffset >= 0 && p.HighWatermark >= 0 {
				qr.Lag = max(p.HighWatermark-r.LogEndOffset, 0)
			}
			if r.LastCaughtUpTimestamp >= 0 {
				qr.LastCaughtUpMsAgo = max(now-r.LastCaughtUpTimestamp, 0)
			}
			out = append(out, qr)
		}
		return out
	}
	q.Voters, q.Observers = conv(p.CurrentVoters), conv(p.Observers)
	return q
}

// requestQuorum sends DescribeQuorum for the metadata log,
// __cluster_metadata-0, and returns that partition's state and the voters'
// endpoints (v2+; none before). An error names the Kafka error of the
// response or of the partition, or says the response was not for the one
// partition asked about.
func requestQuorum(ctx context.Context, cl kmsg.Requestor) (kmsg.DescribeQuorumResponseTopicPartition, []kmsg.DescribeQuorumResponseNode, error) {
	var p kmsg.DescribeQuorumResponseTopicPartition
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = append(rt.Partitions, kmsg.NewDescribeQuorumRequestTopicPartition())
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return p, nil, fmt.Errorf("DescribeQuorum: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return p, nil, errors.New(kafkaErrText(err, deref(resp.ErrorMessage)))
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return p, nil, errors.New("DescribeQuorum did not answer for __cluster_metadata-0 alone")
	}
	p = resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return p, nil, errors.New(kafkaErrText(err, deref(p.ErrorMessage)))
	}
	return p, resp.Nodes, nil
}

func printCluster(w io.Writer, d clusterDescription) {
	section(w, "CLUSTER")
	t := newTable(w)
	t.row("ID", d.ClusterID)
	t.row("CONTROLLER", d.Controller)
	t.row("TOPICS", d.Topics)
	t.row("PARTITIONS", d.Partitions)
	t.row("UNDER-REPLICATED", d.UnderReplicated)
	t.row("OFFLINE", d.Offline)
	t.flush()
	fmt.Fprintln(w)
	section(w, "BROKERS")
	t = newTable(w, "ID", "HOST", "PORT", "RACK", "LEADERS", "REPLICAS")
	for _, b := range d.Brokers {
		id := fmt.Sprint(b.ID)
		if b.Controller {
			id += "*"
		}
		t.row(id, b.Host, b.Port, b.Rack, b.Leaders, b.Replicas)
	}
	t.flush()
	if q := d.Quorum; q != nil {
		fmt.Fprintln(w)
		section(w, "QUORUM")
		t = newTable(w, "NODE", "ROLE", "LOG-END-OFFSET", "LAG", "LAST-CAUGHT-UP")
		row := func(r quorumReplica, role string) {
			caught := "-"
			if r.LastCaughtUpMsAgo >= 0 {
				caught = (time.Duration(r.LastCaughtUpMsAgo) * time.Millisecond).String() + " ago"
			}
			t.row(r.ID, role, r.LogEndOffset, r.Lag, caught)
		}
		for _, r := range q.Voters {
			role := "voter"
			if r.ID == q.Leader {
				role = "leader"
			}
			row(r, role)
		}
		for _, r := range q.Observers {
			row(r, "observer")
		}
		t.flush()
		fmt.Fprintf(w, "leader %d, epoch %d, high watermark %d\n", q.Leader, q.Epoch, q.HighWatermark)
	}
	if len(d.PartitionDetails) > 0 {
		fmt.Fprintln(w)
		section(w, "PARTITIONS")
		t = newTable(w, "TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "STATUS")
		for _, p := range d.PartitionDetails {
			t.row(p.Topic, p.Partition, p.Leader, int32List(p.Replicas), int32List(p.ISR), p.Status)
		}
		t.flush()
	}
}
