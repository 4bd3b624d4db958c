package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// daemonize starts this binary with args (`server …`) in a session of its
// own, with no terminal, stdin from /dev/null and its output in
// $LOG_DIR/kafkaServer.out, and returns at once without waiting for it to
// come up: what kafka-server-start.sh -daemon does, so init scripts written
// for Kafka work unchanged. invoked is how this process was started
// (os.Args[0]), which places the default LOG_DIR.
func daemonize(invoked string, args []string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "samsa server: cannot find this program to start it in the background: %v\n", err)
		return 1
	}
	logDir := daemonLogDir(invoked, os.Getenv("LOG_DIR"))
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "samsa server: %v\n", err)
		return 1
	}
	// Truncated at each start, as Kafka's shell redirection does.
	out, err := os.Create(filepath.Join(logDir, "kafkaServer.out"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "samsa server: %v\n", err)
		return 1
	}
	defer out.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "samsa server: cannot start in the background: %v\n", err)
		return 1
	}
	cmd.Process.Release()
	return 0
}

// daemonLogDir is $LOG_DIR, or else Kafka's default: logs/ in the parent of
// the directory the program was run from (bin/../logs in Kafka's layout).
func daemonLogDir(invoked, env string) string {
	if env != "" {
		return env
	}
	path := invoked
	if !strings.Contains(path, "/") {
		if p, err := exec.LookPath(path); err == nil {
			path = p
		}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return filepath.Join(filepath.Dir(filepath.Dir(path)), "logs")
}
