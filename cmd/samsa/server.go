package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/config"
)

// serve runs `samsa server [-c FILE] [--override k=v]...` until ctx is done
// (SIGINT/SIGTERM), then shuts down cleanly. It returns the exit code.
func serve(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("samsa server", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	file := fs.String("c", "", "server.properties `file` (Kafka's property names); without it samsa runs a one-node cluster on localhost:9092 with data in ./data")
	fs.StringVar(file, "config", "", "same as -c")
	var overrides multiFlag
	fs.Var(&overrides, "override", "`key=value` that overrides the file (repeatable), as kafka-server-start.sh takes it")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	daemon := fs.Bool("daemon", false, "start the server in the background, detached, with its output in $LOG_DIR/kafkaServer.out, and return (kafka-server-start.sh -daemon)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: samsa server [-c server.properties] [--override key=value]...\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() == 1 && *file == "" {
		*file = fs.Arg(0) // `samsa server server.properties`, as kafka-server-start.sh takes it
	} else if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "samsa server: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *daemon {
		child := []string{"server", "--log-format", *logFormat, "--log-level", *logLevel}
		if *file != "" {
			child = append(child, "-c", *file)
		}
		for _, o := range overrides {
			child = append(child, "--override", o)
		}
		return daemonize(os.Args[0], child)
	}
	log, level, err := newLogger(os.Stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "samsa server: %v\n", err)
		return 2
	}
	cfg, warnings, err := config.Load(*file, overrides, os.Environ())
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}
	for _, w := range warnings {
		log.Warn(w.Message, "key", w.Key)
	}
	// A node configured with controller.quorum.bootstrap.servers finds its
	// voters first: recorded by kafka-storage.sh format, or from the
	// controllers.
	if cfg, err = broker.ResolveVoters(ctx, cfg, log); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	b, err := broker.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	b.SetLogLevel(level)
	if err := b.Run(ctx); err != nil {
		log.Error("broker stopped with an error", "err", err)
		return 1
	}
	return 0
}

// newLogger builds the server's logger, and the level variable that
// kafka-configs.sh --entity-type broker-loggers changes at run time.
func newLogger(w io.Writer, format, level string) (*slog.Logger, *slog.LevelVar, error) {
	lv := new(slog.LevelVar)
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), lv, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), lv, nil
	}
	return nil, nil, fmt.Errorf("bad --log-format %q (text or json)", format)
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
