package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// group_snapshot.go reads consumer groups the way both `samsa group` and
// kafka-consumer-groups.sh show them: ListGroups on every broker; on each
// group's coordinator ConsumerGroupDescribe (KIP-848 groups) and, for the
// groups it does not know, DescribeGroups (the classic protocol), as Kafka's
// Admin client does; OffsetFetch for the committed offsets and ListOffsets
// (latest) for the log end offset — the high watermark, which is what
// Kafka's tool calls LOG-END-OFFSET. Lag is the log end offset minus the
// committed offset.
//
// In a classic group a member's partitions come from its assignment,
// decoded as a kmsg.ConsumerMemberAssignment when the group's protocol type
// is "consumer"; every consumer assignor (range, roundrobin, sticky,
// cooperative-sticky) writes that one format, versions 0 to 3. Members of
// groups with another protocol type (connect, a schema registry's leader
// election, …) own no partitions as far as this file can tell. A KIP-848
// group's coordinator reports each member's current and target assignment
// itself.

// groupStates are Kafka's group states as ListGroups and DescribeGroups
// spell them, in the order Kafka's tool lists them in its messages.
var groupStates = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty", "Assigning", "Reconciling"}

// groupTypes are the group types of ListGroups v5 (KIP-848), lower case as
// brokers send them.
var groupTypes = []string{"consumer", "classic", "share", "streams"}

// canonical returns the member of names equal to s ignoring case.
func canonical(names []string, s string) (string, bool) {
	for _, n := range names {
		if strings.EqualFold(n, strings.TrimSpace(s)) {
			return n, true
		}
	}
	return "", false
}

