package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Faults in a three-node cluster under an idempotent acks=all producer: a
// topic with three replicas and min.insync.replicas=2 must take writes
// with any one node killed, paused or cut off, and every record the
// cluster acknowledged must afterwards be in the log at the offset it was
// acknowledged with, exactly once, in order.

// fastFailover shortens failure detection so that a fault shows within
// seconds: the controller fences a broker silent for 3 s and a leader drops
// from the ISR a follower that has not caught up in 3 s.
var fastFailover = []string{
	"broker.session.timeout.ms", "3000",
	"broker.heartbeat.interval.ms", "500",
	"replica.lag.time.max.ms", "3000",
}

// fastSession is broker.session.timeout.ms in fastFailover.
const fastSession = 3 * time.Second

// fastClient shortens the producer's request timeouts: a paused leader, or
// one cut off from its followers, holds a produce request until the
// request's timeout, and a shorter one sends the client to ask for new
// metadata sooner.
var fastClient = []kgo.Opt{
	kgo.ProduceRequestTimeout(5 * time.Second),
	kgo.RequestTimeoutOverhead(5 * time.Second),
}

const (
	clusterTopic      = "cluster-faults"
	clusterPartitions = 6
)

// faultRun is what a fault acts on.
type faultRun struct {
	t   *testing.T
	c   *Cluster
	w   *sequenceProducer
	rng *rand.Rand
}

// clusterFault is one kind of fault in the schedule. run injects it, waits
// until every partition has taken writes while it lasts (the fault was
// survived, not waited out) and undoes it; the schedule then waits for the
// cluster to be whole again.
type clusterFault struct {
	name string
	run  func(r *faultRun)
}

var clusterFaults = []clusterFault{
	{"kill -9 a partition leader", killLeader},
	{"stop a partition leader cleanly (SIGTERM)", termLeader},
	{"kill -9 the active controller", killController},
	{"pause a follower past the session timeout", pauseFollower},
	{"cut a partition leader off from the other nodes", isolateLeader},
}

// TestClusterFaults runs each fault once, in an order drawn from the seed,
// or, with SAMSA_FAULT_DURATION set (a Go duration such as 5m), runs rounds
// of them until that much time has passed.
func TestClusterFaults(t *testing.T) {
	rng := seededRand(t)
	duration := faultDuration(t)
	c := startCluster(t, 3, withLinkCuts(), withNodeProps(fastFailover...))
	w := c.startSequenceProducer(clusterTopic, clusterPartitions, fastClient...)
	r := &faultRun{t: t, c: c, w: w, rng: rng}
	began := time.Now()
	faults := 0
	for round := 1; round == 1 || time.Since(began) < duration; round++ {
		for _, k := range rng.Perm(len(clusterFaults)) {
			f := clusterFaults[k]
			c.waitHealthy(clusterTopic)
			// The schedule (not a synchronisation): 0.5–1.5 s of writing
			// between faults.
			<-time.After(500*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second))))
			faults++
			t.Logf("fault %d (round %d): %s", faults, round, f.name)
			start := time.Now()
			f.run(r)
			t.Logf("fault %d: survived and undone in %v; %d records acknowledged so far",
				faults, time.Since(start).Round(time.Millisecond), w.acked())
		}
	}
	c.waitHealthy(clusterTopic)
	w.waitProgress(w.mark())
	if c.Dropped() == 0 {
		t.Error("the link cuts dropped no packet: the nodes do not send from their own addresses, so nothing was cut")
	}
	w.finish(faults)
	c.waitReplicasAgree(clusterTopic)
}

