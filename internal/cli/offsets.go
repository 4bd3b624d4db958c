package cli

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// offsets.go parses where `samsa consume -o` starts and stops:
//
//	start | oldest          the log start offset (the default)
//	end | newest            the high watermark: only records produced from now on
//	N                       exactly offset N
//	+N                      N after the log start offset
//	-N                      N before the high watermark (the last N records)
//	@TIME                   the first record at or after TIME
//	START:STOP              START as above, then stop at STOP:
//	                          end    the high watermark seen when consuming began
//	                          M      offset M (exclusive)
//	                          @TIME  the first record at or after TIME, or the
//	                                 high watermark seen at the start, if earlier
//
// TIME is milliseconds since the epoch, a date (2006-01-02), a date and time
// (2006-01-02T15:04:05, UTC unless a zone is given as in RFC 3339), "now", or
// a signed duration relative to now (-1h, -30m, +5m).

// nowFunc is the clock offset specs are relative to.
var nowFunc = time.Now

type startKind int

const (
	startOldest   startKind = iota
	startNewest             // the high watermark
	startExact              // n is the offset
	startFromHead           // n after the log start offset
	startFromTail           // n before the high watermark
	startTime               // n is milliseconds since the epoch
)

type stopKind int

const (
	stopNever stopKind = iota
	stopAtEnd          // the high watermark seen at start
	stopExact          // n is the first offset not printed
	stopTime           // n is milliseconds; also stops at the high watermark seen at start
)

// offsetSpec is a parsed -o value.
type offsetSpec struct {
	start   startKind
	startN  int64
	stop    stopKind
	stopN   int64
	literal string
}

func parseOffsetSpec(s string, now time.Time) (offsetSpec, error) {
	if sp, err := parseStart(s, now); err == nil {
		sp.literal = s
		return sp, nil
	}
	// A time may itself contain colons, so try every split point.
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		start := s[:i]
		if start == "" {
			start = "start"
		}
		sp, err := parseStart(start, now)
		if err != nil {
			continue
		}
		if err := parseStop(&sp, s[i+1:], now); err != nil {
			continue
		}
		sp.literal = s
		return sp, nil
	}
	return offsetSpec{}, usagef("bad offset %q: want start, end, N, +N, -N, @TIME or START:STOP (see --help)", s)
}

var digits = regexp.MustCompile(`^[0-9]+$`)

func parseStart(s string, now time.Time) (offsetSpec, error) {
	var sp offsetSpec
	switch {
	case s == "start" || s == "oldest" || s == "beginning" || s == "earliest":
		sp.start = startOldest
	case s == "end" || s == "newest" || s == "latest":
		sp.start = startNewest
	case digits.MatchString(s):
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return sp, err
		}
		sp.start, sp.startN = startExact, n
	case len(s) > 1 && (s[0] == '+' || s[0] == '-') && digits.MatchString(s[1:]):
		n, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil {
			return sp, err
		}
		sp.start, sp.startN = startFromHead, n
		if s[0] == '-' {
			sp.start = startFromTail
		}
	case strings.HasPrefix(s, "@"):
		ms, err := parseTimestamp(s[1:], now)
		if err != nil {
			return sp, err
		}
		sp.start, sp.startN = startTime, ms
	default:
		return sp, errors.New("bad start")
	}
	return sp, nil
}

func parseStop(sp *offsetSpec, s string, now time.Time) error {
	switch {
	case s == "end" || s == "@end":
		sp.stop = stopAtEnd
	case digits.MatchString(s):
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		sp.stop, sp.stopN = stopExact, n
	case strings.HasPrefix(s, "@"):
		ms, err := parseTimestamp(s[1:], now)
		if err != nil {
			return err
		}
		sp.stop, sp.stopN = stopTime, ms
	default:
		return errors.New("bad stop")
	}
	return nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// parseTimestamp reads TIME (see the file comment) as milliseconds since
// the epoch.
func parseTimestamp(s string, now time.Time) (int64, error) {
	switch {
	case s == "now":
		return now.UnixMilli(), nil
	case digits.MatchString(s):
		return strconv.ParseInt(s, 10, 64)
	case len(s) > 1 && (s[0] == '-' || s[0] == '+'):
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, usagef("bad time %q: a relative time is a signed duration such as -1h or -15m", s)
		}
		return now.Add(d).UnixMilli(), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, usagef("bad time %q: want milliseconds, 2006-01-02[T15:04:05[Z07:00]], now, or -DURATION", s)
}
