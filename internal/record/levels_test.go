package record

import (
	"bytes"
	"fmt"
	"testing"
)

// Every level of every codec reads back as what was compressed; the
// default level is what Compress writes, byte for byte; and levels differ
// in what they write, so the setting reaches the compressor.
func TestCompressionLevels(t *testing.T) {
	var src []byte
	for i := range 4000 {
		src = fmt.Appendf(src, "record %d of a fairly repetitive batch, key k%03d; ", i, i%97)
	}
	for _, tc := range []struct {
		codec  Codec
		levels []int // low to high
	}{
		{CodecGzip, []int{1, 5, 9}},
		{CodecLZ4, []int{1, 10, 17}},
		{CodecZstd, []int{-5, 1, 7, 19}},
	} {
		sizes := map[int]int{}
		for _, level := range append(tc.levels, DefaultLevel(tc.codec)) {
			out, err := CompressLevel(nil, tc.codec, level, src)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decompress(nil, tc.codec, out, 0)
			if err != nil || !bytes.Equal(back, src) {
				t.Fatalf("codec %d level %d: does not read back (%v)", tc.codec, level, err)
			}
			sizes[level] = len(out)
		}
		def, _ := Compress(nil, tc.codec, src)
		again, _ := CompressLevel(nil, tc.codec, DefaultLevel(tc.codec), src)
		if !bytes.Equal(def, again) {
			t.Errorf("codec %d: the default level writes otherwise than Compress", tc.codec)
		}
		lo, hi := sizes[tc.levels[0]], sizes[tc.levels[len(tc.levels)-1]]
		if hi >= lo {
			t.Errorf("codec %d: the highest level wrote %d bytes, the lowest %d; want smaller", tc.codec, hi, lo)
		}
	}
}
