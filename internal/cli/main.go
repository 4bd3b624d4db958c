package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/config"
)

// Version is printed by `samsa version` and the personalities' --version.
// cmd/samsa may set it at link time.
var Version = "dev"

// IO is what a command sees of its process: standard streams and the
// environment. Commands never touch os.Stdin, os.Stdout or os.Getenv
// directly, so tests can run them in-process.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment; nil means an empty one.
	Getenv func(string) string
	// IsTerminal says stdin is an interactive terminal; the console
	// producer prints its ">" prompt only then, as Kafka's does.
	IsTerminal bool
}

// env is what one command runs with besides its context and arguments.
// Stdout and stderr are guarded by a mutex so that promise callbacks and the
// main goroutine can both write.
type env struct {
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
	isTerminal bool
	node       Node
	prog       string // name used in messages: "samsa topic create", "kafka-topics.sh"
	warned     map[string]bool
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Node is what the cli package cannot do itself and cmd/samsa lends it: run
// a broker (Serve, for `samsa server` and kafka-server-start.sh), prepare
// a node's log directories (Format, for kafka-storage.sh format) and print
// a segment file (DumpLog, for kafka-dump-log.sh: the file's contents to
// out, its problems to errOut). The commands that need a missing one fail
// with a message.
type Node struct {
	Serve   func(ctx context.Context, args []string) int
	Format  func(cfg *config.Broker, req config.FormatRequest, out io.Writer) error
	DumpLog func(req config.DumpLogRequest, out, errOut io.Writer) error
}

// Main runs the samsa command line. args[0] is the program name: when its
// base name is a Kafka tool personality (kafka-topics.sh, kafka-topics, …)
// that personality runs; otherwise args[1] selects a samsa noun or, as
// `samsa kafka-topics.sh …`, a personality. node runs the broker for
// `samsa server …` and `kafka-server-start.sh …` (the cli package never
// starts a broker itself). Returns the process exit code: 0 success, 1 the
// operation failed, 2 the command line was wrong.
func Main(ctx context.Context, args []string, stdio IO, node Node) int {
	e := &env{
		stdin:      stdio.Stdin,
		stdout:     &lockedWriter{w: orDiscard(stdio.Stdout)},
		stderr:     &lockedWriter{w: orDiscard(stdio.Stderr)},
		getenv:     stdio.Getenv,
		isTerminal: stdio.IsTerminal,
		node:       node,
		prog:       "samsa",
		warned:     map[string]bool{},
	}
	if e.stdin == nil {
		e.stdin = strings.NewReader("")
	}
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	if len(args) > 0 {
		if p := personalityFor(filepath.Base(args[0])); p != nil {
			e.prog = p.name
			return p.run(ctx, e, args[1:])
		}
	}
	if len(args) < 2 {
		topUsage(e.stderr)
		return 2
	}
	name, rest := args[1], args[2:]
	if p := personalityFor(name); p != nil {
		e.prog = p.name
		return p.run(ctx, e, rest)
	}
	for _, n := range nouns {
		if n.name == name {
			e.prog = "samsa " + name
			return n.run(ctx, e, rest)
		}
	}
	switch name {
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return Main(ctx, append([]string{"samsa"}, rest[0], "--help"), stdio, node)
		}
		topUsage(e.stdout)
		return 0
	case "version", "--version":
		fmt.Fprintf(e.stdout, "samsa %s\n", Version)
		return 0
	}
	fmt.Fprintf(e.stderr, "samsa: unknown command %q\n\n", name)
	topUsage(e.stderr)
	return 2
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// noun is one top-level samsa command.
type noun struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) int
}

