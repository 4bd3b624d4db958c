package group

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// state is a classic group's state (see the diagram in doc.go).
type state int8

const (
	stateEmpty state = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s state) String() string { return stateNames[s] }

// newMemberJoinTimeoutMs bounds how long a member that has never completed
// a join may wait in a rebalance (Kafka's
// group.classic.new.member.join.timeout, not configurable there either):
// it cannot heartbeat yet, and a client that gave up would otherwise stay a
// member for the whole rebalance timeout.
const newMemberJoinTimeoutMs = 5 * 60 * 1000

// rules are the settings one group obeys; shared by every group, immutable.
type rules struct {
	minSessionMs   int32
	maxSessionMs   int32
	initialDelayMs int32
	maxSize        int32
	retentionMs    int64 // offsets.retention.minutes in ms
	metadataMax    int32 // offset.metadata.max.bytes, in UTF-16 code units as Kafka counts
	// newMemberID returns prefix + "-" + a fresh UUID; tests replace it.
	newMemberID func(prefix string) string
	log         *slog.Logger
}

// randomMemberID is Kafka's member id: the client id (or the group instance
// id) and a random UUID in Java's textual form.
func randomMemberID(prefix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return prefix + "-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// protocol is one protocol a member supports, in its order of preference.
type protocol struct {
	name     string
	metadata []byte
}

// joinWaiter receives the answer to a parked JoinGroup; syncWaiter to a
// parked SyncGroup. Each is called at most once and must not block.
type (
	joinWaiter func(*kmsg.JoinGroupResponse)
	syncWaiter func(*kmsg.SyncGroupResponse)
)

// member is one member of a group. All fields are owned by the group.
type member struct {
	id           string
	instanceID   *string // group.instance.id of a static member (KIP-345), nil for dynamic
	clientID     string
	clientHost   string
	rebalanceMs  int32
	sessionMs    int32
	protocolType string
	protocols    []protocol // distinct names, in the member's order of preference
	assignment   []byte     // what the leader assigned in the current generation; shared, never modified
	join         joinWaiter // set while a JoinGroup waits for the join phase to end
	sync         syncWaiter // set while a SyncGroup waits for the leader's assignment
	isNew        bool       // has not completed a join yet
	deadline     int64      // ms since epoch when the session expires
}

// metadataFor returns the member's metadata for protocol name.
func (m *member) metadataFor(name string) []byte {
	for i := range m.protocols {
		if m.protocols[i].name == name {
			return m.protocols[i].metadata
		}
	}
	return nil
}

// matches reports whether the member last joined with exactly protocols.
func (m *member) matches(protocols []protocol) bool {
	return slices.EqualFunc(m.protocols, protocols, func(a, b protocol) bool {
		return a.name == b.name && bytes.Equal(a.metadata, b.metadata)
	})
}

// awaiting reports whether the member's session is suspended: Kafka counts
// a parked JoinGroup or SyncGroup as a heartbeat, except for members that
// have never joined (their JoinGroup is bounded by newMemberJoinTimeoutMs).
func (m *member) awaiting() bool {
	return !m.isNew && (m.join != nil || m.sync != nil)
}

// group is the pure state machine of one classic group and its offsets. It
// has no goroutines, does no I/O and reads no clock: time arrives as the now
// argument (ms since epoch), waiting requests are callbacks, and writes to
// __consumer_offsets are handed out through takeWrites and come back through
// complete. It is not safe for concurrent use: its actor owns it.
type group struct {
	id    string
	rules *rules

	state      state
	prevState  state
	stateTime  int64 // ms since epoch of the last transition; -1 unknown (pre-KIP-211 metadata)
	generation int32
	protoType  string  // protocol type; "" for groups that only store offsets
	protocol   *string // the protocol of the current generation; nil when Empty
	leader     string  // member id of the leader; "" when there are no members
	persisted  bool    // a GroupMetadata record for this group may be in the log

	members    map[string]*member
	order      []*member         // members in the order they joined; the leader falls back to the first
	static     map[string]string // group.instance.id → member id
	pending    map[string]int64  // KIP-394 member ids handed out, not joined yet → expiry, ms since epoch
	awaitJoin  int               // members with a join waiter
	protoCount map[string]int    // protocol name → members supporting it

	// Rebalance timers, ms since epoch, 0 when not armed.
	joinAt         int64 // end of the join phase (rebalance timeout, or the initial delay)
	initial        bool  // joinAt is the initial rebalance delay of an Empty group
	initialDelay   int32 // length of the current initial delay
	initialRemain  int32 // rebalance timeout left after it
	newMemberAdded bool  // a member arrived during the initial delay
	syncAt         int64 // deadline for every member of the generation to send SyncGroup
	pendingSync    map[string]struct{}

	subscribed map[string]struct{} // topics of a consumer group's members; nil if unknown

	offsets        map[tp]*offset
	pendingCommits map[tp]int          // commits written but not yet durable
	writes         map[*write]struct{} // writes handed out, not completed
	out            []*write            // writes not yet taken by the driver
	deleted        bool                // the group's tombstone is durable; it no longer exists
}

func newGroup(id string, r *rules, now int64) *group {
	return &group{
		id:             id,
		rules:          r,
		stateTime:      now,
		members:        map[string]*member{},
		static:         map[string]string{},
		pending:        map[string]int64{},
		protoCount:     map[string]int{},
		pendingSync:    map[string]struct{}{},
		offsets:        map[tp]*offset{},
		pendingCommits: map[tp]int{},
		writes:         map[*write]struct{}{},
	}
}

func (g *group) transition(now int64, to state) {
	g.prevState, g.state, g.stateTime = g.state, to, now
}

// add adds m to the group. The first member fixes the protocol type and
// becomes leader if there is none.
func (g *group) add(m *member) {
	if len(g.members) == 0 {
		g.protoType = m.protocolType
	}
	if g.leader == "" {
		g.leader = m.id
	}
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	g.members[m.id] = m
	g.order = append(g.order, m)
	g.countProtocols(m, 1)
	if m.join != nil {
		g.awaitJoin++
	}
	delete(g.pending, m.id)
}

// remove removes a member (or a pending member id) without touching its
// waiters; callers answer them first.
func (g *group) remove(id string) {
	delete(g.pending, id)
	delete(g.pendingSync, id)
	m, ok := g.members[id]
	if !ok {
		return
	}
	delete(g.members, id)
	g.order = slices.DeleteFunc(g.order, func(o *member) bool { return o == m })
	g.countProtocols(m, -1)
	if m.join != nil {
		g.awaitJoin--
	}
	if m.instanceID != nil && g.static[*m.instanceID] == id {
		delete(g.static, *m.instanceID)
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0].id
		}
	}
}

