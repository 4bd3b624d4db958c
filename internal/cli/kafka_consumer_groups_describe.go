package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// kafka_consumer_groups_describe.go is kafka-consumer-groups.sh --describe
// with its three views, Kafka 4.x's columns (the table starts after a blank
// line; scripts split on whitespace):
//
//	--offsets (default)  GROUP TOPIC PARTITION [LEADER-EPOCH] CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
//	--members            GROUP CONSUMER-ID [GROUP-INSTANCE-ID] HOST CLIENT-ID #PARTITIONS
//	                     [CURRENT-EPOCH CURRENT-ASSIGNMENT TARGET-EPOCH TARGET-ASSIGNMENT]
//	--state              GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE [GROUP-EPOCH TARGET-ASSIGNMENT-EPOCH] #MEMBERS
//
// (bracketed columns with --verbose; GROUP-INSTANCE-ID only when a member
// has one). Epochs and target assignments belong to KIP-848 consumer
// groups; classic groups print "-" there, as Kafka's tool does. A KIP-848
// group with members still on the classic protocol adds UPGRADED (true for
// the members that moved to the new one) to --members --verbose.

// describe runs the view --members, --state or --offsets asks for.
func (o *groupsOpts) describe(ctx context.Context, e *env) (bool, error) {
	names, err := o.selectedGroups(ctx)
	if err != nil {
		return false, err
	}
	slices.Sort(names) // Kafka's tool keeps the groups in a TreeMap
	names = slices.Compact(names)
	tctx, cancel := o.timed(ctx)
	defer cancel()
	snaps, err := snapshotGroups(tctx, o.cl, names)
	if err != nil {
		return false, err
	}
	for _, s := range snaps {
		if s.err != nil {
			return false, s.err
		}
	}
	verbose := o.f.Changed("verbose")
	ok := true
	for _, s := range snaps {
		ok = ok && s.exists
		switch {
		case o.f.Changed("members"):
			show, err := memberStateNote(e, s, len(s.members))
			if err != nil {
				return false, err
			}
			printMembersView(e, s, show, verbose)
		case o.f.Changed("state"):
			show, err := memberStateNote(e, s, 1)
			if err != nil {
				return false, err
			}
			if show {
				printStateView(e, s, verbose)
			}
		default:
			rows := s.rows()
			show, err := memberStateNote(e, s, len(rows))
			if err != nil {
				return false, err
			}
			if show {
				printOffsetsView(e, s, rows, verbose)
			}
		}
	}
	return ok, nil
}