// listedGroup is one group as ListGroups reports it.
type listedGroup struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	Type         string `json:"type"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

// listGroups asks every broker for its groups and returns them sorted by
// name. Brokers before ListGroups v5 send no type; their groups are all
// classic. A broker that cannot answer fails the whole listing, as a partial
// list would silently hide groups.
func listGroups(ctx context.Context, cl *kgo.Client) ([]listedGroup, error) {
	req := kmsg.NewPtrListGroupsRequest()
	var out []listedGroup
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			return nil, fmt.Errorf("list groups on broker %d: %w", shard.Meta.NodeID, shard.Err)
		}
		resp := shard.Resp.(*kmsg.ListGroupsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, fmt.Errorf("list groups on broker %d: %w", shard.Meta.NodeID, err)
		}
		for _, g := range resp.Groups {
			typ, proto := strings.ToLower(g.GroupType), g.ProtocolType
			if typ == "" {
				typ = "classic"
			}
			if typ == "consumer" && proto == "" {
				proto = "consumer" // KIP-848 groups speak nothing else; kfake sends ""
			}
			out = append(out, listedGroup{g.Group, g.GroupState, typ, proto, shard.Meta.NodeID})
		}
	}
	slices.SortFunc(out, func(a, b listedGroup) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}

// groupMember is one member of a described group.
type groupMember struct {
	id, instanceID, clientID, host string
	// assigned is the member's partitions by topic, each list sorted; nil
	// when the group's protocol type is not "consumer" or the member has
	// no assignment yet.
	assigned map[string][]int32
	// KIP-848 groups only: the member epoch (-1 in classic groups), the
	// partitions the coordinator is moving the member to, and whether the
	// member speaks the new protocol (memberType 1) or joined with the
	// classic one (0; -1 unknown).
	epoch      int32
	target     map[string][]int32
	memberType int8
}

// numPartitions counts the member's assigned partitions.
func (m *groupMember) numPartitions() int {
	n := 0
	for _, ps := range m.assigned {
		n += len(ps)
	}
	return n
}

// topics returns the member's assigned topics, sorted.
func (m *groupMember) topics() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for t := range m.assigned {
			if !yield(t) {
				return
			}
		}
	})
}

// groupSnapshot is one group as describe shows it. Fields are immutable
// once snapshotGroups returns.
type groupSnapshot struct {
	name string
	// err is set when the group could not be described at all (no
	// coordinator, not authorized); nothing else is then.
	err         error
	exists      bool // false: the coordinator knows no such group (state Dead)
	coordinator kgo.BrokerMetadata
	state       string // "Stable", "Empty", … as the broker spells it
	typ         string // "classic", or "consumer" for KIP-848 groups
	protoType   string // "consumer", "connect", "" for groups that only hold commits
	protocol    string // the assignor in use ("range", "cooperative-sticky"), "" unless Stable
	// KIP-848 groups only (-1 in classic groups): the group epoch and the
	// epoch of the target assignment.
	epoch, targetEpoch int32
	members            []groupMember
	committed          kadm.OffsetResponses // nil if the group does not exist
	commitErr          error                // why committed is empty, if it could not be fetched
	ends               kadm.ListedOffsets   // log end offsets of every topic in assigned or committed
}

// inactive reports whether offsets may be changed from outside: Kafka
// allows it only for Empty groups and groups that do not exist.
func (s *groupSnapshot) inactive() bool {
	return !s.exists || s.state == "Empty" || s.state == "Dead"
}

// snapshotGroups describes the named groups and reads their committed
// offsets and the log end offsets of their partitions. It returns one
// snapshot per name, in the order given; an error only when nothing could
// be asked.
func snapshotGroups(ctx context.Context, cl *kgo.Client, names []string) ([]*groupSnapshot, error) {
	snaps, err := describeGroups(ctx, cl, names)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	var topics []string
	for _, s := range snaps {
		if s.err != nil || !s.exists {
			continue
		}
		s.committed, s.commitErr = adm.FetchOffsets(ctx, s.name)
		for _, m := range s.members {
			topics = append(topics, m.topics()...)
		}
		for t := range s.committed {
			topics = append(topics, t)
		}
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	if len(topics) > 0 {
		// Best effort, as in Kafka: a partition without a leader shows "-".
		ends, _ := adm.ListEndOffsets(ctx, topics...)
		for _, s := range snaps {
			s.ends = ends
		}
	}
	return snaps, nil
}

// lagRow is one partition of a group: its committed offset, log end offset
// and the member that owns it.
type lagRow struct {
	topic       string
	partition   int32
	committed   int64 // -1: nothing committed
	leaderEpoch int32 // of the committed offset; -1 unknown
	end         int64 // log end offset; -1 unknown
	member      *groupMember
}

// lag is end minus committed, and whether both are known.
func (r lagRow) lag() (int64, bool) {
	if r.committed < 0 || r.end < 0 {
		return 0, false
	}
	return r.end - r.committed, true
}

// rows returns a row per partition the group owns or has committed, in
// Kafka's order: members by descending partition count (ties keep the
// broker's order), each member's partitions by topic and partition, then
// the committed partitions no member owns.
func (s *groupSnapshot) rows() []lagRow {
	var out []lagRow
	owned := map[string]map[int32]bool{}
	members := make([]*groupMember, 0, len(s.members))
	for i := range s.members {
		if s.members[i].numPartitions() > 0 {
			members = append(members, &s.members[i])
		}
	}
	slices.SortStableFunc(members, func(a, b *groupMember) int { return cmp.Compare(b.numPartitions(), a.numPartitions()) })
	for _, m := range members {
		for _, t := range m.topics() {
			for _, p := range m.assigned[t] {
				if owned[t] == nil {
					owned[t] = map[int32]bool{}
				}
				owned[t][p] = true
				out = append(out, s.row(t, p, m))
			}
		}
	}
	for _, o := range s.committed.Sorted() {
		if !owned[o.Topic][o.Partition] && o.Err == nil {
			out = append(out, s.row(o.Topic, o.Partition, nil))
		}
	}
	return out
}

func (s *groupSnapshot) row(topic string, partition int32, m *groupMember) lagRow {
	r := lagRow{topic: topic, partition: partition, committed: -1, leaderEpoch: -1, end: -1, member: m}
	if o, ok := s.committed.Lookup(topic, partition); ok && o.Err == nil && o.At >= 0 {
		r.committed, r.leaderEpoch = o.At, o.LeaderEpoch
	}
	if o, ok := s.ends.Lookup(topic, partition); ok && o.Err == nil {
		r.end = o.Offset
	}
	return r
}

// coordinatorText is how Kafka's tool prints a coordinator: "host:port  (id)".
func (s *groupSnapshot) coordinatorText() string {
	return fmt.Sprintf("%s:%d  (%d)", s.coordinator.Host, s.coordinator.Port, s.coordinator.NodeID)
}
