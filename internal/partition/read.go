package partition

import (
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/storage"
)

// FetchParams is what one fetch asks of one partition.
type FetchParams struct {
	Offset             int64
	MaxBytes           int32
	MinOneBatch        bool  // return the first batch whole even if larger than MaxBytes (KIP-74)
	Isolation          int8  // 0 read_uncommitted, 1 read_committed
	CurrentLeaderEpoch int32 // -1 = not checked
	LastFetchedEpoch   int32 // -1 = not checked
}

// FetchResult is one partition's part of a fetch response. Records must be
// released (Release) once written.
type FetchResult struct {
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	Records          storage.Slice

	// Diverging is set instead of records when the fetcher's last fetched
	// epoch ends before its fetch offset here: it must truncate to
	// DivergingEndOffset first (KIP-320/595).
	Diverging          bool
	DivergingEpoch     int32
	DivergingEndOffset int64
}

// Release releases the records' file reference.
func (r *FetchResult) Release() { r.Records.Release() }

// checkLeader returns this replica's leader epoch if it leads and the
// caller's epoch (when given) matches.
func (p *Partition) checkLeader(current int32) (int32, *kerr.Error) {
	p.mu.Lock()
	leader, epoch := p.leading(), p.leaderEpoch
	p.mu.Unlock()
	switch {
	case !leader:
		return 0, kerr.NotLeaderForPartition
	case current >= 0 && current < epoch:
		return 0, kerr.FencedLeaderEpoch
	case current > epoch:
		return 0, kerr.UnknownLeaderEpoch
	}
	return epoch, nil
}

// lastStableOffset is the bound of read_committed reads: without
// transactions, the high watermark.
func (p *Partition) lastStableOffset() int64 { return p.hw.Load() }

// Fetch reads records for a consumer.
func (p *Partition) Fetch(fp FetchParams) (FetchResult, *kerr.Error) {
	if _, err := p.checkLeader(fp.CurrentLeaderEpoch); err != nil {
		return FetchResult{HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1}, err
	}
	res := FetchResult{
		HighWatermark:    p.hw.Load(),
		LastStableOffset: p.lastStableOffset(),
		LogStartOffset:   p.log.LogStartOffset(),
	}
	if fp.LastFetchedEpoch >= 0 {
		epoch, end := p.log.EndOffsetForEpoch(fp.LastFetchedEpoch)
		if epoch < 0 {
			// Newer than every epoch here: no common history to point at.
			return res, kerr.OffsetOutOfRange
		}
		if epoch != fp.LastFetchedEpoch || end < fp.Offset {
			res.Diverging, res.DivergingEpoch, res.DivergingEndOffset = true, epoch, end
			return res, nil
		}
	}
	if fp.Offset < res.LogStartOffset || fp.Offset > p.log.LogEndOffset() {
		return res, kerr.OffsetOutOfRange
	}
	bound := res.HighWatermark
	if fp.Isolation == 1 {
		bound = res.LastStableOffset
	}
	if fp.Offset >= bound {
		return res, nil
	}
	slice, err := p.log.Read(fp.Offset, bound, fp.MaxBytes, fp.MinOneBatch)
	if err != nil {
		return res, p.readError(err)
	}
	res.Records = slice
	return res, nil
}

// readError maps a storage read error to the Kafka error a client gets.
func (p *Partition) readError(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	p.logger.Error("read failed", "err", err)
	return kerr.KafkaStorageError
}

// Special ListOffsets timestamps.
const (
	LatestTimestamp        = -1
	EarliestTimestamp      = -2
	MaxTimestamp           = -3
	EarliestLocalTimestamp = -4
)

// OffsetResult answers a ListOffsets lookup; Offset -1 means none.
type OffsetResult struct {
	Timestamp   int64
	Offset      int64
	LeaderEpoch int32
}

// ListOffset looks up an offset by timestamp, or one of the special
// timestamps, as ListOffsets does.
func (p *Partition) ListOffset(timestamp int64, isolation int8, currentEpoch int32) (OffsetResult, *kerr.Error) {
	epoch, kerrCode := p.checkLeader(currentEpoch)
	if kerrCode != nil {
		return OffsetResult{}, kerrCode
	}
	p.mu.Lock()
	epochStart := p.epochStart
	p.mu.Unlock()
	// A new leader whose high watermark has not caught up with its own log
	// yet could answer with an offset older than one it already gave out
	// (KIP-207): for the latest offset, and for a timestamp found at or
	// past the high watermark, the client is told to retry. The earliest
	// offset is never in doubt.
	bound := p.hw.Load()
	notYet := bound < epochStart
	if isolation == 1 {
		bound = p.lastStableOffset()
	}
	none := OffsetResult{Timestamp: -1, Offset: -1, LeaderEpoch: -1}
	switch timestamp {
	case LatestTimestamp:
		if notYet {
			return OffsetResult{}, kerr.OffsetNotAvailable
		}
		return OffsetResult{Timestamp: -1, Offset: bound, LeaderEpoch: epoch}, nil
	case EarliestTimestamp, EarliestLocalTimestamp:
		return OffsetResult{Timestamp: -1, Offset: p.log.LogStartOffset(), LeaderEpoch: p.log.EarliestEpoch()}, nil
	}
	var (
		to  storage.TimestampOffset
		ok  bool
		err error
	)
	switch {
	case timestamp == MaxTimestamp:
		to, ok, err = p.log.MaxTimestamp()
	case timestamp >= 0:
		to, ok, err = p.log.OffsetForTimestamp(timestamp)
	default:
		return none, nil // timestamps of tiered storage: samsa keeps everything local
	}
	if err != nil {
		return none, p.readError(err)
	}
	if !ok || to.Offset >= bound {
		if notYet {
			return OffsetResult{}, kerr.OffsetNotAvailable
		}
		return none, nil
	}
	return OffsetResult{Timestamp: to.Timestamp, Offset: to.Offset, LeaderEpoch: to.LeaderEpoch}, nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: the largest epoch not
// above the requested one and the offset where it ended (the log end for the
// current epoch).
func (p *Partition) EndOffsetForEpoch(epoch, currentEpoch int32) (int32, int64, *kerr.Error) {
	if _, err := p.checkLeader(currentEpoch); err != nil {
		return -1, -1, err
	}
	e, end := p.log.EndOffsetForEpoch(epoch)
	return e, end, nil
}

// DeleteRecords moves the log start offset up to offset (-1 = the high
// watermark) and returns the new low watermark. A topic whose
// cleanup.policy lacks delete (compacted only, as __consumer_offsets) is
// POLICY_VIOLATION, as in Kafka.
func (p *Partition) DeleteRecords(offset int64) (int64, *kerr.Error) {
	if _, err := p.checkLeader(-1); err != nil {
		return -1, err
	}
	if !slices.Contains(p.cfg.Load().topic.CleanupPolicy, "delete") {
		return -1, kerr.PolicyViolation
	}
	hw := p.hw.Load()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, kerr.OffsetOutOfRange
	}
	low, err := p.log.DeleteRecordsBefore(offset)
	if err != nil {
		return -1, p.readError(err)
	}
	p.wake()
	return low, nil
}
