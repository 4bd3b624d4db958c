package cli

import "math/bits"

// histogram.go holds the latency histogram of the perf commands: HDR-style
// log-linear buckets in a fixed array, so memory stays bounded however many
// samples arrive and a percentile is a walk over the buckets, not a sort.
//
// Values below 2^histSubBits are counted exactly. Above, every power-of-two
// range [2^k, 2^(k+1)) is split into 2^(histSubBits-1) equal buckets, so a
// reported value is at most 1/64 (1.6%) below the true one. The whole
// non-negative int64 range fits in 3712 buckets (about 29 KiB).

const (
	histSubBits = 7
	histSub     = 1 << histSubBits      // exact values, and the first index of the log part
	histHalf    = histSub / 2           // buckets per power of two above histSub
	histBuckets = histSub + 56*histHalf // e = 1..56 covers bits.Len64 up to 63
)

// histogram counts non-negative values (the perf commands record
// microseconds). The zero value is empty and ready to use. Not safe for
// concurrent use.
type histogram struct {
	counts   [histBuckets]int64
	n        int64
	sum      int64
	min, max int64
}

func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - histSubBits
	return histSub + (e-1)*histHalf + int(v>>e) - histHalf
}

// histLow is the smallest value that lands in bucket i.
func histLow(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := (i-histSub)/histHalf + 1
	return int64((i-histSub)%histHalf+histHalf) << e
}

// record adds one value; negative values count as 0.
func (h *histogram) record(v int64) {
	v = max(v, 0)
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// mean is the exact average of the recorded values.
func (h *histogram) mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}

// quantile returns the value at rank floor(q*n) of the sorted samples (the
// rank Kafka's perf tools read from their sorted arrays), to bucket
// precision and clamped to the recorded minimum and maximum.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := min(int64(q*float64(h.n)), h.n-1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			return min(max(histLow(i), h.min), h.max)
		}
	}
	return h.max
}
