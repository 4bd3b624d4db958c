package cli

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
)

// cluster.go is `samsa cluster info`: the cluster id, the controller, the
// brokers (the controller marked with *) and how many topics there are.

func runCluster(ctx context.Context, e *env, args []string) int {
	return runSub(ctx, e, []subcommand{
		{"info", "show the cluster id, controller, brokers and topic count", clusterInfo},
	}, args)
}

type clusterDescription struct {
	ClusterID      string          `json:"cluster_id"`
	Controller     int32           `json:"controller"`
	Brokers        []clusterBroker `json:"brokers"`
	Topics         int             `json:"topics"`
	InternalTopics int             `json:"internal_topics"`
}

type clusterBroker struct {
	ID         int32  `json:"id"`
	Host       string `json:"host"`
	Port       int32  `json:"port"`
	Rack       string `json:"rack,omitempty"`
	Controller bool   `json:"controller"`
}

func clusterInfo(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa cluster info [flags]",
		"Show the cluster id, the active controller, the brokers (the controller marked with *) and the\n"+
			"number of topics (internal topics not counted).")
	conn := addConnFlags(f)
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
	d := clusterDescription{ClusterID: md.Cluster, Controller: md.Controller, Brokers: []clusterBroker{}}
	for _, b := range md.Brokers {
		rack := ""
		if b.Rack != nil {
			rack = *b.Rack
		}
		d.Brokers = append(d.Brokers, clusterBroker{b.NodeID, b.Host, b.Port, rack, b.NodeID == md.Controller})
	}
	for name, t := range md.Topics {
		if t.IsInternal || isInternalTopic(name) {
			d.InternalTopics++
		} else {
			d.Topics++
		}
	}
	if *format == "json" {
		if err := writeJSON(e.stdout, d); err != nil {
			return e.fail(err)
		}
		return 0
	}
	section(e.stdout, "CLUSTER")
	t := newTable(e.stdout)
	t.row("ID", d.ClusterID)
	t.row("CONTROLLER", d.Controller)
	t.row("TOPICS", d.Topics)
	t.flush()
	fmt.Fprintln(e.stdout)
	section(e.stdout, "BROKERS")
	t = newTable(e.stdout, "ID", "HOST", "PORT", "RACK")
	for _, b := range d.Brokers {
		id := fmt.Sprint(b.ID)
		if b.Controller {
			id += "*"
		}
		t.row(id, b.Host, b.Port, b.Rack)
	}
	t.flush()
	return 0
}
