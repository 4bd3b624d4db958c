// Package clustertest runs samsa brokers in-process on loopback for
// integration tests, with franz-go as the client.
//
//	c := clustertest.Start(t)
//	cl := c.Client(t) // a *kgo.Client bootstrapped to the cluster
//
// Every broker listens on a free loopback port and keeps its data in a test
// temporary directory. Restart closes a broker cleanly and starts it again
// on the same data and ports. Crashes are not simulated in-process: tests
// that need kill -9 run the real binary (package e2e). Brokers are stopped
// when the test ends.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/config"
)

// Cluster is a set of brokers started for one test.
type Cluster struct {
	t          testing.TB
	mu         sync.Mutex // guards the nodes' b, cancel and addr while StartN launches them
	brokers    []*Node
	clientOpts []kgo.Opt // for every client the cluster's helpers make (WithClientOpts)
}

// Node is one broker of a cluster.
type Node struct {
	ID     int32
	Dir    string
	props  map[string]string
	log    slog.Handler  // nil: discarded (or stderr with SAMSA_TEST_LOG)
	level  slog.LevelVar // what BROKER_LOGGER changes (the handler above ignores it)
	b      *broker.Broker
	cancel context.CancelFunc
	done   chan error
	addr   string // host:port of the client listener, stable across restarts
}

// Option adjusts how every broker starts.
type Option func(*setup)

// setup is what an Option adjusts: one node's server.properties and where
// its log goes.
type setup struct {
	props  map[string]string
	log    slog.Handler
	client []kgo.Opt
}

// WithProps sets server.properties keys on every broker.
func WithProps(kv map[string]string) Option {
	return func(s *setup) { maps.Copy(s.props, kv) }
}

// WithLog sends every broker's log to h. Without it the log is discarded,
// or printed when SAMSA_TEST_LOG is set.
func WithLog(h slog.Handler) Option {
	return func(s *setup) { s.log = h }
}

// WithClientOpts adds opts to every client the cluster makes (Client,
// Admin, CreateTopic): kgo.DialTLSConfig when the listeners speak SSL, say.
// It applies to the cluster as a whole, from Start and StartN.
func WithClientOpts(opts ...kgo.Opt) Option {
	return func(s *setup) { s.client = append(s.client, opts...) }
}

// configure applies opts to n and returns the client options they add.
func (n *Node) configure(opts []Option) []kgo.Opt {
	s := setup{props: n.props, log: n.log}
	for _, o := range opts {
		o(&s)
	}
	n.log = s.log
	return s.client
}

// Start starts a one-node cluster (broker and controller in one process)
// and registers its stop with t.Cleanup.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	n := &Node{ID: 1, Dir: t.TempDir()}
	n.props = map[string]string{
		"node.id":                          "1",
		"process.roles":                    "broker,controller",
		"listeners":                        "PLAINTEXT://127.0.0.1:" + strconv.Itoa(FreePort(t)) + ",CONTROLLER://127.0.0.1:" + strconv.Itoa(FreePort(t)),
		"log.dirs":                         n.Dir,
		"num.partitions":                   "1",
		"group.initial.rebalance.delay.ms": "0",
	}
	c.clientOpts = n.configure(opts)
	c.brokers = append(c.brokers, n)
	c.startNode(n)
	t.Cleanup(c.Stop)
	return c
}

