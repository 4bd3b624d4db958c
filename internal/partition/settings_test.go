package partition

import (
	"testing"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
)

// A topic that recompresses takes its codec's level from
// compression.<codec>.level (KIP-390).
func TestRecompressionLevels(t *testing.T) {
	broker, _, err := config.FromMap(map[string]string{"node.id": "1", "log.dirs": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		configs map[string]string
		codec   record.Codec
		level   int
	}{
		{map[string]string{"compression.type": "gzip", "compression.gzip.level": "1"}, record.CodecGzip, 1},
		{map[string]string{"compression.type": "lz4", "compression.lz4.level": "17"}, record.CodecLZ4, 17},
		{map[string]string{"compression.type": "zstd", "compression.zstd.level": "19"}, record.CodecZstd, 19},
		{map[string]string{"compression.type": "zstd"}, record.CodecZstd, record.DefaultZstdLevel},
		{map[string]string{"compression.type": "gzip"}, record.CodecGzip, record.DefaultGzipLevel},
	} {
		topic, err := broker.ResolveTopic(tc.configs, config.Dynamic{})
		if err != nil {
			t.Fatal(err)
		}
		st := newSettings(topic, 0)
		if !st.recompress || st.codec != tc.codec || st.level != tc.level {
			t.Errorf("%v: recompress %v codec %d level %d, want codec %d level %d", tc.configs, st.recompress, st.codec, st.level, tc.codec, tc.level)
		}
	}
}
