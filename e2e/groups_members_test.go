package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Members joining and leaving: franz-go's balancers, static membership and
// librdkafka's balanced consumer (kcat -G) share partitions without overlap
// and hand them over when a member goes.

// Three franz-go members join one after another and one leaves, with each
// of kgo's kinds of balancer: cooperative-sticky (incremental: a member
// gives up only what moves) and range (eager: everyone gives up everything
// at each rebalance).
func TestFranzGoGroupBalancers(t *testing.T) {
	b := groupBroker(t)
	adm := b.Admin(t)
	const partitions = 6
	for _, c := range []struct {
		protocol    string
		balancer    kgo.GroupBalancer
		cooperative bool
	}{
		{"cooperative-sticky", kgo.CooperativeStickyBalancer(), true},
		{"range", kgo.RangeBalancer(), false},
	} {
		t.Run(c.protocol, func(t *testing.T) {
			topic, group := "spread-"+c.protocol, "spreaders-"+c.protocol
			createTopic(t, adm, topic, partitions)

			// checkMoves checks, after a change of membership, that what
			// each remaining member was revoked has moved to another
			// member: cooperative members keep what they keep.
			checkMoves := func(change string, a assignment, members []*trackedMember) {
				t.Helper()
				for _, m := range members {
					revoked, events, lost := m.history()
					id, _ := m.cl.GroupMetadata()
					if lost > 0 {
						t.Errorf("%s: %s lost partitions: %v", change, m.name, events)
					}
					if !c.cooperative {
						continue
					}
					for _, p := range revoked {
						if owner := a.owner(p); owner == id || owner == "" {
							t.Errorf("%s: %s was revoked partition %d, which did not move to another member (events %v, assignment %v)", change, m.name, p, events, a)
						}
					}
				}
			}

			var members []*trackedMember
			for i := range 3 {
				for _, m := range members {
					m.mark()
				}
				members = append(members, joinMember(t, b, fmt.Sprint("member-", i), group, topic, kgo.Balancers(c.balancer)))
				a := waitSettled(t, adm, group, topic, partitions, members...)
				checkMoves(fmt.Sprintf("member %d joined", i), a, members[:i])
			}
			if d, err := describeGroup(t, adm, group); err != nil || d.Protocol != c.protocol {
				t.Errorf("the group chose protocol %q (%v), want %q, the only one its members offer", d.Protocol, err, c.protocol)
			}

			leaver, stay := members[1], []*trackedMember{members[0], members[2]}
			left := leaver.partitions()
			for _, m := range stay {
				m.mark()
			}
			leaver.cl.Close() // sends LeaveGroup
			a := waitSettled(t, adm, group, topic, partitions, stay...)
			checkMoves("a member left", a, stay)
			for _, p := range left {
				if a.owner(p) == "" {
					t.Errorf("partition %d of the member that left is unowned: %v", p, a)
				}
			}
			if c.cooperative {
				for _, m := range stay {
					if revoked, events, _ := m.history(); len(revoked) > 0 {
						t.Errorf("a member left and %s, which only gains, was revoked %v (events %v)", m.name, revoked, events)
					}
				}
			}
		})
	}
}

// A static member (group.instance.id) that closes without leaving and comes
// back within its session timeout gets its partitions back with no
// rebalance: the generation stays, and the other member notices nothing. A
// second client with the same instance id takes over, and the one it
// replaced is told FENCED_INSTANCE_ID.
func TestGroupStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic, group, partitions = "static", "statics", 4
	createTopic(t, adm, topic, partitions)
	// Instance a joins first and leads, so its restart is KIP-814's: the
	// broker tells the new member id that it leads but must not assign.
	// franz-go balances anyway and forces a rebalance if its plan differs
	// from the one the group keeps. With range the plan is a function of
	// the sorted member ids, whose order the instance ids they begin with
	// fix, so it does not differ; cooperative-sticky's plan could, and that
	// rebalance would be the client's doing.
	static := func(name, instance string) *trackedMember {
		return joinMember(t, b, name, group, topic, kgo.InstanceID(instance), kgo.Balancers(kgo.RangeBalancer()))
	}

	a := static("a", "instance-a")
	waitSettled(t, adm, group, topic, partitions, a) // first, so that it leads
	other := static("b", "instance-b")
	waitSettled(t, adm, group, topic, partitions, a, other)
	oldID, generation := a.cl.GroupMetadata()
	otherID, _ := other.cl.GroupMetadata()
	want := a.partitions()
	other.mark()

	checkUnchanged := func(when string, m *trackedMember) {
		t.Helper()
		id, gen := m.cl.GroupMetadata()
		if id == oldID || gen != generation {
			t.Errorf("%s: the member is %s in generation %d; want a new member id in the old generation %d", when, id, gen, generation)
		}
		if got := m.partitions(); !slices.Equal(got, want) {
			t.Errorf("%s: the member owns %v, want its instance's %v", when, got, want)
		}
		if id, gen := other.cl.GroupMetadata(); id != otherID || gen != generation {
			t.Errorf("%s: the other member went from %s in generation %d to %s in %d", when, otherID, generation, id, gen)
		}
		if revoked, events, lost := other.history(); len(events) > 0 || len(revoked) > 0 || lost > 0 {
			t.Errorf("%s: the other member saw a rebalance: %v", when, events)
		}
	}

	a.cl.Close() // a static member does not send LeaveGroup
	closed := time.Now()
	if d, err := describeGroup(t, adm, group); err != nil || d.State != "Stable" || len(d.Members) != 2 {
		t.Fatalf("after the static member closed the group is %s with %d members (%v), want it Stable with both", d.State, len(d.Members), err)
	}
	restarted := static("a restarted", "instance-a")
	waitUntil(t, sessionTimeout, "the restarted static member gets its partitions back", func() error {
		if got := restarted.partitions(); !slices.Equal(got, want) {
			return fmt.Errorf("it owns %v, want %v", got, want)
		}
		return nil
	})
	t.Logf("the static member was back %v after it closed", time.Since(closed).Round(time.Millisecond))
	checkUnchanged("after the restart", restarted)

	replacement := static("a replacement", "instance-a")
	waitUntil(t, 30*time.Second, "the replaced member is fenced", func() error { return restarted.fenced() })
	restarted.cl.Close() // before its group loop retries and fences the replacement in turn
	waitUntil(t, 30*time.Second, "the replacement owns the instance's partitions", func() error {
		if got := replacement.partitions(); !slices.Equal(got, want) {
			return fmt.Errorf("it owns %v, want %v", got, want)
		}
		return nil
	})
	checkUnchanged("after the replacement", replacement)
	d, err := describeGroup(t, adm, group)
	a2 := assignmentOf(d, topic)
	replacementID, _ := replacement.cl.GroupMetadata()
	if err != nil || d.State != "Stable" || len(d.Members) != 2 || !slices.Equal(a2[replacementID], want) {
		t.Errorf("after the replacement the group is %s with %v (%v); want it Stable, the replacement %s with %v", d.State, a2, err, replacementID, want)
	}
	if replacement.fenced() == nil {
		t.Errorf("the replacement was fenced in turn")
	}
}

