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
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/cli"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/storage"
)

func main() { os.Exit(run()) }

// run is the whole process but its exit, so that deferred calls run.
func run() int {
	keepHeapFloor(heapFloor)
	for _, p := range devProfiles {
		if path := os.Getenv(p.env); path != "" {
			stop, err := startProfile(path, p.start, p.stop)
			if err != nil {
				fmt.Fprintf(os.Stderr, "samsa: %s: %v\n", p.env, err)
				return 1
			}
			defer stop()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, os.Args, cli.IO{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		IsTerminal: isTerminal(os.Stdin),
	}, cli.Node{Serve: serve, Format: broker.Format, DumpLog: dumpLog})
}

// dumpLog prints one segment file for kafka-dump-log.sh.
func dumpLog(req config.DumpLogRequest, out, errOut io.Writer) error {
	return storage.DumpFile(req.Path, storage.DumpOptions{
		PrintData:          req.PrintData,
		Deep:               req.Deep,
		SkipRecordMetadata: req.SkipRecordMetadata,
		MaxBytes:           req.MaxBytes,
		IndexSanityCheck:   req.IndexSanityCheck,
		VerifyIndexOnly:    req.VerifyIndexOnly,
		MaxMessageSize:     req.MaxMessageSize,
	}, out, errOut)
}

// devProfiles are development aids, for any command, not production
// features: SAMSA_CPUPROFILE=file writes a CPU profile (go tool pprof),
// SAMSA_TRACE=file an execution trace (go tool trace), until the command
// ends.
var devProfiles = []struct {
	env   string
	start func(io.Writer) error
	stop  func()
}{
	{"SAMSA_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile},
	{"SAMSA_TRACE", trace.Start, trace.Stop},
}

// startProfile runs start on a new file at path; the returned function
// stops it and closes the file.
func startProfile(path string, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}

// isTerminal reports whether f is a character device (an interactive
// terminal), without a dependency for it.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
