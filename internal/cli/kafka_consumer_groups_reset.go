package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kafka_consumer_groups_reset.go is kafka-consumer-groups.sh
// --reset-offsets. Each group must be inactive (Empty, or not existing
// yet); for each, the scope (--all-topics: the committed partitions;
// --topic T[:p,p]; --from-file) and the scenario (--to-earliest, …) give a
// plan, which --dry-run (the default) prints and --execute commits:
//
//	GROUP                          TOPIC                          PARTITION  NEW-OFFSET
//
// --export prints the plan as Kafka's CSV instead: topic,partition,offset
// for a single --group, group,topic,partition,offset otherwise, the format
// --from-file reads back.

// resetPlan is the new offsets of one group's partitions.
type resetPlan map[topicPartition]int64

// reset is resetOffsets followed by the printing of its result: a plan
// per selected group, committed with --execute.
func (o *groupsOpts) reset(ctx context.Context, e *env) (bool, error) {
	names, err := o.selectedGroups(ctx)
	if err != nil {
		return false, err
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var fromFile map[string]resetPlan
	if o.f.Changed("from-file") {
		if fromFile, err = o.readResetFile(); err != nil {
			return false, err
		}
	}
	tctx, cancel := o.timed(ctx)
	defer cancel()
	snaps, err := snapshotGroups(tctx, o.cl, names)
	if err != nil {
		return false, err
	}
	ok := true
	plans := map[string]resetPlan{}
	for _, s := range snaps {
		if s.err != nil {
			return false, s.err
		}
		if !s.inactive() {
			printKafkaError(e, fmt.Sprintf("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", s.name, s.state))
			plans[s.name], ok = resetPlan{}, false
			continue
		}
		var plan resetPlan
		if fromFile != nil {
			if plan = fromFile[s.name]; plan == nil {
				printKafkaError(e, fmt.Sprintf("No reset plan for group %s found", s.name))
				plans[s.name], ok = resetPlan{}, false
				continue
			}
			tps := sortedTPs(plan)
			if plan, err = o.clampPlan(tctx, e, tps, func(tp topicPartition) int64 { return fromFile[s.name][tp] }); err != nil {
				return false, err
			}
		} else {
			tps, err := o.partitionsToReset(tctx, s)
			if err != nil {
				return false, err
			}
			if plan, err = o.prepare(tctx, e, s, tps); err != nil {
				return false, err
			}
		}
		if o.f.Changed("execute") && len(plan) > 0 {
			resps, err := commitPlan(tctx, o.adm, s.name, plan)
			if err != nil {
				return false, err
			}
			for _, tp := range sortedTPs(plan) {
				if r, found := resps.Lookup(tp.topic, tp.partition); !found {
					return false, fmt.Errorf("no commit response for %s", tp)
				} else if r.Err != nil {
					return false, r.Err
				}
			}
		}
		plans[s.name] = plan
	}
	if o.f.Changed("export") {
		out, err := o.exportCSV(plans)
		if err != nil {
			return false, err
		}
		fmt.Fprintln(e.stdout, out)
		return ok, nil
	}
	printResetPlans(e, plans)
	return ok, nil
}

// printResetPlans is printOffsetsToReset.
func printResetPlans(e *env, plans map[string]resetPlan) {
	line := func(group, topic, partition, offset string) {
		fmt.Fprintf(e.stdout, "\n%s %s %s %s", pad(group, 30), pad(topic, 30), pad(partition, 10), pad(offset, 15))
	}
	groups := slices.Sorted(func(yield func(string) bool) {
		for g := range plans {
			if !yield(g) {
				return
			}
		}
	})
	if len(groups) > 0 {
		line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	}
	for _, g := range groups {
		for _, tp := range sortedTPs(plans[g]) {
			line(g, tp.topic, fmt.Sprint(tp.partition), fmt.Sprint(plans[g][tp]))
		}
	}
	fmt.Fprintln(e.stdout)
}

// partitionsToReset is the scope: the group's committed partitions with
// --all-topics, else the partitions --topic names.
func (o *groupsOpts) partitionsToReset(ctx context.Context, s *groupSnapshot) ([]topicPartition, error) {
	if o.f.Changed("all-topics") {
		if s.commitErr != nil {
			return nil, s.commitErr
		}
		var tps []topicPartition
		for _, c := range s.committed.Sorted() {
			if c.Err == nil {
				tps = append(tps, topicPartition{c.Topic, c.Partition})
			}
		}
		return tps, nil
	}
	tps, missing, err := topicPartitions(ctx, o.adm, *o.topics)
	if err != nil {
		return nil, err
	}
	for _, a := range *o.topics {
		if err, bad := missing[a]; bad {
			return nil, err
		}
	}
	return tps, nil
}

// committedOf is the group's committed offset of tp, if any.
func committedOf(s *groupSnapshot, tp topicPartition) (int64, bool) {
	c, ok := s.committed.Lookup(tp.topic, tp.partition)
	if !ok || c.Err != nil || c.At < 0 {
		return 0, false
	}
	return c.At, true
}

// prepare is prepareOffsetsToReset for every scenario but --from-file.
func (o *groupsOpts) prepare(ctx context.Context, e *env, s *groupSnapshot, tps []topicPartition) (resetPlan, error) {
	planner := newOffsetPlanner(o.adm)
	if err := planner.load(ctx, tps); err != nil {
		return nil, err
	}
	has := o.f.Changed
	switch {
	case has("to-offset"):
		return o.clampPlanWith(e, planner, tps, func(topicPartition) int64 { return *o.toOffset })
	case has("shift-by"):
		for _, tp := range tps {
			if _, ok := committedOf(s, tp); !ok {
				return nil, usagef("Cannot shift offset for partition %s since there is no current committed offset", tp)
			}
		}
		return o.clampPlanWith(e, planner, tps, func(tp topicPartition) int64 {
			c, _ := committedOf(s, tp)
			return c + *o.shiftBy
		})
	case has("to-datetime"), has("by-duration"):
		var ms int64
		if has("to-datetime") {
			ms, _ = parseKafkaDateTime(*o.toDatetime) // checked by checkReset
		} else {
			d, _ := parseJavaDuration(*o.byDuration)
			ms = nowFunc().Add(-d).UnixMilli()
		}
		plan, fellBack, err := planner.atTime(ctx, tps, ms)
		if err != nil {
			return nil, err
		}
		for _, tp := range fellBack {
			fmt.Fprintf(e.stdout, "\nWarn: Partition %d from topic %s is empty. Falling back to latest known offset.\n", tp.partition, tp.topic)
		}
		return plan, nil
	}
	plan := resetPlan{}
	for _, tp := range tps {
		var off int64
		var err error
		switch {
		case has("to-earliest"):
			if off, err = planner.start(tp); err != nil {
				return nil, usagef("Error getting starting offset of topic partition: %s", tp)
			}
		case has("to-current"):
			if c, ok := committedOf(s, tp); ok {
				off = c
				break
			}
			fallthrough
		default: // --to-latest
			if off, err = planner.end(tp); err != nil {
				return nil, usagef("Error getting ending offset of topic partition: %s", tp)
			}
		}
		plan[tp] = off
	}
	return plan, nil
}

// clampPlan lists the offsets of tps and keeps want inside each log.
func (o *groupsOpts) clampPlan(ctx context.Context, e *env, tps []topicPartition, want func(topicPartition) int64) (resetPlan, error) {
	planner := newOffsetPlanner(o.adm)
	if err := planner.load(ctx, tps); err != nil {
		return nil, err
	}
	return o.clampPlanWith(e, planner, tps, want)
}

// clampPlanWith is checkOffsetsRange: an offset past the log end offset
// becomes the log end offset, one before the log start offset the log
// start offset, each with Kafka's warning on stderr.
func (o *groupsOpts) clampPlanWith(e *env, planner *offsetPlanner, tps []topicPartition, want func(topicPartition) int64) (resetPlan, error) {
	plan := resetPlan{}
	for _, tp := range tps {
		off, note, err := planner.clamp(tp, want(tp))
		if err != nil {
			return nil, fmt.Errorf("Unexpected non-existing offset value for topic partition %s: %w", tp, err)
		}
		if note != "" {
			fmt.Fprintf(e.stderr, "WARN %s\n", note)
		}
		plan[tp] = off
	}
	return plan, nil
}

// singleGroup is Kafka's isSingleGroupQuery: exactly one --group.
func (o *groupsOpts) singleGroup() bool { return len(*o.groups) == 1 }

// exportCSV is exportOffsetsToCsv: one line per partition, each ending in a
// newline (the caller's Println adds one more, as Kafka's tool does).
func (o *groupsOpts) exportCSV(plans map[string]resetPlan) (string, error) {
	var b strings.Builder
	w := csv.NewWriter(&b)
	for _, g := range slices.Sorted(func(yield func(string) bool) {
		for g := range plans {
			if !yield(g) {
				return
			}
		}
	}) {
		for _, tp := range sortedTPs(plans[g]) {
			rec := []string{tp.topic, fmt.Sprint(tp.partition), fmt.Sprint(plans[g][tp])}
			if !o.singleGroup() {
				rec = append([]string{g}, rec...)
			}
			if err := w.Write(rec); err != nil {
				return "", err
			}
		}
	}
	w.Flush()
	return b.String(), w.Error()
}

// readResetFile is parseResetPlan: topic,partition,offset lines for a
// single --group, else group,topic,partition,offset lines.
func (o *groupsOpts) readResetFile() (map[string]resetPlan, error) {
	data, err := os.ReadFile(*o.fromFile)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(string(data)))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", *o.fromFile, err)
	}
	noGroup := o.singleGroup() && len(recs) > 0 && len(recs[0]) == 3
	plans := map[string]resetPlan{}
	for i, rec := range recs {
		group := ""
		if noGroup {
			group = (*o.groups)[0]
		} else if len(rec) == 4 {
			group, rec = rec[0], rec[1:]
		}
		if len(rec) != 3 || group == "" {
			want := "group,topic,partition,offset"
			if noGroup {
				want = "topic,partition,offset"
			}
			return nil, fmt.Errorf("%s line %d: want %s", *o.fromFile, i+1, want)
		}
		p, perr := strconv.ParseInt(strings.TrimSpace(rec[1]), 10, 32)
		off, oerr := strconv.ParseInt(strings.TrimSpace(rec[2]), 10, 64)
		if perr != nil || oerr != nil {
			return nil, fmt.Errorf("%s line %d: partition and offset must be numbers", *o.fromFile, i+1)
		}
		if plans[group] == nil {
			plans[group] = resetPlan{}
		}
		plans[group][topicPartition{rec[0], int32(p)}] = off
	}
	return plans, nil
}

