package partition

import (
	"slices"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/record"
	"github.com/samsa-io/samsa/internal/storage"
)

// settings is a topic's configuration, resolved and translated into what
// the partition's parts take. Immutable; replaced whole on a config change.
type settings struct {
	topic             config.Topic
	log               storage.LogConfig
	validate          record.ValidateOptions
	minInsyncReplicas int32
	recompress        bool         // compression.type names a codec, not "producer"
	codec             record.Codec // the codec to store batches in when recompress
	level             int          // and its level (compression.<codec>.level)
}

// codecs maps compression.type values to codecs.
var codecs = map[string]record.Codec{
	"uncompressed": record.CodecNone,
	"gzip":         record.CodecGzip,
	"snappy":       record.CodecSnappy,
	"lz4":          record.CodecLZ4,
	"zstd":         record.CodecZstd,
}

func newSettings(t config.Topic, producerIDExpirationMs int64) *settings {
	lc := storage.DefaultLogConfig()
	lc.SegmentBytes = int64(t.SegmentBytes)
	lc.SegmentMs = t.SegmentMs
	lc.SegmentJitterMs = t.SegmentJitterMs
	lc.IndexIntervalBytes = t.IndexIntervalBytes
	// Kafka's smallest valid segment.index.bytes (4) and max.message.bytes
	// (0) are too small for one index entry or one batch header: a segment
	// then holds one index entry before it rolls, and validation (below)
	// refuses every batch as too large, as in Kafka.
	lc.SegmentIndexBytes = max(t.SegmentIndexBytes, storage.MinSegmentIndexBytes)
	lc.RetentionMs = t.RetentionMs
	lc.RetentionBytes = t.RetentionBytes
	lc.FlushMessages = t.FlushMessages
	lc.FlushMs = t.FlushMs
	lc.FileDeleteDelayMs = t.FileDeleteDelayMs
	lc.Preallocate = t.Preallocate
	lc.MaxMessageBytes = max(t.MaxMessageBytes, record.HeaderSize)
	lc.MinCleanableDirtyRatio = t.MinCleanableDirtyRatio
	lc.MinCompactionLagMs = t.MinCompactionLagMs
	lc.MaxCompactionLagMs = t.MaxCompactionLagMs
	lc.DeleteRetentionMs = t.DeleteRetentionMs
	if policy, err := storage.ParseCleanupPolicy(t.CleanupPolicy); err == nil {
		lc.CleanupPolicy = policy // config validated the words already
	}
	if producerIDExpirationMs > 0 {
		lc.ProducerIDExpirationMs = producerIDExpirationMs
	}
	s := &settings{
		topic: t,
		log:   lc,
		validate: record.ValidateOptions{
			MaxMessageBytes:      int(max(t.MaxMessageBytes, 1)), // 0 would mean the default
			LogAppendTime:        t.TimestampType == "LogAppendTime",
			CheckTimestamps:      t.TimestampType != "LogAppendTime",
			TimestampBeforeMaxMs: t.TimestampBeforeMaxMs,
			TimestampAfterMaxMs:  t.TimestampAfterMaxMs,
			RequireKeys:          slices.Contains(t.CleanupPolicy, "compact"),
		},
		minInsyncReplicas: t.MinInSyncReplicas,
	}
	if c, ok := codecs[t.CompressionType]; ok {
		s.recompress, s.codec = true, c
		s.validate.CheckCompressedRecords = true
		switch c {
		case record.CodecGzip:
			s.level = int(t.GzipLevel)
		case record.CodecLZ4:
			s.level = int(t.LZ4Level)
		case record.CodecZstd:
			s.level = int(t.ZstdLevel)
		}
	}
	return s
}
