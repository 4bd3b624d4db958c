package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/cli"
	"github.com/samsa-io/samsa/internal/clustertest"
)

// seedBroker returns a connection to addr alone, as an admin client that
// bootstraps from the controllers (KIP-919) has: no Metadata, requests
// straight to that listener.
func seedBroker(t *testing.T, addr string) *kgo.Broker {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl.SeedBrokers()[0]
}

func describeControllers(t *testing.T, b *kgo.Broker, endpointType int8) *kmsg.DescribeClusterResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = endpointType
	resp, err := req.RequestWith(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func describeQuorumAt(t *testing.T, b *kgo.Broker) kmsg.DescribeQuorumResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rt.Partitions = append(rt.Partitions, kmsg.NewDescribeQuorumRequestTopicPartition())
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("DescribeQuorum answered %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

// On the controller listener, DescribeCluster with endpoint type 2 lists
// the voters at their controller addresses and names the active one, which
// answers DescribeQuorum; the other voters answer NOT_LEADER_OR_FOLLOWER.
func TestControllerListenerServesBootstrapControllers(t *testing.T) {
	c := clustertest.StartN(t, 3)
	addrs := c.ControllerAddrs()
	first := seedBroker(t, addrs[1])

	var dc *kmsg.DescribeClusterResponse
	clustertest.WaitFor(t, "an active controller", 10*time.Second, func() (bool, string) {
		dc = describeControllers(t, first, 2)
		return dc.ErrorCode == 0 && dc.ControllerID > 0, strconv.Itoa(int(dc.ControllerID))
	})
	if dc.ClusterID == "" {
		t.Error("no cluster id")
	}
	var got []string
	for _, b := range dc.Brokers {
		got = append(got, strconv.Itoa(int(b.NodeID))+"@"+net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
	}
	want := []string{"1@" + addrs[0], "2@" + addrs[1], "3@" + addrs[2]}
	if !slices.Equal(got, want) {
		t.Fatalf("controllers %v, want %v", got, want)
	}

	active := describeQuorumAt(t, seedBroker(t, addrs[dc.ControllerID-1]))
	if err := kerr.ErrorForCode(active.ErrorCode); err != nil || active.LeaderID != dc.ControllerID || len(active.CurrentVoters) != 3 {
		t.Fatalf("the active controller's DescribeQuorum: %v, leader %d, %d voters", err, active.LeaderID, len(active.CurrentVoters))
	}
	other := addrs[dc.ControllerID%3] // the next voter
	if p := describeQuorumAt(t, seedBroker(t, other)); !errors.Is(kerr.ErrorForCode(p.ErrorCode), kerr.NotLeaderForPartition) {
		t.Fatalf("a follower voter's DescribeQuorum: error %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(p.ErrorCode))
	}

	if dc := describeControllers(t, first, 1); !errors.Is(kerr.ErrorForCode(dc.ErrorCode), kerr.MismatchedEndpointType) {
		t.Fatalf("brokers asked of the controller listener: %v, want MISMATCHED_ENDPOINT_TYPE", kerr.ErrorForCode(dc.ErrorCode))
	}

	// Kafka's tool does the same through samsa's personality of it.
	var stdout, stderr strings.Builder
	code := cli.Main(context.Background(), []string{"kafka-metadata-quorum.sh", "--bootstrap-controller", addrs[2], "describe", "--status"},
		cli.IO{Stdout: &stdout, Stderr: &stderr}, cli.Node{})
	leaderLine := fmt.Sprintf("LeaderId:               %d\n", dc.ControllerID)
	if code != 0 || !strings.Contains(stdout.String(), leaderLine) || strings.Count(stdout.String(), `"endpoints": ["CONTROLLER://`) != 3 {
		t.Fatalf("kafka-metadata-quorum.sh --bootstrap-controller: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
