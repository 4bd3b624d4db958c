package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// member is one group member of the rebalance benchmark. It does not poll:
// franz-go runs the rebalance callbacks in its own goroutine, and they keep
// owned up to date.
type member struct {
	cl *kgo.Client

	mu    sync.Mutex
	owned map[int32]bool // partitions of the topic; guarded by mu
}

func (m *member) set(ps map[string][]int32, own bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, parts := range ps {
		for _, p := range parts {
			if own {
				m.owned[p] = true
			} else {
				delete(m.owned, p)
			}
		}
	}
}

// balancerByName maps the protocol names the benchmark takes to kgo's
// balancers.
func balancerByName(name string) (kgo.GroupBalancer, error) {
	switch name {
	case "cooperative-sticky":
		return kgo.CooperativeStickyBalancer(), nil
	case "sticky":
		return kgo.StickyBalancer(), nil
	case "range":
		return kgo.RangeBalancer(), nil
	case "roundrobin":
		return kgo.RoundRobinBalancer(), nil
	}
	return nil, fmt.Errorf("unknown balancer %q (want cooperative-sticky, sticky, range or roundrobin)", name)
}

// benchRebalance starts the members, waits until they share the partitions,
// then has one member after another leave and times how long the rest take
// to share its partitions.
func benchRebalance(ctx context.Context, c config, balancer string) error {
	bal, err := balancerByName(balancer)
	if err != nil {
		return err
	}
	topic := fmt.Sprintf("rebalance-%s-%s", balancer, c.suffix)
	group := topic
	if _, err := createTopic(ctx, c, topic, c.partitions); err != nil {
		return err
	}
	start := time.Now()
	members := make([]*member, 0, c.members)
	defer func() {
		for _, m := range members {
			m.cl.Close()
		}
	}()
	for range c.members {
		m := &member{owned: map[int32]bool{}}
		m.cl, err = kgo.NewClient(
			kgo.SeedBrokers(c.brokers...),
			kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(topic),
			kgo.Balancers(bal),
			kgo.HeartbeatInterval(c.heartbeat),
			kgo.SessionTimeout(c.session),
			kgo.DisableAutoCommit(), // nothing is consumed: no commits to wait for
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.set(ps, true) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.set(ps, false) }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.set(ps, false) }),
		)
		if err != nil {
			return err
		}
		members = append(members, m)
	}
	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...))
	if err != nil {
		return err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	fmt.Printf("rebalance, %s: %d members joining a group on %d partitions (heartbeat %v, session timeout %v)\n",
		balancer, c.members, c.partitions, c.heartbeat, c.session)
	if _, _, err := waitShared(ctx, adm, group, topic, c.partitions, members, 5*time.Minute); err != nil {
		return fmt.Errorf("the first %d members: %w", c.members, err)
	}
	fmt.Printf("  all %d members joined and assigned after %v\n", c.members, time.Since(start).Round(time.Millisecond))

	var stable, owned []time.Duration
	for round := 1; round <= c.rounds && len(members) > 1; round++ {
		leaver := members[0]
		members = members[1:]
		start := time.Now()
		if err := leaver.cl.LeaveGroupContext(ctx); err != nil {
			return fmt.Errorf("LeaveGroup: %w", err)
		}
		left := time.Since(start)
		stableAt, ownedAt, err := waitShared(ctx, adm, group, topic, c.partitions, members, time.Minute)
		leaver.cl.Close()
		if err != nil {
			return fmt.Errorf("after member %d left: %w", round, err)
		}
		s, o := stableAt.Sub(start), ownedAt.Sub(start)
		fmt.Printf("  member %d left (LeaveGroup answered in %v): %d members Stable with all partitions after %v, their callbacks own all after %v\n",
			round, left.Round(time.Microsecond), len(members), s.Round(time.Millisecond), o.Round(time.Millisecond))
		stable, owned = append(stable, s), append(owned, o)
	}
	name := fmt.Sprintf("rebalance.%s.%dx%d", balancer, c.members, c.partitions)
	result(name+".stable_ms.median", ms(median(stable)), "ms")
	result(name+".stable_ms.max", ms(slices.Max(stable)), "ms")
	result(name+".owned_ms.median", ms(median(owned)), "ms")
	return nil
}

// waitShared polls until DescribeGroups shows the group Stable with exactly
// these members sharing every partition without overlap, and until the
// members' callbacks agree on the same. It returns when each first held.
func waitShared(ctx context.Context, adm *kadm.Client, group, topic string, partitions int, members []*member, limit time.Duration) (stable, owned time.Time, err error) {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for stable.IsZero() || owned.IsZero() {
		if owned.IsZero() && clientsShare(members, partitions) {
			owned = time.Now()
		}
		if stable.IsZero() {
			if lastErr = brokerShares(ctx, adm, group, topic, partitions, len(members)); lastErr == nil {
				stable = time.Now()
			}
		}
		if time.Now().After(deadline) {
			if lastErr == nil {
				lastErr = errors.New("the members' callbacks do not cover every partition")
			}
			return stable, owned, fmt.Errorf("not within %v: %w", limit, lastErr)
		}
		select {
		case <-ctx.Done():
			return stable, owned, ctx.Err()
		case <-tick.C:
		}
	}
	return stable, owned, nil
}

// clientsShare reports whether the members' callbacks assign every
// partition exactly once.
func clientsShare(members []*member, partitions int) bool {
	seen := make([]bool, partitions)
	n := 0
	for _, m := range members {
		m.mu.Lock()
		for p := range m.owned {
			if int(p) < partitions && !seen[p] {
				seen[p] = true
				n++
			} else {
				m.mu.Unlock()
				return false
			}
		}
		m.mu.Unlock()
	}
	return n == partitions
}

// brokerShares checks what DescribeGroups says.
func brokerShares(ctx context.Context, adm *kadm.Client, group, topic string, partitions, members int) error {
	ds, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	d := ds[group]
	if d.Err != nil {
		return d.Err
	}
	if d.State != "Stable" || len(d.Members) != members {
		return fmt.Errorf("%s with %d members", d.State, len(d.Members))
	}
	seen := make([]bool, partitions)
	n := 0
	for _, m := range d.Members {
		a, ok := m.Assigned.AsConsumer()
		if !ok {
			return fmt.Errorf("member %s has no consumer assignment", m.MemberID)
		}
		for _, t := range a.Topics {
			for _, p := range t.Partitions {
				if t.Topic != topic || int(p) >= partitions || seen[p] {
					return fmt.Errorf("%s/%d assigned twice or unknown", t.Topic, p)
				}
				seen[p] = true
				n++
			}
		}
	}
	if n != partitions {
		return fmt.Errorf("%d of %d partitions assigned", n, partitions)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
