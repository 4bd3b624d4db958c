package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafka_console_producer.go is the kafka-console-producer.sh personality:
// one record per stdin line, parsed as Kafka's LineMessageReader does
// (parse.key, key.separator, parse.headers, headers.delimiter,
// headers.separator, headers.key.separator, null.marker, ignore.error), the
// ">" prompt printed before every line read when stdin is a terminal, and
// the producer settings of Kafka's tool (linger 1000 ms, acks -1, ...).
// Unlike Kafka's tool, a record that fails makes the exit code 1.

const consoleProducerAbout = `Read lines from stdin and produce each as one record to --topic.
Line reader properties (--reader-property / --property key=value):
  parse.key=false  key.separator=\t  parse.headers=false  headers.delimiter=\t
  headers.separator=,  headers.key.separator=:  ignore.error=false
  null.marker=   (a key, value or header value equal to it is produced as null)
With parse.headers and parse.key a line is "h1:v1,h2:v2<TAB>key<TAB>value".
Records that cannot be produced are reported on stderr and make the exit
code 1 (Kafka's tool exits 0).`

const defaultLineReader = "org.apache.kafka.tools.LineMessageReader"

// consoleProducerFlags are kafka-console-producer.sh's options.
type consoleProducerFlags struct {
	f                                            *flagSet
	conn                                         *kafkaConn
	topic, compression, acks, reader, readerConf *string
	sync                                         *bool
	readerProps, commandProps                    *[]string
	// Each of these sets one producer property, Kafka's way (mergeFlag).
	merged []mergedFlag
}

// mergedFlag ties a tool flag to the producer property it sets.
type mergedFlag struct {
	flag, key string
	value     func() string
}

func newConsoleProducerFlags() *consoleProducerFlags {
	f := newFlagSet("kafka-console-producer.sh --bootstrap-server HOST:PORT --topic TOPIC [options]", consoleProducerAbout)
	c := &consoleProducerFlags{f: f}
	c.conn = addKafkaConn(f, "producer properties file")
	f.Alias("command-config", "producer.config")
	f.Alias("bootstrap-server", "broker-list")
	c.topic = f.String("topic", "", "TOPIC", "REQUIRED: the topic to produce to")
	c.sync = f.Bool("sync", "send each record and wait for its acknowledgement before reading the next line")
	c.compression = f.Optional("compression-codec", "none", "gzip", "CODEC", "none, gzip, snappy, lz4 or zstd; without a value gzip")
	intFlag := func(name, key string, def int64, usage string) {
		v := f.Int64(name, def, "N", usage)
		c.merged = append(c.merged, mergedFlag{name, key, func() string { return strconv.FormatInt(*v, 10) }})
	}
	intFlag("batch-size", "batch.size", 16384, "batch.size")
	intFlag("message-send-max-retries", "retries", 3, "retries")
	intFlag("retry-backoff-ms", "retry.backoff.ms", 100, "retry.backoff.ms")
	intFlag("timeout", "linger.ms", 1000, "linger.ms: how long a record may wait for a batch to fill")
	c.acks = f.String("request-required-acks", "-1", "ACKS", "acks")
	c.merged = append(c.merged, mergedFlag{"request-required-acks", "acks", func() string { return *c.acks }})
	intFlag("request-timeout-ms", "request.timeout.ms", 1500, "request.timeout.ms")
	intFlag("metadata-expiry-ms", "metadata.max.age.ms", 300000, "metadata.max.age.ms")
	intFlag("max-block-ms", "max.block.ms", 60000, "max.block.ms (accepted; kgo has no equivalent)")
	intFlag("max-memory-bytes", "buffer.memory", 32<<20, "buffer.memory")
	intFlag("max-partition-memory-bytes", "batch.size", 16384, "batch.size")
	c.reader = f.String("line-reader", defaultLineReader, "CLASS", "only Kafka's LineMessageReader is available")
	f.Int("socket-buffer-size", 102400, "BYTES", "send.buffer.bytes (accepted; ignored)")
	c.readerProps = f.Strings("reader-property", "KEY=VALUE", "a line reader property; repeatable")
	f.Alias("reader-property", "property")
	c.readerConf = f.String("reader-config", "", "FILE", "line reader properties file")
	c.commandProps = f.Strings("command-property", "KEY=VALUE", "a producer property; repeatable")
	f.Alias("command-property", "producer-property")
	return c
}

