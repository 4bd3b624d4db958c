package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafka_console_consumer.go is the kafka-console-consumer.sh personality
// with Kafka's DefaultMessageFormatter output, e.g. with print.timestamp,
// print.partition, print.offset and print.key:
//
//	CreateTime:1700000000000<TAB>Partition:0<TAB>Offset:3<TAB>key<TAB>value
//
// and "Processed a total of N messages" on stderr at the end.
//
// It differs from Kafka's tool in one deliberate way: without --group it
// does not join a random console-consumer-NNNNN group; it reads the
// partitions directly, creates no group and commits nothing. With --group it
// joins that group and commits the offsets of the records it printed.

const consoleConsumerAbout = `Print records from --topic (or every topic matching --include) to stdout.

Without --group, samsa reads the partitions directly: no group is created and
nothing is committed (Kafka's tool joins a random console-consumer-NNNNN
group). It starts at the end, or at the beginning with --from-beginning. With
--group it joins that group, starts from the group's committed offsets, and
commits the offsets of the records it printed.

Formatter properties (--formatter-property / --property key=value):
  print.timestamp print.key print.value print.partition print.offset
  print.headers print.epoch print.delivery (true|false)
  key.separator=\t  line.separator=\n  headers.separator=,  null.literal=null
  key.deserializer, value.deserializer, headers.deserializer: the String,
  ByteArray, Bytes, Long, Integer, Short, Double, Float and UUID deserializers`

var defaultFormatters = []string{
	"org.apache.kafka.tools.consumer.DefaultMessageFormatter",
	"kafka.tools.DefaultMessageFormatter",
	"kafka.common.DefaultMessageFormatter",
}

// consoleConsumer is one kafka-console-consumer.sh run: its flags, then
// what they resolve to.
type consoleConsumer struct {
	f                                          *flagSet
	conn                                       *kafkaConn
	topic, include, offset, group, isolation   *string
	formatter, fmtConfig, keyDeser, valueDeser *string
	partition, maxMessages                     *int
	timeoutMs                                  *int64
	fromBeginning, skip                        *bool
	fmtProps, consumerProps                    *[]string
	props                                      *props // consumer properties
	groupID                                    string // "" consumes without a group
	reset                                      kgo.Offset
}

func newConsoleConsumer() *consoleConsumer {
	f := newFlagSet("kafka-console-consumer.sh --bootstrap-server HOST:PORT (--topic TOPIC | --include REGEX) [options]", consoleConsumerAbout)
	c := &consoleConsumer{f: f}
	c.conn = addKafkaConn(f, "consumer properties file")
	f.Alias("command-config", "consumer.config")
	f.Alias("bootstrap-server", "broker-list")
	c.topic = f.String("topic", "", "TOPIC", "the topic to consume")
	c.include = f.String("include", "", "REGEX", "consume every topic whose whole name matches REGEX")
	f.Alias("include", "whitelist")
	c.partition = f.Int("partition", -1, "N", "consume only partition N (starts at the end unless --offset or --from-beginning)")
	c.offset = f.String("offset", "latest", "OFFSET", "with --partition: earliest, latest or an offset")
	c.fromBeginning = f.Bool("from-beginning", "start at the oldest record when there is no committed offset")
	c.group = f.String("group", "", "GROUP", "join GROUP and commit offsets (see above)")
	c.maxMessages = f.Int("max-messages", -1, "N", "exit after N records")
	c.timeoutMs = f.Int64("timeout-ms", -1, "MS", "exit when no record arrived for this long")
	c.skip = f.Bool("skip-message-on-error", "skip a record that cannot be formatted instead of stopping")
	c.isolation = f.String("isolation-level", "read_uncommitted", "LEVEL", "read_committed or read_uncommitted")
	c.formatter = f.String("formatter", defaultFormatters[0], "CLASS", "only the DefaultMessageFormatter is available")
	c.fmtProps = f.Strings("formatter-property", "KEY=VALUE", "a formatter property; repeatable")
	f.Alias("formatter-property", "property")
	c.fmtConfig = f.String("formatter-config", "", "FILE", "formatter properties file")
	c.keyDeser = f.String("key-deserializer", "", "CLASS", "key deserializer (see above)")
	c.valueDeser = f.String("value-deserializer", "", "CLASS", "value deserializer (see above)")
	c.consumerProps = f.Strings("command-property", "KEY=VALUE", "a consumer property; repeatable")
	f.Alias("command-property", "consumer-property")
	f.Bool("enable-systest-events", "accepted for compatibility; ignored")
	return c
}