// StartN starts an n-node cluster in which every node is a broker and a
// voter of the metadata quorum, and registers its stop with t.Cleanup. The
// nodes start concurrently: each waits for a quorum before it serves.
func StartN(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	var voters []string
	for i := 1; i <= n; i++ {
		node := &Node{ID: int32(i), Dir: t.TempDir()}
		ctrl := "127.0.0.1:" + strconv.Itoa(FreePort(t))
		voters = append(voters, strconv.Itoa(i)+"@"+ctrl)
		node.props = map[string]string{
			"node.id":                          strconv.Itoa(i),
			"process.roles":                    "broker,controller",
			"listeners":                        "PLAINTEXT://127.0.0.1:" + strconv.Itoa(FreePort(t)) + ",CONTROLLER://" + ctrl,
			"log.dirs":                         node.Dir,
			"num.partitions":                   "1",
			"group.initial.rebalance.delay.ms": "0",
		}
		c.brokers = append(c.brokers, node)
	}
	for _, node := range c.brokers {
		node.props["controller.quorum.voters"] = strings.Join(voters, ",")
		c.clientOpts = node.configure(opts)
	}
	t.Cleanup(c.Stop)
	errs := make(chan error, n)
	for _, node := range c.brokers {
		go func() { errs <- c.launch(node) }()
	}
	for range c.brokers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// AddBroker starts one more node, broker only (no controller role), with
// the next node id: it follows the metadata quorum as a learner. It returns
// the node's index.
func (c *Cluster) AddBroker(opts ...Option) int {
	c.t.Helper()
	first := c.brokers[0]
	id := len(c.brokers) + 1
	n := &Node{ID: int32(id), Dir: c.t.TempDir()}
	n.props = map[string]string{}
	maps.Copy(n.props, first.props)
	n.props["node.id"] = strconv.Itoa(id)
	n.props["process.roles"] = "broker"
	n.props["listeners"] = "PLAINTEXT://127.0.0.1:" + strconv.Itoa(FreePort(c.t))
	n.props["log.dirs"] = n.Dir
	n.log = first.log
	n.configure(opts)
	c.brokers = append(c.brokers, n)
	c.startNode(n)
	return id - 1
}

// FreePort returns a loopback TCP port that was free a moment ago, for a
// listener that must keep its port across restarts (port 0 would change
// it). The port is picked at random below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): the ports a kernel-chosen port 0 gives
// are in that range, where any outgoing connection of a test running in
// parallel could take it as its local port before the broker binds it.
// Below the range only another listener picking the same port can; a port
// is never given twice in one process, so two listeners of one test (a
// node's client and controller listeners) never draw the same one.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	givenMu.Lock()
	defer givenMu.Unlock()
	for range 100 {
		p := unprivileged + rand.IntN(low-unprivileged)
		if given[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			ln.Close()
			given[p] = true
			return p
		}
	}
	t.Fatalf("no free loopback port between %d and %d", unprivileged, low)
	return 0
}

// given holds the ports FreePort returned in this process: a listener that
// keeps its port across restarts may be closed when another asks.
var (
	givenMu sync.Mutex
	given   = map[int]bool{}
)

// unprivileged is the lowest port FreePort picks.
const unprivileged = 1024

// ephemeralLow is the first port of the kernel's ephemeral range, 32768
// when it cannot be read (Linux's default).
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil && low > unprivileged+1000 {
				return low
			}
		}
	}
	return 32768
}

func (c *Cluster) startNode(n *Node) {
	c.t.Helper()
	if err := c.launch(n); err != nil {
		c.t.Fatal(err)
	}
}

// launch starts node n and returns once it serves clients.
func (c *Cluster) launch(n *Node) error {
	cfg, _, err := config.FromMap(n.props)
	if err != nil {
		return fmt.Errorf("broker %d config: %w", n.ID, err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	switch {
	case n.log != nil:
		log = slog.New(n.log)
	case os.Getenv("SAMSA_TEST_LOG") != "":
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := broker.New(cfg, log)
	if err != nil {
		return fmt.Errorf("broker %d: %w", n.ID, err)
	}
	b.SetLogLevel(&n.level)
	ctx, cancel := context.WithCancel(context.Background())
	startCtx, startCancel := context.WithTimeout(ctx, 30*time.Second)
	defer startCancel()
	if err := b.Start(startCtx); err != nil {
		cancel()
		b.Stop()
		return fmt.Errorf("start broker %d: %w", n.ID, err)
	}
	c.mu.Lock()
	n.b, n.cancel = b, cancel
	n.addr = b.Addrs()[0].String()
	c.mu.Unlock()
	return nil
}

// Addrs returns the brokers' client addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, 0, len(c.brokers))
	for _, n := range c.brokers {
		out = append(out, n.addr)
	}
	return out
}

// ControllerAddrs returns the voters' controller listener addresses, in
// node order.
func (c *Cluster) ControllerAddrs() []string {
	var addrs []string
	for _, v := range strings.Split(c.brokers[0].props["controller.quorum.voters"], ",") {
		_, addr, _ := strings.Cut(v, "@")
		addrs = append(addrs, addr)
	}
	return addrs
}

// LogLevel is the level the broker's BROKER_LOGGER resource last set.
func (n *Node) LogLevel() slog.Level { return n.level.Level() }

// Node returns broker i (0-based).
func (c *Cluster) Node(i int) *Node { return c.brokers[i] }

// Client returns a franz-go client for the cluster, closed when the test
// ends.
func (c *Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(c.Addrs()...)}, c.clientOpts...)
	cl, err := kgo.NewClient(append(all, opts...)...)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns a kadm client for the cluster.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	return kadm.NewClient(c.Client(t))
}