// lineReader builds the LineMessageReader from --reader-config and
// --reader-property.
func (c *consoleProducerFlags) lineReader() (*lineReader, error) {
	rp := &props{}
	if *c.readerConf != "" {
		fp, err := loadPropsFile(*c.readerConf)
		if err != nil {
			return nil, err
		}
		rp.Merge(fp)
	}
	kv, err := parseKeyValues(*c.readerProps)
	if err != nil {
		return nil, err
	}
	rp.Merge(kv)
	return newLineReader(rp)
}

// producerProps is ConsoleProducerConfig.producerProps: the file, then
// --command-property, then the tool's own flags.
func (c *consoleProducerFlags) producerProps(e *env) (*props, error) {
	p, err := c.conn.load(e)
	if err != nil {
		return nil, err
	}
	kv, err := parseKeyValues(*c.commandProps)
	if err != nil {
		return nil, err
	}
	p.Merge(kv)
	p.Set("compression.type", strings.ToLower(*c.compression))
	p.SetDefault("client.id", "console-producer")
	for _, m := range c.merged {
		mergeFlag(c.f, p, m.flag, m.key, m.value())
	}
	return p, nil
}

func kafkaConsoleProducer(ctx context.Context, e *env, args []string) int {
	c := newConsoleProducerFlags()
	if code, ok := e.kafkaParse(c.f, args); !ok {
		return code
	}
	if *c.topic == "" {
		return e.usageFail(c.f, kafkaMissing("topic"))
	}
	if _, err := codec(*c.compression); err != nil {
		return e.usageFail(c.f, usagef("%v", err))
	}
	if *c.reader != defaultLineReader && *c.reader != "kafka.tools.ConsoleProducer$LineMessageReader" {
		return e.fail(fmt.Errorf("--line-reader %s: samsa has only the default LineMessageReader", *c.reader))
	}
	lr, err := c.lineReader()
	if err != nil {
		return e.fail(err)
	}
	p, err := c.producerProps(e)
	if err != nil {
		return e.fail(err)
	}
	// Kafka's producer asks for topics to be created on first use; the
	// broker's auto.create.topics.enable decides.
	cl, err := e.newClient(e.seedBrokers(*c.conn.bootstrap, p), p, roleProducer, kgo.AllowAutoTopicCreation())
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	cp := &consoleProducer{e: e}
	cp.produceLines(ctx, cl, lr, *c.topic, *c.sync)
	if err := cl.Flush(ctx); err != nil {
		cp.fail(err)
	}
	return cp.exitCode()
}

// consoleProducer collects failures from promises (run serially by kgo)
// and the read loop.
type consoleProducer struct {
	e      *env
	mu     sync.Mutex
	failed bool
}

// produceLines reads stdin line by line, printing the ">" prompt before
// each read on a terminal as Kafka's LineMessageReader does, and produces
// each line. It stops at EOF or at the first line it cannot parse.
func (c *consoleProducer) produceLines(ctx context.Context, cl *kgo.Client, lr *lineReader, topic string, sync bool) {
	br := bufio.NewReaderSize(c.e.stdin, 64<<10)
	for lineNo := 1; ; lineNo++ {
		if c.e.isTerminal {
			fmt.Fprint(c.e.stdout, ">")
		}
		line, rerr := br.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			c.fail(rerr)
			return
		}
		if line == "" && rerr == io.EOF {
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		rec, err := lr.parse(line, lineNo)
		if err != nil {
			c.fail(err)
			return
		}
		rec.Topic = topic
		if sync {
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				c.sendFailed(rec, err)
				return
			}
		} else {
			cl.Produce(ctx, rec, c.promise)
		}
		if rerr == io.EOF {
			return
		}
	}
}

func (c *consoleProducer) promise(r *kgo.Record, err error) {
	if err != nil {
		c.sendFailed(r, err)
	}
}

// sendFailed prints Kafka's ErrorLoggingCallback message.
func (c *consoleProducer) sendFailed(r *kgo.Record, err error) {
	size := func(b []byte) string {
		if b == nil {
			return "null"
		}
		return fmt.Sprintf("%d bytes", len(b))
	}
	c.fail(fmt.Errorf("Error when sending message to topic %s with key: %s, value: %s with error: %s",
		r.Topic, size(r.Key), size(r.Value), kafkaErrText(err, "")))
}

func (c *consoleProducer) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
	fmt.Fprintf(c.e.stderr, "ERROR %v\n", err)
}

func (c *consoleProducer) exitCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed {
		return 1
	}
	return 0
}

// lineReader is Kafka's LineMessageReader.
type lineReader struct {
	parseKey, parseHeaders, ignoreError bool
	keySep, headersDelim, headersKeySep string
	headersSep                          *regexp.Regexp // Kafka compiles headers.separator as a regex
	nullMarker                          string
	hasNullMarker                       bool
}

