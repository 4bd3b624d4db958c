package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fakeProc is a /proc with the processes a test puts in it.
type fakeProc struct {
	t    *testing.T
	root string
}

// add makes process pid, running argv from program exe in directory cwd
// with environment environ.
func (f fakeProc) add(pid int, exe, cwd string, environ []string, argv ...string) {
	f.t.Helper()
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	write("cmdline", strings.Join(argv, "\x00")+"\x00")
	write("environ", strings.Join(environ, "\x00"))
	for name, target := range map[string]string{"exe": exe, "cwd": cwd} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestServerStop(t *testing.T) {
	conf := t.TempDir()
	writeConf := func(name, content string) {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("server-1.properties", "node.id=1\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@localhost:9093\n")
	writeConf("broker.properties", "node.id=4\nprocess.roles=broker\ncontroller.quorum.voters=1@localhost:9093\n")

	proc := fakeProc{t, t.TempDir()}
	// samsa server, its file relative to its working directory.
	proc.add(101, "/usr/local/bin/samsa", conf, nil, "samsa", "server", "-c", "server-1.properties")
	// kafka-server-start.sh through a link, node.id overridden.
	proc.add(102, "/usr/local/bin/samsa", "/", nil, "/opt/kafka/bin/kafka-server-start.sh",
		filepath.Join(conf, "server-1.properties"), "--override", "node.id=2", "--override=controller.quorum.voters=2@localhost:9093")
	// samsa kafka-server-start.sh, node.id from the environment.
	proc.add(103, "/usr/local/bin/samsa", conf, []string{"SAMSA_NODE_ID=3", "SAMSA_CONTROLLER_QUORUM_VOTERS=3@localhost:9093"},
		"samsa", "kafka-server-start.sh", "-daemon", "server-1.properties")
	// A broker-only node, started by a detached kafka-server-start.sh -daemon.
	proc.add(104, "/usr/local/bin/samsa", conf, nil, "/usr/local/bin/samsa", "server", "--log-format", "text", "-c", "broker.properties")
	// Not samsa servers.
	proc.add(201, "/usr/local/bin/samsa", conf, nil, "samsa", "topic", "list")
	proc.add(202, "/usr/bin/node", conf, nil, "vite", "server")
	proc.add(203, "/usr/lib/jvm/bin/java", conf, nil, "java", "kafka.Kafka", "server.properties")

	oldRoot, oldSignal := procRoot, signalProcess
	t.Cleanup(func() { procRoot, signalProcess = oldRoot, oldSignal })
	procRoot = proc.root

	run := func(env map[string]string, args ...string) (code int, signalled []int, sig syscall.Signal, stdout, stderr string) {
		signalProcess = func(pid int, s syscall.Signal) error {
			signalled, sig = append(signalled, pid), s
			return nil
		}
		var out, errb bytes.Buffer
		code = Main(context.Background(), append([]string{"kafka-server-stop.sh"}, args...),
			IO{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}, Node{})
		slices.Sort(signalled)
		return code, signalled, sig, out.String(), errb.String()
	}

	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		pids   []int
		sig    syscall.Signal
		stdout string
	}{
		{"every server", nil, nil, 0, []int{101, 102, 103, 104}, syscall.SIGTERM, ""},
		{"the properties file Kafka's init scripts pass is ignored", nil, []string{"config/server.properties"}, 0, []int{101, 102, 103, 104}, syscall.SIGTERM, ""},
		{"one node by its file", nil, []string{"--node-id=1"}, 0, []int{101}, syscall.SIGTERM, ""},
		{"one node by an override", nil, []string{"--node-id", "2"}, 0, []int{102}, syscall.SIGTERM, ""},
		{"one node by its environment", nil, []string{"--node-id=3"}, 0, []int{103}, syscall.SIGTERM, ""},
		{"controllers", nil, []string{"--process-role=controller"}, 0, []int{101, 102, 103}, syscall.SIGTERM, ""},
		{"brokers", nil, []string{"--process-role=broker"}, 0, []int{101, 102, 103, 104}, syscall.SIGTERM, ""},
		{"node id wins over role", nil, []string{"--process-role=controller", "--node-id=4"}, 0, []int{104}, syscall.SIGTERM,
			"When both node-id and process-role are provided, the value for node-id will take precedence\n"},
		{"no such node", nil, []string{"--node-id=9"}, 1, nil, 0, "No kafka server to stop\n"},
		{"$SIGNAL", map[string]string{"SIGNAL": "KILL"}, []string{"--node-id=1"}, 0, []int{101}, syscall.SIGKILL, ""},
		{"$SIGNAL by number", map[string]string{"SIGNAL": "2"}, []string{"--node-id=1"}, 0, []int{101}, syscall.SIGINT, ""},
		{"a bad $SIGNAL", map[string]string{"SIGNAL": "BOGUS"}, nil, 2, nil, 0, ""},
		{"a bad role", nil, []string{"--process-role=leader"}, 2, nil, 0, ""},
		{"a bad node id", nil, []string{"--node-id=x"}, 2, nil, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, pids, sig, stdout, stderr := run(tc.env, tc.args...)
			if code != tc.code || !slices.Equal(pids, tc.pids) || sig != tc.sig || stdout != tc.stdout {
				t.Fatalf("exit %d, signalled %v with %v, stdout %q (stderr %q); want exit %d, %v with %v, stdout %q",
					code, pids, sig, stdout, stderr, tc.code, tc.pids, tc.sig, tc.stdout)
			}
		})
	}

	t.Run("no servers at all", func(t *testing.T) {
		procRoot = t.TempDir()
		t.Cleanup(func() { procRoot = proc.root })
		if code, pids, _, stdout, _ := run(nil); code != 1 || pids != nil || stdout != "No kafka server to stop\n" {
			t.Fatalf("exit %d, signalled %v, stdout %q; want exit 1, none, Kafka's message", code, pids, stdout)
		}
	})
}
