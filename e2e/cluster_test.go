package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The multi-node harness: a Cluster is n samsa processes, each a Node on its
// own loopback address, which a test kills (SIGKILL), stops cleanly
// (SIGTERM), starts again on the same data, pauses (SIGSTOP), resumes
// (SIGCONT), and cuts off from one another (netfault_test.go).
//
// Addresses. Node i (1-based) binds 127.X.Y.i, port 9092 for clients and
// 9093 for the metadata quorum, where X.Y (X ≥ 1, so clear of the 127.0.0.x
// and 127.0.1.x other tools use) comes from the process id and a counter:
// tests running at once, in this test binary or another, get different
// networks, and one whose ports are taken is passed over. Fixed ports keep
// every address the same across restarts. The harness's own clients dial
// from 127.X.Y.200, so that a cut can include or spare them.
//
// Every node is a broker and a controller (a voter of the quorum) unless
// added later with AddBroker. Each node's log goes to a file of its own,
// whose end is printed when the test fails.
//
// A Cluster and its Nodes belong to the test goroutine that started them.

const (
	clusterClientPort     = 9092
	clusterControllerPort = 9093
	clusterClientHost     = 200 // last byte of the harness's clients' address
)

// Cluster is the set of nodes one test started.
type Cluster struct {
	t        *testing.T
	Nodes    []*Node        // Nodes[i-1] is node i
	prefix   string         // "127.X.Y.": node i is prefix+i; "" on fixed addresses
	clientIP string         // where the harness's clients dial from; "" for anywhere
	nodeOpts []brokerOption // applied to every node over its own properties
	voters   string         // controller.quorum.voters
	cuts     *linkCuts      // nil unless started withLinkCuts
	wantCuts bool
}

// Node is one process of a Cluster: a Broker (Kill, Term, Start, Pause,
// Resume, its log) with its node id and address.
type Node struct {
	*Broker
	ID     int32
	Host   string // the IP its listeners bind and its connections leave from
	c      *Cluster
	paused bool // stopped by SIGSTOP
}

// clusterOption adjusts a Cluster before its nodes start.
type clusterOption func(*Cluster)

// withNodeProps sets server.properties keys, given as key, value pairs, on
// every node.
func withNodeProps(kv ...string) clusterOption {
	set := withProps(kv...)
	return func(c *Cluster) { c.nodeOpts = append(c.nodeOpts, set) }
}

// withLinkCuts makes the cluster's nftables table before anything starts,
// so that a machine without nftables skips the test at once.
func withLinkCuts() clusterOption {
	return func(c *Cluster) { c.wantCuts = true }
}

// startCluster starts n nodes, each a broker and a voter of the quorum, and
// waits until every node lists all n brokers.
func startCluster(t *testing.T, n int, opts ...clusterOption) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for _, o := range opts {
		o(c)
	}
	if c.wantCuts {
		c.cuts = newLinkCuts(t)
	}
	c.prefix = pickLoopbackNet(t, n)
	c.clientIP = c.prefix + strconv.Itoa(clusterClientHost)
	voters := make([]string, n)
	for i := range n {
		voters[i] = fmt.Sprintf("%d@%s%d:%d", i+1, c.prefix, i+1, clusterControllerPort)
	}
	c.voters = strings.Join(voters, ",")
	for i := range n {
		c.configureNode(i+1, true)
	}
	c.startAll()
	return c
}

// loopbackNets numbers the networks this process has tried.
var loopbackNets atomic.Int64

// pickLoopbackNet returns "127.X.Y." for a new cluster of n nodes, on
// which nodes 1 to n (and 9 more, for AddBroker) find their ports free.
func pickLoopbackNet(t testing.TB, n int) string {
	t.Helper()
	for range 64 {
		v := (int64(os.Getpid())*64 + loopbackNets.Add(1)%64) % (254 * 256)
		prefix := fmt.Sprintf("127.%d.%d.", 1+v/256, v%256)
		free := true
		for i := 1; i <= n+9 && free; i++ {
			free = portsFree(prefix+strconv.Itoa(i), clusterClientPort, clusterControllerPort) == nil
		}
		if free {
			return prefix
		}
	}
	t.Fatal("no loopback network 127.X.Y.0/24 with free ports found in 64 tries")
	return ""
}

// portsFree reports, as an error, the first of the ports that cannot be
// listened on at host.
func portsFree(host string, ports ...int) error {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return err
		}
		l.Close()
	}
	return nil
}

