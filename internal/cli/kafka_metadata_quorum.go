package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_metadata_quorum.go is the kafka-metadata-quorum.sh personality
// (Kafka's MetadataQuorumCommand): `describe --status` and `describe
// --replication [--human-readable]`, from the DescribeQuorum request that
// `samsa cluster info` sends (requestQuorum) and, for --status, the cluster
// id from Metadata. Output follows Kafka 4.x:
//
//	ClusterId:              q1Sh-9_ISia_zwGINzRvyQ
//	LeaderId:               1
//	...
//	CurrentVoters:          [{"id": 1, "endpoints": ["CONTROLLER://c1:9093"]}]
//
// and for --replication the table of ToolsUtils.prettyPrintTable: every
// cell padded to its column's width and followed by a tab, the leader's row
// first, then the other voters and the observers.
//
// With --bootstrap-controller the requests go to the controller listeners
// (KIP-919): DescribeCluster for the voters and the active one, then
// DescribeQuorum to it. Where samsa differs: add-controller and
// remove-controller are refused, since samsa's voters are static (KIP-853
// dynamic quorums are not supported).
// Errors Kafka raises as TerseException after parsing exit 1 with Kafka's
// text alone; argument errors exit 2 with the usage (kafka.go).

// metadataQuorumCommands are the sub-commands, in Kafka's order.
var metadataQuorumCommands = []string{"describe", "add-controller", "remove-controller"}

// replicationHeaders are the columns of describe --replication.
var replicationHeaders = []string{"NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"}

func kafkaMetadataQuorum(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-metadata-quorum.sh --bootstrap-server HOST:PORT [--command-config FILE] describe (--status | --replication [--human-readable])",
		"This tool describes kraft metadata quorum status.\n"+
			"add-controller and remove-controller are refused: samsa's voters are static (controller.quorum.voters).")
	conn := addKafkaConn(f, "property file containing configs to be passed to the admin client")
	controller := f.String("bootstrap-controller", "", "HOST:PORT,...", "the controllers to connect to (their controller listeners), instead of --bootstrap-server")
	status := f.Bool("status", "describe: a short summary of the quorum status")
	replication := f.Bool("replication", "describe: detailed information about the status of replication")
	human := f.Bool("human-readable", "describe --replication: timestamps as \"N ms ago\"")
	// remove-controller's and add-controller's options, accepted so that
	// those commands reach their refusal rather than an unknown-flag error.
	f.String("controller-id,i", "", "ID", "remove-controller: not supported by samsa")
	f.String("controller-directory-id,d", "", "ID", "remove-controller: not supported by samsa")
	f.Bool("dry-run", "add-controller, remove-controller: not supported by samsa")
	for _, name := range []string{"controller-id", "controller-directory-id", "dry-run"} {
		f.Hide(name)
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	cmd, err := metadataQuorumCommand(f.Args())
	if err != nil {
		return e.usageFail(f, err)
	}
	if cmd != "describe" {
		return e.fail(fmt.Errorf("%s is not supported: samsa's controller quorum voters are static (controller.quorum.voters) and cannot be changed at runtime", cmd))
	}
	if *controller != "" && *conn.bootstrap != "" {
		return e.usageFail(f, usagef("argument --bootstrap-controller: not allowed with argument --bootstrap-server"))
	}
	switch {
	case *status && *replication:
		return terse(e, "Only one of --status or --replication should be specified with describe sub-command")
	case *status && *human:
		return terse(e, "The option --human-readable is only supported along with --replication")
	case !*status && !*replication:
		return terse(e, "One of --status or --replication must be specified with describe sub-command")
	}

	var q quorumView
	if *controller != "" {
		q, err = quorumFromControllers(ctx, e, conn, *controller)
	} else {
		q, err = quorumFromBrokers(ctx, e, conn, *status)
	}
	if err != nil {
		return e.fail(err)
	}
	if *status {
		out, err := quorumStatus(q.clusterID, q.part, q.nodes)
		if err != nil {
			return e.fail(err)
		}
		fmt.Fprintln(e.stdout, out)
		return 0
	}
	rows, err := replicationRows(q.part, *human, time.Now().UnixMilli())
	if err != nil {
		var ia *illegalArg
		if errors.As(err, &ia) {
			return terse(e, ia.msg)
		}
		return e.fail(err)
	}
	prettyPrintTable(e.stdout, replicationHeaders, rows)
	return 0
}

// quorumView is what describe prints from: the cluster id, the metadata
// log's partition state and the voters' endpoints.
type quorumView struct {
	clusterID string
	part      kmsg.DescribeQuorumResponseTopicPartition
	nodes     []kmsg.DescribeQuorumResponseNode
}

