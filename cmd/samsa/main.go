// Command samsa is a Kafka-compatible event-streaming broker and its command
// line, in one binary.
//
//	samsa server [-c server.properties] [--override key=value]...
//	samsa topic|produce|consume|cluster|perf ...
//	kafka-topics.sh ... (and the other Kafka tools, by symlink or as "samsa kafka-topics.sh ...")
//
// This file holds only process concerns: signals, exit codes, and the
// multi-call entry; the broker lives in internal/broker and the commands in
// internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/samsa-io/samsa/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, cli.IO{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		IsTerminal: isTerminal(os.Stdin),
	}, serve)
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a character device (an interactive
// terminal), without a dependency for it.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
