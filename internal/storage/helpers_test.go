package storage

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/samsa-io/samsa/internal/record"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runCrashChild())
	}
	goleak.VerifyTestMain(m)
}

// spec describes a test batch.
type spec struct {
	n          int   // records, ≥ 1
	value      int   // value bytes per record
	ts         int64 // first record's timestamp, ms
	tsStep     int64 // timestamp increment per record
	pid        int64 // producer id; 0 means none (-1 in the batch)
	epoch      int16
	seq        int32
	appendTime bool // LogAppendTime attribute
	codec      record.Codec
	txn        bool
}

// makeBatch encodes an uncompressed v2 batch (the codec bits, when set,
// only label it) with a valid CRC and base offset 0.
func makeBatch(s spec) []byte {
	if s.n == 0 {
		s.n = 1
	}
	b := make([]byte, record.HeaderSize, record.HeaderSize+s.n*(s.value+16))
	for i := 0; i < s.n; i++ {
		var body []byte
		body = append(body, 0) // attributes
		body = binary.AppendVarint(body, int64(i)*s.tsStep)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1) // null key
		body = binary.AppendVarint(body, int64(s.value))
		for j := 0; j < s.value; j++ {
			body = append(body, byte(i+j))
		}
		body = binary.AppendVarint(body, 0) // headers
		b = binary.AppendVarint(b, int64(len(body)))
		b = append(b, body...)
	}
	pid, epoch, seq := int64(-1), int16(-1), int32(-1)
	if s.pid != 0 {
		pid, epoch, seq = s.pid, s.epoch, s.seq
	}
	attrs := uint16(s.codec)
	if s.appendTime {
		attrs |= record.TimestampTypeBit
	}
	if s.txn {
		attrs |= record.TransactionalBit
	}
	maxTs := s.ts
	for i := 1; i < s.n; i++ {
		maxTs = max(maxTs, s.ts+int64(i)*s.tsStep)
	}
	binary.BigEndian.PutUint64(b[0:], 0)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-record.LogOverhead))
	binary.BigEndian.PutUint32(b[12:], math.MaxUint32) // epoch -1
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], attrs)
	binary.BigEndian.PutUint32(b[23:], uint32(s.n-1))
	binary.BigEndian.PutUint64(b[27:], uint64(s.ts))
	binary.BigEndian.PutUint64(b[35:], uint64(maxTs))
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[57:], uint32(s.n))
	record.SetCRC(b)
	return b
}

// testConfig is a small-segment, page-cache configuration.
func testConfig() LogConfig {
	c := DefaultLogConfig()
	c.SegmentBytes = 8 << 10
	c.IndexIntervalBytes = 256
	c.SegmentIndexBytes = 1 << 10
	c.FlushMessages = math.MaxInt64
	c.FileDeleteDelayMs = 0
	c.RetentionMs = -1
	return c
}

var testTP = TopicPartition{Topic: "orders-eu", Partition: 3}
var testTopicID = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// openDir opens a Dir closed at the end of the test.
func openDir(t testing.TB, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path, DirOptions{})
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// openTestLog opens testTP in a fresh or existing directory.
func openTestLog(t testing.TB, d *Dir, cfg LogConfig) *Log {
	t.Helper()
	l, err := d.OpenLog(testTP, testTopicID, cfg)
	if err != nil {
		t.Fatalf("OpenLog: %v", err)
	}
	return l
}

// newLog opens a log in a new temporary directory.
func newLog(t testing.TB, cfg LogConfig) (*Dir, *Log, string) {
	t.Helper()
	path := t.TempDir()
	d := openDir(t, path)
	return d, openTestLog(t, d, cfg), path
}

// appendOK appends a batch as leader (epoch 0), failing the test on error.
func appendOK(t testing.TB, l *Log, s spec) AppendResult {
	t.Helper()
	res, err := l.AppendAsLeader(makeBatch(s), 0, s.ts)
	if err != nil {
		t.Fatalf("AppendAsLeader: %v", err)
	}
	return res
}

// batches returns the headers of every batch from offset to the log end,
// read through ReadBytes, checking that they are whole, CRC-valid and
// contiguous.
func batches(t testing.TB, l *Log, from int64) []record.Header {
	t.Helper()
	var out []record.Header
	next := from
	for next < l.LogEndOffset() {
		b, err := l.ReadBytes(next, math.MaxInt64, 1<<20)
		if err != nil {
			t.Fatalf("ReadBytes(%d): %v", next, err)
		}
		if len(b) == 0 {
			t.Fatalf("ReadBytes(%d) empty below log end %d", next, l.LogEndOffset())
		}
		for len(b) > 0 {
			h, err := record.ParseHeader(b)
			if err != nil || h.Size() > int64(len(b)) {
				t.Fatalf("partial batch at %d", next)
			}
			if record.ComputeCRC(b[:h.Size()]) != h.CRC {
				t.Fatalf("batch at %d fails its CRC", h.BaseOffset)
			}
			if len(out) > 0 && h.BaseOffset != out[len(out)-1].NextOffset() {
				t.Fatalf("batch at %d does not follow %d", h.BaseOffset, out[len(out)-1].LastOffset())
			}
			out = append(out, h)
			next = h.NextOffset()
			b = b[h.Size():]
		}
	}
	return out
}

// eventually polls cond until it holds or 10 s pass: the one place tests
// wait for another goroutine.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// crash simulates kill -9 of the process owning d: goroutines stop and
// descriptors close, but nothing is flushed, trimmed, checkpointed or
// marked clean. The page cache (what was written) survives, as it does
// after kill -9.
func (d *Dir) crash() {
	d.mu.Lock()
	d.closed = true
	logs := make([]*Log, 0, len(d.logs))
	for _, l := range d.logs {
		logs = append(logs, l)
	}
	d.mu.Unlock()
	for _, l := range logs {
		l.close(false)
	}
	d.del.stop()
	d.lock.Close()
}

// segmentFiles lists a log's .log files, oldest first.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+logSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
