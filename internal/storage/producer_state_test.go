package storage

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/record"
)

const testPID = 1001

// produceRun appends batches 0..count-1 of two records each for testPID at
// epoch 1, sequences 0, 2, 4, ...
func produceRun(t *testing.T, l *Log, count int) []AppendResult {
	t.Helper()
	var out []AppendResult
	for i := 0; i < count; i++ {
		out = append(out, appendOK(t, l, spec{n: 2, value: 20, ts: int64(100 + i), pid: testPID, epoch: 1, seq: int32(2 * i)}))
	}
	return out
}

// checkIdempotence asserts Kafka's rules against a producer that wrote
// produced (batches of two records from sequence 0 at epoch 1).
func checkIdempotence(t *testing.T, l *Log, produced []AppendResult) {
	t.Helper()
	n := len(produced)
	end := l.LogEndOffset()
	for i := max(0, n-maxBatchesPerProducer); i < n; i++ {
		res, err := l.AppendAsLeader(makeBatch(spec{n: 2, value: 20, pid: testPID, epoch: 1, seq: int32(2 * i)}), 0, 0)
		if err != nil {
			t.Fatalf("retry of batch %d: %v", i, err)
		}
		if !res.Duplicate || res.BaseOffset != produced[i].BaseOffset || res.LastOffset != produced[i].LastOffset {
			t.Fatalf("retry of batch %d = %+v, want duplicate at %d-%d", i, res, produced[i].BaseOffset, produced[i].LastOffset)
		}
	}
	if l.LogEndOffset() != end {
		t.Fatal("a duplicate was written")
	}
	reject := []struct {
		name string
		s    spec
		want error
	}{
		{"a retry older than the last five", spec{n: 2, pid: testPID, epoch: 1, seq: int32(2 * (n - 6))}, kerr.OutOfOrderSequenceNumber},
		{"a sequence gap", spec{n: 1, pid: testPID, epoch: 1, seq: int32(2*n + 1)}, kerr.OutOfOrderSequenceNumber},
		{"an old producer epoch", spec{n: 1, pid: testPID, epoch: 0, seq: int32(2 * n)}, kerr.InvalidProducerEpoch},
		{"a new epoch not starting at 0", spec{n: 1, pid: testPID, epoch: 2, seq: 5}, kerr.OutOfOrderSequenceNumber},
	}
	for _, c := range reject {
		if n < 6 && c.name == "a retry older than the last five" {
			continue
		}
		if _, err := l.AppendAsLeader(makeBatch(c.s), 0, 0); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if l.LogEndOffset() != end {
		t.Fatal("a rejected batch was written")
	}
}

func TestIdempotenceRules(t *testing.T) {
	_, l, _ := newLog(t, testConfig())
	produced := produceRun(t, l, 8)
	checkIdempotence(t, l, produced)

	t.Run("the next sequence is accepted", func(t *testing.T) {
		res := appendOK(t, l, spec{n: 1, pid: testPID, epoch: 1, seq: 16})
		if res.Duplicate || res.BaseOffset != produced[7].LastOffset+1 {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("an unknown producer may start at any sequence", func(t *testing.T) {
		appendOK(t, l, spec{n: 1, pid: 77, epoch: 3, seq: 1234})
		appendOK(t, l, spec{n: 1, pid: 77, epoch: 3, seq: 1235})
	})
	t.Run("an epoch bump starts at sequence 0 and forgets the old batches", func(t *testing.T) {
		appendOK(t, l, spec{n: 1, pid: 77, epoch: 4, seq: 0})
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 1, pid: 77, epoch: 3, seq: 1235}), 0, 0); !errors.Is(err, kerr.InvalidProducerEpoch) {
			t.Fatalf("retry at the old epoch: %v", err)
		}
	})
	t.Run("sequences wrap at MaxInt32", func(t *testing.T) {
		wrapped := appendOK(t, l, spec{n: 3, pid: 88, epoch: 0, seq: math.MaxInt32 - 1}) // sequences MaxInt32-1, MaxInt32, 0
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 1, pid: 88, epoch: 0, seq: 2}), 0, 0); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
			t.Fatalf("gap after a wrapped batch: %v", err)
		}
		appendOK(t, l, spec{n: 1, pid: 88, epoch: 0, seq: 1})
		res, err := l.AppendAsLeader(makeBatch(spec{n: 3, pid: 88, epoch: 0, seq: math.MaxInt32 - 1}), 0, 0)
		if err != nil || !res.Duplicate || res.BaseOffset != wrapped.BaseOffset {
			t.Fatalf("retry of the wrapped batch: %+v %v", res, err)
		}
		appendOK(t, l, spec{n: 1, pid: 89, epoch: 0, seq: math.MaxInt32})
		appendOK(t, l, spec{n: 1, pid: 89, epoch: 0, seq: 0})
	})
}

func TestIdempotenceSurvivesRestart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := map[bool]string{false: "clean close", true: "kill -9"}[crash]
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.SegmentBytes = 300 // several rolls, so snapshots and replay both matter
			path := t.TempDir()
			d := openDir(t, path)
			l := openTestLog(t, d, cfg)
			produced := produceRun(t, l, 9)
			appendOK(t, l, spec{n: 1, pid: 5, epoch: 0, seq: 0})
			if l.NumSegments() < 3 {
				t.Fatalf("%d segments", l.NumSegments())
			}
			if crash {
				d.crash()
			} else if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			d = openDir(t, path)
			if d.Clean() == crash {
				t.Fatalf("Clean() = %v after %s", d.Clean(), name)
			}
			l = openTestLog(t, d, cfg)
			checkIdempotence(t, l, produced)
			appendOK(t, l, spec{n: 1, pid: 5, epoch: 0, seq: 1})
		})
	}
}