func kafkaConsoleConsumer(ctx context.Context, e *env, args []string) int {
	c := newConsoleConsumer()
	if code, ok := e.kafkaParse(c.f, args); !ok {
		return code
	}
	if err := c.check(); err != nil {
		return e.usageFail(c.f, err)
	}
	if !slices.Contains(defaultFormatters, *c.formatter) {
		return e.fail(fmt.Errorf("--formatter %s: samsa has only the DefaultMessageFormatter", *c.formatter))
	}
	if err := c.resolveProps(e); err != nil {
		return e.fail(err)
	}
	mf, err := c.messageFormatter()
	if err != nil {
		return e.fail(err)
	}
	opts, err := c.consumeOpts()
	if err != nil {
		return e.fail(err)
	}
	cl, err := e.newClient(e.seedBrokers(*c.conn.bootstrap, c.props), c.props, roleConsumer, opts...)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	return c.run(ctx, e, cl, mf)
}

// check is ConsoleConsumerOptions.checkRequiredArgs.
func (c *consoleConsumer) check() error {
	f := c.f
	if (*c.topic == "") == (*c.include == "") {
		return usagef("Exactly one of --include/--topic is required. ")
	}
	if f.Changed("partition") {
		if *c.topic == "" {
			return usagef("The topic is required when partition is specified.")
		}
		if *c.fromBeginning && f.Changed("offset") {
			return usagef("Options from-beginning and offset cannot be specified together.")
		}
	} else if f.Changed("offset") {
		return usagef("The partition is required when offset is specified.")
	}
	if f.Changed("offset") {
		if o := strings.ToLower(*c.offset); o != "earliest" && o != "latest" {
			if n, err := strconv.ParseInt(o, 10, 64); err != nil || n < 0 {
				return usagef("The provided offset value '%s' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.", *c.offset)
			}
		}
	}
	if *c.include != "" {
		if _, err := regexp.Compile(*c.include); err != nil {
			return usagef("%s is an invalid regex.", *c.include)
		}
	}
	return nil
}

// resolveProps builds the consumer properties and settles the group and
// the reset offset, as ConsoleConsumerOptions does.
func (c *consoleConsumer) resolveProps(e *env) error {
	p, err := c.conn.load(e)
	if err != nil {
		return err
	}
	kv, err := parseKeyValues(*c.consumerProps)
	if err != nil {
		return err
	}
	var groups []string
	for _, g := range []string{*c.group, p.vals["group.id"], kv.vals["group.id"]} {
		if g != "" && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	if len(groups) > 1 {
		quoted := make([]string, len(groups))
		for i, g := range groups {
			quoted[i] = "'" + g + "'"
		}
		return usagef("The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: %s", strings.Join(quoted, ", "))
	}
	if len(groups) == 1 {
		if c.f.Changed("partition") {
			return usagef("Options group and partition cannot be specified together.")
		}
		c.groupID = groups[0]
	}
	p.Merge(kv)
	reset := "latest"
	if *c.fromBeginning {
		reset = "earliest"
	}
	if v, ok := p.Get("auto.offset.reset"); ok {
		if *c.fromBeginning && v != "earliest" {
			return fmt.Errorf("Can't simultaneously specify --from-beginning and 'auto.offset.reset=%s', please remove one option", v)
		}
		reset = v
	}
	switch reset {
	case "earliest":
		c.reset = kgo.NewOffset().AtStart()
	case "latest":
		c.reset = kgo.NewOffset().AtEnd()
	default:
		return fmt.Errorf("auto.offset.reset=%s is not supported (want earliest or latest)", reset)
	}
	p.SetDefault("client.id", "console-consumer")
	p.SetDefault("partition.assignment.strategy", kafkaAssignors)
	mergeFlag(c.f, p, "isolation-level", "isolation.level", *c.isolation)
	c.props = p
	return nil
}

// messageFormatter configures the DefaultMessageFormatter: the
// --formatter-config file, then the deserializer flags, then
// --formatter-property, later ones winning.
func (c *consoleConsumer) messageFormatter() (*messageFormatter, error) {
	fp := &props{}
	if *c.fmtConfig != "" {
		cfp, err := loadPropsFile(*c.fmtConfig)
		if err != nil {
			return nil, err
		}
		fp.Merge(cfp)
	}
	if *c.keyDeser != "" {
		fp.Set("key.deserializer", *c.keyDeser)
	}
	if *c.valueDeser != "" {
		fp.Set("value.deserializer", *c.valueDeser)
	}
	kv, err := parseKeyValues(*c.fmtProps)
	if err != nil {
		return nil, err
	}
	fp.Merge(kv)
	return newMessageFormatter(fp)
}

// consumeOpts says what to consume: one partition from --offset, a topic
// or a regex, directly or in the group.
func (c *consoleConsumer) consumeOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.ConsumeResetOffset(c.reset)}
	switch {
	case c.f.Changed("partition"):
		start := kgo.NewOffset().AtEnd() // Kafka seeks a lone partition to the end
		if *c.fromBeginning {
			start = kgo.NewOffset().AtStart()
		}
		if c.f.Changed("offset") {
			switch o := strings.ToLower(*c.offset); o {
			case "earliest":
				start = kgo.NewOffset().AtStart()
			case "latest":
			default:
				n, _ := strconv.ParseInt(o, 10, 64) // checked by check
				start = kgo.NewOffset().At(n)
			}
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*c.topic: {int32(*c.partition): start}}))
	case *c.topic != "":
		opts = append(opts, kgo.ConsumeTopics(*c.topic))
	default:
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics("^(?:"+*c.include+")$"))
	}
	// A topic named outright is created if it does not exist, as Kafka's
	// consumer does by default (allow.auto.create.topics=true, with the
	// broker's auto.create.topics.enable): a consumer started before its
	// producer then reads from the topic's start.
	if v, _ := c.props.Get("allow.auto.create.topics"); *c.topic != "" && !strings.EqualFold(v, "false") {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	if c.groupID != "" {
		opts = append(opts, kgo.ConsumerGroup(c.groupID))
		if c.commits() {
			opts = append(opts, kgo.AutoCommitMarks())
		} else {
			opts = append(opts, kgo.DisableAutoCommit())
		}
	}
	return opts, nil
}

