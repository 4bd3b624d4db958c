package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/samsa-io/samsa/internal/config"
)

// server_stop.go is kafka-server-stop.sh: it signals the samsa servers
// running on this machine, all of them or, as KIP-979 added, those of one
// node id or one process role, which it reads from each server's own
// command line and configuration as Kafka's script reads them from the
// process's properties file. It finds them in /proc, so it works on Linux
// only, and only for servers the user may signal.

const serverStopUsage = "USAGE: kafka-server-stop.sh [--process-role=broker|controller] [--node-id=ID]"

// procRoot and signalProcess are the system the command acts on; tests
// replace them.
var (
	procRoot      = "/proc"
	signalProcess = syscall.Kill
)

func kafkaServerStop(_ context.Context, e *env, args []string) int {
	var role, node string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "-h", "--help":
			fmt.Fprintln(e.stdout, serverStopUsage)
			fmt.Fprintln(e.stdout, "\nSends SIGTERM (or $SIGNAL) to the samsa servers on this machine: all of them, those with")
			fmt.Fprintln(e.stdout, "process.roles containing the role, or the one with the node id (which wins over the role).")
			return 0
		case "--process-role", "--node-id":
			if !hasValue {
				if i+1 >= len(args) {
					fmt.Fprintf(e.stderr, "%s: %s needs a value\n%s\n", e.prog, name, serverStopUsage)
					return 2
				}
				i++
				value = args[i]
			}
			if name == "--process-role" {
				role = value
			} else {
				node = value
			}
		}
		// Anything else is ignored, as Kafka's script ignores it: init
		// scripts often pass the properties file.
	}
	if role != "" && role != "broker" && role != "controller" {
		fmt.Fprintf(e.stderr, "%s: --process-role must be broker or controller, not %q\n", e.prog, role)
		return 2
	}
	nodeID := int64(-1)
	if node != "" {
		id, err := strconv.ParseInt(node, 10, 32)
		if err != nil || id < 0 {
			fmt.Fprintf(e.stderr, "%s: --node-id must be a node id, not %q\n", e.prog, node)
			return 2
		}
		nodeID = id
		if role != "" {
			fmt.Fprintln(e.stdout, "When both node-id and process-role are provided, the value for node-id will take precedence")
			role = ""
		}
	}
	sig, err := stopSignal(e.getenv("SIGNAL"))
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", e.prog, err)
		return 2
	}

	servers, err := samsaServers()
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: cannot list processes: %v\n", e.prog, err)
		return 1
	}
	var pids []int
	for _, s := range servers {
		if nodeID >= 0 || role != "" {
			cfg, err := s.config()
			if err != nil {
				e.warnf("cannot read the configuration of process %d (%v); left alone", s.pid, err)
				continue
			}
			if nodeID >= 0 && int64(cfg.NodeID) != nodeID {
				continue
			}
			if role != "" && !cfg.HasRole(role) {
				continue
			}
		}
		pids = append(pids, s.pid)
	}
	if len(pids) == 0 {
		fmt.Fprintln(e.stdout, "No kafka server to stop")
		return 1
	}
	code := 0
	for _, pid := range pids {
		if err := signalProcess(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			fmt.Fprintf(e.stderr, "%s: cannot signal process %d: %v\n", e.prog, pid, err)
			code = 1
		}
	}
	return code
}

// stopSignal parses $SIGNAL as kill -s takes it: a name with or without
// SIG, or a number; TERM when unset.
func stopSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGTERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	names := map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL,
		"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT,
	}
	if sig, ok := names[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("SIGNAL=%s: not a signal this command sends (TERM, INT, KILL, HUP, QUIT or a number)", s)
}

// serverProcess is a running samsa server: its process id, and its
// configuration as its command line gave it.
type serverProcess struct {
	pid       int
	dir       string // its /proc entry
	file      string // its properties file as given, relative to its working directory
	overrides []string
}

// samsaServers lists the samsa servers in procRoot, this process aside.
func samsaServers() ([]serverProcess, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	ownExe, _ := os.Executable()
	var out []serverProcess
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join(procRoot, ent.Name())
		raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(raw) == 0 {
			continue // gone, or a kernel thread or zombie
		}
		argv := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))
		args, ok := serverArgs(argv, exe, ownExe)
		if !ok {
			continue
		}
		s := serverProcess{pid: pid, dir: dir}
		s.file, s.overrides = serverConfigArgs(args)
		out = append(out, s)
	}
	return out, nil
}

// serverArgs recognises a samsa server's command line, in any of the
// forms that start one: `samsa server ARGS`, `samsa kafka-server-start.sh
// ARGS` and `kafka-server-start.sh ARGS` run through a link to samsa. The
// program must be samsa: named so, or the same file as this one.
func serverArgs(argv []string, exe, ownExe string) ([]string, bool) {
	isSamsa := filepath.Base(argv[0]) == "samsa" || filepath.Base(exe) == "samsa" || sameFile(exe, ownExe)
	if !isSamsa {
		return nil, false
	}
	if isServerStart(filepath.Base(argv[0])) {
		return argv[1:], true
	}
	if len(argv) > 1 && (argv[1] == "server" || isServerStart(argv[1])) {
		return argv[2:], true
	}
	return nil, false
}

// isServerStart reports whether name runs kafka-server-start.sh, with or
// without the suffix, as personalityFor finds it.
func isServerStart(name string) bool {
	switch name {
	case "kafka-server-start.sh", "kafka-server-start", "kafka-server-start.bat":
		return true
	}
	return false
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// serverConfigArgs picks the properties file and the overrides out of a
// server's arguments, in the spellings `samsa server` and
// kafka-server-start.sh accept.
func serverConfigArgs(args []string) (file string, overrides []string) {
	withValue := []string{"c", "config", "override", "log-format", "log-level", "name"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if file == "" {
				file = a
			}
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(withValue, name) {
			continue // a switch: -daemon, -loggc
		}
		if !hasValue {
			if i+1 >= len(args) {
				break
			}
			i++
			value = args[i]
		}
		switch name {
		case "c", "config":
			file = value
		case "override":
			overrides = append(overrides, value)
		}
	}
	return file, overrides
}

// config loads the server's configuration as it did at its start: its
// file, resolved against its working directory, its environment and its
// overrides.
func (s serverProcess) config() (*config.Broker, error) {
	file := s.file
	if file != "" && !filepath.IsAbs(file) {
		cwd, err := os.Readlink(filepath.Join(s.dir, "cwd"))
		if err != nil {
			return nil, err
		}
		file = filepath.Join(cwd, file)
	}
	raw, err := os.ReadFile(filepath.Join(s.dir, "environ"))
	if err != nil {
		return nil, err
	}
	var environ []string
	for _, kv := range bytes.Split(raw, []byte{0}) {
		if len(kv) > 0 {
			environ = append(environ, string(kv))
		}
	}
	cfg, _, err := config.Load(file, s.overrides, environ)
	return cfg, err
}
