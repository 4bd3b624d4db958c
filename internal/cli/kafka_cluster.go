package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_cluster.go is the kafka-cluster.sh personality (Kafka's
// ClusterTool): `cluster-id`, printed as
//
//	Cluster ID: q1Sh-9_ISia_zwGINzRvyQ
//
// from DescribeCluster, and `unregister --id N`, which sends
// UnregisterBroker. samsa's brokers do not offer that request (a broker
// whose session ends is fenced, and its registration stays until it
// registers again), so unregister prints Kafka's "The target cluster does
// not support the broker unregistration API." and exits 0, as Kafka's tool
// does against such a cluster. Like Kafka's tool, it takes --config/-c (an
// admin client properties file) and -b for --bootstrap-server; unlike it,
// it also finds the cluster through $SAMSA_BROKERS or localhost.

func kafkaCluster(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, "usage: kafka-cluster {cluster-id,unregister} ...\n\nThe Kafka cluster tool.")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	if cmd != "cluster-id" && cmd != "unregister" {
		fmt.Fprintf(e.stderr, "usage: kafka-cluster {cluster-id,unregister} ...\nkafka-cluster: error: argument command: invalid choice: '%s' (choose from 'cluster-id', 'unregister')\n", cmd)
		return 2
	}
	f := newFlagSet("kafka-cluster.sh "+cmd+" --bootstrap-server HOST:PORT [--config FILE]", map[string]string{
		"cluster-id": "Get information about the ID of a cluster.",
		"unregister": "Unregister a broker (samsa: not offered; brokers are fenced when their session ends).",
	}[cmd])
	bootstrap := f.String("bootstrap-server,b", "", "HOST:PORT,...", "the brokers to connect to (default $SAMSA_BROKERS or "+defaultBrokers+")")
	config := f.String("config,c", "", "FILE", "a property file containing configs to be passed to the admin client")
	id := f.String("id,i", "", "ID", "unregister: the ID of the broker to unregister")
	if cmd == "cluster-id" {
		f.Hide("id")
	}
	if code, ok := e.parse(f, args[1:]); !ok {
		return code
	}
	if cmd == "unregister" && !f.Changed("id") {
		return e.usageFail(f, usagef("argument --id/-i is required"))
	}
	if cmd == "cluster-id" && f.Changed("id") {
		return e.usageFail(f, usagef("unrecognized arguments: '--id'"))
	}
	n, err := strconv.ParseInt(*id, 10, 32)
	if cmd == "unregister" && err != nil {
		return e.usageFail(f, usagef("argument --id/-i: could not convert '%s' to Integer", *id))
	}
	conn := &kafkaConn{bootstrap: bootstrap, config: config}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	if cmd == "cluster-id" {
		return clusterID(ctx, e, cl)
	}
	return unregisterBroker(ctx, e, cl, int32(n))
}

func clusterID(ctx context.Context, e *env, cl *kgo.Client) int {
	resp, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return e.fail(err)
	}
	if resp.ClusterID == "" {
		fmt.Fprintln(e.stdout, "No cluster ID found. The Kafka version is probably too old.")
	} else {
		fmt.Fprintf(e.stdout, "Cluster ID: %s\n", resp.ClusterID)
	}
	return 0
}

func unregisterBroker(ctx context.Context, e *env, cl *kgo.Client, id int32) int {
	// Kafka's admin client fails with UnsupportedVersionException when the
	// broker's ApiVersions does not list UnregisterBroker.
	req := kmsg.NewPtrUnregisterBrokerRequest()
	versions, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(versions.ErrorCode)
	}
	if err != nil {
		return e.fail(err)
	}
	if !slices.ContainsFunc(versions.ApiKeys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == req.Key() }) {
		fmt.Fprintln(e.stdout, "The target cluster does not support the broker unregistration API.")
		return 0
	}
	req.BrokerID = id
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "Broker %d is no longer registered.\n", id)
	return 0
}
