package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consume_loop.go is the polling loop `samsa consume` and
// kafka-console-consumer.sh share. The command builds the kgo client (direct
// assignment or group) and says when to stop; the loop polls, hands every
// data record to emit, tracks per-partition stop offsets and stop times,
// pauses partitions that are done, and marks emitted records for commit
// when consuming in a group, once they have been flushed to the output.
//
// Stop offsets work because the client keeps control records
// (kgo.KeepControlRecords): a partition whose last batches are transaction
// markers still delivers a record at the last offset, so "offset+1 reached
// the stop offset" is always observed.

// tp names one partition.
type tp struct {
	topic     string
	partition int32
}

// stopAt says where one partition stops.
type stopAt struct {
	offset int64 // first offset not emitted; -1 never
	millis int64 // records with timestamps at or after this are not emitted; -1 never
}

// errIdle ends a loop whose idle timeout passed without a record.
var errIdle = errors.New("no record received within the timeout")

// consumeLoop is one run. Fields are set by the command before run and not
// changed after; run is not safe for concurrent use.
type consumeLoop struct {
	cl      *kgo.Client
	group   bool          // mark emitted records for commit
	stops   map[tp]stopAt // partitions with a stop; the run ends when all are done
	pending int           // partitions in stops not yet done
	max     int           // stop after this many records; 0 no limit
	idle    time.Duration // stop when a poll waits this long for nothing; 0 never
	emit    func(p *kgo.FetchPartition, r *kgo.Record) error
	warn    func(err error) // reports a fetch error and keeps going
	flush   func() error    // called after every poll's records
	done    map[tp]bool     // partitions finished
	count   int             // records emitted
	tracked bool            // stops is in force
	emitted []*kgo.Record   // emitted this poll, marked for commit once flushed
}

// newConsumeLoop returns a loop over cl. stops may be nil (never stop by
// offset or time).
func newConsumeLoop(cl *kgo.Client, stops map[tp]stopAt) *consumeLoop {
	l := &consumeLoop{cl: cl, stops: stops, done: map[tp]bool{}, tracked: stops != nil}
	l.pending = len(stops)
	return l
}

// markDone finishes a partition before any record arrives (its start is
// already at its stop).
func (l *consumeLoop) markDone(p tp) {
	if l.done[p] {
		return
	}
	l.done[p] = true
	if _, ok := l.stops[p]; ok {
		l.pending--
	}
}

func (l *consumeLoop) finished() bool {
	return (l.max > 0 && l.count >= l.max) || (l.tracked && l.pending <= 0)
}

// run polls until a stop condition, ctx's end (a normal end: the user
// pressed Ctrl-C), the idle timeout (errIdle) or a failing emit.
func (l *consumeLoop) run(ctx context.Context) error {
	for !l.finished() {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if l.idle > 0 {
			pctx, cancel = context.WithTimeout(ctx, l.idle)
		}
		limit := 10000
		if l.max > 0 {
			limit = l.max - l.count
		}
		fs := l.cl.PollRecords(pctx, limit)
		cancel()
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		idleHit := false
		for _, fe := range fs.Errors() {
			switch {
			case errors.Is(fe.Err, context.DeadlineExceeded):
				idleHit = true
			case errors.Is(fe.Err, context.Canceled):
			default:
				if l.warn != nil {
					l.warn(fmt.Errorf("topic %s partition %d: %w", fe.Topic, fe.Partition, fe.Err))
				}
			}
		}
		got := 0
		var emitErr error
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			for _, r := range fp.Records {
				if emitErr != nil || l.finished() {
					return
				}
				got++
				if emitErr = l.handle(&fp.FetchPartition, r); emitErr == nil && len(l.emitted) >= markEvery {
					emitErr = l.flushAndMark()
				}
			}
		})
		if err := l.flushAndMark(); emitErr == nil {
			emitErr = err
		}
		if emitErr != nil {
			return emitErr
		}
		if idleHit && got == 0 {
			return errIdle
		}
	}
	return nil
}

// markEvery is how many emitted records may wait in the output buffer
// before a flush: a group commit covers only flushed records, so a consumer
// whose output is slow still commits its progress in steps.
const markEvery = 256

// flushAndMark flushes the output and marks the records it carried for
// commit. Only what reached the output is committed: a consumer killed
// with records still in its buffer must get them again.
func (l *consumeLoop) flushAndMark() error {
	if l.flush != nil {
		if err := l.flush(); err != nil {
			return err
		}
	}
	if len(l.emitted) > 0 {
		l.cl.MarkCommitRecords(l.emitted...)
		clear(l.emitted)
		l.emitted = l.emitted[:0]
	}
	return nil
}

// handle processes one record: stop checks, emit, done tracking.
func (l *consumeLoop) handle(fp *kgo.FetchPartition, r *kgo.Record) error {
	p := tp{r.Topic, r.Partition}
	if l.done[p] {
		return nil
	}
	stop, hasStop := l.stops[p]
	if hasStop && stop.offset >= 0 && r.Offset >= stop.offset {
		l.finish(p)
		return nil
	}
	if hasStop && stop.millis >= 0 && r.Timestamp.UnixMilli() >= stop.millis && !r.Attrs.IsControl() {
		l.finish(p)
		return nil
	}
	if !r.Attrs.IsControl() {
		if err := l.emit(fp, r); err != nil {
			return err
		}
		l.count++
		if l.group {
			l.emitted = append(l.emitted, r)
		}
	}
	if hasStop && stop.offset >= 0 && r.Offset+1 >= stop.offset {
		l.finish(p)
	}
	return nil
}

// finish marks p done and stops fetching it.
func (l *consumeLoop) finish(p tp) {
	l.markDone(p)
	l.cl.PauseFetchPartitions(map[string][]int32{p.topic: {p.partition}})
}

// commit commits the records marked so far; used before closing a group
// client. It runs on its own short deadline because ctx may already be
// cancelled by the Ctrl-C that ended the run.
func (l *consumeLoop) commit(ctx context.Context) error {
	if !l.group {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return l.cl.CommitMarkedOffsets(cctx)
}
