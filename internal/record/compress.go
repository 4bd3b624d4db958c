package record

// Compressors, for recompression, conversion of old message sets, and
// tests. Their output is what the Java client writes, so every client can
// read it: gzip, xerial-framed snappy in 32 KiB blocks, an LZ4 frame in
// 64 KiB independent blocks with a content checksum, and a zstd frame, each
// at Kafka's default level or the one asked for (levels.go). All pools;
// nothing here starts a goroutine.

// Compress appends src compressed with codec, at its default level, to
// dst. CodecNone appends src as it is. An unknown codec is
// UNSUPPORTED_COMPRESSION_TYPE.
func Compress(dst []byte, codec Codec, src []byte) ([]byte, error) {
	return CompressLevel(dst, codec, DefaultLevel(codec), src)
}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
