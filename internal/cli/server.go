package cli

import (
	"context"
	"fmt"
	"strings"
)

// server.go hands `samsa server …` and `kafka-server-start.sh …` to the
// Serve function cmd/samsa passes in (Node); the cli package never starts a
// broker. kafka-server-start.sh's arguments are translated into the one
// form serve understands: [--daemon] -c FILE [--override k=v]...

const serverStartUsage = "USAGE: kafka-server-start.sh [-daemon] server.properties [--override property=value]*"

func runServer(ctx context.Context, e *env, args []string) int {
	if e.node.Serve == nil {
		fmt.Fprintf(e.stderr, "%s: this build cannot run a broker\n", e.prog)
		return 1
	}
	return e.node.Serve(ctx, args)
}

// kafkaServerStart is the kafka-server-start.sh personality.
func kafkaServerStart(ctx context.Context, e *env, args []string) int {
	var file string
	var overrides []string
	daemon := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-daemon" || a == "--daemon":
			daemon = true
		case a == "-loggc":
			e.warnf("-loggc is ignored: samsa has no JVM garbage collector log")
		case a == "-name":
			i++ // kafka-run-class.sh's console name; meaningless here
		case a == "-h" || a == "--help":
			fmt.Fprintln(e.stdout, serverStartUsage)
			fmt.Fprintln(e.stdout, "\nRuns a samsa broker with the given server.properties; --override sets a property.")
			fmt.Fprintln(e.stdout, "-daemon runs it in the background, detached, with its output in $LOG_DIR/kafkaServer.out")
			fmt.Fprintln(e.stdout, "(LOG_DIR defaults to logs/ beside the directory this program was run from, as in Kafka's layout).")
			return 0
		case a == "--version" || a == "-version":
			fmt.Fprintf(e.stdout, "samsa %s\n", Version)
			return 0
		case a == "--override":
			if i+1 >= len(args) {
				fmt.Fprintf(e.stderr, "%s: --override needs property=value\n%s\n", e.prog, serverStartUsage)
				return 2
			}
			i++
			overrides = append(overrides, args[i])
		case strings.HasPrefix(a, "--override="):
			overrides = append(overrides, strings.TrimPrefix(a, "--override="))
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(e.stderr, "%s: unknown option %s\n%s\n", e.prog, a, serverStartUsage)
			return 2
		case file == "":
			file = a
		default:
			fmt.Fprintf(e.stderr, "%s: unexpected argument %q\n%s\n", e.prog, a, serverStartUsage)
			return 2
		}
	}
	if file == "" {
		fmt.Fprintln(e.stderr, serverStartUsage)
		return 2
	}
	for _, o := range overrides {
		if k, _, ok := strings.Cut(o, "="); !ok || k == "" {
			fmt.Fprintf(e.stderr, "%s: --override %q: want property=value\n", e.prog, o)
			return 2
		}
	}
	var serveArgs []string
	if daemon {
		serveArgs = append(serveArgs, "--daemon")
	}
	serveArgs = append(serveArgs, "-c", file)
	for _, o := range overrides {
		serveArgs = append(serveArgs, "--override", o)
	}
	return runServer(ctx, e, serveArgs)
}