// faultDuration reads SAMSA_FAULT_DURATION; 0 (one round) when unset.
func faultDuration(t *testing.T) time.Duration {
	s := os.Getenv("SAMSA_FAULT_DURATION")
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("SAMSA_FAULT_DURATION: %v", err)
	}
	// The last round starts before the duration ends and takes up to a
	// few minutes more, as does the check at the end: a go test -timeout
	// that leaves less ends the run in a panic that reads like a hang.
	const margin = 5 * time.Minute
	if deadline, ok := t.Deadline(); ok && time.Until(deadline) < d+margin {
		t.Fatalf("SAMSA_FAULT_DURATION=%v needs go test -timeout %v or more (%v of faults, %v for the last round and the check)",
			d, (d + margin + time.Minute).Round(time.Minute), d, margin)
	}
	t.Logf("running faults for %v (SAMSA_FAULT_DURATION)", d)
	return d
}

// randomPartition picks a partition of the topic.
func (r *faultRun) randomPartition() int32 {
	return int32(r.rng.IntN(clusterPartitions))
}

// waitSurvived waits until every partition has taken writes since the
// fault began, and logs how long that took.
func (r *faultRun) waitSurvived() {
	r.t.Helper()
	start := time.Now()
	r.w.waitProgress(r.w.mark())
	r.t.Logf("  every partition took writes again within %v", time.Since(start).Round(time.Millisecond))
}

// killLeader kills a partition's leader: the controller must fence it once
// its session runs out and move its leaderships to the in-sync followers.
func killLeader(r *faultRun) {
	p := r.randomPartition()
	n := r.c.Leader(clusterTopic, p)
	r.t.Logf("  SIGKILL node %d, leader of partition %d", n.ID, p)
	n.Kill()
	r.waitSurvived()
	n.Start()
}

// termLeader stops a partition's leader with SIGTERM, which must exit 0
// after a controlled shutdown has moved its leaderships away.
func termLeader(r *faultRun) {
	p := r.randomPartition()
	n := r.c.Leader(clusterTopic, p)
	r.t.Logf("  SIGTERM node %d, leader of partition %d", n.ID, p)
	stopping := time.Now()
	n.Term()
	r.t.Logf("  node %d exited after %v", n.ID, time.Since(stopping).Round(time.Millisecond))
	r.waitSurvived()
	n.Start()
}

// killController kills the active controller: the quorum must elect
// another, which fences the dead node and moves its leaderships.
func killController(r *faultRun) {
	n := r.c.Controller()
	r.t.Logf("  SIGKILL node %d, the active controller", n.ID)
	n.Kill()
	r.waitSurvived()
	r.t.Logf("  node %d is the active controller now", r.c.Controller().ID)
	n.Start()
}

// pauseFollower stops a follower with SIGSTOP for longer than the session
// timeout: its sockets stay open and it answers nothing, so the leaders must
// drop it from their ISRs and the controller must fence it (moving whatever
// it led); once resumed it must catch up and come back.
func pauseFollower(r *faultRun) {
	p := r.randomPartition()
	followers := r.c.Followers(clusterTopic, p)
	n := followers[r.rng.IntN(len(followers))]
	r.t.Logf("  SIGSTOP node %d, a follower of partition %d", n.ID, p)
	n.Pause()
	paused := time.Now()
	r.waitSurvived()
	r.c.waitFenced(n)
	// The schedule: at least a second past the session timeout.
	<-time.After(fastSession + time.Second - time.Since(paused))
	r.t.Logf("  SIGCONT node %d after %v", n.ID, time.Since(paused).Round(time.Millisecond))
	n.Resume()
}

// isolateLeader cuts a partition's leader off from the other nodes, and at
// random from the clients too. While clients still reach it, it holds their
// writes without acknowledging them (its followers are gone) and answers
// metadata with its stale view; the others must elect new leaders, and once
// healed it must truncate what it alone wrote and follow.
func isolateLeader(r *faultRun) {
	p := r.randomPartition()
	n := r.c.Leader(clusterTopic, p)
	before := r.c.Dropped()
	if r.rng.IntN(2) == 0 {
		r.t.Logf("  cut node %d, leader of partition %d, off from the other nodes", n.ID, p)
		r.c.Isolate(n.ID)
	} else {
		r.t.Logf("  cut node %d, leader of partition %d, off from the other nodes and the clients", n.ID, p)
		r.c.IsolateFromAll(n.ID)
	}
	r.waitSurvived()
	r.c.Heal()
	r.t.Logf("  healed; the cut dropped %d packets", r.c.Dropped()-before)
}

