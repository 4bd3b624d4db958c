package storage

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/samsa-io/samsa/internal/record"
)

// maxBatchesPerProducer is how many recent batches per producer the broker
// remembers for duplicate detection: the most a client may have in flight
// (max.in.flight.requests.per.connection ≤ 5 with idempotence).
const maxBatchesPerProducer = 5

// batchMeta describes one batch an idempotent producer wrote.
type batchMeta struct {
	firstSeq    int32
	lastSeq     int32
	firstOffset int64
	lastOffset  int64
	timestamp   int64 // the batch's max timestamp, ms
}

// producerEntry is what the log knows of one producer id.
type producerEntry struct {
	id    int64
	epoch int16

	// batches is a ring of the last n ≤ 5 batches of the current epoch,
	// oldest at head.
	batches [maxBatchesPerProducer]batchMeta
	head, n int

	lastTimestamp int64 // max timestamp of the newest batch, ms

	// Transaction state, carried in snapshots now and used once
	// transactions arrive: the coordinator epoch of the last marker, and
	// the first offset of the transaction in progress (-1 when none), which
	// holds back the last stable offset and keeps the entry from expiring.
	coordinatorEpoch      int32
	currentTxnFirstOffset int64
}

func (e *producerEntry) last() *batchMeta {
	return &e.batches[(e.head+e.n-1)%maxBatchesPerProducer]
}

// addBatch remembers a batch; a new epoch forgets the old epoch's batches.
func (e *producerEntry) addBatch(epoch int16, m batchMeta) {
	if epoch != e.epoch {
		e.epoch, e.head, e.n = epoch, 0, 0
	}
	if e.n == maxBatchesPerProducer {
		e.head = (e.head + 1) % maxBatchesPerProducer
		e.n--
	}
	e.batches[(e.head+e.n)%maxBatchesPerProducer] = m
	e.n++
	e.lastTimestamp = m.timestamp
}

// findDuplicate returns the remembered batch with exactly this sequence
// range, as Kafka's ProducerStateEntry.findDuplicateBatch.
func (e *producerEntry) findDuplicate(epoch int16, firstSeq, lastSeq int32) (batchMeta, bool) {
	if epoch != e.epoch {
		return batchMeta{}, false
	}
	for i := 0; i < e.n; i++ {
		b := &e.batches[(e.head+i)%maxBatchesPerProducer]
		if b.firstSeq == firstSeq && b.lastSeq == lastSeq {
			return *b, true
		}
	}
	return batchMeta{}, false
}

// producerState is the idempotent-producer table of one partition (Kafka's
// ProducerStateManager, non-transactional part). Guarded by Log.mu.
type producerState struct {
	producers map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{producers: map[int64]*producerEntry{}}
}

// check validates a leader append of an idempotent batch before it is
// written. A retry of one of the producer's last five batches returns that
// batch's metadata with dup set, and must not be written. Otherwise the
// rules are Kafka's ProducerAppendInfo for client appends:
//
//   - epoch below the producer's current epoch: INVALID_PRODUCER_EPOCH;
//   - unknown producer id (never seen, expired, or removed with its data):
//     any sequence is accepted (since Kafka 2.5, KIP-360, the broker no
//     longer answers UNKNOWN_PRODUCER_ID);
//   - new (higher) epoch: the sequence must be 0, else
//     OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - same epoch: the base sequence must follow the last one (MaxInt32
//     wraps to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER.
//
// Control batches (transaction markers) only check the epoch.
func (ps *producerState) check(h *record.Header) (dup batchMeta, isDup bool, err error) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		return batchMeta{}, false, nil
	}
	if !h.Control() {
		if m, ok := e.findDuplicate(h.ProducerEpoch, h.BaseSequence, h.LastSequence()); ok {
			return m, true, nil
		}
	}
	if h.ProducerEpoch < e.epoch {
		return batchMeta{}, false, fmt.Errorf("producer %d epoch %d is below current epoch %d: %w",
			h.ProducerID, h.ProducerEpoch, e.epoch, errInvalidProducerEpoch)
	}
	if h.Control() {
		return batchMeta{}, false, nil
	}
	if h.ProducerEpoch != e.epoch {
		if h.BaseSequence != 0 {
			return batchMeta{}, false, fmt.Errorf("producer %d new epoch %d must start at sequence 0, not %d: %w",
				h.ProducerID, h.ProducerEpoch, h.BaseSequence, errOutOfOrderSequence)
		}
		return batchMeta{}, false, nil
	}
	if e.n > 0 && !inSequence(e.last().lastSeq, h.BaseSequence) {
		return batchMeta{}, false, fmt.Errorf("producer %d epoch %d sequence %d does not follow %d: %w",
			h.ProducerID, h.ProducerEpoch, h.BaseSequence, e.last().lastSeq, errOutOfOrderSequence)
	}
	return batchMeta{}, false, nil
}