// configureNode adds node id with its server.properties: a broker and a
// controller, or a broker only.
func (c *Cluster) configureNode(id int, controller bool) *Node {
	n := c.newNode(int32(id), c.prefix+strconv.Itoa(id), clusterClientPort)
	p := n.props
	p["node.id"] = strconv.Itoa(id)
	p["process.roles"] = "broker"
	p["listeners"] = "PLAINTEXT://" + n.Addr
	if controller {
		p["process.roles"] = "broker,controller"
		p["listeners"] += fmt.Sprintf(",CONTROLLER://%s:%d", n.Host, clusterControllerPort)
	}
	p["advertised.listeners"] = "PLAINTEXT://" + n.Addr
	p["controller.quorum.voters"] = c.voters
	p["log.dirs"] = n.DataDir
	for _, o := range c.nodeOpts {
		o(n.Broker)
	}
	n.writeProps()
	return n
}

// newNode adds a stopped node whose client listener is host:port, with no
// properties yet; it is ready once it lists itself as a broker.
func (c *Cluster) newNode(id int32, host string, port int) *Node {
	n := &Node{ID: id, Host: host, c: c}
	n.Broker = newBroker(c.t, c.t.TempDir(), fmt.Sprintf("node %d", id), net.JoinHostPort(host, strconv.Itoa(port)))
	n.ready = n.registered
	c.Nodes = append(c.Nodes, n)
	return n
}

// startAll starts every node at once (a quorum forms only from a majority)
// and waits until each lists every node as a broker.
func (c *Cluster) startAll() {
	c.t.Helper()
	for _, n := range c.Nodes {
		n.spawn()
	}
	waitUntil(c.t, 90*time.Second, "the cluster forms", func() error {
		for _, n := range c.Nodes {
			if !n.Alive() {
				c.t.Fatalf("node %d exited while starting: %v", n.ID, n.proc.err)
			}
			if err := c.listsAll(n); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddBroker starts one more node, a broker only, and waits until every
// node lists it.
func (c *Cluster) AddBroker() *Node {
	c.t.Helper()
	if c.prefix == "" {
		c.t.Fatal("AddBroker: the cluster is on fixed addresses")
	}
	n := c.configureNode(len(c.Nodes)+1, false)
	n.Start()
	c.waitHealthy()
	return n
}

// Node returns node id (1-based).
func (c *Cluster) Node(id int32) *Node { return c.Nodes[id-1] }

// up returns the nodes that are running and not paused.
func (c *Cluster) up() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Alive() && !n.paused {
			out = append(out, n)
		}
	}
	return out
}

// Kill sends SIGKILL (to a paused node as well) and waits for the process
// to be gone.
func (n *Node) Kill() {
	n.t.Helper()
	n.Broker.Kill()
	n.paused = false
}

// Pause stops the node with SIGSTOP: it holds its sockets open and answers
// nothing.
func (n *Node) Pause() {
	n.t.Helper()
	n.Broker.Pause()
	n.paused = true
}

// Resume continues a paused node with SIGCONT.
func (n *Node) Resume() {
	n.t.Helper()
	n.Broker.Resume()
	n.paused = false
}

// registered is a node's readiness: it answers Metadata, listing itself
// among the brokers (it registered and the controller unfenced it).
func (n *Node) registered() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := n.c.metadataFrom(ctx, n)
	if err != nil {
		return err
	}
	if !slices.Contains(brokerIDs(resp), n.ID) {
		return fmt.Errorf("node %d lists brokers %v, not itself", n.ID, brokerIDs(resp))
	}
	return nil
}

// listsAll checks that node n lists every running, unpaused node as a
// broker.
func (c *Cluster) listsAll(n *Node) error {
	missing, listed, err := c.unlisted(n)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("node %d lists brokers %v, not nodes %v", n.ID, listed, missing)
	}
	return nil
}

// unlisted asks node n for its brokers and returns the running, unpaused
// nodes missing from them, and the brokers it lists.
func (c *Cluster) unlisted(n *Node) (missing, listed []int32, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := c.metadataFrom(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	listed = brokerIDs(resp)
	for _, m := range c.up() {
		if !slices.Contains(listed, m.ID) {
			missing = append(missing, m.ID)
		}
	}
	return missing, listed, nil
}

func brokerIDs(resp *kmsg.MetadataResponse) []int32 {
	var ids []int32
	for _, b := range resp.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids
}

// dialOpts makes clients dial from the harness's client address.
func (c *Cluster) dialOpts() []kgo.Opt {
	if c.clientIP == "" {
		return nil
	}
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.clientIP)}}
	return []kgo.Opt{kgo.Dialer(d.DialContext)}
}

// connect returns the options that reach the cluster: every node as a
// seed, and the dialer.
func (c *Cluster) connect() []kgo.Opt {
	seeds := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		seeds[i] = n.Addr
	}
	return append(c.dialOpts(), kgo.SeedBrokers(seeds...))
}

// Client returns a franz-go client for the cluster, closed when the test
// ends.
func (c *Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, append(c.connect(), opts...)...)
}

// Admin returns a kadm client for the cluster, closed when the test ends.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t))
}

