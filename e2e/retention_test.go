package e2e

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Retention as consumers see it: when old segments go, the log start offset
// moves, ListOffsets(earliest) and `kcat -o beginning` start later, and the
// newest records stay.

const (
	segmentBytes = 1 << 20 // the smallest segment.bytes samsa accepts
	valueSize    = 1000
)

// retentionBroker checks retention five times a second and unlinks deleted
// segments at once.
func retentionBroker(t *testing.T) *Broker {
	return startBroker(t, withProps(
		"log.retention.check.interval.ms", "200",
		"log.segment.delete.delay.ms", "0",
	))
}

// produceFiller writes n records of valueSize bytes to partition 0 in
// batches of 100, all with timestamp ts; the value of record i starts with
// "i:". The client must not compress, or the segments would not fill.
func produceFiller(t *testing.T, cl *kgo.Client, topic string, n int, ts time.Time) {
	t.Helper()
	ctx := testContext(t, 60*time.Second)
	for i := 0; i < n; i += 100 {
		var rs []*kgo.Record
		for j := i; j < min(i+100, n); j++ {
			v := fmt.Appendf(nil, "%d:", j)
			v = append(v, bytes.Repeat([]byte{'.'}, valueSize-len(v))...)
			rs = append(rs, &kgo.Record{Topic: topic, Value: v, Timestamp: ts})
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
}

// kcatFirstOffset returns the first offset `kcat -o beginning` reads.
func kcatFirstOffset(t *testing.T, b *Broker, topic string, partition int32) int64 {
	t.Helper()
	out := b.kcat(t, "", "-C", "-t", topic, "-p", strconv.Itoa(int(partition)), "-o", "beginning", "-c", "1", "-e", "-q", "-f", `%o\n`)
	o, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("kcat -o beginning printed %q", out)
	}
	return o
}

// checkNewestStay checks that the log still ends at end and that its last
// records are the given values.
func checkNewestStay(t *testing.T, b *Broker, topic string, end int64, last []string) {
	t.Helper()
	recs := readAll(t, b, topic)[0]
	if n := len(recs); n < len(last) || recs[n-1].Offset != end-1 {
		t.Fatalf("%s: %d records left; want at least %d, the last at offset %d", topic, n, len(last), end-1)
	}
	for i, v := range values(recs[len(recs)-len(last):]) {
		if !strings.HasPrefix(v, last[i]) {
			t.Fatalf("%s: record %d from the end is %.20q, want %q", topic, len(last)-i, v, last[i])
		}
	}
}

// checkConsumersStartAt checks that ListOffsets(earliest) and kcat agree on
// the log start offset, lo <= start.
func checkConsumersStartAt(t *testing.T, b *Broker, topic string, lo int64) {
	t.Helper()
	first := kcatFirstOffset(t, b, topic, 0)
	start, _ := offsets(t, b.Admin(t), topic)
	if first != start[0] || first < lo {
		t.Errorf("%s: kcat -o beginning reads from %d, ListOffsets(earliest) says %d; want both at %d or later", topic, first, start[0], lo)
	}
}

func TestRetentionByTimeMovesLogStart(t *testing.T) {
	needKcat(t)
	b := retentionBroker(t)
	const topic = "ret-time"
	adm := b.Admin(t)
	createTopic(t, adm, topic, 1, "segment.bytes", strconv.Itoa(segmentBytes), "retention.ms", "300000")
	cl := b.Client(t, kgo.ProducerBatchCompression(kgo.NoCompression()))

	// Three segments' worth of records written ten minutes ago (past the
	// five-minute retention), then ten written now. The old records in the
	// active segment stay with the new ones; the closed segments go.
	produceFiller(t, cl, topic, 3000, time.Now().Add(-10*time.Minute))
	var fresh []*kgo.Record
	var freshValues []string
	for i := 0; i < 10; i++ {
		fresh = append(fresh, &kgo.Record{Topic: topic, Value: []byte("fresh-" + strconv.Itoa(i))})
		freshValues = append(freshValues, "fresh-"+strconv.Itoa(i))
	}
	if err := cl.ProduceSync(testContext(t, 30*time.Second), fresh...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	waitUntil(t, 30*time.Second, "retention.ms deletes the old closed segments", func() error {
		start, _ := offsets(t, adm, topic)
		if start[0] < 2000 {
			return fmt.Errorf("log start offset %d", start[0])
		}
		return nil
	})
	checkConsumersStartAt(t, b, topic, 2000)
	checkNewestStay(t, b, topic, 3010, freshValues)
}

func TestRetentionBySizeMovesLogStart(t *testing.T) {
	needKcat(t)
	b := retentionBroker(t)
	const topic, retention = "ret-bytes", 3 * segmentBytes / 2
	adm := b.Admin(t)
	createTopic(t, adm, topic, 1, "segment.bytes", strconv.Itoa(segmentBytes), "retention.bytes", strconv.Itoa(retention))
	produceFiller(t, b.Client(t, kgo.ProducerBatchCompression(kgo.NoCompression())), topic, 4000, time.Now())

	// Whole segments go, oldest first, while what is left stays at least
	// retention.bytes: between 1.5 and 2.5 segments remain.
	var start int64
	waitUntil(t, 30*time.Second, "retention.bytes deletes the oldest segments", func() error {
		s, _ := offsets(t, adm, topic)
		start = s[0]
		if left := (4000 - start) * valueSize; left >= retention+segmentBytes {
			return fmt.Errorf("log start offset %d: %d records left", start, 4000-start)
		}
		return nil
	})
	if left := (4000 - start) * (valueSize + 100); left < retention {
		t.Errorf("only %d records (under %d bytes) left; retention.bytes=%d keeps at least that much", 4000-start, left, retention)
	}
	checkConsumersStartAt(t, b, topic, start)
	checkNewestStay(t, b, topic, 4000, []string{"3998:", "3999:"})
}

func TestTrimPrefixMovesLogStartAtOnce(t *testing.T) {
	needKcat(t)
	b := startBroker(t)
	const topic = "trim"
	adm := b.Admin(t)
	createTopic(t, adm, topic, 2)
	cl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for i := 0; i < 100; i++ {
		for p := int32(0); p < 2; p++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("v" + strconv.Itoa(i))})
		}
	}
	if err := cl.ProduceSync(testContext(t, 30*time.Second), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, 30*time.Second, "", samsaBin, "topic", "trim-prefix", topic, "-o", "40", "-p", "0", "-b", b.Addr).Stdout
	if !strings.Contains(out, "40") || !strings.Contains(out, "OK") {
		t.Errorf("trim-prefix printed:\n%s", out)
	}
	// No polling: DeleteRecords has taken effect when it answers.
	start, end := offsets(t, adm, topic)
	if start[0] != 40 || start[1] != 0 || end[0] != 100 || end[1] != 100 {
		t.Fatalf("after trim-prefix -o 40 -p 0: start offsets %v, end offsets %v; want 40 and 0, ends 100", start, end)
	}
	if first := kcatFirstOffset(t, b, topic, 0); first != 40 {
		t.Errorf("kcat -o beginning reads partition 0 from %d, want 40", first)
	}
	if first := kcatFirstOffset(t, b, topic, 1); first != 0 {
		t.Errorf("kcat -o beginning reads partition 1 from %d, want 0", first)
	}
	recs := readAll(t, b, topic)[0]
	if len(recs) != 60 || string(recs[0].Value) != "v40" {
		t.Errorf("partition 0 reads %d records from %q, want 60 from v40", len(recs), recs[0].Value)
	}
}