// commits reports whether the run commits offsets: in a group, unless
// enable.auto.commit=false.
func (c *consoleConsumer) commits() bool {
	v, _ := c.props.Get("enable.auto.commit")
	return c.groupID != "" && v != "false"
}

// run prints records until --max-messages, --timeout-ms or ctx's end, then
// "Processed a total of N messages" on stderr.
func (c *consoleConsumer) run(ctx context.Context, e *env, cl *kgo.Client, mf *messageFormatter) int {
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	loop := newConsumeLoop(cl, nil)
	loop.group = c.commits()
	if *c.timeoutMs >= 0 {
		loop.idle = max(time.Duration(*c.timeoutMs)*time.Millisecond, time.Millisecond)
	}
	loop.flush = func() error {
		if out.Flush() != nil {
			return errStdout
		}
		return nil
	}
	loop.warn = func(err error) { e.warnf("%v", err) }
	var buf []byte
	loop.emit = func(_ *kgo.FetchPartition, r *kgo.Record) error {
		var ferr error
		buf, ferr = mf.append(buf[:0], r)
		if ferr != nil {
			if *c.skip {
				fmt.Fprintf(e.stderr, "ERROR Error processing message, skipping this message: %v\n", ferr)
				return nil
			}
			return ferr
		}
		if _, err := out.Write(buf); err != nil {
			return errStdout
		}
		return nil
	}
	var runErr error
	if *c.maxMessages != 0 { // Kafka's --max-messages 0 reads nothing
		loop.max = max(*c.maxMessages, 0)
		runErr = loop.run(ctx)
	}
	if err := loop.commit(ctx); err != nil {
		e.warnf("committing offsets: %v", err)
	}
	code := 0
	switch {
	case errors.Is(runErr, errIdle):
		fmt.Fprintln(e.stderr, "ERROR Error processing message, terminating consumer process: org.apache.kafka.common.errors.TimeoutException")
	case errors.Is(runErr, errStdout):
		fmt.Fprintln(e.stderr, "Unable to write to standard out, closing consumer.")
	case runErr != nil:
		fmt.Fprintf(e.stderr, "ERROR Error processing message, terminating consumer process: %v\n", runErr)
		code = 1
	}
	fmt.Fprintf(e.stderr, "Processed a total of %d messages\n", loop.count)
	return code
}

var errStdout = errors.New("unable to write to standard out")
