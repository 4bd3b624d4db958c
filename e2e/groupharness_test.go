package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The harness of the consumer group tests (groups_test.go,
// groups_failover_test.go, groups_members_test.go): a broker set up for
// groups, group members in the test process that record their rebalance
// callbacks, a producer of unique values, and ways to read a group's state
// through the admin API.

// groupBroker starts a broker for group tests. The initial rebalance delay
// is 0, as in the server.properties Kafka ships, so that a lone consumer is
// not kept waiting 3 s for company.
func groupBroker(t *testing.T, opts ...brokerOption) *Broker {
	t.Helper()
	return startBroker(t, append([]brokerOption{withProps("group.initial.rebalance.delay.ms", "0")}, opts...)...)
}

// Client options for group members: the broker's minimum session timeout
// (group.min.session.timeout.ms, 6 s) and frequent heartbeats, so that a
// dead member is noticed, and a rebalance learnt of, quickly.
const (
	sessionTimeout    = 6 * time.Second
	heartbeatInterval = 300 * time.Millisecond
)

func groupMember(group string, topics ...string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(sessionTimeout),
		kgo.HeartbeatInterval(heartbeatInterval),
	}
}

// describeGroup describes one group through DescribeGroups.
func describeGroup(t testing.TB, adm *kadm.Client, group string) (kadm.DescribedGroup, error) {
	t.Helper()
	ds, err := adm.DescribeGroups(testContext(t, 10*time.Second), group)
	if err != nil {
		return kadm.DescribedGroup{}, err
	}
	d, ok := ds[group]
	if !ok {
		return kadm.DescribedGroup{}, fmt.Errorf("DescribeGroups left out %s", group)
	}
	return d, d.Err
}

// assignment maps each member id to the partitions of topic it is assigned,
// sorted.
type assignment map[string][]int32

func (a assignment) String() string {
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(a)) {
		parts = append(parts, fmt.Sprintf("%s:%v", m, a[m]))
	}
	return strings.Join(parts, " ")
}

// owner returns the member assigned partition p, or "".
func (a assignment) owner(p int32) string {
	for m, ps := range a {
		if slices.Contains(ps, p) {
			return m
		}
	}
	return ""
}

// assignmentOf reads a consumer group's assignment of topic from a
// description.
func assignmentOf(d kadm.DescribedGroup, topic string) assignment {
	a := assignment{}
	for _, m := range d.Members {
		a[m.MemberID] = []int32{}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, at := range c.Topics {
				if at.Topic == topic {
					a[m.MemberID] = append(a[m.MemberID], at.Partitions...)
				}
			}
		}
		slices.Sort(a[m.MemberID])
	}
	return a
}

// balanced checks that a assigns each of topic's partitions to exactly one
// member, the members' shares differing by at most one.
func (a assignment) balanced(members, partitions int) error {
	if len(a) != members {
		return fmt.Errorf("%d members, want %d: %v", len(a), members, a)
	}
	seen := map[int32]bool{}
	for _, ps := range a {
		if n := len(ps); n < partitions/members || n > (partitions+members-1)/members {
			return fmt.Errorf("a member has %d partitions, want %d/%d each: %v", n, partitions, members, a)
		}
		for _, p := range ps {
			if seen[p] {
				return fmt.Errorf("partition %d is assigned twice: %v", p, a)
			}
			seen[p] = true
		}
	}
	if len(seen) != partitions {
		return fmt.Errorf("%d of %d partitions assigned: %v", len(seen), partitions, a)
	}
	return nil
}

// waitBalanced waits until the group is Stable with the given number of
// members sharing topic's partitions without overlap, and returns the
// assignment.
func waitBalanced(t testing.TB, adm *kadm.Client, group, topic string, members, partitions int) assignment {
	t.Helper()
	var a assignment
	waitUntil(t, 30*time.Second, fmt.Sprintf("group %s is Stable with %d members sharing %d partitions", group, members, partitions), func() error {
		d, err := describeGroup(t, adm, group)
		if err != nil {
			return err
		}
		if d.State != "Stable" {
			return fmt.Errorf("state %s", d.State)
		}
		a = assignmentOf(d, topic)
		return a.balanced(members, partitions)
	})
	return a
}

