package storage

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// FuzzCompact writes random keyed records and tombstones in random
// batches and codecs, with compaction passes and clock moves in between,
// and checks after every pass that compaction only removed records: what
// is left was written at that offset, offsets increase, and every key's
// latest record is the latest written one, or, for a tombstone, gone
// altogether once delete.retention.ms has passed since it was written.
// No older value of a key ever resurfaces.
//
// Each op is 3 bytes: key (b0%6); value (b1%7 == 0: tombstone, else b1%40
// bytes of padding); b2 bit 0 ends the batch, bits 1-3 pick the codec, bit
// 6 moves the clock 1 s on, bit 7 runs the cleaner.
func FuzzCompact(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 2, 1, 0, 0, 0x81})
	f.Add([]byte{0, 1, 0, 0, 1, 1, 1, 7, 0xc1, 2, 3, 0x83, 0, 14, 0xc1, 1, 1, 0x81})
	f.Add([]byte(strings.Repeat("\x03\x09\x05\x04\x07\x41\x03\x0e\x8b", 30)))
	f.Add([]byte(strings.Repeat("\x01\x1c\x03\x02\x00\xc9\x01\x05\x87\x05\x22\x01", 25)))
	base := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzCompactBody(t, data, base) })
}

// fuzzCompactBody runs one FuzzCompact input in a new directory under
// base.
func fuzzCompactBody(t *testing.T, data []byte, base string) {
	if len(data) > 3*400 {
		data = data[:3*400]
	}
	path, err := os.MkdirTemp(base, "fuzz-compact-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(path)
	d, err := OpenDir(path, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cfg := compactConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 100
	cfg.DeleteRetentionMs = 2500
	l, err := d.OpenLog(testTP, testTopicID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock(1_000_000)
	ccfg := DefaultCleanerConfig()
	ccfg.DedupeBufferSize = 4 * dedupeSlotSize // 3 keys a pass: partial passes too
	ccfg.Now = clock.now
	c, err := NewCleaner(ccfg, d)
	if err != nil {
		t.Fatal(err)
	}

	var written []rec
	wroteAt := map[int64]int64{} // offset → clock when written
	var batch []kv
	codec := record.CodecNone
	flush := func() {
		if len(batch) == 0 {
			return
		}
		res := appendKeyed(t, l, codec, clock.now(), batch...)
		for i, r := range batch {
			off := res.BaseOffset + int64(i)
			written = append(written, rec{offset: off, key: r.key, value: r.value})
			wroteAt[off] = clock.now()
		}
		batch = batch[:0]
	}
	check := func() {
		got, _ := readAll(t, l)
		checkSubset(t, got, written)
		g := latest(got)
		for k, w := range latest(written) {
			r, ok := g[k]
			switch {
			case ok && r.offset == w.offset:
			case !ok && w.value == nil && clock.now()-wroteAt[w.offset] >= cfg.DeleteRetentionMs:
			default:
				t.Fatalf("key %s: left %v (present %v), latest written %v at %d, now %d", k, r, ok, w, wroteAt[w.offset], clock.now())
			}
		}
	}
	clean := func() {
		flush()
		settle(t, l)
		for i := 0; i < 50; i++ {
			ok, err := c.CleanOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			check()
			if !ok {
				return
			}
		}
	}
	for i := 0; i+3 <= len(data); i += 3 {
		b0, b1, b2 := data[i], data[i+1], data[i+2]
		r := kv{key: fmt.Sprintf("k%d", b0%6)}
		if b1%7 != 0 {
			r.value = []byte(fmt.Sprintf("%d:%s", i, strings.Repeat("v", int(b1%40))))
		}
		if c := record.Codec((b2 >> 1) % 5); c != codec {
			flush()
			codec = c
		}
		batch = append(batch, r)
		if b2&1 != 0 {
			flush()
		}
		if b2&0x40 != 0 {
			flush()
			clock.add(1000)
		}
		if b2&0x80 != 0 {
			clean()
		}
	}
	clean()
	clock.add(cfg.DeleteRetentionMs)
	clean()
}
