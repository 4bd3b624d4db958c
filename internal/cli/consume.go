package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consume.go is `samsa consume`. Without -g the partitions are assigned
// directly: the start offsets are resolved here (from the log start offset,
// high watermark or a timestamp lookup) so that "this partition is already
// at its stop" is known before the first fetch. With -g the command joins
// the group, starts from the group's committed offsets (the -o spec applies
// where there are none) and commits what it printed.

const consumeAbout = `Print records from TOPIC... to stdout.

-o says where to start and, optionally, where to stop:
  start            the oldest record (the default)
  end              only records produced from now on
  N                offset N              +N  N after the oldest
  -N               the last N records    @TIME  the first record at or after TIME
  START:end        stop at the high watermark seen when consuming began
  START:M          stop before offset M
  @T1:@T2          records from T1 up to (not including) T2, and at most up to
                   the high watermark seen when consuming began
TIME is milliseconds since the epoch, 2006-01-02, 2006-01-02T15:04:05 (UTC,
or with a zone as in RFC 3339), now, or a signed duration from now (-1h).

-f is franz-go's record formatter (the same language as rpk): %t topic,
%p partition, %o offset, %d timestamp (ms; %d{go[2006-01-02]} to format),
%k key, %v value, %h{%k=%v } headers, %e leader epoch, \n \t escapes.
-f json prints one JSON object per record: topic, partition, offset,
timestamp, key, value, headers (values that are not UTF-8 are base64, with
key_encoding/value_encoding set to "base64").

Without -g nothing is committed and no group is created; with -g the
command joins the group and commits the offsets of the records it printed.`

func runConsume(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa consume TOPIC... [flags]", consumeAbout)
	f.TopicArgs()
	conn := addConnFlags(f)
	offset := f.String("offset,o", "start", "SPEC", "where to start (and stop), see above")
	num := f.Int("num,n", 0, "N", "stop after N records")
	partsFlag := f.String("partitions,p", "", "P,...", "only these partitions (not with -g)")
	format := f.String("format,f", `%v\n`, "FORMAT", `output format, or "json"`)
	exitAtEnd := f.Bool("exit-at-end,e", "stop when every partition reaches the high watermark seen at start")
	group := f.String("group,g", "", "GROUP", "consume as a member of GROUP and commit offsets")
	regex := f.Bool("regex,r", "TOPIC... are regular expressions matched against whole topic names")
	committed := f.Bool("read-committed", "skip records of aborted and open transactions")
	maxWait := f.Duration("fetch-max-wait", 0, "DURATION", "longest time the broker may hold a fetch (default 5s)")
	maxBytes := f.Int("fetch-max-bytes", 0, "N", "most bytes a fetch response may carry (default 50 MiB)")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one topic"))
	}
	spec, err := parseOffsetSpec(*offset, nowFunc())
	if err != nil {
		return e.usageFail(f, err)
	}
	if *exitAtEnd && spec.stop == stopNever {
		spec.stop = stopAtEnd
	}
	only, err := parsePartitionList(*partsFlag)
	if err != nil {
		return e.usageFail(f, err)
	}
	emit, flush, err := recordPrinter(e, *format)
	if err != nil {
		return e.usageFail(f, err)
	}
	brokers, p, err := conn.load(e)
	if err != nil {
		return e.fail(err)
	}
	if *group == "" {
		*group, _ = p.Get("group.id")
	}
	if *group != "" && len(only) > 0 {
		return e.usageFail(f, usagef("-p cannot be used with -g: the group assigns partitions"))
	}
	if *committed {
		p.Set("isolation.level", "read_committed")
	}
	admCl, err := e.newClient(brokers, p, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	plan, err := planConsume(ctx, kadm.NewClient(admCl), f.Args(), *regex, only, spec, *group, *committed)
	admCl.Close()
	if err != nil {
		return e.fail(err)
	}

	opts := []kgo.Opt{kgo.KeepControlRecords()}
	if *maxWait > 0 {
		opts = append(opts, kgo.FetchMaxWait(*maxWait))
	}
	if *maxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(int32(*maxBytes)))
	}
	if *group != "" {
		opts = append(opts, kgo.ConsumerGroup(*group), kgo.ConsumeTopics(plan.topics...),
			kgo.ConsumeResetOffset(spec.kgoOffset()), kgo.AutoCommitMarks())
	} else {
		opts = append(opts, kgo.ConsumePartitions(plan.assign))
	}
	cl, err := e.newClient(brokers, p, roleConsumer, opts...)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()

	loop := newConsumeLoop(cl, plan.stops)
	for _, d := range plan.doneAtStart {
		loop.markDone(d)
	}
	loop.group = *group != ""
	loop.max = *num
	loop.emit, loop.flush = emit, flush
	loop.warn = func(err error) { e.warnf("%v", err) }
	runErr := loop.run(ctx)
	if err := loop.commit(ctx); err != nil {
		e.warnf("committing offsets: %v", err)
	}
	if runErr != nil {
		return e.fail(runErr)
	}
	return 0
}

