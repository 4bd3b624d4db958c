// Command groups measures a group coordinator from the outside, with
// franz-go clients, for the performance section of issue #3:
//
//   - rebalance: a group of -members members on a -partitions-partition
//     topic; one member at a time leaves (LeaveGroup), and the time until
//     the group is Stable again with every partition assigned to the members
//     left is measured, -rounds times, for each balancer in -balancers.
//   - commits: -conns connections with -inflight OffsetCommit requests in
//     flight each, one partition per request, for -duration; the groups are
//     chosen so that they all hash to one __consumer_offsets partition, and
//     then so that they spread over every partition. It reports commits per
//     second and the p50 and p99 latency of a commit as the client sees it.
//
// It works against any Kafka-compatible broker: bench/groups.sh starts a
// samsa server and runs it. The group and topic names carry the start time,
// so runs against one cluster do not meet each other's groups.
//
//	go run ./bench/groups -b 127.0.0.1:9092
//	go run ./bench/groups -b 127.0.0.1:9092 -run commits -duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// config is what the flags set; immutable once parsed.
type config struct {
	brokers []string
	run     map[string]bool
	suffix  string // appended to group and topic names: this run's start time

	// rebalance
	members    int
	partitions int
	rounds     int
	balancers  []string
	heartbeat  time.Duration // the members' heartbeat interval
	session    time.Duration // the members' session timeout

	// commits
	conns          int
	inflight       int
	duration       time.Duration
	warmup         time.Duration
	groups         int   // groups per scenario
	offsetsTopicPs int32 // offsets.topic.num.partitions of the cluster
}

func main() {
	var c config
	brokers := flag.String("b", "127.0.0.1:9092", "bootstrap brokers, comma-separated")
	run := flag.String("run", "rebalance,commits", "which benchmarks: rebalance, commits")
	flag.IntVar(&c.members, "members", 50, "rebalance: members in the group")
	flag.IntVar(&c.partitions, "partitions", 200, "rebalance: partitions of the topic")
	flag.IntVar(&c.rounds, "rounds", 5, "rebalance: members that leave, one at a time")
	bal := flag.String("balancers", "cooperative-sticky,range", "rebalance: balancers to measure, each with a fresh group")
	flag.DurationVar(&c.heartbeat, "heartbeat", 100*time.Millisecond, "rebalance: the members' heartbeat interval")
	flag.DurationVar(&c.session, "session", 10*time.Second, "rebalance: the members' session timeout")
	flag.IntVar(&c.conns, "conns", 64, "commits: connections (franz-go clients)")
	flag.IntVar(&c.inflight, "inflight", 8, "commits: requests in flight on each connection")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "commits: how long each scenario is measured")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "commits: load before measuring, per scenario")
	flag.IntVar(&c.groups, "groups", 64, "commits: groups per scenario")
	partitions := flag.Int("offsets-partitions", 50, "commits: offsets.topic.num.partitions of the cluster")
	flag.Parse()
	c.brokers = strings.Split(*brokers, ",")
	c.run = map[string]bool{}
	for _, r := range strings.Split(*run, ",") {
		c.run[strings.TrimSpace(r)] = true
	}
	c.balancers = strings.Split(*bal, ",")
	c.offsetsTopicPs = int32(*partitions)
	c.suffix = time.Now().Format("150405")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runAll(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "groups:", err)
		os.Exit(1)
	}
}

func runAll(ctx context.Context, c config) error {
	if c.run["rebalance"] {
		for _, b := range c.balancers {
			if err := benchRebalance(ctx, c, b); err != nil {
				return fmt.Errorf("rebalance with %s: %w", b, err)
			}
		}
	}
	if c.run["commits"] {
		if err := benchCommits(ctx, c); err != nil {
			return fmt.Errorf("commits: %w", err)
		}
	}
	return nil
}

// createTopic creates a topic with replication factor 1 and returns its
// topic id.
func createTopic(ctx context.Context, c config, topic string, partitions int) ([16]byte, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...))
	if err != nil {
		return [16]byte{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return [16]byte{}, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return resp.ID, nil
}

// result prints one measured figure as "name value unit", the line format
// bench/groups.sh collects.
func result(name string, value float64, unit string) {
	fmt.Printf("%-52s %12.2f %s\n", name, value, unit)
}
