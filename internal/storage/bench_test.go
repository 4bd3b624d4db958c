package storage

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const benchBatchValue = 16<<10 - 200 // records of a ~16 KiB batch

func benchConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 256 << 20
	cfg.FlushMessages = math.MaxInt64
	return cfg
}

func BenchmarkAppendAsLeader(b *testing.B) {
	b.Run("page-cache", func(b *testing.B) {
		// OnDurable is set, as a broker's partitions set it; in page-cache
		// mode it should cost the appends nothing (callbacks/op).
		cfg := benchConfig()
		var callbacks atomic.Int64
		cfg.OnDurable = func(int64) { callbacks.Add(1) }
		_, l, _ := newLog(b, cfg)
		batch := makeBatch(spec{n: 8, value: benchBatchValue / 8})
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.AppendAsLeader(batch, 0, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(callbacks.Load())/float64(b.N), "callbacks/op")
	})
	b.Run("fsync-group-commit", func(b *testing.B) {
		cfg := benchConfig()
		cfg.FlushMessages = 1
		_, l, _ := newLog(b, cfg)
		batchLen := len(makeBatch(spec{n: 8, value: benchBatchValue / 8}))
		b.SetBytes(int64(batchLen))
		b.ReportAllocs()
		b.SetParallelism(8) // 8 producers per core waiting for durability
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			batch := makeBatch(spec{n: 8, value: benchBatchValue / 8})
			for pb.Next() {
				res, err := l.AppendAsLeader(batch, 0, 0)
				if err == nil {
					err = l.WaitDurable(context.Background(), res.LastOffset+1)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(l.fsyncs.Load())/float64(b.N), "fsyncs/op")
	})
}

// readLog holds 4000 1 KiB batches.
func readLog(b *testing.B) *Log {
	cfg := benchConfig()
	cfg.SegmentBytes = 1 << 20
	_, l, _ := newLog(b, cfg)
	batch := makeBatch(spec{n: 4, value: 240, ts: 1})
	for i := 0; i < 4000; i++ {
		if _, err := l.AppendAsLeader(batch, 0, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	return l
}

func BenchmarkRead(b *testing.B) {
	b.Run("near-tail", func(b *testing.B) {
		l := readLog(b)
		end := l.LogEndOffset()
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			s, err := l.Read(end-40, end, 1<<20, true)
			if err != nil || s.Size == 0 {
				b.Fatal(err)
			}
			n += int64(s.Size)
			s.Release()
		}
		b.SetBytes(n / int64(b.N))
	})
	b.Run("indexed", func(b *testing.B) {
		l := readLog(b)
		end := l.LogEndOffset()
		rng := rand.New(rand.NewPCG(1, 2))
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			s, err := l.Read(rng.Int64N(end-400), end, 64<<10, true)
			if err != nil || s.Size == 0 {
				b.Fatal(err)
			}
			n += int64(s.Size)
			s.Release()
		}
		b.SetBytes(n / int64(b.N))
	})
}

func BenchmarkOffsetIndexLookup(b *testing.B) {
	ix := newIndex(filepath.Join(b.TempDir(), "0.index"), offsetEntrySize, 0)
	const entries = 1 << 20
	if err := ix.activate(entries*offsetEntrySize, true); err != nil {
		b.Fatal(err)
	}
	defer ix.close()
	for i := int64(0); i < entries; i++ {
		ix.appendOffset(10*i+9, 4096*i)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	b.SetBytes(offsetEntrySize)
	b.ReportAllocs()
	for b.Loop() {
		ix.lookupOffset(rng.Int64N(10 * entries))
	}
}

func BenchmarkOffsetForTimestamp(b *testing.B) {
	cfg := benchConfig()
	cfg.SegmentBytes = 1 << 20
	_, l, _ := newLog(b, cfg)
	for i := 0; i < 4000; i++ {
		if _, err := l.AppendAsLeader(makeBatch(spec{n: 4, value: 240, ts: int64(1000 * i), tsStep: 10}), 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	b.SetBytes(int64(len(makeBatch(spec{n: 4, value: 240})))) // the batch read to find the record
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := l.OffsetForTimestamp(rng.Int64N(3999 * 1000)); err != nil || !ok {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsyncRound is what one produce request of `samsa perf produce`
// costs the broker's storage in fsync mode: a request of an idempotent
// franz-go producer carries one ~16 KiB batch for each of 8 partitions, and
// its response waits until all 8 are durable. One op appends to 8 logs and
// waits for all of them; p99-us is its tail, and cpu-us/op the process's
// user+system CPU per op (mostly the kernel's fdatasync work). The producer
// keeps up to five such requests in flight, whose batches share rounds, so
// this is the round's cost at its smallest, not the producer's figure.
func BenchmarkFsyncRound(b *testing.B) {
	cfg := benchConfig()
	cfg.FlushMessages = 1
	d := openDir(b, b.TempDir())
	logs := make([]*Log, 8)
	for i := range logs {
		l, err := d.OpenLog(TopicPartition{"fsync-round", int32(i)}, testTopicID, cfg)
		if err != nil {
			b.Fatal(err)
		}
		logs[i] = l
	}
	batch := makeBatch(spec{n: 16, value: 1000})
	b.SetBytes(int64(len(batch) * len(logs)))
	b.ReportAllocs()
	cpu0 := processCPU()
	var rounds []time.Duration
	for b.Loop() {
		start := time.Now()
		for _, l := range logs {
			if _, err := l.AppendAsLeader(batch, 0, 0); err != nil {
				b.Fatal(err)
			}
		}
		for _, l := range logs {
			if err := l.WaitDurable(context.Background(), l.LogEndOffset()); err != nil {
				b.Fatal(err)
			}
		}
		rounds = append(rounds, time.Since(start))
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	slices.Sort(rounds)
	b.ReportMetric(float64(rounds[len(rounds)*99/100].Microseconds()), "p99-us")
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPageCacheWrite measures the machine rather than the log: 16 KiB
// pwrites into pages the file does not have yet, which is what every
// append is, against rewrites of pages it has. The first write to a page
// allocates it; on a virtual machine whose free memory goes back to the
// host (free page reporting), it also waits for the host to back the page
// again, and then "fresh" is many times slower than "rewrite". That cost
// is paid once per byte by every replica, whatever the flush policy.
func BenchmarkPageCacheWrite(b *testing.B) {
	const region = 256 << 20
	for _, fresh := range []bool{true, false} {
		name := map[bool]string{true: "fresh", false: "rewrite"}[fresh]
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "pages"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 16<<10)
			for i := range buf {
				buf[i] = byte(i)
			}
			fill := func() {
				for off := int64(0); off < region; off += int64(len(buf)) {
					if _, err := f.WriteAt(buf, off); err != nil {
						b.Fatal(err)
					}
				}
			}
			if !fresh {
				fill()
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if off += int64(len(buf)); off == region {
					off = 0
					if fresh {
						b.StopTimer()
						if err := f.Truncate(0); err != nil { // drops the pages
							b.Fatal(err)
						}
						b.StartTimer()
					}
				}
			}
		})
	}
}