// committed returns the group's committed offsets of topic by partition.
func committed(t testing.TB, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	resps, err := adm.FetchOffsetsForTopics(testContext(t, 10*time.Second), group, topic)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatalf("fetch the offsets of group %s: %v", group, err)
	}
	out := map[int32]int64{}
	resps.Each(func(o kadm.OffsetResponse) {
		if o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

// produceValues produces the values round-robin over topic's partitions and
// waits for their acknowledgement.
func produceValues(t testing.TB, b *Broker, topic string, partitions int, vals ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rs := make([]*kgo.Record, len(vals))
	for i, v := range vals {
		rs[i] = &kgo.Record{Partition: int32(i % partitions), Value: []byte(v)}
	}
	if err := cl.ProduceSync(testContext(t, 30*time.Second), rs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// numbered returns n values prefix-0 … prefix-(n-1).
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// consumed is one record as a consumer printed it.
type consumed struct {
	partition int32
	offset    int64
	value     string
}

// parseConsumed parses lines "partition offset value".
func parseConsumed(t *testing.T, who string, lines []string) []consumed {
	t.Helper()
	out := make([]consumed, 0, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("%s printed %q, want \"partition offset value\"", who, l)
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s printed %q, want \"partition offset value\"", who, l)
		}
		out = append(out, consumed{int32(p), o, f[2]})
	}
	return out
}

// trackedMember is a franz-go group member in the test process that
// records what its rebalance callbacks were told. It does not poll: kgo
// runs the callbacks in its group management goroutine.
type trackedMember struct {
	name string
	cl   *kgo.Client
	log  clientLog // kgo's log, printed if the test fails

	mu       sync.Mutex
	owned    map[int32]bool // from the callbacks; guarded by mu
	revoked  map[int32]bool // revoked since the last mark; guarded by mu
	events   []string       // since the last mark; guarded by mu
	lost     int            // OnPartitionsLost calls; guarded by mu
	groupErr []error        // errors that ended a group session; guarded by mu
}

// joinMember starts a member of group consuming topic.
func joinMember(t *testing.T, b *Broker, name, group, topic string, opts ...kgo.Opt) *trackedMember {
	t.Helper()
	m := &trackedMember{name: name, owned: map[int32]bool{}, revoked: map[int32]bool{}}
	all := append(groupMember(group, topic),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.event("assigned", ps[topic], true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.event("revoked", ps[topic], false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.event("lost", ps[topic], false) }),
		kgo.WithHooks(m),
		kgo.WithLogger(&m.log),
	)
	m.cl = b.Client(t, append(all, opts...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("franz-go log of %s (info and above):\n%s", m.name, m.log.warnings())
		}
	})
	return m
}

func (m *trackedMember) event(kind string, ps []int32, add bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(ps) == 0 {
		return
	}
	m.events = append(m.events, fmt.Sprintf("%s %v", kind, ps))
	for _, p := range ps {
		m.owned[p] = add
		if kind == "revoked" {
			m.revoked[p] = true
		}
	}
	if kind == "lost" {
		m.lost++
	}
}

// OnGroupManageError is kgo's HookGroupManageError.
func (m *trackedMember) OnGroupManageError(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groupErr = append(m.groupErr, err)
}

// partitions returns what the member owns according to its callbacks.
func (m *trackedMember) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int32
	for p, ok := range m.owned {
		if ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// mark forgets the revocations and events seen so far; history returns
// those since.
func (m *trackedMember) mark() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revoked, m.events = map[int32]bool{}, nil
}

func (m *trackedMember) history() (revoked []int32, events []string, lost int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.revoked)), slices.Clone(m.events), m.lost
}

// fenced returns nil once a group session of the member ended with
// FENCED_INSTANCE_ID, and an error saying what it saw until then.
func (m *trackedMember) fenced() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, err := range m.groupErr {
		if errors.Is(err, kerr.FencedInstanceID) {
			return nil
		}
	}
	return fmt.Errorf("no FENCED_INSTANCE_ID; group session errors: %v", m.groupErr)
}

// waitSettled waits until the group is Stable with exactly these members,
// sharing topic's partitions evenly without overlap, and until each
// member's callbacks agree with what the broker says it is assigned.
func waitSettled(t *testing.T, adm *kadm.Client, group, topic string, partitions int, members ...*trackedMember) assignment {
	t.Helper()
	var a assignment
	waitUntil(t, 30*time.Second, fmt.Sprintf("%d members settle on %d partitions", len(members), partitions), func() error {
		d, err := describeGroup(t, adm, group)
		if err != nil {
			return err
		}
		if d.State != "Stable" {
			return fmt.Errorf("state %s", d.State)
		}
		a = assignmentOf(d, topic)
		if err := a.balanced(len(members), partitions); err != nil {
			return err
		}
		for _, m := range members {
			id, _ := m.cl.GroupMetadata()
			if got := m.partitions(); !slices.Equal(got, a[id]) {
				return fmt.Errorf("%s's callbacks say it owns %v, the broker assigned it %v", m.name, got, a[id])
			}
		}
		return nil
	})
	return a
}

// valueProducer produces unique values round-robin over a topic's
// partitions, one every 2 ms, and records where each was acknowledged.
type valueProducer struct {
	t      *testing.T
	cl     *kgo.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex
	at  map[[2]int64]string // partition, offset → value; guarded by mu
	err error               // the first produce error; guarded by mu
}

func startValueProducer(t *testing.T, b *Broker, topic string, partitions int) *valueProducer {
	w := &valueProducer{t: t, at: map[[2]int64]string{}}
	w.cl = b.Client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	t.Cleanup(func() { w.cancel(); w.wg.Wait() })
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			r := &kgo.Record{Partition: int32(i % partitions), Value: []byte(fmt.Sprint("v", i))}
			// Not ctx: a record in flight when producing stops must still
			// get its acknowledgement.
			w.cl.Produce(context.Background(), r, w.promise)
		}
	}()
	return w
}

func (w *valueProducer) promise(r *kgo.Record, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.at[[2]int64{int64(r.Partition), r.Offset}] = string(r.Value)
}

func (w *valueProducer) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.at)
}

// waitAcked waits until n records are acknowledged.
func (w *valueProducer) waitAcked(n int) {
	w.t.Helper()
	waitUntil(w.t, 30*time.Second, fmt.Sprintf("%d records acknowledged", n), func() error {
		if a := w.acked(); a < n {
			return fmt.Errorf("%d acknowledged", a)
		}
		return nil
	})
}

// stop stops producing, waits for every acknowledgement and returns where
// each value was acknowledged.
func (w *valueProducer) stop() map[[2]int64]string {
	w.t.Helper()
	w.cancel()
	w.wg.Wait()
	if err := w.cl.Flush(testContext(w.t, 30*time.Second)); err != nil {
		w.t.Fatalf("flush: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		w.t.Fatalf("produce: %v", w.err)
	}
	return maps.Clone(w.at)
}