func newLineReader(p *props) (*lineReader, error) {
	get := func(k, def string) string {
		if v, ok := p.Get(k); ok {
			return v
		}
		return def
	}
	isTrue := func(k string) bool { return strings.EqualFold(strings.TrimSpace(get(k, "false")), "true") }
	lr := &lineReader{
		parseKey: isTrue("parse.key"), parseHeaders: isTrue("parse.headers"), ignoreError: isTrue("ignore.error"),
		keySep: get("key.separator", "\t"), headersDelim: get("headers.delimiter", "\t"),
		headersKeySep: get("headers.key.separator", ":"),
	}
	sep := get("headers.separator", ",")
	re, err := regexp.Compile(sep)
	if err != nil {
		return nil, fmt.Errorf("headers.separator %q is not a valid regular expression: %v", sep, err)
	}
	lr.headersSep = re
	lr.nullMarker, lr.hasNullMarker = p.Get("null.marker")
	for _, c := range []struct {
		a, b   string
		an, bn string
	}{
		{lr.headersDelim, sep, "headers.delimiter", "headers.separator"},
		{lr.headersDelim, lr.headersKeySep, "headers.delimiter", "headers.key.separator"},
		{sep, lr.headersKeySep, "headers.separator", "headers.key.separator"},
	} {
		if c.a == c.b {
			return nil, fmt.Errorf("%s and %s may not be equal", c.an, c.bn)
		}
	}
	if lr.hasNullMarker {
		for _, c := range []struct{ v, name string }{
			{lr.keySep, "key.separator"}, {sep, "headers.separator"},
			{lr.headersDelim, "headers.delimiter"}, {lr.headersKeySep, "headers.key.separator"},
		} {
			if c.v == lr.nullMarker {
				return nil, fmt.Errorf("null.marker and %s may not be equal", c.name)
			}
		}
	}
	return lr, nil
}

func (lr *lineReader) isNull(s string) bool { return lr.hasNullMarker && s == lr.nullMarker }

// field returns the text of line from start up to demarcation, or ok=false
// when the field is not parsed (or missing and errors are ignored).
func (lr *lineReader) field(enabled bool, line string, start int, demarcation, name string, lineNo int) (string, bool, error) {
	if !enabled {
		return "", false, nil
	}
	i := strings.Index(line[start:], demarcation)
	if i < 0 {
		if lr.ignoreError {
			return "", false, nil
		}
		return "", false, fmt.Errorf("No %s found on line number %d: '%s'", name, lineNo, line)
	}
	return line[start : start+i], true, nil
}

func (lr *lineReader) parse(line string, lineNo int) (*kgo.Record, error) {
	headers, hasHeaders, err := lr.field(lr.parseHeaders, line, 0, lr.headersDelim, "headers delimiter", lineNo)
	if err != nil {
		return nil, err
	}
	headerOffset := 0
	if hasHeaders {
		headerOffset = len(headers) + len(lr.headersDelim)
	}
	key, hasKey, err := lr.field(lr.parseKey, line, headerOffset, lr.keySep, "key separator", lineNo)
	if err != nil {
		return nil, err
	}
	keyOffset := 0
	if hasKey {
		keyOffset = len(key) + len(lr.keySep)
	}
	value := line[headerOffset+keyOffset:]
	r := &kgo.Record{}
	if hasKey && !lr.isNull(key) {
		r.Key = []byte(key)
	}
	if !lr.isNull(value) {
		r.Value = []byte(value)
	}
	if hasHeaders && !lr.isNull(headers) {
		for _, pair := range javaSplit(lr.headersSep, headers) {
			i := strings.Index(pair, lr.headersKeySep)
			if i < 0 {
				if lr.ignoreError {
					r.Headers = append(r.Headers, kgo.RecordHeader{Key: pair})
					continue
				}
				return nil, fmt.Errorf("No header key separator found in pair '%s' on line number %d", pair, lineNo)
			}
			hk, hv := pair[:i], pair[i+len(lr.headersKeySep):]
			if lr.isNull(hk) {
				return nil, fmt.Errorf("Header keys should not be equal to the null marker '%s' as they can't be null", lr.nullMarker)
			}
			h := kgo.RecordHeader{Key: hk}
			if !lr.isNull(hv) {
				h.Value = []byte(hv)
			}
			r.Headers = append(r.Headers, h)
		}
	}
	return r, nil
}

// javaSplit is Java's Pattern.split: trailing empty strings are dropped.
func javaSplit(re *regexp.Regexp, s string) []string {
	parts := re.Split(s, -1)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