func (g *group) countProtocols(m *member, delta int) {
	for i := range m.protocols {
		n := g.protoCount[m.protocols[i].name] + delta
		if n == 0 {
			delete(g.protoCount, m.protocols[i].name)
		} else {
			g.protoCount[m.protocols[i].name] = n
		}
	}
}

// setJoin sets or clears a member's join waiter, keeping awaitJoin exact.
func (g *group) setJoin(m *member, w joinWaiter) {
	switch {
	case m.join == nil && w != nil:
		g.awaitJoin++
	case m.join != nil && w == nil:
		g.awaitJoin--
	}
	m.join = w
}

// answerJoin completes a member's parked JoinGroup, if any.
func (g *group) answerJoin(m *member, resp *kmsg.JoinGroupResponse) bool {
	if m.join == nil {
		return false
	}
	w := m.join
	g.setJoin(m, nil)
	w(resp)
	return true
}

// answerSync completes a member's parked SyncGroup, if any.
func (g *group) answerSync(m *member, resp *kmsg.SyncGroupResponse) bool {
	if m.sync == nil {
		return false
	}
	w := m.sync
	m.sync = nil
	w(resp)
	return true
}

// supportsProtocols is Kafka's admission check for a joining member: an
// Empty group takes any non-empty type and protocol list; otherwise the
// type must match and at least one protocol must be one that every current
// member supports.
func (g *group) supportsProtocols(protocolType string, protocols []protocol) bool {
	if g.state == stateEmpty {
		return protocolType != "" && len(protocols) > 0
	}
	if g.protoType != protocolType {
		return false
	}
	for i := range protocols {
		if g.protoCount[protocols[i].name] == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol of the next generation: among the
// protocols every member supports, each member votes for the first in its
// own preference order, and the most votes win. Kafka breaks ties
// arbitrarily (hash order); here the leader's preference breaks them, so
// the choice is deterministic.
func (g *group) selectProtocol() (string, bool) {
	votes := map[string]int{}
	for _, m := range g.order {
		for i := range m.protocols {
			if g.protoCount[m.protocols[i].name] == len(g.members) {
				votes[m.protocols[i].name]++
				break
			}
		}
	}
	if len(votes) == 0 {
		return "", false
	}
	best, bestVotes := "", -1
	pref := g.order[0]
	if l, ok := g.members[g.leader]; ok {
		pref = l
	}
	for i := range pref.protocols {
		if n, ok := votes[pref.protocols[i].name]; ok && n > bestVotes {
			best, bestVotes = pref.protocols[i].name, n
		}
	}
	for name, n := range votes { // protocols the leader does not list cannot be candidates; defensive
		if n > bestVotes {
			best, bestVotes = name, n
		}
	}
	return best, true
}

// rebalanceTimeoutMs is the largest rebalance timeout of any member.
func (g *group) rebalanceTimeoutMs() int32 {
	var max int32
	for _, m := range g.order {
		max = maxI32(max, m.rebalanceMs)
	}
	return max
}

func maxI32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}

// allJoined reports whether every member has a parked JoinGroup and no
// KIP-394 member id is still outstanding.
func (g *group) allJoined() bool {
	return g.awaitJoin == len(g.members) && len(g.pending) == 0
}

// canRebalance reports whether a rebalance may start from the current state.
func (g *group) canRebalance() bool {
	return g.state == stateStable || g.state == stateCompletingRebalance || g.state == stateEmpty
}

// currentMembers lists every member with its metadata for the chosen
// protocol, as the leader's JoinGroup response carries them. The metadata
// is shared, not copied: a 1,000-member group costs one slice per
// generation.
func (g *group) currentMembers() []kmsg.JoinGroupResponseMember {
	out := make([]kmsg.JoinGroupResponseMember, 0, len(g.order))
	name := ""
	if g.protocol != nil {
		name = *g.protocol
	}
	for _, m := range g.order {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID, jm.InstanceID, jm.ProtocolMetadata = m.id, m.instanceID, m.metadataFor(name)
		out = append(out, jm)
	}
	return out
}

// computeSubscribed refreshes the subscribed topics of a consumer group
// from its members' metadata; unknown (nil) for other protocol types or
// metadata that does not parse.
func (g *group) computeSubscribed() {
	g.subscribed = nil
	if g.protoType != consumerProtocolType {
		return
	}
	topics := map[string]struct{}{}
	if len(g.members) > 0 {
		if g.protocol == nil {
			return
		}
		for _, m := range g.order {
			if err := subscribedTopics(m.metadataFor(*g.protocol), topics); err != nil {
				g.rules.log.Warn("cannot read the subscription of a consumer group member; offsets of its topics stay deletable only when empty",
					"group", g.id, "member", m.id, "err", err)
				return
			}
		}
	}
	g.subscribed = topics
}

// subscribedTo reports whether the group consumes topic. When it cannot
// tell, a consumer group is assumed to (the safe answer for OffsetDelete).
func (g *group) subscribedTo(topic string) bool {
	if g.subscribed == nil {
		return g.protoType == consumerProtocolType
	}
	_, ok := g.subscribed[topic]
	return ok
}
