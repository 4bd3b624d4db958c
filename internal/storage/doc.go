// Package storage keeps one partition's log on disk, in Kafka's on-disk
// format, and the log directory around it.
//
// # What it owns
//
// A Dir is one entry of log.dirs: its lock, meta.properties, the
// recovery-point and log-start-offset checkpoints, the clean-shutdown
// marker, and the partition directories in it. A Log is one partition
// directory: its segments (.log files of record batches with their .index
// and .timeindex), the leader-epoch cache, the producer state of
// idempotent producers and its snapshots, the flush policy and the
// recovery that runs after a crash. A Cleaner compacts the logs of
// cleanup.policy=compact topics across Dirs (see Compaction below).
//
// It does not own the high watermark, the ISR, leader elections or the
// fetch/produce waiting: those belong to package partition, which tells
// storage where reads stop (maxOffset) and which segments retention may
// delete (below the high watermark). It does not validate records beyond
// the batch header: the caller checks CRCs and records before
// AppendAsLeader. It never touches the network. Transactions (the
// .txnindex, the last stable offset) are not implemented yet; the
// producer state already carries the transaction fields and the layout
// below reserves their files.
//
// # Words
//
//   - log start offset: the first offset a reader may ask for. Retention
//     moves it to the first remaining segment; DeleteRecords moves it
//     anywhere up to the log end.
//   - log end offset (LEO): the offset the next appended record gets.
//   - durable offset: every offset below it is durable under the flush
//     policy. fsync mode (flush.messages=1, samsa's default): fdatasync'd.
//     Page-cache mode (flush.messages>1, Kafka's classic): written.
//   - recovery point: every offset below it is fsync'd; after a crash,
//     recovery scans from the segment holding it.
//   - leader epoch: the partition leader's generation, stamped by the
//     leader on each batch; the leader-epoch cache maps each epoch to the
//     offset where it started (KIP-101).
//   - producer id / producer epoch / sequence: an idempotent producer's
//     identity, generation and per-partition record counter.
//   - tombstone: a record with a key and a null value; in a compacted log
//     it deletes the key.
//   - first dirty offset: the log below it has been compacted (Kafka's
//     cleaner checkpoint); from it up to the first uncleanable offset is
//     the dirty section a pass maps.
//   - delete horizon (KIP-534): the time from which a compacted
//     tombstone may go, set by the pass that first keeps it to now +
//     delete.retention.ms and stored in its batch (attribute bit 6, base
//     timestamp field).
//
// # Layout
//
//	<log dir>/
//	  .lock                                flock'd while a Dir is open
//	  .kafka_cleanshutdown                 written last by a clean Close
//	  meta.properties                      cluster.id, node.id, directory.id
//	  recovery-point-offset-checkpoint
//	  log-start-offset-checkpoint
//	  cleaner-offset-checkpoint            first dirty offset of compacted logs
//	  <topic>-<partition>/
//	    00000000000000000000.log           segments, named by base offset
//	    00000000000000000000.index
//	    00000000000000000000.timeindex
//	    00000000000000001234.log ...       (the last segment is the active one)
//	    00000000000000001234.snapshot      producer state at offset 1234
//	    00000000000000001234.txnindex      aborted transactions (reserved)
//	    leader-epoch-checkpoint
//	    partition.metadata
//	    *.deleted                          segments waiting for file.delete.delay.ms
//	    00000000000000000000.log.cleaned   a compacted segment being written (+ .index, .timeindex)
//	    00000000000000000000.log.swap      a compacted segment being swapped in (+ .index, .timeindex)
//	  <topic>-<partition>.<32 hex>-delete/ a deleted log, removed in the background
//
// .log — record batches (magic 2) exactly as received, after the leader
// set their base offset and partition leader epoch; no other framing. See
// package record for the batch layout.
//
// .index — sparse offset index, 8-byte big-endian entries, strictly
// increasing in both fields:
//
//	offset  size  field
//	     0     4  relative offset: a batch's last offset − segment base
//	     4     4  file position of that batch in the .log
//
// A batch gets an entry when IndexIntervalBytes or more were appended
// since the previous entry.
//
// .timeindex — 12-byte big-endian entries, strictly increasing
// timestamps:
//
//	offset  size  field
//	     0     8  timestamp, ms: the segment's max timestamp so far
//	     8     4  relative offset of the last record of the batch that set it
//
// An entry is added, when it raises the timestamp, at every offset-index
// entry and when the segment stops being active.
//
// Both index files of the active segment are preallocated to
// SegmentIndexBytes and memory-mapped; when a segment stops being active
// they are trimmed to the entries in use. They are never trusted: a
// missing or malformed index is rebuilt from the .log, and every lookup
// result is checked against the batch headers it leads to.
//
// .snapshot — the producer state when the log end offset was the offset in
// the file name; written at every roll (unsynced) and at Close (fsync'd).
// samsa's own format (Kafka's keeps only the newest batch per producer,
// which would lose duplicate detection for the other four across a
// restart). Big endian:
//
//	offset  size  field
//	     0     2  version (= 1)
//	     2     4  CRC-32C of every byte after this field
//	     6     8  log end offset the state describes
//	    14     4  producer count
//	    18     …  producers, ascending by id:
//	                0   8  producer id
//	                8   2  producer epoch
//	               10   4  coordinator epoch (-1: none)
//	               14   8  first offset of the transaction in progress (-1: none)
//	               22   8  last timestamp, ms
//	               30   1  batch count n, 0..5
//	               31  32n batches, oldest first:
//	                     0  4  first sequence
//	                     4  4  last sequence
//	                     8  8  first offset
//	                    16  8  last offset
//	                    24  8  max timestamp, ms
//
// .txnindex — aborted transactions of the segment (reserved: transactions
// are not implemented yet, see txn.go). Kafka's format, 34-byte big-endian
// entries:
//
//	offset  size  field
//	     0     2  version (= 0)
//	     2     8  producer id
//	    10     8  first offset of the aborted transaction
//	    18     8  last offset (the abort marker)
//	    26     8  last stable offset when the abort was written
//
// leader-epoch-checkpoint, and the three offset checkpoints — Kafka's text
// format, a version line (0), a count line, then one entry per line:
//
//	0                       0
//	2                       2
//	0 0                     orders 0 1200
//	3 1500                  orders-eu 3 77
//	(epoch startOffset)     (topic partition offset)
//
// partition.metadata (KIP-516):
//
//	version: 0
//	topic_id: <22-character URL-safe base64 uuid>
//
// meta.properties — java.util.Properties text: version=1, cluster.id,
// node.id, directory.id. .kafka_cleanshutdown — JSON
// {"version":0,"brokerEpoch":N}.
//
// Every metadata file is replaced atomically: temporary file, fsync,
// rename, directory fsync. Roll-time snapshots skip the fsyncs: a torn one
// fails its CRC and an older one (or a longer replay) takes its place.
//
// # Compaction
//
// A Cleaner (cleaner.go; Kafka's LogCleaner) owns its threads, their offset
// maps and I/O buffers, and the choice of log; a Log owns its compaction
// state (clean_log.go) and the swap (swap.go); a Dir owns its
// cleaner-offset-checkpoint. A thread picks, among the open logs with
// cleanup.policy containing compact, the one with the highest dirty ratio
// (dirty bytes / (compacted + dirty bytes) of the cleanable segments)
// above min.cleanable.dirty.ratio, or one whose oldest dirty batch is
// older than max.compaction.lag.ms, or one where a kept tombstone reached
// its delete horizon; then one pass (clean_pass.go):
//
//  1. Plan, under Log.mu: the cleanable segments are those wholly below
//     the first uncleanable offset, the least of the active segment's
//     base (the active segment is never touched), the compaction limit
//     (SetCompactionLimit: the high watermark), the recovery point (every
//     record used to drop another is fsync'd), the first offset of a
//     transaction in progress, and the first dirty segment younger than
//     min.compaction.lag.ms. They are acquired, like a reader's.
//  2. Map, without locks: key → offset of its latest record over the
//     dirty section, in at most the thread's share of
//     log.cleaner.dedupe.buffer.size; when a new key does not fit, the pass
//     covers only up to that record (mapEnd).
//  3. Rewrite, without locks, group by group (runs of segments of at most
//     segment.bytes together) from the log's first segment to the one
//     holding mapEnd-1, into "<base>.log.cleaned" and its indexes: a
//     record survives when it is at or past mapEnd, or is its key's latest
//     and not a tombstone past its delete horizon; keyless records go;
//     control batches stay whole. A batch keeps its base offset, last
//     offset, producer fields and codec (survivors are recompressed); a
//     batch that loses nothing is copied byte for byte. The newest batch
//     of each producer the producer state tracks, and the group's last
//     batch, stay even when empty (a header without records).
//  4. Swap each group in (table below), then raise the first dirty offset
//     to mapEnd and write the Dir's cleaner checkpoint.
//
// The swap, per group, with Log.mu held from step 1 to step 5 (tests
// kill at each step: clean_crash_test.go):
//
//	step                                  a crash after it, at the next open
//	0  write <base>.{log,index,timeindex}  .cleaned files are removed: the
//	   .cleaned and fsync them             old segments stay (roll back)
//	1  rename .index.cleaned and           .swap index files without a
//	   .timeindex.cleaned to .swap         .log.swap are removed (roll back)
//	2  rename .log.cleaned to .log.swap    completed (roll forward): the
//	   (the point of no return)            .swap log's batches end at next;
//	3  fsync the directory                 segment files with a base in
//	4  rename each old segment's files     [base, next) are the old group
//	   *.deleted                           and are removed, *.deleted too;
//	5  rename the .swap files to their     the .swap files lose the suffix;
//	   final names; publish the new        a missing index is rebuilt
//	   segment; release the old ones
//	6  fsync the directory (unlocked)      nothing to do
//
// [base, next) holds exactly the old group: the cleaned segment keeps the
// group's last batch, so next is the end of the group's last non-empty
// segment, above the base of every old segment holding data and at or
// below the base of every segment after the group.
//
// Readers holding a Slice or an acquired segment of the old group keep
// reading the old files (renamed, not removed, until file.delete.delay.ms
// and their last release). A truncation, retention, DeleteRecords or
// close between plan and swap makes the swap refuse (errCleanAborted) and
// the pass stop; Close also stops a pass in progress and waits for it.
//
// # Invariants
//
//   - Offsets increase: each batch starts at or after the previous batch's
//     next offset, and a segment's batches at or after its base offset.
//     Compaction leaves gaps; uncompacted data is dense. Recovery enforces
//     increasing offsets (the base offset is outside the CRC, so this is
//     its only check). AppendAsFollower accepts gaps on compacted logs
//     only.
//   - A segment's last batch ends at the next segment's base offset (rolls
//     happen at the log end, and compaction keeps each group's last
//     batch); only a truncation into a compaction gap can leave it ending
//     before. Reads past a segment's last batch go on in the next one.
//   - Compaction never changes an offset, never touches the active
//     segment, and never drops a key's latest record below the first
//     uncleanable offset except a tombstone past its delete horizon.
//   - A segment holds only whole batches below its size (segment.size);
//     readers never see bytes past it.
//   - After an unclean shutdown, every batch kept has passed its CRC-32C,
//     unless it lies wholly below the recovery point (fsync'd before the
//     crash). After a clean one nothing is scanned but the active
//     segment's tail headers.
//   - The producer state never describes batches below the log start
//     offset, nor above the log end offset.
//   - The leader-epoch cache has no entry at or above the log end offset;
//     its epochs and start offsets strictly increase.
//   - A log start offset set by DeleteRecordsBefore or
//     TruncateFullyAndStartAt is in the checkpoint, fsync'd, before the call
//     returns, and before any file is deleted.
//   - A segment is fsync'd (data and indexes) before the recovery point
//     passes it; recovery rebuilds the indexes of every segment it scans.
//   - The clean-shutdown marker is written only after every log closed
//     cleanly and the checkpoints were written; it is removed as soon as
//     the directory is opened.
//
// # Durability
//
// In fsync mode a Log's flusher goroutine does group commit: it fsyncs the
// active segment (and any segment rolled since) whenever there is
// unsynced data, then releases every WaitDurable caller and calls
// OnDurable with what that fsync covered; batches appended during the
// fsync wait for the next one. In page-cache mode appended data counts as
// durable at once; the flusher fsyncs in the background every
// FlushMessages messages, after FlushMs, and at every roll. Either way
// kill -9 loses nothing appended (the page cache survives); recovery
// assumes any suffix may be missing or torn anyway, since after a power
// loss only fsync mode promises anything.
//
// # Concurrency
//
// Dir and Log methods are safe for concurrent use.
//
//   - Appends and structural changes (AppendAsLeader, AppendAsFollower,
//     Truncate*, DeleteRecordsBefore, ApplyRetention, ExpireProducers,
//     SetConfig, Close, a compaction swap) are serialized by Log.mu. AppendAsLeader never
//     waits for an fsync (except the rare leader-epoch checkpoint when a
//     new epoch writes its first batch); the roll that may precede it
//     creates files. Truncate* and DeleteRecordsBefore fsync.
//   - Readers (Read, ReadBytes, ScanHeaders, LogEndOffset and the other
//     offset getters, EndOffsetForEpoch) do not take Log.mu: they use an
//     atomically published segment list, per-segment reference counts, a
//     ring of the newest batches under Log.tailMu and the index mappings
//     under each index's RWMutex. OffsetForTimestamp, MaxTimestamp and
//     CompactionStats take Log.mu briefly. SetCompactionLimit is atomic.
//   - WaitDurable blocks until the flusher releases it or ctx ends.
//     OpenDir, OpenLog (recovery), Checkpoint, DeleteLog and Close do I/O
//     and may block for long.
//
// Goroutines: one flusher per Log (started by OpenLog, stopped by
// Log.Close), one deleter per Dir (started by OpenDir, stopped by
// Dir.Close), and log.cleaner.threads cleaner threads per Cleaner
// (started by Cleaner.Start, stopped and waited for by Cleaner.Stop).
//
// Lock order: Dir.ckptMu → Dir.mu; Cleaner.onceMu → Log.clean.mu →
// Log.mu → {Log.tailMu, Log.flushMu, epochCache.mu, index.mu}; Cleaner.mu
// is a leaf. Log.clean.mu is held by a cleaner thread for a whole pass
// over the log (taken with TryLock: a busy log is skipped) and by close
// only to wait for that pass. A Log calls into its Dir (checkpoint
// writes, file deletion) only without Log.mu held, or, for scheduling
// deletions, through the deleter's own leaf mutex. No lock is held across
// an fsync by the flusher; the swap fsyncs the directory once with Log.mu
// held (appends wait for it, as for a truncation).
//
// # Where to start reading
//
// log.go (the Log type), append.go (the write path), read.go (the read
// path and the tail ring), flush.go (group commit), load.go and
// recovery.go (opening and recovering), segment.go and index.go (files),
// dir.go (the log directory); for compaction cleaner.go (selection,
// threads), clean_log.go (a log's state and plan), clean_pass.go (a
// pass), compact_filter.go (the record rules), compact_map.go (the offset
// map), cleaned_segment.go (writing a compacted segment) and swap.go (the
// swap and its recovery).
package storage
