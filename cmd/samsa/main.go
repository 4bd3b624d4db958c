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
	"syscall"

	"github.com/samsa-io/samsa/internal/broker"
	"github.com/samsa-io/samsa/internal/cli"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/storage"
)

func main() { os.Exit(run()) }

// run is the whole process but its exit, so that deferred calls run.
func run() int {
	if path := os.Getenv("SAMSA_CPUPROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "samsa: cannot profile: %v\n", err)
			return 1
		}
		defer stopProfile()
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

// startCPUProfile writes a CPU profile to path until the returned function
// runs. It is a development aid (SAMSA_CPUPROFILE=file samsa ...), for any
// command, not a production feature.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// isTerminal reports whether f is a character device (an interactive
// terminal), without a dependency for it.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