// ask sends req to node n alone, not retrying.
func (c *Cluster) ask(ctx context.Context, n *Node, req kmsg.Request) (kmsg.Response, error) {
	cl, err := kgo.NewClient(append(c.dialOpts(), kgo.SeedBrokers(n.Addr), kgo.RequestRetries(0))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("node %d: %w", n.ID, err)
	}
	return resp, nil
}

// metadataFrom asks node n for its metadata: the brokers, and the given
// topics (none when no topic is given).
func (c *Cluster) metadataFrom(ctx context.Context, n *Node, topics ...string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := c.ask(ctx, n, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// metadata asks the running, unpaused nodes in turn and returns the first
// answer.
func (c *Cluster) metadata(topics ...string) (*kmsg.MetadataResponse, *Node, error) {
	errs := []error{errors.New("no node is up")}
	for _, n := range c.up() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		resp, err := c.metadataFrom(ctx, n, topics...)
		cancel()
		if err == nil {
			return resp, n, nil
		}
		errs = append(errs, err)
	}
	return nil, nil, errors.Join(errs...)
}

// partitionOf finds partition p of topic in a metadata response.
func partitionOf(resp *kmsg.MetadataResponse, topic string, p int32) (*kmsg.MetadataResponseTopicPartition, error) {
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return nil, fmt.Errorf("topic %s: %w", topic, err)
		}
		for j := range rt.Partitions {
			if rt.Partitions[j].Partition == p {
				return &rt.Partitions[j], nil
			}
		}
	}
	return nil, fmt.Errorf("no partition %s/%d in the metadata", topic, p)
}

// Leader returns the node that leads partition p of topic, once one that is
// up does.
func (c *Cluster) Leader(topic string, p int32) *Node {
	c.t.Helper()
	var leader *Node
	waitUntil(c.t, 60*time.Second, fmt.Sprintf("%s/%d has a leader", topic, p), func() error {
		resp, from, err := c.metadata(topic)
		if err != nil {
			return err
		}
		mp, err := partitionOf(resp, topic, p)
		if err != nil {
			return err
		}
		leader = c.upNode(mp.Leader)
		if leader == nil {
			return fmt.Errorf("node %d names leader %d, which is not up", from.ID, mp.Leader)
		}
		return nil
	})
	return leader
}

// Followers returns the replicas of partition p of topic that do not lead
// it.
func (c *Cluster) Followers(topic string, p int32) []*Node {
	c.t.Helper()
	leader := c.Leader(topic, p)
	resp, _, err := c.metadata(topic)
	if err != nil {
		c.t.Fatal(err)
	}
	mp, err := partitionOf(resp, topic, p)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []*Node
	for _, r := range mp.Replicas {
		if r != leader.ID {
			out = append(out, c.Node(r))
		}
	}
	return out
}

// Controller returns the active controller, as the nodes that are up name
// it in Metadata (samsa names it there whenever it is also a live broker).
func (c *Cluster) Controller() *Node {
	c.t.Helper()
	var ctrl *Node
	waitUntil(c.t, 60*time.Second, "an active controller", func() error {
		resp, from, err := c.metadata()
		if err != nil {
			return err
		}
		if ctrl = c.upNode(resp.ControllerID); ctrl == nil {
			return fmt.Errorf("node %d names controller %d, which is not up", from.ID, resp.ControllerID)
		}
		return nil
	})
	return ctrl
}

// upNode returns node id if it is running and not paused, else nil.
func (c *Cluster) upNode(id int32) *Node {
	if id < 1 || int(id) > len(c.Nodes) {
		return nil
	}
	if n := c.Node(id); n.Alive() && !n.paused {
		return n
	}
	return nil
}

// waitHealthy waits until every node that is up lists every node that is
// up as a broker and, for each topic given, reports every partition with a
// leader and all its replicas in the ISR.
func (c *Cluster) waitHealthy(topics ...string) {
	c.t.Helper()
	waitUntil(c.t, 90*time.Second, "the cluster is whole again", func() error {
		for _, n := range c.up() {
			if err := c.listsAll(n); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			resp, err := c.metadataFrom(ctx, n, topics...)
			cancel()
			if err != nil {
				return err
			}
			if err := fullISR(resp, topics); err != nil {
				return fmt.Errorf("node %d: %w", n.ID, err)
			}
		}
		return nil
	})
}