// consumePlan is what to consume and where each partition stops.
type consumePlan struct {
	topics      []string
	assign      map[string]map[int32]kgo.Offset // direct assignment
	stops       map[tp]stopAt                   // nil when nothing stops by offset or time
	doneAtStart []tp                            // partitions whose start is at or past their stop
}

// planConsume resolves topics (regexes), partitions, start offsets and stops.
func planConsume(ctx context.Context, adm *kadm.Client, names []string, regex bool, only map[int32]bool,
	spec offsetSpec, group string, readCommitted bool) (*consumePlan, error) {
	md, err := adm.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	plan := &consumePlan{assign: map[string]map[int32]kgo.Offset{}}
	if regex {
		for _, n := range names {
			re, err := regexp.Compile("^(?:" + n + ")$")
			if err != nil {
				return nil, usagef("bad topic regex %q: %v", n, err)
			}
			for _, t := range md.Topics.Names() {
				if re.MatchString(t) && !isInternalTopic(t) {
					plan.topics = append(plan.topics, t)
				}
			}
		}
		if len(plan.topics) == 0 {
			return nil, fmt.Errorf("no topic matches %q", names)
		}
	} else {
		for _, n := range names {
			if td, ok := md.Topics[n]; !ok || td.Err != nil {
				return nil, fmt.Errorf("topic %s: UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.", n)
			}
		}
		plan.topics = names
	}

	starts, err := adm.ListStartOffsets(ctx, plan.topics...)
	if err != nil {
		return nil, err
	}
	list := adm.ListEndOffsets
	if readCommitted {
		list = adm.ListCommittedOffsets
	}
	ends, err := list(ctx, plan.topics...)
	if err != nil {
		return nil, err
	}
	var byTime kadm.ListedOffsets
	if spec.start == startTime {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, spec.startN, plan.topics...); err != nil {
			return nil, err
		}
	}
	var committed kadm.OffsetResponses
	if group != "" {
		// A group that does not exist yet has no offsets; some brokers say so
		// with GROUP_ID_NOT_FOUND.
		if committed, err = adm.FetchOffsets(ctx, group); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, fmt.Errorf("fetching the offsets of group %s: %w", group, err)
		}
	}
	if spec.stop != stopNever {
		plan.stops = map[tp]stopAt{}
	}
	for _, t := range plan.topics {
		for _, pd := range md.Topics[t].Partitions.Sorted() {
			if len(only) > 0 && !only[pd.Partition] {
				continue
			}
			p := tp{t, pd.Partition}
			lo, _ := starts.Lookup(t, pd.Partition)
			hi, _ := ends.Lookup(t, pd.Partition)
			start := spec.resolve(lo.Offset, hi.Offset, byTime, p)
			if c, ok := committed.Lookup(t, pd.Partition); ok && c.Err == nil && c.At >= 0 {
				start = c.At
			}
			if plan.stops != nil {
				stop := stopAt{offset: hi.Offset, millis: -1}
				switch spec.stop {
				case stopExact:
					stop.offset = spec.stopN
				case stopTime:
					stop.millis = spec.stopN
				}
				plan.stops[p] = stop
				if start >= stop.offset {
					plan.doneAtStart = append(plan.doneAtStart, p)
					continue // nothing to read: not assigned
				}
			}
			plan.assign[t] = mergeOffset(plan.assign[t], pd.Partition, kgo.NewOffset().At(start))
		}
	}
	for p := range only {
		found := false
		for _, t := range plan.topics {
			_, ok := md.Topics[t].Partitions[p]
			found = found || ok
		}
		if !found {
			return nil, fmt.Errorf("no partition %d in %v", p, plan.topics)
		}
	}
	return plan, nil
}

