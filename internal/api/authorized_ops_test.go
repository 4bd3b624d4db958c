package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// With no authorizer, Kafka reports every operation it defines for a
// resource when a request asks (KIP-430), and INT32_MIN when it does not.
// Admin clients show these: librdkafka's DescribeConsumerGroups with
// IncludeAuthorizedOperations, the Java client's describeTopics.
func TestAuthorizedOperationsAreReportedWhenAsked(t *testing.T) {
	const (
		unset   = -2147483648
		read    = 1 << 3
		write   = 1 << 4
		create  = 1 << 5
		del     = 1 << 6
		alter   = 1 << 7
		desc    = 1 << 8
		action  = 1 << 9
		descCfg = 1 << 10
		altCfg  = 1 << 11
		idemp   = 1 << 12

		topicOps   = read | write | create | del | alter | desc | descCfg | altCfg
		clusterOps = create | action | descCfg | altCfg | idemp | alter | desc
		groupOps   = read | del | desc
	)
	c := clustertest.Start(t)
	if _, err := c.Admin(t).CreateTopic(ctxT(t), 1, 1, nil, "ops"); err != nil {
		t.Fatal(err)
	}
	// A group with a committed offset, so it exists on its coordinator.
	cl := c.Client(t)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "ops", Partition: 0, At: 0})
	if err := c.Admin(t).CommitAllOffsets(ctxT(t), "ops-group", offs); err != nil {
		t.Fatal(err)
	}
	// Metadata carries the cluster's operations up to v10 (DescribeCluster
	// from v11): ask as a Kafka 2.7 client.
	cl28 := c.Client(t, kgo.MaxVersions(kversion.V2_7_0()))

	for _, ask := range []bool{false, true} {
		want := func(ops int32) int32 {
			if ask {
				return ops
			}
			return unset
		}

		md := kmsg.NewPtrMetadataRequest()
		md.IncludeClusterAuthorizedOperations, md.IncludeTopicAuthorizedOperations = ask, ask
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr("ops")
		md.Topics = append(md.Topics, mt)
		mresp, err := md.RequestWith(ctxT(t), cl28)
		if err != nil {
			t.Fatal(err)
		}
		if got := mresp.AuthorizedOperations; got != want(clusterOps) {
			t.Errorf("ask=%v: Metadata cluster operations %d, want %d", ask, got, want(clusterOps))
		}
		if got := mresp.Topics[0].AuthorizedOperations; got != want(topicOps) {
			t.Errorf("ask=%v: Metadata topic operations %d, want %d", ask, got, want(topicOps))
		}

		dc := kmsg.NewPtrDescribeClusterRequest()
		dc.IncludeClusterAuthorizedOperations = ask
		dcresp, err := dc.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if got := dcresp.ClusterAuthorizedOperations; got != want(clusterOps) {
			t.Errorf("ask=%v: DescribeCluster operations %d, want %d", ask, got, want(clusterOps))
		}

		// DescribeTopicPartitions has no flag: Kafka always reports them.
		dtp := kmsg.NewPtrDescribeTopicPartitionsRequest()
		dt := kmsg.NewDescribeTopicPartitionsRequestTopic()
		dt.Topic = "ops"
		dtp.Topics = append(dtp.Topics, dt)
		dtpresp, err := dtp.RequestWith(ctxT(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if got := dtpresp.Topics[0].AuthorizedOperations; got != topicOps {
			t.Errorf("DescribeTopicPartitions operations %d, want %d", got, topicOps)
		}

		dg := kmsg.NewPtrDescribeGroupsRequest()
		dg.Groups, dg.IncludeAuthorizedOperations = []string{"ops-group"}, ask
		dgresp, err := dg.RequestWith(ctxT(t), cl) // kgo sends it to the coordinator
		if err != nil {
			t.Fatal(err)
		}
		if g := dgresp.Groups[0]; g.ErrorCode != 0 || g.AuthorizedOperations != want(groupOps) {
			t.Errorf("ask=%v: DescribeGroups error %d, operations %d, want 0 and %d", ask, g.ErrorCode, g.AuthorizedOperations, want(groupOps))
		}
	}
}