// quorumFromBrokers asks the brokers (--bootstrap-server) for the quorum,
// and with withID for the cluster id.
func quorumFromBrokers(ctx context.Context, e *env, conn *kafkaConn, withID bool) (q quorumView, err error) {
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return q, err
	}
	defer cl.Close()
	if withID {
		md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
		if err != nil {
			return q, err
		}
		q.clusterID = md.Cluster
	}
	q.part, q.nodes, err = requestQuorum(ctx, cl)
	return q, err
}

// quorumFromControllers asks the controllers (--bootstrap-controller,
// KIP-919): DescribeCluster with endpoint type 2 of the first that answers
// names the voters and the active one, which is asked DescribeQuorum.
func quorumFromControllers(ctx context.Context, e *env, conn *kafkaConn, addrs string) (q quorumView, err error) {
	p, err := conn.load(e)
	if err != nil {
		return q, err
	}
	seeds := e.seedBrokers(addrs, &props{})
	cl, err := e.newClient(seeds, p, roleAdmin)
	if err != nil {
		return q, err
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = 2
	var dc *kmsg.DescribeClusterResponse
	for _, b := range cl.SeedBrokers() {
		resp, rerr := req.RequestWith(ctx, b)
		if rerr == nil {
			rerr = kerr.ErrorForCode(resp.ErrorCode)
		}
		if rerr == nil {
			dc = resp
			break
		}
		err = rerr
	}
	if dc == nil {
		return q, fmt.Errorf("DescribeCluster from the controllers %s: %w", strings.Join(seeds, ","), err)
	}
	i := slices.IndexFunc(dc.Brokers, func(b kmsg.DescribeClusterResponseBroker) bool { return b.NodeID == dc.ControllerID })
	if i < 0 {
		return q, fmt.Errorf("the controllers name no active controller (controller id %d)", dc.ControllerID)
	}
	active := net.JoinHostPort(dc.Brokers[i].Host, strconv.Itoa(int(dc.Brokers[i].Port)))
	acl, err := e.newClient([]string{active}, p, roleAdmin)
	if err != nil {
		return q, err
	}
	defer acl.Close()
	q.clusterID = dc.ClusterID
	q.part, q.nodes, err = requestQuorum(ctx, acl.SeedBrokers()[0])
	return q, err
}

// metadataQuorumCommand checks the positional arguments as argparse4j's
// sub-parsers do: exactly one, naming a known command.
func metadataQuorumCommand(args []string) (string, error) {
	if len(args) == 0 {
		return "", usagef("too few arguments")
	}
	if !slices.Contains(metadataQuorumCommands, args[0]) {
		return "", usagef("invalid choice: '%s' (choose from 'describe', 'add-controller', 'remove-controller')", args[0])
	}
	if len(args) > 1 {
		return "", usagef("unrecognized arguments: '%s'", strings.Join(args[1:], " "))
	}
	return args[0], nil
}

// terse prints msg alone on stderr and returns 1, as Kafka's tools report a
// TerseException.
func terse(e *env, msg string) int {
	fmt.Fprintln(e.stderr, msg)
	return 1
}

// quorumLeader is the leader's state among the voters; false when the
// leader is not one of them (no leader is known).
func quorumLeader(p kmsg.DescribeQuorumResponseTopicPartition) (kmsg.DescribeQuorumResponseTopicPartitionReplicaState, bool) {
	i := slices.IndexFunc(p.CurrentVoters, func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState) bool { return r.ReplicaID == p.LeaderID })
	if i < 0 {
		return kmsg.DescribeQuorumResponseTopicPartitionReplicaState{}, false
	}
	return p.CurrentVoters[i], true
}

func errNoLeader(p kmsg.DescribeQuorumResponseTopicPartition) error {
	return fmt.Errorf("the metadata quorum has no leader among its voters (leader id %d)", p.LeaderID)
}