func TestProducerStateLeavesWithItsLog(t *testing.T) {
	cfg := testConfig()
	cfg.SegmentBytes = 600
	_, l, _ := newLog(t, cfg)
	produceRun(t, l, 3)
	for i := 0; i < 10; i++ {
		appendOK(t, l, spec{n: 1, value: 100})
	}
	if _, err := l.DeleteRecordsBefore(l.LogEndOffset() - 1); err != nil {
		t.Fatal(err)
	}
	// The producer's batches are gone, so it is unknown again: a
	// sequence that would have been a gap is accepted.
	res := appendOK(t, l, spec{n: 1, pid: testPID, epoch: 1, seq: 500})
	if res.Duplicate {
		t.Fatal("duplicate of a deleted batch")
	}
}

func TestExpireProducers(t *testing.T) {
	cfg := testConfig()
	cfg.ProducerIDExpirationMs = 1000
	_, l, _ := newLog(t, cfg)
	appendOK(t, l, spec{n: 1, ts: 10_000, pid: 1, epoch: 0, seq: 0})
	appendOK(t, l, spec{n: 1, ts: 10_500, pid: 2, epoch: 0, seq: 0})
	if n := l.ExpireProducers(10_999); n != 0 {
		t.Fatalf("expired %d before their time", n)
	}
	if n := l.ExpireProducers(11_000); n != 1 {
		t.Fatalf("expired %d at 11000, want producer 1", n)
	}
	appendOK(t, l, spec{n: 1, pid: 1, epoch: 0, seq: 99}) // unknown again
	if _, err := l.AppendAsLeader(makeBatch(spec{n: 1, pid: 2, epoch: 0, seq: 99}), 0, 0); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("producer 2 should still be known: %v", err)
	}
}

func TestSnapshotFormat(t *testing.T) {
	ps := newProducerState()
	for i := 0; i < 7; i++ {
		h := record.Header{ProducerID: 9, ProducerEpoch: 2, BaseSequence: int32(i), BaseOffset: int64(10 * i), LastOffsetDelta: 0, MaxTimestamp: int64(i)}
		ps.update(&h)
	}
	h := record.Header{ProducerID: 3, ProducerEpoch: 0, BaseSequence: 0, BaseOffset: 100, LastOffsetDelta: 4, MaxTimestamp: 5, Attributes: record.TransactionalBit}
	ps.update(&h)
	b := encodeSnapshot(nil, ps, 123)
	got, off, err := decodeSnapshot(b)
	if err != nil || off != 123 {
		t.Fatalf("decode: %v, offset %d", err, off)
	}
	if again := encodeSnapshot(nil, got, 123); !bytes.Equal(again, b) {
		t.Fatal("snapshot does not re-encode to the same bytes")
	}
	if e := got.producers[9]; e.n != 5 || e.last().lastSeq != 6 || e.batches[e.head].firstSeq != 2 {
		t.Fatalf("producer 9 = %+v", e)
	}
	if e := got.producers[3]; e.currentTxnFirstOffset != 100 {
		t.Fatalf("transaction start lost: %+v", e)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if _, _, err := decodeSnapshot(bad); err == nil {
			t.Fatalf("flipped bit in byte %d not detected", i)
		}
	}
	for n := 0; n < len(b); n++ {
		if _, _, err := decodeSnapshot(b[:n]); err == nil {
			t.Fatalf("snapshot cut to %d bytes accepted", n)
		}
	}
}

func TestTransactionDataModel(t *testing.T) {
	e := abortedTxn{producerID: 7, firstOffset: 100, lastOffset: 180, lastStableOffset: 90}
	b := appendAbortedTxn(nil, e)
	if len(b) != txnEntrySize {
		t.Fatalf("%d bytes", len(b))
	}
	if got, err := decodeAbortedTxn(b); err != nil || got != e {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if _, err := decodeAbortedTxn(b[:20]); err == nil {
		t.Fatal("short entry accepted")
	}

	ps := newProducerState()
	txn := record.Header{ProducerID: 1, ProducerEpoch: 0, BaseOffset: 50, Attributes: record.TransactionalBit}
	ps.update(&txn)
	other := record.Header{ProducerID: 2, ProducerEpoch: 0, BaseOffset: 40, Attributes: record.TransactionalBit}
	ps.update(&other)
	if got := ps.firstUnstableOffset(); got != 40 {
		t.Fatalf("first unstable offset %d", got)
	}
	marker := record.Header{ProducerID: 2, ProducerEpoch: 0, BaseOffset: 60, Attributes: record.TransactionalBit | record.ControlBit}
	ps.update(&marker)
	if got := ps.firstUnstableOffset(); got != 50 {
		t.Fatalf("first unstable offset %d after producer 2's marker", got)
	}
	if n := ps.expire(1<<40, 1); n != 1 {
		t.Fatalf("expired %d; a producer inside a transaction must stay", n)
	}
}