// A paused active controller (a long GC pause, a stalled VM) is replaced
// by another voter, and the brokers turn to the new one: none but the
// paused node may miss its session (a broker whose heartbeat hangs on the
// paused controller must give up on it and find the new one in time), so
// every partition keeps a leader and takes writes.
func TestPausedControllerIsReplaced(t *testing.T) {
	c := startCluster(t, 3, withNodeProps(fastFailover...))
	w := c.startSequenceProducer(clusterTopic, clusterPartitions, fastClient...)
	w.waitProgress(w.mark())
	n := c.Controller()
	t.Logf("SIGSTOP node %d, the active controller", n.ID)
	n.Pause()
	paused, mark := time.Now(), w.mark()
	// Watch the others' sessions for three session timeouts at least, and
	// until every partition has taken writes.
	waitUntil(t, 60*time.Second, "every partition takes writes with the controller paused", func() error {
		for _, m := range c.up() {
			if missing, listed, err := c.unlisted(m); err == nil && len(missing) > 0 {
				t.Fatalf("node %d lists brokers %v: nodes %v were fenced though only node %d was paused", m.ID, listed, missing, n.ID)
			}
		}
		if err := w.progressSince(mark); err != nil {
			return err
		}
		if watched := time.Since(paused); watched < 3*fastSession {
			return fmt.Errorf("sessions watched for %v only", watched)
		}
		return nil
	})
	t.Logf("every partition took writes, and no other node was fenced, in the %v after the pause; node %d is the active controller now",
		time.Since(paused).Round(time.Millisecond), c.Controller().ID)
	c.waitFenced(n)
	n.Resume()
	c.waitHealthy(clusterTopic)
	w.waitProgress(w.mark())
	w.finish(1)
}

// A follower killed under a continuous producer leaves the ISRs, and once
// started again catches up and comes back into the ISR of every partition.
func TestKilledBrokerRejoinsISR(t *testing.T) {
	const topic = "rejoin"
	c := startCluster(t, 3, withNodeProps(fastFailover...))
	// Node 3 follows every partition and leads none: its death only asks
	// the leaders to shrink their ISRs, its return to grow them.
	assignment := [][]int32{{1, 2, 3}, {2, 1, 3}, {1, 2, 3}, {2, 1, 3}}
	c.createAssignedTopic(topic, assignment, "min.insync.replicas", "2")
	c.waitHealthy(topic)
	w := runSequenceProducer(t, topic, len(assignment), c.connect())
	w.waitProgress(w.mark())
	c.killAndRejoin(w, c.Node(3), topic)
	w.finish(1)
	c.waitReplicasAgree(topic)
}

// A fourth node, a broker only, joins a running cluster, leads and follows
// partitions, and is killed and started again like any other.
func TestAddedBrokerLeadsAndFailsOver(t *testing.T) {
	c := startCluster(t, 3, withNodeProps(fastFailover...))
	c.addedBrokerLeadsAndRejoins("joined")
}

// addedBrokerLeadsAndRejoins adds node 4, a broker only, to a three-node
// cluster, makes it the leader of one partition of topic and a follower of
// the two others, kills it under an acks=all producer and starts it again,
// and checks that every acknowledged record is there once, in order, and
// that the replicas agree. It returns node 4.
func (c *Cluster) addedBrokerLeadsAndRejoins(topic string) *Node {
	c.t.Helper()
	n := c.AddBroker()
	assignment := [][]int32{{4, 1, 2}, {1, 4, 3}, {2, 3, 4}}
	c.createAssignedTopic(topic, assignment, "min.insync.replicas", "2")
	c.waitHealthy(topic)
	if l := c.Leader(topic, 0); l != n {
		c.t.Fatalf("node %d leads %s/0, want its preferred leader, node 4", l.ID, topic)
	}
	w := runSequenceProducer(c.t, topic, len(assignment), c.connect(), fastClient...)
	w.waitProgress(w.mark())
	c.killAndRejoin(w, n, topic)
	w.finish(1)
	c.waitReplicasAgree(topic)
	return n
}

