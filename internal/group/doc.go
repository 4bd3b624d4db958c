// Package group is the group coordinator: Kafka's classic group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and committed offsets
// (OffsetCommit, OffsetFetch, OffsetDelete), with DescribeGroups,
// ListGroups and DeleteGroups, for the groups whose __consumer_offsets
// partition this broker leads.
//
// # What it owns, and what it does not
//
// It owns the groups' state in memory and its persistence as records of
// __consumer_offsets, in Kafka's own formats, so that a restarted or new
// leader rebuilds the same groups and offsets, and tools that read the topic
// (Burrow, kafka-console-consumer with the offsets formatter) understand it.
//
// It does not own the partitions: the broker tells it which it leads (Load,
// Unload) and hands it each one's Log. It does not decode requests or speak
// to sockets: its API takes and returns kmsg requests and responses, like
// package controller's, and the api handlers call it. It knows the protocol
// type "consumer" only to read subscribed topics; every protocol type is
// served alike (consumer, connect, anything). KIP-848 groups
// (ConsumerGroupHeartbeat), share groups and TxnOffsetCommit are not served
// yet; their records in __consumer_offsets are skipped when loading.
//
// The coordinator of a group is the leader of partition
// PartitionFor(group, offsets.topic.num.partitions) (Java's String.hashCode,
// as Kafka), so every broker and client agrees on where a group lives.
//
// # The state machine
//
// A group is in one of five states (Kafka's names):
//
//	             JoinGroup (the first one waits the initial delay)
//	+-------+  ------------------------------------------------>  +--------------------+
//	| Empty |                                                     | PreparingRebalance |<-----------+
//	+-------+  <--------- the join phase ends, nobody left -----  +--------------------+            |
//	  |   ^                                                                 |                       |
//	  |   |                                            the join phase ends, |                       | a member joins,
//	  |   |                                                    members left v                       | leaves, fails or
//	  |   |                                                      +---------------------+            | changes protocols;
//	  |   |                                                      | CompletingRebalance |----------->| the leader rejoins;
//	  |   |                                                      +---------------------+            | a member never
//	  |   |                                                                 | the leader's          | syncs; the
//	  |   |                                                                 v assignment durable    | assignment write
//	  |   |                                                            +--------+                   | fails
//	  |   |                                                            | Stable |------------------>+
//	  |   | the tombstone write fails                                  +--------+
//	  v   |
//	+------+  DeleteGroups, or the last offsets expired: Dead while the
//	| Dead |  tombstones are written, then gone. Unloading the partition
//	+------+  also makes its groups Dead (their requests get NOT_COORDINATOR).
//
// What each state does:
//
//   - Empty: no members. Offsets may be committed without a generation
//     (simple consumers, admin tools). The first JoinGroup waits
//     group.initial.rebalance.delay.ms, extended each time another member
//     arrives, up to the rebalance timeout.
//   - PreparingRebalance (the join phase): JoinGroups are parked until every
//     known member has rejoined or the rebalance timeout (the largest any
//     member asked for) runs out; dynamic members that did not rejoin are
//     dropped, static ones (group.instance.id) keep their place. Then the
//     generation is bumped, the protocol all members support with the most
//     votes (ties: the leader's preference) is chosen, and every parked
//     JoinGroup is answered, the leader's with every member's metadata.
//     Heartbeats answer REBALANCE_IN_PROGRESS; commits of the current
//     generation are accepted.
//   - CompletingRebalance (the sync phase): SyncGroups are parked until the
//     leader's SyncGroup brings the assignment, which is written to the log;
//     once durable the group is Stable and each member gets its share.
//     Commits answer REBALANCE_IN_PROGRESS; members that send no SyncGroup
//     within the rebalance timeout are removed.
//   - Stable: heartbeats keep sessions alive; a session that expires
//     (session timeout without heartbeat, commit or parked request) removes
//     the member and rebalances.
//   - Dead: the group is being deleted (its tombstones are being written) or
//     its partition was unloaded.
//
// Member ids are handed out by the coordinator: from JoinGroup v4 a member
// without one gets MEMBER_ID_REQUIRED with a fresh id and joins again with
// it (KIP-394); the id expires after a session timeout. A static member
// that joins without a member id replaces its instance's old member id:
// requests under the old id get FENCED_INSTANCE_ID, and in a Stable group
// whose protocol does not change, the new id is persisted and the member
// resumes its assignment without a rebalance (KIP-345; with KIP-814 a
// returning leader learns it leads but is told to skip assignment).
//
// # Persistence
//
// Every change that must survive is a record appended to the group's
// partition. Offset commits, a generation's assignment, deletions and
// expiry take effect (and are acknowledged) only once the Log reports the
// record committed. Two changes take effect at once, as in Kafka: a group
// becoming Empty (if its record is lost, the previous generation is loaded
// and its members time out) and a restarting static member's new id (undone
// if its record fails; the member is answered only once it is durable). Records
// are Kafka's, keys and values each led by an int16 version, big-endian,
// strings int16-length-prefixed (see kmsg's OffsetCommitKey/Value and
// GroupMetadataKey/Value for every version):
//
//	key: OffsetCommitKey v1 (v0 also read)   value: OffsetCommitValue v3 (v1 when the client set a retention; v0–v4 read)
//	  version    int16 = 1                      version          int16 = 3
//	  group      string                         offset           int64
//	  topic      string                         leader_epoch     int32   (-1: none)
//	  partition  int32                          metadata         string
//	                                            commit_timestamp int64   (ms)
//	                                            [v1: expire_timestamp int64 (ms), no leader_epoch]
//
//	key: GroupMetadataKey v2                 value: GroupMetadataValue v3 (v0–v4 read)
//	  version    int16 = 2                      version                 int16 = 3
//	  group      string                         protocol_type           string
//	                                            generation              int32
//	                                            protocol                nullable string
//	                                            leader                  nullable string
//	                                            current_state_timestamp int64 (ms; -1 unknown)
//	                                            members                 int32 count, then each:
//	                                              member_id, nullable group_instance_id, client_id, client_host,
//	                                              rebalance_timeout int32, session_timeout int32,
//	                                              subscription bytes (metadata of the chosen protocol),
//	                                              assignment bytes
//
// A null value is a tombstone: an offset deleted (OffsetDelete, expiry,
// DeleteGroups) or a group deleted. Records are written in v2 batches with
// no producer id, compressed with offsets.topic.compression.codec. Keys with
// other versions (KIP-848 and share-group records), values of versions
// newer than listed, records that do not parse, batches that fail their CRC
// or do not decompress are skipped with a warning when loading; COMMIT and
// ABORT markers settle transactional offset commits as Kafka does.
//
// Offsets expire after offsets.retention.minutes, by Kafka's KIP-211 rules:
// all of an Empty group's offsets counting from when it became Empty; those
// of topics a Stable consumer group no longer subscribes to, counting from
// their commit; those of a group that only stores offsets, from their
// commit. An Empty group left without offsets is deleted.
//
// # Invariants
//
//   - A group's memory never runs ahead of its log for what a client was
//     told: a request that needs a record is answered when the record is
//     committed, and a failed append changes nothing (the request gets a
//     retriable error). The two changes applied early (above) are harmless
//     if lost.
//   - A group's records reach the log in the order the group emitted them,
//     and their outcomes come back in that order (see writer).
//   - Every parked request is answered exactly once: by the state machine,
//     by the unload of its partition, or by its context.
//   - leader is a member or empty; awaitJoin counts the members with a
//     parked JoinGroup; protoCount counts, per protocol name, the members
//     listing it; static maps each instance id to its member.
//
// # Concurrency
//
// A Coordinator is safe for concurrent use. Each group is owned by an actor
// (actor.go): requests, timers and write completions for the group are ops
// run one at a time, in order, on the group's state machine (group.go and
// the files beside it), which has no goroutines, no locks, no I/O and no
// clock; time comes in as an argument, so tests drive it exactly. An actor
// has a goroutine only while it has ops queued. Each partition's writer
// (writer.go) batches the writes of all its groups into appends. Every
// goroutine is started through the Coordinator's WaitGroup, and Stop waits
// for all of them. Lock order: Coordinator.mu, then partition.mu, then
// actor.mu or writer.mu; none is held while an op runs, across an Append,
// or while sending on a channel that could block.
//
// # Where to start reading
//
// coordinator.go (Config, Log, Load and Unload), membership.go and
// offsetapi.go (the requests), then the state machine: group.go, join.go,
// rebalance.go, sync.go, offsets.go; persist.go and records.go for what is
// written, load.go for what is read back.
package group
