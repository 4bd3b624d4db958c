package config

// DumpLogRequest is what kafka-dump-log.sh asks of one segment file: which
// file, and how much of it to print. The cli package builds it from Kafka's
// flags and the storage package, through cmd/samsa, carries it out.
type DumpLogRequest struct {
	// Path is the file as the user named it: a .log segment, or its .index
	// or .timeindex.
	Path string
	// PrintData prints each record's key and value (--print-data-log);
	// it implies Deep.
	PrintData bool
	// Deep prints a line per record, not only per batch (--deep-iteration).
	Deep bool
	// SkipRecordMetadata leaves out the per-record metadata line
	// (--skip-record-metadata).
	SkipRecordMetadata bool
	// MaxBytes is how many bytes of a .log to read (--max-bytes); negative
	// reads it all and reports invalid bytes at its end, as Kafka's default
	// of Integer.MAX_VALUE does.
	MaxBytes int64
	// IndexSanityCheck only checks an index the way a broker does at
	// startup (--index-sanity-check).
	IndexSanityCheck bool
	// VerifyIndexOnly checks an index against its log without printing its
	// entries (--verify-index-only).
	VerifyIndexOnly bool
	// MaxMessageSize is how many bytes are read at each position an offset
	// index names, to find the batch there (--max-message-size).
	MaxMessageSize int
}
