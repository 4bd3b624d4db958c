package storage

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-io/samsa/internal/record"
)

// BenchmarkCompact compacts 64 MiB of 1 KiB records (batches of 16) over
// 10,000 keys, in 8 MiB segments, from a fresh copy of the log each time:
// the offset map is built over all of it and every segment is rewritten
// (to about 10 MiB) and swapped in. MB/s is of the 64 MiB compacted.
func BenchmarkCompact(b *testing.B) {
	for _, codec := range []record.Codec{record.CodecNone, record.CodecLZ4} {
		b.Run(codec.String(), func(b *testing.B) {
			cfg := compactConfig()
			cfg.SegmentBytes = 8 << 20
			cfg.IndexIntervalBytes = 4096
			cfg.SegmentIndexBytes = 1 << 20
			template := b.TempDir()
			d, err := OpenDir(template, DirOptions{})
			if err != nil {
				b.Fatal(err)
			}
			l, err := d.OpenLog(testTP, testTopicID, cfg)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			value := make([]byte, 1000)
			for i := range value {
				value[i] = byte(rng.IntN(26)) + 'a'
			}
			const total = 64 << 20
			for l.Size() < total {
				bl := record.NewBuilder(codec)
				for range 16 {
					bl.Add(1000, fmt.Appendf(nil, "key-%05d", rng.IntN(10_000)), value, nil)
				}
				batch, err := bl.Build(nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.AppendAsLeader(batch, 0, 1000); err != nil {
					b.Fatal(err)
				}
			}
			size := l.Size()
			if err := d.Close(); err != nil {
				b.Fatal(err)
			}
			clock := newClock(1_000_000)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			var after int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "dir")
				copyDir(b, template, path)
				d := openDir(b, path)
				l := openTestLog(b, d, cfg)
				settle(b, l)
				c := newTestCleaner(b, clock, d)
				b.StartTimer()
				if ok, err := c.CleanOnce(context.Background()); !ok || err != nil {
					b.Fatalf("CleanOnce: %v, %v", ok, err)
				}
				b.StopTimer()
				after = l.Size()
				d.Close()
				os.RemoveAll(path)
				b.StartTimer()
			}
			b.ReportMetric(float64(after)/(1<<20), "MiB-after")
		})
	}
}

// copyDir copies a log directory (one level of partition directories).
func copyDir(b *testing.B, from, to string) {
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
}