// parseKafkaDateTime is Kafka's Utils.getDateTime: yyyy-MM-ddTHH:mm:ss.SSS
// with an optional zone (Z, +01:00, +0100, +01), UTC when there is none.
// Returns milliseconds since the epoch.
func parseKafkaDateTime(s string) (int64, error) {
	date, clock, found := strings.Cut(s, "T")
	if !found || clock == "" {
		return 0, usagef("Error parsing timestamp. It does not contain a 'T' according to ISO8601 format")
	}
	if !strings.ContainsAny(clock, "+-Z") {
		s = date + "T" + clock + "Z"
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05.000Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, usagef("Unparseable date: %q", s)
}

// javaDuration is java.time.Duration.parse's grammar: PnDTnHnMn.nS, each
// part optional and signed, the whole optionally negated.
var javaDuration = regexp.MustCompile(`(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$`)

// parseJavaDuration reads an ISO-8601 duration as java.time.Duration.parse
// does ("PT1H", "P1DT12H", "-PT30M", "PT0.5S").
func parseJavaDuration(s string) (time.Duration, error) {
	bad := usagef("Text cannot be parsed to a Duration: %s", s)
	m := javaDuration.FindStringSubmatch(s)
	if m == nil || m[3] == "T" || m[2] == "" && m[3] == "" {
		return 0, bad
	}
	var d time.Duration
	for i, unit := range map[int]time.Duration{2: 24 * time.Hour, 4: time.Hour, 5: time.Minute, 6: time.Second} {
		if m[i] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i], 10, 64)
		if err != nil || n > int64(1<<62)/int64(unit) || n < -int64(1<<62)/int64(unit) {
			return 0, bad
		}
		d += time.Duration(n) * unit
	}
	if frac := m[7]; frac != "" {
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if strings.HasPrefix(m[6], "-") {
			ns = -ns
		}
		d += time.Duration(ns)
	}
	if m[1] == "-" {
		d = -d
	}
	return d, nil
}