// killAndRejoin kills node n under the producer, waits until it is out of
// every ISR of topic and every partition takes writes without it, lets it
// fall behind, starts it again and waits until it is back in every ISR.
func (c *Cluster) killAndRejoin(w *sequenceProducer, n *Node, topic string) {
	c.t.Helper()
	n.Kill()
	c.t.Logf("killed node %d with %d records acknowledged", n.ID, w.acked())
	c.waitOutOfISR(topic, n)
	w.waitProgress(w.mark()) // acks=all goes on with the in-sync replicas left
	// The schedule: let it fall behind by a few seconds of writes.
	<-time.After(2 * time.Second)
	behind := w.acked()
	started := time.Now()
	n.Start()
	c.waitHealthy(topic)
	c.t.Logf("node %d is back in every ISR %v after it was started (%d records were acknowledged then, %d now)",
		n.ID, time.Since(started).Round(time.Millisecond), behind, w.acked())
	w.waitProgress(w.mark())
}

// The time from SIGKILL of a partition's leader to the first acks=all
// write the cluster acknowledges on that partition, with default timeouts
// (broker.session.timeout.ms 9 s). Two producers measure it at once: one
// with franz-go's defaults, which refresh metadata at most every 5 s
// (MetadataMinAge), and one that refreshes as soon as 250 ms after the
// last refresh, as librdkafka and the Java client do after an error. The
// leader killed is not the active controller, whose death would add an
// election and a fresh session for every broker. Logged, with only a
// generous bound: this is not a benchmark.
func TestLeaderFailoverTime(t *testing.T) {
	const topic = "failover"
	c := startCluster(t, 3)
	createReplicatedTopic(t, c.Admin(t), topic, 3, 3, "min.insync.replicas", "2")
	c.waitHealthy(topic)
	ctrl := c.Controller()
	p := int32(0)
	for c.Leader(topic, p) == ctrl {
		p++ // three partitions have three leaders
	}
	clients := []*kgo.Client{
		c.Client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())),
		c.Client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MetadataMinAge(250*time.Millisecond)),
	}
	produce := func(cl *kgo.Client, v int) error {
		return cl.ProduceSync(testContext(t, 60*time.Second), &kgo.Record{Partition: p, Value: []byte(strconv.Itoa(v))}).FirstErr()
	}
	for _, cl := range clients {
		if err := produce(cl, 1); err != nil {
			t.Fatalf("produce before the kill: %v", err)
		}
	}

	old := c.Leader(topic, p)
	killed := time.Now()
	old.Kill()
	took := make([]time.Duration, len(clients))
	errs := make(chan error, len(clients))
	for i, cl := range clients {
		go func() {
			err := produce(cl, 2)
			took[i] = time.Since(killed)
			errs <- err
		}()
	}
	leader := c.Leader(topic, p) // polls until a node that is up leads
	elected := time.Since(killed)
	for range clients {
		if err := <-errs; err != nil {
			t.Fatalf("produce after the kill: %v", err)
		}
	}
	t.Logf("SIGKILL of node %d, leader of %s/%d (node %d is the controller): node %d leads in the metadata after %v; first acks=all write acknowledged after %v (target: under 10 s), by a client with franz-go's default 5 s metadata refresh after %v",
		old.ID, topic, p, ctrl.ID, leader.ID, elected.Round(time.Millisecond), took[1].Round(time.Millisecond), took[0].Round(time.Millisecond))
	for _, d := range took {
		if limit := 30 * time.Second; d > limit {
			t.Errorf("failover took %v, more than %v", d, limit)
		}
	}
}
