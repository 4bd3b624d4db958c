package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// flags.go is the command-line layer every command shares. The standard flag
// package holds the values (each flag is a flag.Value registered in a
// flag.FlagSet under every one of its names); the parsing is ours, because
// the commands users already type need what flag.Parse does not give:
//
//	positional arguments between flags      samsa topic create a -p 3 b
//	--name value and --name=value           Kafka's jopt-simple tools
//	repeatable flags                        --config a=1 --config b=2
//	short aliases                           -p 3, -p3, -p=3
//	flags that take an optional value       --compression-codec [gzip]
//	flags that take every following value   --producer-props a=1 b=2
//
// A single-dash spelling of a long name (-topic) is accepted too. "--" ends
// the flags; everything after it is positional.

// errHelp is returned by parse when the user asked for --help.
var errHelp = errors.New("help requested")

// usageError is a command line the command cannot run: a missing or unknown
// flag, a bad value, the wrong number of arguments. Commands exit 2 on it,
// after printing the message and the usage text to stderr.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type flagKind int

const (
	kindValue    flagKind = iota // exactly one value
	kindBool                     // no value; --x=false is accepted
	kindOptional                 // a value if one follows, else noArg
	kindMulti                    // every following argument that is not a flag
)

// flagSpec describes one flag for parsing and for the usage text.
type flagSpec struct {
	names   []string // primary name first, then aliases; one letter means a short flag
	metavar string   // what the value is, for the usage text
	usage   string
	kind    flagKind
	noArg   string // value set by a kindOptional flag given without one
	hidden  bool   // accepted but left out of the usage text
	set     bool   // the flag appeared on the command line
}

// flagSet is one command's flags. Not safe for concurrent use.
type flagSet struct {
	synopsis string // "samsa topic create TOPIC... [flags]"
	about    string // one paragraph under the synopsis
	fs       *flag.FlagSet
	specs    []*flagSpec
	byName   map[string]*flagSpec
	args     []string // positional arguments, after parse
}

