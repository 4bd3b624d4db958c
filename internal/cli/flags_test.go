package cli

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFlagParsing(t *testing.T) {
	newSet := func() (*flagSet, *int, *string, *bool, *[]string, *[]string, *string, *time.Duration) {
		f := newFlagSet("test", "")
		n := f.Int("partitions,p", -1, "N", "")
		s := f.String("topic", "", "T", "")
		b := f.Bool("verbose,v", "")
		rep := f.Strings("config,c", "K=V", "")
		multi := f.Multi("producer-props", "K=V", "")
		opt := f.Optional("codec", "none", "gzip", "C", "")
		d := f.Duration("wait", 0, "D", "")
		f.Alias("topic", "old-topic")
		return f, n, s, b, rep, multi, opt, d
	}
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, f *flagSet, n *int, s *string, b *bool, rep, multi *[]string, opt *string, d *time.Duration)
	}{
		{"positionals between flags", []string{"a", "-p", "3", "b", "--topic=x", "c"}, func(t *testing.T, f *flagSet, n *int, s *string, _ *bool, _, _ *[]string, _ *string, _ *time.Duration) {
			if *n != 3 || *s != "x" || !slices.Equal(f.Args(), []string{"a", "b", "c"}) {
				t.Fatalf("n=%d s=%q args=%q", *n, *s, f.Args())
			}
		}},
		{"short forms -p3 and -p=3", []string{"-p3", "-v"}, func(t *testing.T, f *flagSet, n *int, _ *string, b *bool, _, _ *[]string, _ *string, _ *time.Duration) {
			if *n != 3 || !*b || !f.Changed("partitions") || f.Changed("topic") {
				t.Fatalf("n=%d b=%v", *n, *b)
			}
		}},
		{"repeatable and aliased", []string{"-c", "a=1", "--config", "b=2", "--old-topic", "y"}, func(t *testing.T, f *flagSet, _ *int, s *string, _ *bool, rep, _ *[]string, _ *string, _ *time.Duration) {
			if !slices.Equal(*rep, []string{"a=1", "b=2"}) || *s != "y" || !f.Changed("topic") {
				t.Fatalf("rep=%q s=%q", *rep, *s)
			}
		}},
		{"multi-value takes arguments up to the next flag", []string{"--producer-props", "a=1", "b=2", "-v", "pos"}, func(t *testing.T, f *flagSet, _ *int, _ *string, b *bool, _, multi *[]string, _ *string, _ *time.Duration) {
			if !slices.Equal(*multi, []string{"a=1", "b=2"}) || !*b || !slices.Equal(f.Args(), []string{"pos"}) {
				t.Fatalf("multi=%q args=%q", *multi, f.Args())
			}
		}},
		{"optional value absent and present", []string{"--codec", "--topic", "t"}, func(t *testing.T, _ *flagSet, _ *int, s *string, _ *bool, _, _ *[]string, opt *string, _ *time.Duration) {
			if *opt != "gzip" || *s != "t" {
				t.Fatalf("opt=%q", *opt)
			}
		}},
		{"negative numbers are values", []string{"-p", "-1", "-5"}, func(t *testing.T, f *flagSet, n *int, _ *string, _ *bool, _, _ *[]string, _ *string, _ *time.Duration) {
			if *n != -1 || !slices.Equal(f.Args(), []string{"-5"}) {
				t.Fatalf("n=%d args=%q", *n, f.Args())
			}
		}},
		{"-- ends the flags", []string{"--", "-p", "x"}, func(t *testing.T, f *flagSet, n *int, _ *string, _ *bool, _, _ *[]string, _ *string, _ *time.Duration) {
			if *n != -1 || !slices.Equal(f.Args(), []string{"-p", "x"}) {
				t.Fatalf("args=%q", f.Args())
			}
		}},
		{"single-dash long names and durations", []string{"-topic", "t", "--wait", "1500ms"}, func(t *testing.T, _ *flagSet, _ *int, s *string, _ *bool, _, _ *[]string, _ *string, d *time.Duration) {
			if *s != "t" || *d != 1500*time.Millisecond {
				t.Fatalf("s=%q d=%v", *s, *d)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n, s, b, rep, multi, opt, d := newSet()
			if err := f.parse(tc.args); err != nil {
				t.Fatal(err)
			}
			tc.check(t, f, n, s, b, rep, multi, opt, d)
		})
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"-p"}, "flag -p needs a value"},
		{[]string{"-p", "x"}, `invalid value "x" for -p: not an integer`},
		{[]string{"--producer-props"}, "needs at least one value"},
		{[]string{"--wait", "5"}, "not a duration"},
	} {
		f, _, _, _, _, _, _, _ := newSet()
		err := f.parse(tc.args)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.msg) {
			t.Fatalf("%q: error %v, want a usage error containing %q", tc.args, err, tc.msg)
		}
	}
	f, _, _, _, _, _, _, _ := newSet()
	if err := f.parse([]string{"x", "--help"}); !errors.Is(err, errHelp) {
		t.Fatalf("--help: %v", err)
	}
	var usage strings.Builder
	f.usage(&usage)
	if !strings.Contains(usage.String(), "-p, --partitions N") || strings.Contains(usage.String(), "old-topic") {
		t.Fatalf("usage:\n%s", usage.String())
	}
}

func TestNounHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"samsa", "--help"},
		{"samsa", "topic", "--help"},
		{"samsa", "topic", "create", "--help"},
		{"samsa", "produce", "-h"},
		{"samsa", "consume", "--help"},
		{"samsa", "cluster", "info", "--help"},
		{"samsa", "perf", "produce", "--help"},
		{"samsa", "perf", "e2e", "--help"},
		{"kafka-topics.sh", "--help"},
		{"kafka-console-consumer.sh", "--help"},
		{"kafka-configs.sh", "--help"},
	} {
		r := runMain(t, "127.0.0.1:1", false, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage") || r.stderr != "" {
			t.Fatalf("%v: code %d stdout %q stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}
