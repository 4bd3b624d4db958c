package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kcat speaks librdkafka 2.0's protocol versions; these tests check that what
// it writes and reads through samsa comes back exactly.

func TestKcatListsBrokerAndTopics(t *testing.T) {
	needKcat(t)
	b := startBroker(t)
	adm := b.Admin(t)
	createTopic(t, adm, "alpha", 3)
	createTopic(t, adm, "beta", 1)

	out := b.kcat(t, "", "-L")
	for _, want := range []string{
		" 1 brokers:\n",
		"  broker 1 at " + b.Addr,
		"topic \"alpha\" with 3 partitions:",
		"topic \"beta\" with 1 partitions:",
		"partition 2, leader 1, replicas: 1, isrs: 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kcat -L lacks %q:\n%s", want, out)
		}
	}
}

func TestKcatKeyedRoundTrip(t *testing.T) {
	needKcat(t)
	b := startBroker(t)
	createTopic(t, b.Admin(t), "keyed", 4)

	// Ten keys, three values each, interleaved: librdkafka hashes each key to
	// one partition, so a key's values must come back on one partition, in
	// the order they were sent.
	var in strings.Builder
	sent := map[string][]string{}
	for round := 0; round < 3; round++ {
		for k := 0; k < 10; k++ {
			key, val := fmt.Sprintf("key-%d", k), fmt.Sprintf("value-%d-%d", k, round)
			fmt.Fprintf(&in, "%s:%s\n", key, val)
			sent[key] = append(sent[key], val)
		}
	}
	b.kcat(t, in.String(), "-P", "-t", "keyed", "-K:")
	out := b.kcat(t, "", "-C", "-t", "keyed", "-e", "-q", "-f", `%k=%s %p %o\n`)

	line := regexp.MustCompile(`^(key-\d+)=(\S+) (\d+) (\d+)$`)
	got := map[string][]string{}
	partitionOf := map[string]string{}
	lastOffset := map[string]int{}
	partitions := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected kcat line %q in:\n%s", l, out)
		}
		key, val, part := m[1], m[2], m[3]
		off, _ := strconv.Atoi(m[4])
		if p, ok := partitionOf[key]; ok && p != part {
			t.Errorf("key %s on partitions %s and %s", key, p, part)
		}
		if last, ok := lastOffset[key]; ok && off <= last {
			t.Errorf("key %s: offset %d after %d on one partition", key, off, last)
		}
		partitionOf[key], lastOffset[key] = part, off
		partitions[part] = true
		got[key] = append(got[key], val)
	}
	for key, vals := range sent {
		if strings.Join(got[key], ",") != strings.Join(vals, ",") {
			t.Errorf("key %s: got values %v, sent %v", key, got[key], vals)
		}
	}
	if len(got) != len(sent) {
		t.Errorf("got %d keys back, sent %d", len(got), len(sent))
	}
	t.Logf("10 keys landed on %d of 4 partitions", len(partitions))
}

func TestKcatCompressionCodecs(t *testing.T) {
	needKcat(t)
	b := startBroker(t)
	adm := b.Admin(t)

	// Values that compress well and values that do not, with bytes a
	// careless codec path would mangle.
	vals := []string{
		strings.Repeat("samsa ", 3000),
		"ünïcödé ✓ 日本語",
		"tab\tseparated\tvalue",
		"x",
	}
	for i := 0; i < 40; i++ {
		vals = append(vals, fmt.Sprintf("record %d %s", i, strings.Repeat(strconv.Itoa(i*7919), i)))
	}
	input := strings.Join(vals, "\n") + "\n"

	for _, codec := range []struct {
		name string
		id   uint8 // the batch attributes' compression codec
	}{{"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}} {
		t.Run(codec.name, func(t *testing.T) {
			topic := "codec-" + codec.name
			createTopic(t, adm, topic, 1)
			b.kcat(t, input, "-P", "-t", topic, "-z", codec.name, "-X", "linger.ms=50")

			recs := readAll(t, b, topic)[0]
			if got := values(recs); strings.Join(got, "\n") != strings.Join(vals, "\n") {
				t.Fatalf("franz-go read back %d values that differ from the %d sent", len(got), len(vals))
			}
			out := b.kcat(t, "", "-C", "-t", topic, "-e", "-q", "-f", `%s\n`)
			if out != input {
				t.Fatalf("kcat read back %d bytes that differ from the %d sent", len(out), len(input))
			}
			for _, r := range recs {
				c := r.Attrs.CompressionType()
				if c != codec.id {
					t.Fatalf("offset %d is in a batch with codec %d, want %d (%s as kcat sent it)", r.Offset, c, codec.id, codec.name)
				}
			}
		})
	}
}

func TestKcatOffsetsByTime(t *testing.T) {
	needKcat(t)
	b := startBroker(t)
	createTopic(t, b.Admin(t), "times", 1)

	// Twenty records one second apart, an hour ago: the first ten each in a
	// batch of its own (found through the time index), the last ten in one
	// batch (found by scanning inside it).
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	ts := func(i int) int64 { return base.Add(time.Duration(i) * time.Second).UnixMilli() }
	cl := b.Client(t, kgo.DefaultProduceTopic("times"))
	ctx := testContext(t, 30*time.Second)
	rec := func(i int) *kgo.Record {
		return &kgo.Record{Value: []byte("t" + strconv.Itoa(i)), Timestamp: time.UnixMilli(ts(i))}
	}
	for i := 0; i < 10; i++ {
		if err := cl.ProduceSync(ctx, rec(i)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var batch []*kgo.Record
	for i := 10; i < 20; i++ {
		batch = append(batch, rec(i))
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		ms   int64
		want int64 // the first offset with a timestamp at or after ms; -1 none
	}{
		{"before the first record", ts(0) - 60_000, 0},
		{"exactly a record's time", ts(3), 3},
		{"between two batches", ts(3) + 500, 4},
		{"inside a batch", ts(14) + 1, 15},
		{"the last record's time", ts(19), 19},
		{"after the last record", ts(19) + 1, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := b.kcat(t, "", "-Q", "-t", fmt.Sprintf("times:0:%d", c.ms))
			if want := fmt.Sprintf("times [0] offset %d\n", c.want); q != want {
				t.Errorf("kcat -Q: got %q, want %q", q, want)
			}
			if c.want < 0 {
				return
			}
			out := b.kcat(t, "", "-C", "-t", "times", "-p", "0", "-o", fmt.Sprintf("s@%d", c.ms), "-e", "-q", "-f", `%o %T %s\n`)
			first, _, _ := strings.Cut(out, "\n")
			if want := fmt.Sprintf("%d %d t%d", c.want, ts(int(c.want)), c.want); first != want {
				t.Errorf("kcat -o s@%d starts with %q, want %q", c.ms, first, want)
			}
			if n := strings.Count(out, "\n"); n != 20-int(c.want) {
				t.Errorf("kcat -o s@%d read %d records, want %d", c.ms, n, 20-c.want)
			}
		})
	}
}