// fullISR checks that every partition of the topics has a leader and all
// its replicas in sync.
func fullISR(resp *kmsg.MetadataResponse, topics []string) error {
	for _, topic := range topics {
		var rt *kmsg.MetadataResponseTopic
		for i := range resp.Topics {
			if t := resp.Topics[i].Topic; t != nil && *t == topic {
				rt = &resp.Topics[i]
			}
		}
		if rt == nil {
			return fmt.Errorf("no topic %s in the metadata", topic)
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		for _, p := range rt.Partitions {
			isr, replicas := slices.Sorted(slices.Values(p.ISR)), slices.Sorted(slices.Values(p.Replicas))
			switch {
			case p.Leader < 0:
				return fmt.Errorf("%s/%d has no leader", topic, p.Partition)
			case !slices.Equal(isr, replicas):
				return fmt.Errorf("%s/%d has ISR %v of replicas %v", topic, p.Partition, isr, replicas)
			}
		}
	}
	return nil
}

// waitOutOfISR waits until every node that is up reports n in the ISR of
// no partition of topic.
func (c *Cluster) waitOutOfISR(topic string, n *Node) {
	c.t.Helper()
	waitUntil(c.t, 60*time.Second, fmt.Sprintf("node %d leaves the ISRs of %s", n.ID, topic), func() error {
		for _, m := range c.up() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			resp, err := c.metadataFrom(ctx, m, topic)
			cancel()
			if err != nil {
				return err
			}
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					if slices.Contains(p.ISR, n.ID) {
						return fmt.Errorf("node %d reports %s/%d with ISR %v", m.ID, topic, p.Partition, p.ISR)
					}
				}
			}
		}
		return nil
	})
}

// waitFenced waits until every other node that is up has stopped listing n
// as a broker: the controller fenced it.
func (c *Cluster) waitFenced(n *Node) {
	c.t.Helper()
	waitUntil(c.t, 60*time.Second, fmt.Sprintf("node %d is fenced", n.ID), func() error {
		for _, m := range c.up() {
			if m == n {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			resp, err := c.metadataFrom(ctx, m)
			cancel()
			if err != nil {
				return err
			}
			if slices.Contains(brokerIDs(resp), n.ID) {
				return fmt.Errorf("node %d still lists node %d", m.ID, n.ID)
			}
		}
		return nil
	})
}

// startSequenceProducer creates topic with min(3, nodes) replicas and
// min.insync.replicas=2, waits for its ISRs to fill, and starts a
// sequenceProducer on it.
func (c *Cluster) startSequenceProducer(topic string, partitions int32, opts ...kgo.Opt) *sequenceProducer {
	c.t.Helper()
	createReplicatedTopic(c.t, c.Admin(c.t), topic, partitions, int16(min(3, len(c.Nodes))), "min.insync.replicas", "2")
	c.waitHealthy(topic)
	return runSequenceProducer(c.t, topic, int(partitions), c.connect(), opts...)
}

// waitReplicasAgree waits until, for every partition of topic, the nodes
// that hold it report logs of one size (DescribeLogDirs): once nothing is
// written, a follower that has caught up holds the leader's batches byte
// for byte, and one that kept records the leader does not have (it did not
// truncate after losing its leadership) shows here.
func (c *Cluster) waitReplicasAgree(topic string) {
	c.t.Helper()
	waitUntil(c.t, 60*time.Second, "the replicas of "+topic+" hold logs of the same size", func() error {
		sizes := map[int32]map[int32]int64{} // partition → node → bytes
		for _, n := range c.up() {
			req := kmsg.NewPtrDescribeLogDirsRequest()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			resp, err := c.ask(ctx, n, req)
			cancel()
			if err != nil {
				return err
			}
			for _, d := range resp.(*kmsg.DescribeLogDirsResponse).Dirs {
				for _, dt := range d.Topics {
					if dt.Topic != topic {
						continue
					}
					for _, dp := range dt.Partitions {
						if sizes[dp.Partition] == nil {
							sizes[dp.Partition] = map[int32]int64{}
						}
						sizes[dp.Partition][n.ID] = dp.Size
					}
				}
			}
		}
		for p, byNode := range sizes {
			if vs := slices.Compact(slices.Sorted(maps.Values(byNode))); len(vs) > 1 {
				return fmt.Errorf("%s/%d: bytes by node %v", topic, p, byNode)
			}
		}
		return nil
	})
}

// createAssignedTopic creates topic with the given replicas for each
// partition (assignment[p], the preferred leader first) and topic configs
// (key, value pairs).
func (c *Cluster) createAssignedTopic(topic string, assignment [][]int32, configs ...string) {
	c.t.Helper()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for p, replicas := range assignment {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(p), replicas
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	for i := 0; i+1 < len(configs); i += 2 {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = configs[i], kmsg.StringPtr(configs[i+1])
		rt.Configs = append(rt.Configs, cfg)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.CreateTopicsRequestTopic{rt}, 30000
	resp, err := req.RequestWith(testContext(c.t, 30*time.Second), c.Client(c.t))
	if err == nil && len(resp.Topics) != 1 {
		err = fmt.Errorf("%d topics in the response", len(resp.Topics))
	}
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		c.t.Fatalf("create topic %s with assignment %v: %v", topic, assignment, err)
	}
}
