package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// group_describe.go is `samsa group describe`: per group a summary
//
//	GROUP          orders
//	COORDINATOR    0 (127.0.0.1:9092)
//	STATE          Stable
//	TYPE           classic
//	PROTOCOL-TYPE  consumer
//	PROTOCOL       cooperative-sticky
//	MEMBERS        2
//	TOTAL-LAG      7
//
// and a row per partition the group owns or has committed:
//
//	TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG MEMBER-ID CLIENT-ID HOST
//
// sorted by topic and partition, "-" where there is no value (no commit, no
// owner). Members that own no partitions — idle consumers, and every member
// of a group whose protocol type is not "consumer" — follow as rows whose
// partition columns are "-". Text or JSON.

// groupDescription is one group as `samsa group describe --format json`
// prints it.
type groupDescription struct {
	Group        string                   `json:"group"`
	Coordinator  *groupCoordinator        `json:"coordinator,omitempty"`
	State        string                   `json:"state"`
	Type         string                   `json:"type"`
	ProtocolType string                   `json:"protocol_type"`
	Protocol     string                   `json:"protocol"`
	Members      []groupMemberDescription `json:"members"`
	TotalLag     int64                    `json:"total_lag"`
	Partitions   []groupPartitionLag      `json:"partitions"`
	Error        string                   `json:"error,omitempty"`
}

type groupCoordinator struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
}

type groupMemberDescription struct {
	MemberID   string            `json:"member_id"`
	InstanceID string            `json:"instance_id,omitempty"`
	ClientID   string            `json:"client_id"`
	Host       string            `json:"host"`
	Assignment []topicAssignment `json:"assignment"`
}

type topicAssignment struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// groupPartitionLag is one partition row; nil offsets are unknown (null in
// JSON, "-" in text).
type groupPartitionLag struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"`
	LogEndOffset  *int64 `json:"log_end_offset"`
	Lag           *int64 `json:"lag"`
	MemberID      string `json:"member_id,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	Host          string `json:"host,omitempty"`
}

func groupDescribe(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa group describe GROUP... [flags]",
		"Describe groups: a summary, then per partition the committed offset (CURRENT-OFFSET), the log\n"+
			"end offset (the high watermark), the lag between them and the member that owns the partition.")
	conn := addConnFlags(f)
	format := formatFlag(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if err := checkFormat(*format); err != nil {
		return e.usageFail(f, err)
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one group"))
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	snaps, err := snapshotGroups(ctx, cl, f.Args())
	if err != nil {
		return e.fail(err)
	}
	descs := make([]groupDescription, len(snaps))
	failed := false
	for i, s := range snaps {
		descs[i] = describeSnapshot(s)
		failed = failed || descs[i].Error != ""
	}
	if *format == "json" {
		if err := writeJSON(e.stdout, descs); err != nil {
			return e.fail(err)
		}
		return exitFor(!failed)
	}
	first := true
	for _, d := range descs {
		if d.Error != "" {
			fmt.Fprintf(e.stderr, "%s: %s: %s\n", e.prog, d.Group, d.Error)
			continue
		}
		if !first {
			fmt.Fprintln(e.stdout)
		}
		first = false
		printGroupDescription(e.stdout, d)
	}
	return exitFor(!failed)
}

// describeSnapshot turns a snapshot into what describe prints.
func describeSnapshot(s *groupSnapshot) groupDescription {
	d := groupDescription{Group: s.name, State: s.state, Members: []groupMemberDescription{}, Partitions: []groupPartitionLag{}}
	switch {
	case s.err != nil:
		d.Error = kafkaErrText(s.err, "")
		return d
	case !s.exists:
		d.Error = fmt.Sprintf("GROUP_ID_NOT_FOUND: Group %s not found.", s.name)
		return d
	}
	d.Coordinator = &groupCoordinator{s.coordinator.NodeID, s.coordinator.Host, s.coordinator.Port}
	d.Type, d.ProtocolType, d.Protocol = s.typ, s.protoType, s.protocol
	if s.commitErr != nil {
		d.Error = "committed offsets: " + kafkaErrText(s.commitErr, "")
	}
	for _, m := range s.members {
		md := groupMemberDescription{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, Host: m.host, Assignment: []topicAssignment{}}
		for _, t := range m.topics() {
			md.Assignment = append(md.Assignment, topicAssignment{t, m.assigned[t]})
		}
		d.Members = append(d.Members, md)
	}
	for _, r := range s.rows() {
		p := groupPartitionLag{Topic: r.topic, Partition: r.partition}
		if r.committed >= 0 {
			p.CurrentOffset = &r.committed
		}
		if r.end >= 0 {
			p.LogEndOffset = &r.end
		}
		if lag, ok := r.lag(); ok {
			p.Lag = &lag
			d.TotalLag += lag
		}
		if r.member != nil {
			p.MemberID, p.ClientID, p.Host = r.member.id, r.member.clientID, r.member.host
		}
		d.Partitions = append(d.Partitions, p)
	}
	slices.SortFunc(d.Partitions, func(a, b groupPartitionLag) int {
		return compareTP(topicPartition{a.Topic, a.Partition}, topicPartition{b.Topic, b.Partition})
	})
	return d
}

func printGroupDescription(w io.Writer, d groupDescription) {
	t := newTable(w)
	t.row("GROUP", d.Group)
	t.row("COORDINATOR", fmt.Sprintf("%d (%s:%d)", d.Coordinator.ID, d.Coordinator.Host, d.Coordinator.Port))
	t.row("STATE", d.State)
	t.row("TYPE", d.Type)
	t.row("PROTOCOL-TYPE", orDash(d.ProtocolType))
	t.row("PROTOCOL", orDash(d.Protocol))
	t.row("MEMBERS", len(d.Members))
	t.row("TOTAL-LAG", d.TotalLag)
	t.flush()
	idle := 0
	for _, m := range d.Members {
		if len(m.Assignment) == 0 {
			idle++
		}
	}
	if len(d.Partitions) == 0 && idle == 0 {
		return
	}
	fmt.Fprintln(w)
	t = newTable(w, "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID", "CLIENT-ID", "HOST")
	for _, p := range d.Partitions {
		t.row(p.Topic, p.Partition, ptrText(p.CurrentOffset), ptrText(p.LogEndOffset), ptrText(p.Lag),
			orDash(p.MemberID), orDash(p.ClientID), orDash(p.Host))
	}
	for _, m := range d.Members {
		if len(m.Assignment) == 0 {
			t.row("-", "-", "-", "-", "-", m.MemberID, orDash(m.ClientID), orDash(m.Host))
		}
	}
	t.flush()
}

// ptrText prints an optional number, nil as "-".
func ptrText(n *int64) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}

// groupNames is a helper for tests and commands that need every group's
// name: the groups ListGroups reports, sorted.
func groupNames(groups []listedGroup) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = g.Group
	}
	return out
}