func mergeOffset(m map[int32]kgo.Offset, p int32, o kgo.Offset) map[int32]kgo.Offset {
	if m == nil {
		m = map[int32]kgo.Offset{}
	}
	m[p] = o
	return m
}

// resolve turns the start spec into an offset within [lo, hi].
func (s offsetSpec) resolve(lo, hi int64, byTime kadm.ListedOffsets, p tp) int64 {
	var at int64
	switch s.start {
	case startOldest:
		at = lo
	case startNewest:
		at = hi
	case startExact:
		at = s.startN
	case startFromHead:
		at = lo + s.startN
	case startFromTail:
		at = hi - s.startN
	case startTime:
		at = hi // no record at or after the time: start at the end
		if o, ok := byTime.Lookup(p.topic, p.partition); ok && o.Err == nil && o.Offset >= 0 {
			at = o.Offset
		}
	}
	return max(lo, min(at, hi))
}

// kgoOffset is the spec as a kgo reset offset, for group members starting
// without a committed offset.
func (s offsetSpec) kgoOffset() kgo.Offset {
	o := kgo.NewOffset()
	switch s.start {
	case startNewest:
		return o.AtEnd()
	case startExact:
		return o.At(s.startN)
	case startFromHead:
		return o.AtStart().Relative(s.startN)
	case startFromTail:
		return o.AtEnd().Relative(-s.startN)
	case startTime:
		return o.AfterMilli(s.startN)
	}
	return o.AtStart()
}

// recordPrinter returns the emit and flush functions for a -f format.
func recordPrinter(e *env, format string) (func(*kgo.FetchPartition, *kgo.Record) error, func() error, error) {
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	flush := w.Flush
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return func(_ *kgo.FetchPartition, r *kgo.Record) error { return enc.Encode(jsonRecordOf(r)) }, flush, nil
	}
	rf, err := kgo.NewRecordFormatter(format)
	if err != nil {
		return nil, nil, usagef("bad --format: %v", err)
	}
	var buf []byte
	return func(p *kgo.FetchPartition, r *kgo.Record) error {
		buf = rf.AppendPartitionRecord(buf[:0], p, r)
		_, err := w.Write(buf)
		return err
	}, flush, nil
}

// jsonRecord is one line of `samsa consume -f json`.
type jsonRecord struct {
	Topic         string       `json:"topic"`
	Partition     int32        `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     int64        `json:"timestamp"`
	Key           *string      `json:"key"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         *string      `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []jsonHeader `json:"headers"`
}

type jsonHeader struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

func jsonRecordOf(r *kgo.Record) jsonRecord {
	j := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: r.Timestamp.UnixMilli(), Headers: []jsonHeader{}}
	j.Key, j.KeyEncoding = jsonBytes(r.Key)
	j.Value, j.ValueEncoding = jsonBytes(r.Value)
	for _, h := range r.Headers {
		v, enc := jsonBytes(h.Value)
		j.Headers = append(j.Headers, jsonHeader{h.Key, v, enc})
	}
	return j
}

// jsonBytes is b as a JSON string: nil stays null, UTF-8 is kept, anything
// else is base64 and says so.
func jsonBytes(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, "base64"
}