// Two kcat -G processes (librdkafka's balanced consumer) split a topic's
// partitions and each consumes only its own; kcat -G -e with
// auto.offset.reset=earliest reads everything once, and then nothing.
func TestKcatGroupBalancedConsumers(t *testing.T) {
	needKcat(t)
	b := groupBroker(t)
	adm := b.Admin(t)
	const topic, partitions = "kcat-group", 6
	createTopic(t, adm, topic, partitions)
	kcatArgs := func(group, clientID string, extra ...string) []string {
		return append([]string{"-b", b.Addr, "-G", group, "-q", "-u", "-f", `%p %o %s\n`,
			"-X", "client.id=" + clientID, "-X", "auto.offset.reset=earliest",
			"-X", fmt.Sprint("session.timeout.ms=", sessionTimeout.Milliseconds()),
			"-X", fmt.Sprint("heartbeat.interval.ms=", heartbeatInterval.Milliseconds())}, append(extra, topic)...)
	}

	one := startTool(t, "kcat", kcatArgs("pair", "kcat-1")...)
	two := startTool(t, "kcat", kcatArgs("pair", "kcat-2")...)
	a := waitBalanced(t, adm, "pair", topic, 2, partitions)
	d, err := describeGroup(t, adm, "pair")
	if err != nil {
		t.Fatal(err)
	}
	owned := map[*bgTool][]int32{}
	for _, m := range d.Members {
		switch m.ClientID {
		case "kcat-1":
			owned[one] = a[m.MemberID]
		case "kcat-2":
			owned[two] = a[m.MemberID]
		}
	}
	if len(owned[one]) != partitions/2 || len(owned[two]) != partitions/2 {
		t.Fatalf("the two kcats own %v and %v, want half each", owned[one], owned[two])
	}
	vals := numbered("kcat", 60)
	produceValues(t, b, topic, partitions, vals...)
	waitUntil(t, 30*time.Second, "the two kcats print every record", func() error {
		if n := len(one.Lines()) + len(two.Lines()); n < len(vals) {
			return fmt.Errorf("%d of %d printed", n, len(vals))
		}
		return nil
	})
	one.Kill()
	two.Kill()
	var got []string
	for _, k := range []*bgTool{one, two} {
		for _, r := range parseConsumed(t, "kcat -G", k.Lines()) {
			if !slices.Contains(owned[k], r.partition) {
				t.Errorf("a kcat owning %v printed %d/%d", owned[k], r.partition, r.offset)
			}
			got = append(got, r.value)
		}
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(vals)); !slices.Equal(got, want) {
		t.Errorf("the two kcats printed %d values, want the %d produced once each:\n%s", len(got), len(vals), strings.Join(got, " "))
	}

	// One kcat -G -e reads everything once, and a second run nothing.
	for run, want := range []int{len(vals), 0} {
		out := mustRun(t, 60*time.Second, "", "kcat", kcatArgs("once", "kcat-once", "-e")...).Stdout
		recs := parseConsumed(t, "kcat -G -e", outputLines(out))
		if len(recs) != want {
			t.Errorf("run %d of kcat -G -e printed %d records, want %d:\n%s", run+1, len(recs), want, out)
		}
	}
}