func newFlagSet(synopsis, about string) *flagSet {
	fs := flag.NewFlagSet(synopsis, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{synopsis: synopsis, about: about, fs: fs, byName: map[string]*flagSpec{}}
}

// add registers v under every comma-separated name in names.
func (f *flagSet) add(names string, v flag.Value, kind flagKind, metavar, usage string) *flagSpec {
	s := &flagSpec{metavar: metavar, usage: usage, kind: kind}
	for n := range strings.SplitSeq(names, ",") {
		n = strings.TrimSpace(n)
		if _, dup := f.byName[n]; dup {
			panic("cli: flag defined twice: " + n)
		}
		s.names = append(s.names, n)
		f.byName[n] = s
		f.fs.Var(v, n, usage)
	}
	f.specs = append(f.specs, s)
	return s
}

// String defines a string flag.
func (f *flagSet) String(names, def, metavar, usage string) *string {
	p := new(string)
	*p = def
	f.add(names, (*stringValue)(p), kindValue, metavar, usage)
	return p
}

// Int defines an int flag.
func (f *flagSet) Int(names string, def int, metavar, usage string) *int {
	p := new(int)
	*p = def
	f.add(names, (*intValue)(p), kindValue, metavar, usage)
	return p
}

// Int64 defines an int64 flag.
func (f *flagSet) Int64(names string, def int64, metavar, usage string) *int64 {
	p := new(int64)
	*p = def
	f.add(names, (*int64Value)(p), kindValue, metavar, usage)
	return p
}

// Float defines a float64 flag.
func (f *flagSet) Float(names string, def float64, metavar, usage string) *float64 {
	p := new(float64)
	*p = def
	f.add(names, (*floatValue)(p), kindValue, metavar, usage)
	return p
}

// Duration defines a Go-duration flag ("5s", "100ms").
func (f *flagSet) Duration(names string, def time.Duration, metavar, usage string) *time.Duration {
	p := new(time.Duration)
	*p = def
	f.add(names, (*durationValue)(p), kindValue, metavar, usage)
	return p
}

// Bool defines a flag that takes no value.
func (f *flagSet) Bool(names, usage string) *bool {
	p := new(bool)
	f.add(names, (*boolValue)(p), kindBool, "", usage)
	return p
}

// Strings defines a repeatable flag; every occurrence appends its value.
func (f *flagSet) Strings(names, metavar, usage string) *[]string {
	p := new([]string)
	f.add(names, (*stringsValue)(p), kindValue, metavar, usage)
	return p
}

// CommaStrings is Strings where each value is also split on commas
// (--delete-config a,b --delete-config c gives a, b, c).
func (f *flagSet) CommaStrings(names, metavar, usage string) *[]string {
	p := new([]string)
	f.add(names, (*commaStringsValue)(p), kindValue, metavar, usage)
	return p
}

// Multi defines a flag that takes every following argument up to the next
// flag (argparse's nargs="+"); it may also be repeated.
func (f *flagSet) Multi(names, metavar, usage string) *[]string {
	p := new([]string)
	f.add(names, (*stringsValue)(p), kindMulti, metavar, usage)
	return p
}

// Optional defines a string flag whose value may be left out, in which case
// it is noArg.
func (f *flagSet) Optional(names, def, noArg, metavar, usage string) *string {
	p := new(string)
	*p = def
	s := f.add(names, (*stringValue)(p), kindOptional, metavar, usage)
	s.noArg = noArg
	return p
}

// Alias adds hidden names for the flag already registered as name: the
// spellings Kafka renamed (KIP-1147) or retired.
func (f *flagSet) Alias(name string, aliases ...string) {
	s := f.byName[name]
	if s == nil {
		panic("cli: alias of unknown flag " + name)
	}
	v := f.fs.Lookup(name).Value
	for _, a := range aliases {
		if _, dup := f.byName[a]; dup {
			panic("cli: flag defined twice: " + a)
		}
		f.byName[a] = s
		f.fs.Var(v, a, s.usage)
	}
}

// Hide leaves the flag out of the usage text.
func (f *flagSet) Hide(name string) { f.byName[name].hidden = true }

// Changed reports whether the flag was given on the command line.
func (f *flagSet) Changed(name string) bool {
	s := f.byName[name]
	return s != nil && s.set
}

// Args returns the positional arguments.
func (f *flagSet) Args() []string { return f.args }

// TopicArgs makes --topic (and -t) another way to give the command's TOPIC
// arguments, in command-line order with the positional ones, as Kafka's
// tools and kcat spell it: samsa topic describe --topic t is samsa topic
// describe t. It is accepted without a line in the usage text.
func (f *flagSet) TopicArgs() {
	f.add("topic,t", (*stringsValue)(&f.args), kindValue, "TOPIC", "a topic, as a positional TOPIC")
	f.Hide("topic")
}

// parse reads args. It returns errHelp for -h/--help (unless the command
// defines -h itself) and a *usageError for anything it cannot parse.
func (f *flagSet) parse(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			f.args = append(f.args, args[i+1:]...)
			return nil
		}
		if !isFlagLike(a) {
			f.args = append(f.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		s := f.byName[name]
		if s == nil && !strings.HasPrefix(a, "--") && len(name) > 1 && !hasVal {
			// -p3: a short flag with its value attached.
			if short := f.byName[name[:1]]; short != nil && short.kind == kindValue {
				s, name, val, hasVal = short, name[:1], name[1:], true
			}
		}
		if s == nil {
			if name == "help" || name == "h" {
				return errHelp
			}
			return usagef("unknown flag: %s", a)
		}
		s.set = true
		switch s.kind {
		case kindBool:
			if !hasVal {
				val = "true"
			}
		case kindValue:
			if !hasVal {
				if i+1 >= len(args) {
					return usagef("flag %s needs a value", a)
				}
				i++
				val = args[i]
			}
		case kindOptional:
			if !hasVal {
				val = s.noArg
				if i+1 < len(args) && !isFlagLike(args[i+1]) {
					i++
					val = args[i]
				}
			}
		case kindMulti:
			if hasVal {
				if err := f.fs.Set(name, val); err != nil {
					return usagef("invalid value %q for %s: %v", val, a, err)
				}
			} else if i+1 >= len(args) || isFlagLike(args[i+1]) {
				return usagef("flag %s needs at least one value", a)
			}
			for i+1 < len(args) && !isFlagLike(args[i+1]) {
				i++
				if err := f.fs.Set(name, args[i]); err != nil {
					return usagef("invalid value %q for %s: %v", args[i], a, err)
				}
			}
			continue
		}
		if err := f.fs.Set(name, val); err != nil {
			return usagef("invalid value %q for %s: %v", val, a, err)
		}
	}
	return nil
}

// isFlagLike reports whether a looks like a flag rather than a value. A lone
// "-" (stdin) and negative numbers ("-3", offsets) are values.
func isFlagLike(a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	if a[1] >= '0' && a[1] <= '9' {
		return false
	}
	return true
}

// usage writes the synopsis, the about text and a table of the flags.
func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n", f.synopsis)
	if f.about != "" {
		fmt.Fprintf(w, "\n%s\n", f.about)
	}
	if len(f.specs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, s := range f.specs {
		if s.hidden {
			continue
		}
		var names []string
		for _, n := range s.names {
			if len(n) == 1 {
				names = append(names, "-"+n)
			} else {
				names = append(names, "--"+n)
			}
		}
		left := strings.Join(names, ", ")
		if len(s.names[0]) > 1 && len(s.names) > 1 && len(s.names[1]) == 1 {
			// Short form first, as users scan for it: "-p, --partitions".
			left = strings.Join(append([]string{names[1], names[0]}, names[2:]...), ", ")
		}
		switch s.kind {
		case kindOptional:
			left += " [" + s.metavar + "]"
		case kindMulti:
			left += " " + s.metavar + "..."
		case kindValue:
			left += " " + s.metavar
		}
		fmt.Fprintf(tw, "  %s\t%s\n", left, s.usage)
	}
	tw.Flush()
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not an integer")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }

type floatValue float64

func (v *floatValue) Set(s string) error {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return errors.New("not a number")
	}
	*v = floatValue(n)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (use e.g. 500ms, 5s, 1m)")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not true or false")
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type stringsValue []string

func (v *stringsValue) Set(s string) error { *v = append(*v, s); return nil }
func (v *stringsValue) String() string     { return strings.Join(*v, ",") }

type commaStringsValue []string

func (v *commaStringsValue) Set(s string) error {
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*v = append(*v, p)
		}
	}
	return nil
}
func (v *commaStringsValue) String() string { return strings.Join(*v, ",") }
