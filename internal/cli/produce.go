package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produce.go is `samsa produce`: records read from stdin with a kgo record
// reader layout (rpk's format language), produced asynchronously, one
// output line per acknowledged record. The command waits for every record
// to be acknowledged or to fail and exits 1 if any failed.

const produceAbout = `Read records from stdin until EOF and produce them to TOPIC.

--format splits stdin into records (franz-go's record reader; the same
language as rpk): %v value, %k key, %t topic, %p partition, %h{...} headers,
with \n \t escapes. The default "%v\n" makes every line one record; a last
line without a newline is a record too. Examples:
  -f '%k %v\n'      key, a space, then the value
  -f '%t %p %v\n'   topic, partition, then the value

--output-format is printed for every acknowledged record, with %t topic,
%p partition, %o offset, %d timestamp (ms), %k key, %v value.`

func runProduce(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa produce TOPIC [flags]", produceAbout)
	f.TopicArgs()
	conn := addConnFlags(f)
	key := f.String("key,k", "", "KEY", "key for every record (a %k in --format wins)")
	headers := f.Strings("header,H", "KEY:VALUE", "header for every record; repeatable")
	partition := f.Int("partition,p", -1, "N", "produce every record to partition N (default: by key hash, or sticky without keys)")
	format := f.String("format,f", `%v\n`, "FORMAT", "how stdin is split into records")
	outFormat := f.String("output-format,o", `Produced to partition %p at offset %o with timestamp %d.\n`, "FORMAT",
		`printed per acknowledged record; "" prints nothing`)
	acks := f.String("acks", "-1", "-1|0|1", "-1 waits for all in-sync replicas, 1 for the leader, 0 for nothing")
	compression := f.String("compression,z", "snappy", "CODEC", "none, gzip, snappy, lz4 or zstd")
	maxBytes := f.Int("max-message-bytes", 0, "N", "largest batch to send, in bytes (default 1 MiB)")
	delivery := f.Duration("delivery-timeout", 0, "DURATION", "fail a record not acknowledged within this time (default: keep trying)")
	tombstone := f.Bool("tombstone,Z", "produce empty values as null values (tombstones)")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	topic := ""
	switch {
	case len(f.Args()) == 1:
		topic = f.Args()[0]
	case len(f.Args()) > 1:
		return e.usageFail(f, usagef("name one topic"))
	case !strings.Contains(*format, "%t"):
		return e.usageFail(f, usagef("name the topic (or read it from stdin with %%t in --format)"))
	}
	var hdrs []kgo.RecordHeader
	for _, h := range *headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return e.usageFail(f, usagef("bad header %q: want KEY:VALUE", h))
		}
		hdrs = append(hdrs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	switch *acks {
	case "-1", "all", "0", "1":
	default:
		return e.usageFail(f, usagef("--acks must be -1, 0 or 1"))
	}
	if _, err := codec(*compression); err != nil {
		return e.usageFail(f, usagef("%v", err))
	}
	var out *kgo.RecordFormatter
	if *outFormat != "" {
		var err error
		if out, err = kgo.NewRecordFormatter(*outFormat); err != nil {
			return e.usageFail(f, usagef("bad --output-format: %v", err))
		}
	}
	in := io.Reader(e.stdin)
	if strings.HasSuffix(*format, `\n`) || strings.HasSuffix(*format, "\n") {
		in = &newlineTerminated{r: in}
	}
	reader, err := kgo.NewRecordReader(in, *format)
	if err != nil {
		return e.usageFail(f, usagef("bad --format: %v", err))
	}

	brokers, p, err := conn.load(e)
	if err != nil {
		return e.fail(err)
	}
	mergeFlag(f, p, "acks", "acks", *acks)
	mergeFlag(f, p, "compression", "compression.type", *compression)
	var extra []kgo.Opt
	if *partition >= 0 || strings.Contains(*format, "%p") {
		extra = append(extra, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	if *maxBytes > 0 {
		extra = append(extra, kgo.ProducerBatchMaxBytes(int32(*maxBytes)))
	}
	if *delivery > 0 {
		extra = append(extra, kgo.RecordDeliveryTimeout(*delivery))
	}
	cl, err := e.newClient(brokers, p, roleProducer, extra...)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()

	res := &produceResults{e: e, out: out}
	for n := 1; ; n++ {
		r, err := reader.ReadRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.fail(fmt.Errorf("reading record %d from stdin: %w", n, err))
			break
		}
		if r.Topic == "" {
			r.Topic = topic
		}
		if r.Key == nil && *key != "" {
			r.Key = []byte(*key)
		}
		r.Headers = append(r.Headers, hdrs...)
		if *partition >= 0 {
			r.Partition = int32(*partition)
		}
		if *tombstone && len(r.Value) == 0 {
			r.Value = nil
		}
		cl.Produce(ctx, r, res.promise)
	}
	if err := cl.Flush(ctx); err != nil {
		res.fail(fmt.Errorf("flush: %w", err))
	}
	return res.exitCode()
}

// mergeFlag copies a flag into the client properties, as Kafka's tools do:
// a flag given on the command line wins; its default applies only when the
// properties do not set the key.
func mergeFlag(f *flagSet, p *props, flagName, key, value string) {
	if f.Changed(flagName) {
		p.Set(key, value)
	} else {
		p.SetDefault(key, value)
	}
}

// produceResults collects promise outcomes. Promises run serially on one
// kgo goroutine; mu guards against the main goroutine's reads.
type produceResults struct {
	e      *env
	out    *kgo.RecordFormatter
	mu     sync.Mutex
	failed int
	first  error
	buf    []byte
}

func (r *produceResults) promise(rec *kgo.Record, err error) {
	if err != nil {
		r.fail(fmt.Errorf("record to %s: %s", rec.Topic, kafkaErrText(err, "")))
		return
	}
	if r.out == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = r.out.AppendRecord(r.buf[:0], rec)
	r.e.stdout.Write(r.buf)
}

func (r *produceResults) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	if r.first == nil {
		r.first = err
	}
	if r.failed <= 10 {
		fmt.Fprintf(r.e.stderr, "%s: %v\n", r.e.prog, err)
	}
}

func (r *produceResults) exitCode() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed == 0 {
		return 0
	}
	fmt.Fprintf(r.e.stderr, "%s: %d record(s) failed; first error: %v\n", r.e.prog, r.failed, r.first)
	return 1
}

// newlineTerminated adds a final '\n' to a non-empty stream that lacks one,
// so that a line-based --format reads the last line as a record.
type newlineTerminated struct {
	r    io.Reader
	last byte
	seen bool
	done bool
}

func (n *newlineTerminated) Read(p []byte) (int, error) {
	if n.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	k, err := n.r.Read(p)
	if k > 0 {
		n.last, n.seen = p[k-1], true
	}
	if err == io.EOF {
		if k > 0 {
			return k, nil // report EOF on the next call
		}
		n.done = true
		if n.seen && n.last != '\n' {
			p[0] = '\n'
			return 1, nil
		}
		return 0, io.EOF
	}
	return k, err
}
