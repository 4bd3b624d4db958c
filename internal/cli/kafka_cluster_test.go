package cli

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestKafkaCluster(t *testing.T) {
	c := newCluster(t, kfake.ClusterID("kfake-cluster-id"))
	if out := c.run("", "kafka-cluster.sh", "cluster-id", "--bootstrap-server", c.addr).ok(t); out != "Cluster ID: kfake-cluster-id\n" {
		t.Errorf("cluster-id printed %q", out)
	}
	if out := c.run("", "kafka-cluster.sh", "cluster-id", "-b", c.addr).ok(t); out != "Cluster ID: kfake-cluster-id\n" {
		t.Errorf("cluster-id -b printed %q", out)
	}
	// kfake, like samsa, does not offer UnregisterBroker.
	if out := c.run("", "kafka-cluster.sh", "unregister", "--id", "1", "-b", c.addr).ok(t); out != "The target cluster does not support the broker unregistration API.\n" {
		t.Errorf("unregister printed %q", out)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"unregister"}, "argument --id/-i is required"},
		{[]string{"unregister", "--id", "x"}, "could not convert 'x' to Integer"},
		{[]string{"cluster-id", "--id", "1"}, "unrecognized arguments: '--id'"},
		{[]string{"nope"}, "invalid choice: 'nope'"},
		{nil, "usage: kafka-cluster"},
	} {
		r := c.run("", append([]string{"kafka-cluster.sh"}, tc.args...)...).wantCode(t, 2)
		if !strings.Contains(r.stderr+r.stdout, tc.msg) {
			t.Errorf("%v: stdout %q stderr %q, want %q", tc.args, r.stdout, r.stderr, tc.msg)
		}
	}
}
