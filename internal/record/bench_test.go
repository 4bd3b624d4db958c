package record

import (
	"testing"
)

// benchBatch is 16 records of 1 KiB values, about 16 KiB before
// compression, as franz-go would send it. Values are text-like, so codecs
// have something to do but do not erase it.
func benchBatch(b *testing.B, codec Codec) []byte {
	recs := franzRecords(16, 1024)
	for i := range recs {
		v := recs[i].Value
		for j := range v {
			v[j] = byte('a' + (i*7+j*j)%26)
		}
	}
	return franzBatch(b, codec, recs, nil)
}

func BenchmarkValidate(b *testing.B) {
	for _, codec := range allCodecs {
		batch := benchBatch(b, codec)
		walks := []bool{false}
		if codec != CodecNone {
			walks = append(walks, true)
		}
		for _, walk := range walks {
			name := codec.String()
			if codec != CodecNone {
				name += map[bool]string{false: "/header", true: "/records"}[walk]
			}
			b.Run(name, func(b *testing.B) {
				opts := testOpts()
				opts.CheckCompressedRecords = walk
				b.ReportAllocs()
				b.SetBytes(int64(len(batch)))
				for b.Loop() {
					if _, err := Validate(batch, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkConvertLegacy(b *testing.B) {
	var set []byte
	for i := 0; i < 16; i++ {
		value := make([]byte, 1024)
		for j := range value {
			value[j] = byte('a' + (i*7+j*j)%26)
		}
		set = append(set, legacyMsg(1, 0, int64(i), testNow+int64(i), []byte("key"), value)...)
	}
	sets := map[string][]byte{"magic1/none": set, "magic1/gzip": wrap(b, 1, CodecGzip, set, 15)}
	for _, name := range []string{"magic1/none", "magic1/gzip"} {
		s := sets[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, err := ConvertLegacy(s, ValidateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecompress(b *testing.B) {
	for _, tt := range []struct{ from, to Codec }{
		{CodecNone, CodecZstd}, {CodecNone, CodecLZ4}, {CodecSnappy, CodecZstd}, {CodecGzip, CodecLZ4},
	} {
		batch := benchBatch(b, tt.from)
		b.Run(tt.from.String()+"-"+tt.to.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(batch)))
			for b.Loop() {
				if _, err := Recompress(batch, tt.to, DefaultLevel(tt.to), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIter(b *testing.B) {
	batch := benchBatch(b, CodecNone)
	section := batch[HeaderSize:]
	b.ReportAllocs()
	b.SetBytes(int64(len(section)))
	var r Record
	for b.Loop() {
		it := NewIter(section, 16)
		for it.Next(&r) {
		}
		if it.Err() != nil {
			b.Fatal(it.Err())
		}
	}
}