// quorumStatus is describe --status's block, without its final newline.
// MaxFollowerLag is the leader's log end offset less the lowest voter's;
// MaxFollowerLagTimeMs is 0 when that voter (the first in voter order with
// the lowest log end) is the leader, the difference of their last caught-up
// times when both are known, and -1 otherwise.
func quorumStatus(clusterID string, p kmsg.DescribeQuorumResponseTopicPartition, nodes []kmsg.DescribeQuorumResponseNode) (string, error) {
	leader, ok := quorumLeader(p)
	if !ok {
		return "", errNoLeader(p)
	}
	lowest := 0
	for i, v := range p.CurrentVoters {
		if v.LogEndOffset < p.CurrentVoters[lowest].LogEndOffset {
			lowest = i
		}
	}
	laggard := p.CurrentVoters[lowest]
	lagTimeMs := int64(-1)
	switch {
	case laggard.ReplicaID == leader.ReplicaID:
		lagTimeMs = 0
	case leader.LastCaughtUpTimestamp != -1 && laggard.LastCaughtUpTimestamp != -1:
		lagTimeMs = leader.LastCaughtUpTimestamp - laggard.LastCaughtUpTimestamp
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ClusterId:              %s\n", clusterID)
	fmt.Fprintf(&b, "LeaderId:               %d\n", p.LeaderID)
	fmt.Fprintf(&b, "LeaderEpoch:            %d\n", p.LeaderEpoch)
	fmt.Fprintf(&b, "HighWatermark:          %d\n", p.HighWatermark)
	fmt.Fprintf(&b, "MaxFollowerLag:         %d\n", leader.LogEndOffset-laggard.LogEndOffset)
	fmt.Fprintf(&b, "MaxFollowerLagTimeMs:   %d\n", lagTimeMs)
	fmt.Fprintf(&b, "CurrentVoters:          %s\n", quorumMembers(p.CurrentVoters, nodes))
	fmt.Fprintf(&b, "CurrentObservers:       %s", quorumMembers(p.Observers, nodes))
	return b.String(), nil
}

// quorumMembers prints replicas as Kafka's MetadataQuorumCommand does:
// [{"id": 1, "directoryId": "…", "endpoints": ["CONTROLLER://host:9093"]}, …],
// the directory id only when it is not the zero UUID and the endpoints only
// when the response lists some for the node.
func quorumMembers(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState, nodes []kmsg.DescribeQuorumResponseNode) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		s := fmt.Sprintf(`{"id": %d`, r.ReplicaID)
		if r.ReplicaDirectoryID != [16]byte{} {
			s += fmt.Sprintf(`, "directoryId": "%s"`, kafkaUUID(kadm.TopicID(r.ReplicaDirectoryID)))
		}
		var eps []string
		for _, n := range nodes {
			if n.NodeID != r.ReplicaID {
				continue
			}
			for _, l := range n.Listeners {
				eps = append(eps, fmt.Sprintf(`"%s://%s"`, l.Name, net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))))
			}
		}
		if len(eps) > 0 {
			s += `, "endpoints": [` + strings.Join(eps, ", ") + "]"
		}
		parts[i] = s + "}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// replicationRows are describe --replication's rows: the leader, the other
// voters, then the observers. Lag is the leader's log end offset less the
// replica's; an unknown timestamp is -1; human-readable timestamps are
// "N ms ago" relative to nowMs (ms since the epoch). As in Kafka, a known
// timestamp that is not between the epoch and now is an error (an
// *illegalArg, printed alone) rather than a negative age.
func replicationRows(p kmsg.DescribeQuorumResponseTopicPartition, human bool, nowMs int64) ([][]string, error) {
	leader, ok := quorumLeader(p)
	if !ok {
		return nil, errNoLeader(p)
	}
	stamp := func(ts int64, desc string) (string, error) {
		switch {
		case ts == -1:
			return "-1", nil
		case !human:
			return strconv.FormatInt(ts, 10), nil
		case ts <= 0 || ts > nowMs:
			return "", &illegalArg{fmt.Sprintf("Error while computing relative time, possible drift in system clock.\n"+
				"Current timestamp is %d, %s timestamp is %d", nowMs, desc, ts)}
		}
		return fmt.Sprintf("%d ms ago", nowMs-ts), nil
	}
	var rows [][]string
	add := func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState, status string) error {
		fetch, err := stamp(r.LastFetchTimestamp, "last fetch")
		if err != nil {
			return err
		}
		caught, err := stamp(r.LastCaughtUpTimestamp, "last caught up")
		if err != nil {
			return err
		}
		rows = append(rows, []string{
			strconv.Itoa(int(r.ReplicaID)), kafkaUUID(kadm.TopicID(r.ReplicaDirectoryID)),
			strconv.FormatInt(r.LogEndOffset, 10), strconv.FormatInt(leader.LogEndOffset-r.LogEndOffset, 10),
			fetch, caught, status,
		})
		return nil
	}
	if err := add(leader, "Leader"); err != nil {
		return nil, err
	}
	for _, v := range p.CurrentVoters {
		if v.ReplicaID == leader.ReplicaID {
			continue
		}
		if err := add(v, "Follower"); err != nil {
			return nil, err
		}
	}
	for _, o := range p.Observers {
		if err := add(o, "Observer"); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// prettyPrintTable prints a table as Kafka's ToolsUtils.prettyPrintTable
// does: each cell left-aligned and padded with spaces to its column's
// widest cell or header, and every cell, the last included, followed by a
// tab.
func prettyPrintTable(w io.Writer, headers []string, rows [][]string) {
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = len(h)
		for _, r := range rows {
			widths[i] = max(widths[i], len(r[i]))
		}
	}
	for _, r := range append([][]string{headers}, rows...) {
		var b strings.Builder
		for i, cell := range r {
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", widths[i]-len(cell)))
			b.WriteByte('\t')
		}
		fmt.Fprintln(w, b.String())
	}
}
