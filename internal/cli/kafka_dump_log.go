package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/samsa-io/samsa/internal/config"
)

// kafka_dump_log.go is the kafka-dump-log.sh personality (Kafka's
// DumpLogSegments): it prints a partition's segment files, .log, .index
// and .timeindex, in Kafka 4.x's output format, one file after another as
// --files lists them. The cli package parses the flags; reading the files
// is the storage package's, lent through Node.DumpLog.
//
//	kafka-dump-log.sh --files /data/orders-0/00000000000000000000.log --print-data-log
//
// Where samsa differs: the record decoders (--offsets-decoder,
// --transaction-log-decoder, --cluster-metadata-decoder,
// --remote-log-metadata-decoder, --share-group-state-decoder, and a
// --key-decoder-class or --value-decoder-class other than Kafka's default
// StringDecoder) are refused, since samsa loads no Java classes and does not
// decode coordinator records; samsa's own metadata log is not a Kafka
// segment at all. Producer snapshots and transaction indexes are skipped
// with a message. Kafka prints its stderr reports (index mismatches,
// non-consecutive offsets) after all files; samsa after each file.

// stringDecoder is Kafka's default key and value decoder, which prints
// bytes as UTF-8 text, as samsa does; naming it is not refused.
const stringDecoder = "org.apache.kafka.tools.api.StringDecoder"

// refusedDecoders are Kafka's decoder flags and what they would decode.
var refusedDecoders = []struct{ flag, what string }{
	{"offsets-decoder", "__consumer_offsets records (group metadata and offset commits)"},
	{"transaction-log-decoder", "__transaction_state records"},
	{"cluster-metadata-decoder", "cluster metadata records (samsa's metadata log is not a Kafka segment)"},
	{"remote-log-metadata-decoder", "remote log metadata records (samsa has no tiered storage)"},
	{"share-group-state-decoder", "__share_group_state records"},
}

func kafkaDumpLog(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-dump-log.sh --files FILE,... [--print-data-log | --deep-iteration] [--skip-record-metadata] [--max-bytes N]\n"+
		"       kafka-dump-log.sh --files INDEX,... [--verify-index-only | --index-sanity-check]",
		"This tool helps to parse a log file and dump its contents to the console, useful for debugging a seemingly corrupt log segment.\n"+
			"(samsa: .log, .index and .timeindex files; the record decoders are refused.)")
	files := f.String("files", "", "FILE1,FILE2,...", "REQUIRED: The comma separated list of data and index log files to be dumped.")
	f.Bool("print-data-log", "print the records' keys and values (implies --deep-iteration)")
	f.Bool("deep-iteration", "print a line per record, not only per batch")
	f.Bool("skip-record-metadata", "leave out the record metadata; control records print as empty lines")
	maxBytes := f.Int64("max-bytes", math.MaxInt32, "SIZE", "read at most SIZE bytes of each .log")
	maxMessage := f.Int64("max-message-size", 5<<20, "SIZE", "bytes read at each position an .index names")
	f.Bool("verify-index-only", "check .index and .timeindex entries against the log without printing them")
	f.Bool("index-sanity-check", "only run the check a broker runs on an index at startup")
	keyDecoder := f.Optional("key-decoder-class", stringDecoder, stringDecoder, "CLASS", "only "+stringDecoder+" (the default): samsa loads no Java classes")
	valueDecoder := f.Optional("value-decoder-class", stringDecoder, stringDecoder, "CLASS", "only "+stringDecoder+" (the default): samsa loads no Java classes")
	for _, d := range refusedDecoders {
		f.Bool(d.flag, "refused: samsa does not decode "+d.what)
	}
	f.Bool("version", "print the version and exit")
	if len(args) == 0 {
		f.usage(e.stderr)
		return 2
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	if len(f.Args()) > 0 {
		return e.usageFail(f, usagef("unrecognized arguments: '%s'", strings.Join(f.Args(), " ")))
	}
	if !f.Changed("files") {
		return e.usageFail(f, kafkaMissing("files"))
	}
	for _, d := range refusedDecoders {
		if f.Changed(d.flag) {
			return e.fail(fmt.Errorf("--%s: samsa does not decode %s; --print-data-log prints the raw keys and values", d.flag, d.what))
		}
	}
	for i, class := range []string{*keyDecoder, *valueDecoder} {
		if class != stringDecoder {
			name := [...]string{"key-decoder-class", "value-decoder-class"}[i]
			return e.fail(fmt.Errorf("--%s %s: samsa loads no Java decoder classes; only %s is supported", name, class, stringDecoder))
		}
	}
	if *maxBytes < 0 || *maxBytes > math.MaxInt32 {
		return e.usageFail(f, usagef("--max-bytes %d: must be between 0 and %d", *maxBytes, math.MaxInt32))
	}
	if *maxMessage <= 0 || *maxMessage > math.MaxInt32 {
		return e.usageFail(f, usagef("--max-message-size %d: must be between 1 and %d", *maxMessage, math.MaxInt32))
	}
	if e.node.DumpLog == nil {
		return e.fail(errors.New("this build cannot read log segments"))
	}
	req := config.DumpLogRequest{
		// Kafka prints data when any decoder is named, its StringDecoder too.
		PrintData:          f.Changed("print-data-log") || f.Changed("key-decoder-class") || f.Changed("value-decoder-class"),
		Deep:               f.Changed("deep-iteration"),
		SkipRecordMetadata: f.Changed("skip-record-metadata"),
		MaxBytes:           *maxBytes,
		IndexSanityCheck:   f.Changed("index-sanity-check"),
		VerifyIndexOnly:    f.Changed("verify-index-only"),
		MaxMessageSize:     int(*maxMessage),
	}
	req.Deep = req.Deep || req.PrintData
	if req.MaxBytes == math.MaxInt32 {
		req.MaxBytes = -1 // Kafka's default: the whole file, reporting trailing bytes
	}
	for _, path := range splitFiles(*files) {
		req.Path = path
		if err := e.node.DumpLog(req, e.stdout, e.stderr); err != nil {
			return e.fail(err)
		}
		if ctx.Err() != nil {
			return e.fail(ctx.Err())
		}
	}
	return 0
}

// splitFiles splits --files as Java's String.split(",") does: trailing
// empty names are dropped, others kept.
func splitFiles(s string) []string {
	parts := strings.Split(s, ",")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
