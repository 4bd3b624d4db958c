package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// group_offsets.go is what `samsa group seek` and kafka-consumer-groups.sh
// --reset-offsets share: which partitions a --topic names, and where in a
// partition's log a new committed offset lands (the log start offset, the
// log end offset, the first offset at or after a time, an exact offset kept
// inside the log).

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s-%d", tp.topic, tp.partition) }

func compareTP(a, b topicPartition) int {
	if c := strings.Compare(a.topic, b.topic); c != 0 {
		return c
	}
	return cmp.Compare(a.partition, b.partition)
}

// sortedTPs returns the keys of m sorted by topic and partition.
func sortedTPs[V any](m map[topicPartition]V) []topicPartition {
	out := make([]topicPartition, 0, len(m))
	for tp := range m {
		out = append(out, tp)
	}
	slices.SortFunc(out, compareTP)
	return out
}

// parseTopicArg reads Kafka's --topic T:0,1,2 form; a value without a colon
// is a whole topic (partitions nil). Messages are Kafka's.
func parseTopicArg(arg string) (string, []int32, error) {
	if !strings.Contains(arg, ":") {
		return arg, nil, nil
	}
	parts := strings.Split(arg, ":")
	if len(parts) != 2 || parts[1] == "" {
		return "", nil, usagef("Invalid topic arg '%s', expected topic name and partitions", arg)
	}
	var ps []int32
	for p := range strings.SplitSeq(parts[1], ",") {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return "", nil, usagef("Invalid partition '%s' specified in topic arg '%s''", p, arg)
		}
		ps = append(ps, int32(n))
	}
	return parts[0], ps, nil
}

// topicPartitions expands topic args (T or T:p,p) into partitions, whole
// topics through Metadata. Topics that do not exist come back in missing
// with their error, in the order given.
func topicPartitions(ctx context.Context, adm *kadm.Client, args []string) (tps []topicPartition, missing map[string]error, err error) {
	var whole []string
	seen := map[topicPartition]bool{}
	add := func(tp topicPartition) {
		if !seen[tp] {
			seen[tp] = true
			tps = append(tps, tp)
		}
	}
	for _, a := range args {
		t, ps, err := parseTopicArg(a)
		if err != nil {
			return nil, nil, err
		}
		if ps == nil {
			whole = append(whole, t)
			continue
		}
		for _, p := range ps {
			add(topicPartition{t, p})
		}
	}
	if len(whole) > 0 {
		details, err := adm.ListTopics(ctx, whole...)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range whole {
			d, ok := details[t]
			switch {
			case !ok:
				missing = setErr(missing, t, kerr.UnknownTopicOrPartition)
			case d.Err != nil:
				missing = setErr(missing, t, d.Err)
			default:
				for _, p := range d.Partitions.Sorted() {
					add(topicPartition{t, p.Partition})
				}
			}
		}
	}
	return tps, missing, nil
}

func setErr(m map[string]error, k string, err error) map[string]error {
	if m == nil {
		m = map[string]error{}
	}
	m[k] = err
	return m
}

// offsetPlanner finds new offsets in partitions' logs. It lists each
// topic's start and end offsets once, on first use. Not safe for
// concurrent use.
type offsetPlanner struct {
	adm          *kadm.Client
	starts, ends kadm.ListedOffsets
	loaded       map[string]bool
}

func newOffsetPlanner(adm *kadm.Client) *offsetPlanner {
	return &offsetPlanner{adm: adm, starts: kadm.ListedOffsets{}, ends: kadm.ListedOffsets{}, loaded: map[string]bool{}}
}

// load lists the start and end offsets of the topics of tps not yet known.
func (p *offsetPlanner) load(ctx context.Context, tps []topicPartition) error {
	var topics []string
	for _, tp := range tps {
		if !p.loaded[tp.topic] && !slices.Contains(topics, tp.topic) {
			topics = append(topics, tp.topic)
		}
	}
	if len(topics) == 0 {
		return nil
	}
	starts, err := p.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := p.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("list end offsets: %w", err)
	}
	for _, t := range topics {
		p.loaded[t] = true
		p.starts[t], p.ends[t] = starts[t], ends[t]
	}
	return nil
}

func lookupOffset(l kadm.ListedOffsets, tp topicPartition) (int64, error) {
	o, ok := l.Lookup(tp.topic, tp.partition)
	switch {
	case !ok:
		return -1, kerr.UnknownTopicOrPartition
	case o.Err != nil:
		return -1, o.Err
	}
	return o.Offset, nil
}

// start is the log start offset of tp; load must have seen tp.
func (p *offsetPlanner) start(tp topicPartition) (int64, error) { return lookupOffset(p.starts, tp) }

// end is the log end offset (high watermark) of tp; load must have seen tp.
func (p *offsetPlanner) end(tp topicPartition) (int64, error) { return lookupOffset(p.ends, tp) }

// clampNote says why clamp moved an offset; "" when it did not.
type clampNote string

// clamp keeps offset inside tp's log, as Kafka's tool does: above the log
// end offset becomes the log end offset, below the log start offset the
// log start offset.
func (p *offsetPlanner) clamp(tp topicPartition, offset int64) (int64, clampNote, error) {
	end, err := p.end(tp)
	if err != nil {
		return 0, "", err
	}
	if offset > end {
		return end, clampNote(fmt.Sprintf("New offset (%d) is higher than latest offset for topic partition %s. Value will be set to %d", offset, tp, end)), nil
	}
	start, err := p.start(tp)
	if err != nil {
		return 0, "", err
	}
	if offset < start {
		return start, clampNote(fmt.Sprintf("New offset (%d) is lower than earliest offset for topic partition %s. Value will be set to %d", offset, tp, start)), nil
	}
	return offset, "", nil
}

// atTime returns, for each of tps, the first offset whose record timestamp
// is at or after ms (milliseconds since the epoch). Partitions with no such
// record get their log end offset and are listed in fellBack.
func (p *offsetPlanner) atTime(ctx context.Context, tps []topicPartition, ms int64) (map[topicPartition]int64, []topicPartition, error) {
	var topics []string
	for _, tp := range tps {
		if !slices.Contains(topics, tp.topic) {
			topics = append(topics, tp.topic)
		}
	}
	listed, err := p.adm.ListOffsetsAfterMilli(ctx, ms, topics...)
	if err != nil {
		return nil, nil, fmt.Errorf("list offsets by time: %w", err)
	}
	out := map[topicPartition]int64{}
	var fellBack []topicPartition
	for _, tp := range tps {
		o, ok := listed.Lookup(tp.topic, tp.partition)
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("offset by time of %s: %w", tp, kerr.UnknownTopicOrPartition)
		case o.Err != nil:
			return nil, nil, fmt.Errorf("offset by time of %s: %w", tp, o.Err)
		}
		// kadm answers "no record at or after ms" with the end offset,
		// whose timestamp is -1.
		if o.Timestamp < ms {
			fellBack = append(fellBack, tp)
		}
		out[tp] = o.Offset
	}
	return out, fellBack, nil
}