// StopNode stops broker i cleanly (a controlled shutdown); StartNode
// starts it again on the same data and ports.
func (c *Cluster) StopNode(i int) {
	c.t.Helper()
	c.stopNode(c.brokers[i])
}

// StartNode starts broker i again after StopNode.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	c.startNode(c.brokers[i])
}

// Running reports whether broker i runs.
func (c *Cluster) Running(i int) bool { return c.brokers[i].b != nil }

// Broker returns broker i's running node (nil when stopped), for tests
// that look inside.
func (c *Cluster) Broker(i int) *broker.Broker { return c.brokers[i].b }

// Restart stops broker i cleanly and starts it again on the same data.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	n := c.brokers[i]
	c.stopNode(n)
	c.startNode(n)
}

func (c *Cluster) stopNode(n *Node) {
	if n.b == nil {
		return
	}
	n.cancel()
	if err := n.b.Stop(); err != nil {
		c.t.Errorf("stop broker %d: %v", n.ID, err)
	}
	n.b = nil
}

// Stop stops every broker, all at once: one by one, the last ones would
// wait out their controlled shutdowns without a metadata quorum.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.brokers {
		wg.Go(func() { c.stopNode(n) })
	}
	wg.Wait()
}

// String describes the cluster for test logs.
func (c *Cluster) String() string { return fmt.Sprintf("cluster%v", c.Addrs()) }

// WaitFor polls cond every 50 ms until it holds, failing the test when limit
// passes first; cond's string says what it saw, for the failure message.
func WaitFor(t testing.TB, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Fatalf("%s: not within %v (last: %s)", what, limit, last)
}

// CreateTopic creates a topic and fails the test on an error.
func (c *Cluster) CreateTopic(t testing.TB, topic string, partitions int32, rf int16, configs map[string]*string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Admin(t).CreateTopic(ctx, partitions, rf, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	// CreateTopics answers once the controller committed the topic; each
	// broker applies it at its own pace, as in Kafka. Tests start using the
	// topic once every running node gives every partition a leader.
	WaitFor(t, "topic "+topic+" has a leader for each partition on every node", 30*time.Second, func() (bool, string) {
		for i, n := range c.brokers {
			if !c.Running(i) {
				continue
			}
			if missing := c.leaderless(n.addr, topic, partitions); missing != "" {
				return false, fmt.Sprintf("node %d: %s", n.ID, missing)
			}
		}
		return true, ""
	})
}

// leaderless asks the broker at addr alone for topic's metadata and
// describes what it lacks ("" when each of the partitions has a leader).
func (c *Cluster) leaderless(addr, topic string, partitions int32) string {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0)}, c.clientOpts...)...)
	if err != nil {
		return err.Error()
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return err.Error()
	}
	md := resp.(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		return "topic not known yet"
	}
	if got := int32(len(md.Topics[0].Partitions)); got != partitions {
		return fmt.Sprintf("%d of %d partitions", got, partitions)
	}
	for _, p := range md.Topics[0].Partitions {
		if p.ErrorCode != 0 || p.Leader < 0 {
			return fmt.Sprintf("partition %d has no leader", p.Partition)
		}
	}
	return ""
}

// PartitionState returns a partition's leader (-1 when it has none),
// replicas and ISR (sorted) from the cluster's metadata.
func PartitionState(adm *kadm.Client, topic string, part int32) (leader int32, replicas, isr []int32, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return -1, nil, nil, err
	}
	p, ok := md.Topics[topic].Partitions[part]
	if !ok {
		return -1, nil, nil, fmt.Errorf("no partition %s-%d", topic, part)
	}
	if p.Err != nil && !errors.Is(p.Err, kerr.LeaderNotAvailable) {
		return -1, nil, nil, p.Err
	}
	isr = slices.Clone(p.ISR)
	slices.Sort(isr)
	return p.Leader, p.Replicas, isr, nil
}
