package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
)

// group_seek.go is `samsa group seek`: commit new offsets for a group that
// has no live members, so that its consumers resume there. It prints
//
//	TOPIC PARTITION CURRENT-OFFSET NEW-OFFSET [STATUS]
//
// (STATUS only when it commits; --dry-run commits nothing). An exact offset
// outside the log is moved to the nearest end of it, with a warning, as
// kafka-consumer-groups.sh does.

const groupSeekAbout = `Commit new offsets for GROUP. Refused while the group has live members: stop its
consumers first (a running consumer would overwrite the offsets with its own commits).

--to is one of
  start       the log start offset
  end         the log end offset (the high watermark): skip everything not yet consumed
  OFFSET      exactly OFFSET, kept inside the log
  @TIME       the first record at or after TIME (milliseconds, 2006-01-02[T15:04:05[Z07:00]],
              now, or -DURATION such as -1h; UTC unless a zone is given), else the end

Without --topics, the partitions the group has committed offsets for are moved; a group
that does not exist yet is created by the commit.`

func groupSeek(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa group seek GROUP --to start|end|OFFSET|@TIME [flags]", groupSeekAbout)
	conn := addConnFlags(f)
	to := f.String("to", "", "WHERE", "where to move the offsets (see above)")
	topics := f.CommaStrings("topics", "TOPIC,...", "move every partition of these topics (default: the group's committed partitions)")
	dry := f.Bool("dry-run", "print the new offsets without committing them")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) != 1 {
		return e.usageFail(f, usagef("name exactly one group"))
	}
	if *to == "" {
		return e.usageFail(f, usagef("--to is required"))
	}
	spec, err := parseStart(*to, nowFunc())
	if err == nil && (spec.start == startFromHead || spec.start == startFromTail) {
		err = errors.New("relative offset")
	}
	if err != nil {
		if _, ok := errors.AsType[*usageError](err); ok {
			return e.usageFail(f, err)
		}
		return e.usageFail(f, usagef("bad --to %q: want start, end, OFFSET or @TIME", *to))
	}
	group := f.Args()[0]
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()

	snaps, err := snapshotGroups(ctx, cl, []string{group})
	if err != nil {
		return e.fail(err)
	}
	s := snaps[0]
	switch {
	case s.err != nil:
		return e.fail(fmt.Errorf("group %s: %s", group, kafkaErrText(s.err, "")))
	case !s.inactive():
		return e.fail(fmt.Errorf("cannot seek group %s: it has %d live member(s) (state %s); stop its consumers first", group, len(s.members), s.state))
	case s.commitErr != nil:
		return e.fail(fmt.Errorf("group %s: committed offsets: %s", group, kafkaErrText(s.commitErr, "")))
	}
	var tps []topicPartition
	if len(*topics) > 0 {
		var missing map[string]error
		if tps, missing, err = topicPartitions(ctx, adm, *topics); err != nil {
			return e.fail(err)
		}
		for _, t := range *topics {
			if err, ok := missing[t]; ok {
				return e.fail(fmt.Errorf("topic %s: %s", t, kafkaErrText(err, "")))
			}
		}
	} else {
		for _, o := range s.committed.Sorted() {
			if o.Err == nil {
				tps = append(tps, topicPartition{o.Topic, o.Partition})
			}
		}
		if len(tps) == 0 {
			return e.fail(fmt.Errorf("group %s has no committed offsets to move; name the topics with --topics", group))
		}
	}
	plan, err := planSeek(ctx, e, newOffsetPlanner(adm), tps, spec)
	if err != nil {
		return e.fail(err)
	}
	current := func(tp topicPartition) string {
		if o, ok := s.committed.Lookup(tp.topic, tp.partition); ok && o.Err == nil && o.At >= 0 {
			return fmt.Sprint(o.At)
		}
		return "-"
	}
	if *dry {
		t := newTable(e.stdout, "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET")
		for _, tp := range tps {
			t.row(tp.topic, tp.partition, current(tp), plan[tp])
		}
		t.flush()
		return 0
	}
	resps, err := commitPlan(ctx, adm, group, plan)
	if err != nil {
		return e.fail(err)
	}
	t := newTable(e.stdout, "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET", "STATUS")
	allOK := true
	for _, tp := range tps {
		status := "OK"
		if r, ok := resps.Lookup(tp.topic, tp.partition); !ok {
			status, allOK = "no response from the coordinator", false
		} else if r.Err != nil {
			status, allOK = kafkaErrText(r.Err, ""), false
		}
		t.row(tp.topic, tp.partition, current(tp), plan[tp], status)
	}
	t.flush()
	return exitFor(allOK)
}

// planSeek computes the new offset of every partition for a --to spec.
func planSeek(ctx context.Context, e *env, p *offsetPlanner, tps []topicPartition, spec offsetSpec) (map[topicPartition]int64, error) {
	plan := map[topicPartition]int64{}
	if spec.start == startTime {
		at, _, err := p.atTime(ctx, tps, spec.startN)
		return at, err
	}
	if err := p.load(ctx, tps); err != nil {
		return nil, err
	}
	for _, tp := range tps {
		var o int64
		var err error
		switch spec.start {
		case startOldest:
			o, err = p.start(tp)
		case startNewest:
			o, err = p.end(tp)
		case startExact:
			var note clampNote
			o, note, err = p.clamp(tp, spec.startN)
			if note != "" {
				e.warnf("%s", note)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("offsets of %s: %s", tp, kafkaErrText(err, ""))
		}
		plan[tp] = o
	}
	return plan, nil
}

// commitPlan commits plan for group, as an admin commit (no member, no
// generation), which brokers accept only while the group is empty.
func commitPlan(ctx context.Context, adm *kadm.Client, group string, plan map[topicPartition]int64) (kadm.OffsetResponses, error) {
	var os kadm.Offsets
	for tp, o := range plan {
		os.Add(kadm.Offset{Topic: tp.topic, Partition: tp.partition, At: o, LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, group, os)
	if err != nil {
		return nil, fmt.Errorf("commit offsets: %w", err)
	}
	return resps, nil
}