var nouns = []noun{
	{"server", "run a broker (see `samsa server --help`)", runServer},
	{"topic", "create, list, describe, delete and change topics", runTopic},
	{"produce", "write records read from stdin to a topic", runProduce},
	{"consume", "print records from topics to stdout", runConsume},
	{"group", "list, describe, seek and delete consumer groups", runGroup},
	{"cluster", "show brokers, the controller and the cluster id", runCluster},
	{"perf", "measure produce, consume and end-to-end performance", runPerf},
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: samsa COMMAND [ARGS...]")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range nouns {
		fmt.Fprintf(w, "  %-10s %s\n", n.name, n.summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "version", "print the version")
	fmt.Fprintln(w, "\nKafka tool personalities (also reachable through a symlink of that name):")
	for _, p := range personalities {
		fmt.Fprintf(w, "  %s\n", p.name)
	}
	fmt.Fprintln(w, "\nEvery command takes --help. The cluster is found through -b/--brokers")
	fmt.Fprintln(w, "(Kafka tools: --bootstrap-server), else $SAMSA_BROKERS, else localhost:9092.")
}

// subcommand is one verb under a noun (topic create, perf produce).
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) int
}

// runSub dispatches args[0] among subs.
func runSub(ctx context.Context, e *env, subs []subcommand, args []string) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s COMMAND [ARGS...]\n\nCommands:\n", e.prog)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-15s %s\n", s.name, s.summary)
		}
	}
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		return 0
	}
	for _, s := range subs {
		if s.name == args[0] {
			e.prog += " " + s.name
			return s.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", e.prog, args[0])
	usage(e.stderr)
	return 2
}

// parse parses args into f and reports whether the command should go on;
// when it should not, code is the exit code (0 after --help, 2 after a
// usage error, with the usage text printed).
func (e *env) parse(f *flagSet, args []string) (code int, ok bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--zookeeper" || strings.HasPrefix(a, "--zookeeper=") {
			use := "-b/--brokers HOST:9092"
			if strings.HasPrefix(e.prog, "kafka-") {
				use = "--bootstrap-server HOST:9092"
			}
			fmt.Fprintf(e.stderr, "%s: --zookeeper is not supported (samsa has no ZooKeeper): use %s instead\n", e.prog, use)
			return 2, false
		}
	}
	err := f.parse(args)
	if err == nil {
		return 0, true
	}
	if errors.Is(err, errHelp) {
		f.usage(e.stdout)
		return 0, false
	}
	return e.usageFail(f, err), false
}

// usageFail prints err and f's usage to stderr and returns 2.
func (e *env) usageFail(f *flagSet, err error) int {
	fmt.Fprintf(e.stderr, "%s: %v\n\n", e.prog, err)
	f.usage(e.stderr)
	return 2
}

// fail prints err to stderr and returns 1, or 2 if err is a usage error.
func (e *env) fail(err error) int {
	fmt.Fprintf(e.stderr, "%s: %v\n", e.prog, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// warnf prints a warning to stderr once per distinct message.
func (e *env) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if e.warned[msg] {
		return
	}
	e.warned[msg] = true
	fmt.Fprintf(e.stderr, "%s: warning: %s\n", e.prog, msg)
}

// connFlags are the connection flags every samsa noun takes.
type connFlags struct {
	brokers *string
	config  *string
	props   *[]string
}

func addConnFlags(f *flagSet) *connFlags {
	return &connFlags{
		brokers: f.String("brokers,b", "", "HOST:PORT,...", "brokers to connect to (default $SAMSA_BROKERS or "+defaultBrokers+")"),
		config:  f.String("command-config", "", "FILE", "Kafka client properties file (security, client.id, ...)"),
		props:   f.Strings("X", "KEY=VALUE", "a Kafka client property; repeatable, wins over --command-config"),
	}
}

// load returns the seed brokers and client properties the flags describe.
func (c *connFlags) load(e *env) ([]string, *props, error) {
	p := &props{}
	if *c.config != "" {
		fp, err := loadPropsFile(*c.config)
		if err != nil {
			return nil, nil, err
		}
		p.Merge(fp)
	}
	kv, err := parseKeyValues(*c.props)
	if err != nil {
		return nil, nil, err
	}
	p.Merge(kv)
	return e.seedBrokers(*c.brokers, p), p, nil
}

// client builds a client for role from the connection flags; extra options
// win over the client properties.
func (c *connFlags) client(e *env, role clientRole, extra ...kgo.Opt) (*kgo.Client, error) {
	brokers, p, err := c.load(e)
	if err != nil {
		return nil, err
	}
	return e.newClient(brokers, p, role, extra...)
}