// memberStateNote is shouldPrintMemberState: it prints what Kafka's tool
// says about a group that is not stable and reports whether the group has
// rows (numRows of them) to print.
func memberStateNote(e *env, s *groupSnapshot, numRows int) (bool, error) {
	if !s.exists {
		printKafkaError(e, fmt.Sprintf("Consumer group '%s' does not exist.", s.name))
		return false, nil
	}
	switch s.state {
	case "Empty":
		fmt.Fprintf(e.stderr, "\nConsumer group '%s' has no active members.\n", s.name)
	case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
		fmt.Fprintf(e.stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", s.name)
	case "Stable":
	default:
		return false, fmt.Errorf("Expected a valid consumer group state, but found '%s'.", s.state)
	}
	return numRows > 0, nil
}

func printOffsetsView(e *env, s *groupSnapshot, rows []lagRow, verbose bool) {
	groupW, topicW, idW, hostW := max(15, len(s.name)), 15, 15, 15
	for _, r := range rows {
		topicW = max(topicW, len(r.topic))
		if r.member != nil {
			idW, hostW = max(idW, len(r.member.id)), max(hostW, len(r.member.host))
		}
	}
	line := func(group, topic, partition, epoch, current, end, lag, id, host, client string) {
		cols := []string{pad(group, groupW), pad(topic, topicW), pad(partition, 10)}
		if verbose {
			cols = append(cols, pad(epoch, 15))
		}
		cols = append(cols, pad(current, 15), pad(end, 15), pad(lag, 15), pad(id, idW), pad(host, hostW), client)
		fmt.Fprint(e.stdout, "\n"+strings.Join(cols, " "))
	}
	line("GROUP", "TOPIC", "PARTITION", "LEADER-EPOCH", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	for _, r := range rows {
		id, host, client := "-", "-", "-"
		if r.member != nil {
			id, host, client = r.member.id, r.member.host, r.member.clientID
		}
		epoch, current, lag := "-", "-", "-"
		if r.committed >= 0 {
			current = fmt.Sprint(r.committed)
			if r.leaderEpoch >= 0 {
				epoch = fmt.Sprint(r.leaderEpoch)
			}
		}
		if n, ok := r.lag(); ok {
			lag = fmt.Sprint(n)
		}
		line(s.name, r.topic, fmt.Sprint(r.partition), epoch, current, offsetText(r.end), lag, id, host, client)
	}
	fmt.Fprintln(e.stdout)
}

// kafkaAssignment prints partitions by topic as Kafka 4.x's tool does:
// "t1:0,1;t2:0", or "-" for none.
func kafkaAssignment(a map[string][]int32) string {
	topics := make([]string, 0, len(a))
	for t, ps := range a {
		if len(ps) > 0 {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return "-"
	}
	slices.Sort(topics)
	parts := make([]string, len(topics))
	for i, t := range topics {
		parts[i] = t + ":" + int32List(a[t])
	}
	return strings.Join(parts, ";")
}

// epochText prints an epoch, -1 (none: a classic group) as "-".
func epochText(n int32) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// printMembersView prints the members table. Like Kafka's tool it prints
// the header even when the group has no members to list.
func printMembersView(e *env, s *groupSnapshot, show, verbose bool) {
	groupW, idW, instW, hostW, clientW, assignW, targetW := 15, 15, 17, 15, 15, 20, 20
	withInstance, withUpgraded := false, false
	if show {
		groupW = max(groupW, len(s.name))
		for i := range s.members {
			m := &s.members[i]
			idW, instW = max(idW, len(m.id)), max(instW, len(m.instanceID))
			hostW, clientW = max(hostW, len(m.host)), max(clientW, len(m.clientID))
			assignW, targetW = max(assignW, len(kafkaAssignment(m.assigned))), max(targetW, len(kafkaAssignment(m.target)))
			withInstance = withInstance || m.instanceID != ""
			withUpgraded = withUpgraded || s.typ == "consumer" && m.memberType == 0
		}
	}
	line := func(group, id, instance, host, client, n, epoch, assignment, targetEpoch, target, upgraded string) {
		cols := []string{pad(group, groupW), pad(id, idW)}
		if withInstance {
			cols = append(cols, pad(instance, instW))
		}
		cols = append(cols, pad(host, hostW), pad(client, clientW), pad(n, 15))
		s := strings.Join(cols, " ") + " "
		if verbose {
			s += pad(epoch, 15) + " " + pad(assignment, assignW) + " " + pad(targetEpoch, 15) + " "
			if withUpgraded {
				s += pad(target, targetW) + " " + upgraded
			} else {
				s += target
			}
		}
		fmt.Fprintln(e.stdout, s)
	}
	fmt.Fprintln(e.stdout)
	line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS",
		"CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT", "UPGRADED")
	if !show {
		return
	}
	for i := range s.members {
		m := &s.members[i]
		targetEpoch, target := "-", "-"
		if s.typ == "consumer" {
			targetEpoch, target = epochText(s.targetEpoch), kafkaAssignment(m.target)
		}
		line(s.name, m.id, m.instanceID, m.host, m.clientID, fmt.Sprint(m.numPartitions()),
			epochText(m.epoch), kafkaAssignment(m.assigned), targetEpoch, target, fmt.Sprint(m.memberType == 1))
	}
}

func printStateView(e *env, s *groupSnapshot, verbose bool) {
	coordinator := s.coordinatorText()
	width := max(25, len(coordinator))
	line := func(group, coord, strategy, state, epoch, targetEpoch, members string) {
		// Kafka's tool pads GROUP to the coordinator's width.
		cols := []string{pad(group, width), pad(coord, 25), pad(strategy, 20), pad(state, 15)}
		if verbose {
			cols = append(cols, pad(epoch, 15), pad(targetEpoch, 25))
		}
		fmt.Fprint(e.stdout, "\n"+strings.Join(append(cols, members), " "))
	}
	line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "GROUP-EPOCH", "TARGET-ASSIGNMENT-EPOCH", "#MEMBERS")
	line(s.name, coordinator, s.protocol, s.state, epochText(s.epoch), epochText(s.targetEpoch), fmt.Sprint(len(s.members)))
	fmt.Fprintln(e.stdout)
}
