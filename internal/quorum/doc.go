// Package quorum runs samsa's replicated metadata log: the Raft quorum of
// controller nodes (KRaft's __cluster_metadata), built on go.etcd.io/raft/v3.
//
// # What it owns, and what it does not
//
// It owns the raft state machine's driver (the tick and Ready loop), the
// persistence of the log and its snapshots under Config.Dir, the transport
// between quorum members, and the bookkeeping that lets Propose return only
// once its own entry is committed and applied. Entries are opaque bytes: the
// metadata record types, the Image they build and the controller logic that
// proposes them live in internal/metadata and internal/controller, behind
// the StateMachine interface. It does not parse server.properties, does not
// authenticate peers (the controller listener is trusted, like the
// inter-broker one before TLS is added), and supports learners but not yet
// adding or removing voters at runtime (Kafka's KIP-853).
//
// One node is a one-voter quorum, not a special case: proposals commit when
// the leader's own fsync completes because its vote is a majority. The only
// concession is that a sole voter campaigns as soon as its log is replayed
// instead of waiting out an election timeout.
//
// # Words
//
// Term is raft's term, Kafka's leader epoch of the quorum. Index is an
// entry's position in the log, counting from 1, in the role of Kafka's
// metadata log offset (raft's own empty and configuration entries take
// indexes too, as Kafka's control records take offsets). The high
// watermark is the commit index: the last entry a majority of voters has
// durably stored. Applied index is the last entry handed to the state
// machine. A learner (a broker-only node) receives and applies the log but
// does not vote.
//
// # Where to start reading
//
// node.go has the API (Open, Start, Stop, the StateMachine contract);
// loop.go is the driver; propose.go, apply.go and barrier.go the paths a
// proposal, a committed entry and a linearizable read take through it.
// store.go is persistence, built from wal.go (segments), record.go (framing),
// replay.go (recovery's pure core) and snapfile.go. transport.go defines the
// Transport; tcp.go and tcppeer.go implement it over TCP and memtransport.go
// in memory for tests.
//
// # Invariants
//
//  1. The Ready contract, in this order: persist the received snapshot, hard
//     state and new entries, syncing (fdatasync) whenever raft says MustSync,
//     which covers every new entry, term and vote; then send messages; then
//     apply committed entries; then Advance. So no vote is granted, no append
//     acknowledged and no proposal answered before the state it rests on is
//     on disk.
//  2. Propose reports success only for the entry carrying its proposal id,
//     once that entry is committed and applied locally. If another entry
//     commits at its index (after a leader change) it fails with
//     ErrProposalDropped; when the outcome cannot be known the error says so.
//     A leader that steps down fails everything it still holds with
//     ErrOutcomeUnknown at once, so no caller waits on a lost quorum.
//  3. The state machine sees each committed entry exactly once after its last
//     Restore, in index order, from one goroutine.
//  4. Replay starts at the newest full segment, which holds every entry after
//     its snapshot; segments are created whole (written as .tmp, synced,
//     renamed, directory synced), so any older segment is garbage.
//  5. A snapshot file is durable before the segment that names it exists,
//     and the one that segment names is never removed; one previous snapshot
//     is kept.
//  6. Recovery truncates damage only at the tail of the last segment and
//     only if no valid record follows it: that is all a crash during a write
//     can leave, and it was never acknowledged. Anything else is a
//     *CorruptError naming the file and offset, and Open refuses to start:
//     a voter must never silently lose acknowledged entries.
//
// # Directory layout
//
//	<Dir>/
//	  LOCK                                 flock'd while a Node has Dir open
//	  <seq:016x>.wal                       WAL segments, seq counting up from 1
//	  <term:016x>-<index:016x>.snap        snapshots: the current one and one previous
//	  *.tmp                                half-written files; removed by Open
//
// A new log starts with segment 1 and snapshot 0000…-0000… (index 0, no
// data), which only records the initial voters. A segment is cut (a new file
// started) when the current one passes 64 MiB, and after every snapshot,
// when the new segment is full: it repeats every entry after the snapshot, so
// all older segments are deleted. The log on disk is therefore bounded by
// SnapshotEntries entries plus those not yet applied.
//
// # WAL segment
//
// A segment is a sequence of records. All integers are little-endian.
//
//	record:
//	+-------------+-------------+---------+---------------------+
//	| length u32  | crc u32     | type u8 | payload (length B)  |
//	+-------------+-------------+---------+---------------------+
//	crc = CRC-32C over length, type and payload; type 0 is never valid,
//	so zeroed space never decodes as a record.
//
//	type 1, segment header (first record of every segment, 49 bytes):
//	+---------+---------+---------------+--------------+---------+---------+-----------+
//	| seq u64 | kind u8 | snapIndex u64 | snapTerm u64 | term u64| vote u64| commit u64|
//	+---------+---------+---------------+--------------+---------+---------+-----------+
//	kind 1 = full (the log restarts after snapshot snapIndex/snapTerm),
//	kind 2 = continued (same snapshot as the previous segment);
//	term/vote/commit is the hard state when the segment was cut.
//
//	type 2, entry (17 bytes + data):
//	+-----------+----------+---------------+----------------------+
//	| index u64 | term u64 | entry type u8 | data (rest)          |
//	+-----------+----------+---------------+----------------------+
//	entry type is raftpb.EntryType (0 normal, 1 conf change, 2 conf change v2).
//	An entry at index i replaces the log from i on, as raft's storage does.
//
//	type 3, hard state (24 bytes):
//	+----------+----------+------------+
//	| term u64 | vote u64 | commit u64 |
//	+----------+----------+------------+
//
// One Ready is written as one write: its hard state first, then its entries,
// then one fdatasync if raft asked for a sync. Writing the hard state first
// means a torn batch can leave a commit index beyond the surviving entries
// (recovery lowers it, with a warning) but never entries of an unknown term.
//
// # Snapshot file
//
//	+------------------+---------+-------------+-----------+----------+
//	| magic "SAMSASNP" | crc u32 | version u32 | index u64 | term u64 |
//	+------------------+---------+-------------+-----------+----------+
//	| conf len u32 | ConfState (raftpb protobuf) | data len u64 | data |
//	+--------------+-----------------------------+--------------+------+
//	crc = CRC-32C over everything after it. data is the snapshot envelope.
//
// # Envelopes around the state machine's bytes
//
//	raft entry data (normal entries; a conf change's Context likewise,
//	with the learner's address as payload):
//	+------------+-----------+---------+-----------------------------+
//	| version u8 | nonce u64 | seq u64 | payload: the Propose bytes  |
//	+------------+-----------+---------+-----------------------------+
//	nonce is random per Open, seq counts Propose calls: together the
//	proposal id by which the proposer recognises its own entry.
//
//	snapshot data (also what raft sends followers in MsgSnap):
//	+------------+-----------+------------------------------------------+--------------------+
//	| version u8 | count u32 | count x (id u64 | addr len u16 | addr)   | state machine data |
//	+------------+-----------+------------------------------------------+--------------------+
//	the addresses of peers added by configuration changes, which raft's
//	ConfState does not keep.
//
// # TCP transport
//
//	hello, once per connection, from the dialling node:
//	+-------------+------------+----------+--------+
//	| "SMQR"      | version u8 | from u64 | to u64 |
//	+-------------+------------+----------+--------+
//	then frames, one raft message each:
//	+------------+-------------------+---------------------------------+
//	| length u32 | crc u32 (payload) | payload: raftpb.Message (proto) |
//	+------------+-------------------+---------------------------------+
//
// Each node dials each peer once and only writes on that connection; it
// reads what peers send on the connections they dial. A hello from a node
// that is not a peer, or addressed to another node, closes the connection;
// a message whose sender differs from the hello's is dropped. A frame
// longer than MaxFrameBytes closes the connection, and a frame's buffer
// grows only as its bytes arrive.
//
// # Concurrency
//
// Every exported method of Node is safe for concurrent use. After Open, one
// goroutine (the loop) owns the raft.RawNode, the store and the state
// machine; other goroutines reach it only through channels (proposals,
// barriers, status requests, inbound messages) and read what it publishes
// through atomics (leader and term, applied index). Goroutines: the loop and
// the leader-change notifier, started by Start, and the transport's (an
// accept loop, a reader per inbound connection, a writer per peer), started
// by the Transport's Start, which the Node calls. Stop cancels them all and
// waits for each. Locks (Node.mu, the inbox's, each transport's) guard a few
// fields each, are never nested and are never held across I/O or a channel
// send.
package quorum