// inSequence reports whether next directly follows last.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == int32(^uint32(0)>>1))
}

// update records a written batch (leader, follower or replay). The batch
// must carry a producer id. It allocates only for a new producer id.
func (ps *producerState) update(h *record.Header) {
	e := ps.producers[h.ProducerID]
	if e == nil {
		e = &producerEntry{id: h.ProducerID, epoch: h.ProducerEpoch, coordinatorEpoch: -1, currentTxnFirstOffset: -1}
		ps.producers[h.ProducerID] = e
	}
	if h.Control() {
		// A marker ends the producer's transaction; a new epoch forgets
		// the old epoch's batches (Kafka's maybeUpdateProducerEpoch).
		if h.ProducerEpoch != e.epoch {
			e.epoch, e.head, e.n = h.ProducerEpoch, 0, 0
		}
		e.currentTxnFirstOffset = -1
		e.lastTimestamp = h.MaxTimestamp
		return
	}
	e.addBatch(h.ProducerEpoch, batchMeta{
		firstSeq:    h.BaseSequence,
		lastSeq:     h.LastSequence(),
		firstOffset: h.BaseOffset,
		lastOffset:  h.LastOffset(),
		timestamp:   h.MaxTimestamp,
	})
	if h.Transactional() && e.currentTxnFirstOffset < 0 {
		e.currentTxnFirstOffset = h.BaseOffset
	}
}

// lastOffset is the newest offset the producer wrote, or -1.
func (e *producerEntry) lastOffset() int64 {
	if e.n == 0 {
		return -1
	}
	return e.last().lastOffset
}

// evictBefore removes producers whose newest batch ends below logStart: an
// idempotency cache must never outlive the log it describes.
func (ps *producerState) evictBefore(logStart int64) int {
	removed := 0
	for id, e := range ps.producers {
		if e.currentTxnFirstOffset < 0 && e.lastOffset() < logStart {
			delete(ps.producers, id)
			removed++
		}
	}
	return removed
}

// expire removes producers with no transaction in progress whose newest
// batch timestamp is expirationMs or more before now.
func (ps *producerState) expire(now, expirationMs int64) int {
	removed := 0
	for id, e := range ps.producers {
		if e.currentTxnFirstOffset < 0 && now-e.lastTimestamp >= expirationMs {
			delete(ps.producers, id)
			removed++
		}
	}
	return removed
}

// firstUnstableOffset is the smallest first offset of a transaction in
// progress, or -1: the bound of the last stable offset once transactions
// are implemented.
func (ps *producerState) firstUnstableOffset() int64 {
	first := int64(-1)
	for _, e := range ps.producers {
		if o := e.currentTxnFirstOffset; o >= 0 && (first < 0 || o < first) {
			first = o
		}
	}
	return first
}

// clear forgets every producer.
func (ps *producerState) clear() { clear(ps.producers) }

// ProducerInfo is what the log knows of one producer: one entry of a
// DescribeProducers answer.
type ProducerInfo struct {
	ID    int64
	Epoch int16
	// LastSequence is the last sequence number of the producer's newest
	// batch in its current epoch, -1 when it has none (after a marker
	// that bumped the epoch).
	LastSequence int32
	// LastTimestamp is the max timestamp of its newest batch or marker, ms.
	LastTimestamp int64
	// CoordinatorEpoch is the coordinator epoch of its last transaction
	// marker, -1 when none.
	CoordinatorEpoch int32
	// TxnStartOffset is the first offset of its transaction in progress,
	// -1 when none.
	TxnStartOffset int64
}

// Producers returns the producers the log remembers for idempotence and
// transactions (Kafka's active producers), by ascending id.
func (l *Log) Producers() []ProducerInfo {
	l.mu.Lock()
	out := make([]ProducerInfo, 0, len(l.producers.producers))
	for _, e := range l.producers.producers {
		info := ProducerInfo{
			ID:               e.id,
			Epoch:            e.epoch,
			LastSequence:     -1,
			LastTimestamp:    e.lastTimestamp,
			CoordinatorEpoch: e.coordinatorEpoch,
			TxnStartOffset:   e.currentTxnFirstOffset,
		}
		if e.n > 0 {
			info.LastSequence = e.last().lastSeq
		}
		out = append(out, info)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b ProducerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
