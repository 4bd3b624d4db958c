package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pythonBin is the interpreter the Debian packages python3-kafka and
// python3-confluent-kafka install into; a python3 earlier on PATH (pyenv,
// a virtualenv) does not see them.
const pythonBin = "/usr/bin/python3"

// waitUntil polls cond every 50 ms until it returns nil, and fails the test
// with cond's last error if that takes longer than limit. It is the one way
// these tests wait for something to happen.
func waitUntil(t testing.TB, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
		<-tick.C
	}
}

// testContext returns a context cancelled after limit or when the test ends.
func testContext(t testing.TB, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

// missingClient skips the test, or fails it when SAMSA_E2E=1 (CI, where
// every client must be installed), naming the Debian package to install.
func missingClient(t testing.TB, what, pkg string) {
	t.Helper()
	cannotRun(t, fmt.Sprintf("%s is not available: install the Debian package %s (apt-get install %s)", what, pkg, pkg))
}

// cannotRun skips a test the machine cannot run (a client or a tool is
// missing, a fixed port is taken) with msg saying why, or fails it when
// SAMSA_E2E=1: CI must run everything.
func cannotRun(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("SAMSA_E2E") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// needKcat makes sure kcat is on PATH.
func needKcat(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		missingClient(t, "kcat", "kcat")
	}
}

// needPython makes sure /usr/bin/python3 can import module.
func needPython(t testing.TB, module, pkg string) {
	t.Helper()
	if _, err := os.Stat(pythonBin); err != nil {
		missingClient(t, pythonBin, pkg)
	}
	if r := runTool(t, 30*time.Second, "", pythonBin, "-c", "import "+module); r.Err != nil {
		missingClient(t, "the Python module "+module+" under "+pythonBin, pkg)
	}
}

// toolResult is what a finished command printed and how it exited.
type toolResult struct {
	Stdout, Stderr string
	Err            error // nil for exit status 0; an *exec.ExitError otherwise
}

// ExitCode returns the exit status (-1 if the command did not run).
func (r toolResult) ExitCode() int {
	var ee *exec.ExitError
	if errors.As(r.Err, &ee) {
		return ee.ExitCode()
	}
	if r.Err != nil {
		return -1
	}
	return 0
}

func (r toolResult) String() string {
	return fmt.Sprintf("exit: %v\nstdout:\n%s\nstderr:\n%s", r.Err, r.Stdout, r.Stderr)
}

// runTool runs a command with stdin, failing the test if it is still running
// after limit.
func runTool(t testing.TB, limit time.Duration, stdin string, name string, args ...string) toolResult {
	t.Helper()
	return runToolEnv(t, limit, nil, stdin, name, args...)
}

// runToolEnv is runTool with env added to the test's environment.
func runToolEnv(t testing.TB, limit time.Duration, env []string, stdin string, name string, args ...string) toolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := toolResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v\n%s", name, strings.Join(args, " "), limit, r)
	}
	return r
}

// mustRun is runTool for commands that must exit 0.
func mustRun(t testing.TB, limit time.Duration, stdin string, name string, args ...string) toolResult {
	t.Helper()
	r := runTool(t, limit, stdin, name, args...)
	if r.Err != nil {
		t.Fatalf("%s %s: %s", name, strings.Join(args, " "), r)
	}
	return r
}

// bgTool is a command running in the background while the test goes on: a
// consumer process to be killed, say. Its stdout is collected line by line
// as it comes, and it is killed when the test ends; if the test failed, the
// end of its stderr is printed.
//
// A bgTool belongs to the test goroutine that started it, but Lines and
// Stderr may be called anywhere.
type bgTool struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // nil unless started with startInteractiveTool
	done  chan struct{}  // closed once the process has exited and its stdout is read
	err   error          // Wait's result; valid once done is closed

	mu     sync.Mutex
	lines  []string     // stdout, one entry per line; guarded by mu
	stderr bytes.Buffer // guarded by mu
}

// startTool starts a command in the background with no stdin.
func startTool(t testing.TB, name string, args ...string) *bgTool {
	t.Helper()
	return launchTool(t, false, name, args...)
}

// startInteractiveTool starts a command in the background with a pipe to
// its stdin (see Send).
func startInteractiveTool(t testing.TB, name string, args ...string) *bgTool {
	t.Helper()
	return launchTool(t, true, name, args...)
}

func launchTool(t testing.TB, withStdin bool, name string, args ...string) *bgTool {
	t.Helper()
	p := &bgTool{t: t, name: name + " " + strings.Join(args, " "), done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if withStdin {
		if p.stdin, err = p.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait() // after the last read, as StdoutPipe requires
		close(p.done)
	}()
	t.Cleanup(p.cleanup)
	return p
}

// lockedWriter writes to a buffer under a mutex.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// Lines returns the lines the command has printed so far.
func (p *bgTool) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Stderr returns what the command has written to stderr so far.
func (p *bgTool) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Send writes a line to the command's stdin.
func (p *bgTool) Send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: write to stdin: %v", p.name, err)
	}
}

// Exited reports whether the command has exited (and its output is read).
func (p *bgTool) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL and waits until the process is gone and everything it
// printed is read.
func (p *bgTool) Kill() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL) // an error means it already exited
	p.Wait(30 * time.Second)
}

// Wait waits for the command to exit and returns Wait's result, failing the
// test if that takes longer than limit.
func (p *bgTool) Wait(limit time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(limit):
		p.t.Fatalf("%s: still running after %v\nstderr:\n%s", p.name, limit, p.Stderr())
		return nil
	}
}

func (p *bgTool) cleanup() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	if p.t.Failed() {
		stderr := p.Stderr()
		if len(stderr) > 4<<10 {
			stderr = "…" + stderr[len(stderr)-4<<10:]
		}
		p.t.Logf("%s exited with %v; stderr:\n%s", p.name, p.err, stderr)
	}
}

// outputLines splits a command's output into lines; none for no output.
func outputLines(out string) []string {
	if out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// kcat runs kcat against the broker; it must exit 0.
func (b *Broker) kcat(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	return mustRun(t, 60*time.Second, stdin, "kcat", append([]string{"-b", b.Addr}, args...)...).Stdout
}

// python runs a script with /usr/bin/python3 and the given arguments; it
// must exit 0.
func python(t testing.TB, script string, args ...string) string {
	t.Helper()
	return mustRun(t, 120*time.Second, "", pythonBin, append([]string{"-c", script}, args...)...).Stdout
}

// createTopic creates a topic with replication factor 1 and the given topic
// configs (key, value pairs).
func createTopic(t testing.TB, adm *kadm.Client, topic string, partitions int32, configs ...string) {
	t.Helper()
	createReplicatedTopic(t, adm, topic, partitions, 1, configs...)
}

// createReplicatedTopic creates a topic with rf replicas of each partition
// and the given topic configs (key, value pairs).
func createReplicatedTopic(t testing.TB, adm *kadm.Client, topic string, partitions int32, rf int16, configs ...string) {
	t.Helper()
	cfg := map[string]*string{}
	for i := 0; i+1 < len(configs); i += 2 {
		cfg[configs[i]] = kadm.StringPtr(configs[i+1])
	}
	resp, err := adm.CreateTopic(testContext(t, 30*time.Second), partitions, rf, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// offsets returns each partition's log start offset and end offset (the
// high watermark), as ListOffsets reports them.
func offsets(t testing.TB, adm *kadm.Client, topic string) (start, end map[int32]int64) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		t.Fatalf("list start offsets of %s: %v", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	start, end = map[int32]int64{}, map[int32]int64{}
	starts.Each(func(o kadm.ListedOffset) { start[o.Partition] = o.Offset })
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	return start, end
}

// readAll reads every partition of topic from its log start offset to the
// end offset listed when the call begins, assigning the partitions directly
// (no consumer group). The records of each partition come in offset order.
func readAll(t testing.TB, b *Broker, topic string) map[int32][]*kgo.Record {
	t.Helper()
	return readTopic(t, topic, kgo.SeedBrokers(b.Addr))
}

// readTopic is readAll with clients made from opts (seed brokers among
// them): a cluster's seeds and the address its clients dial from.
func readTopic(t testing.TB, topic string, opts ...kgo.Opt) map[int32][]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	start, end := offsets(t, kadm.NewClient(cl), topic)
	cl.Close()
	assign := map[int32]kgo.Offset{}
	left := 0
	out := map[int32][]*kgo.Record{}
	for p, e := range end {
		out[p] = nil
		if e > start[p] {
			assign[p] = kgo.NewOffset().At(start[p])
			left++
		}
	}
	if left == 0 {
		return out
	}
	cl, err = kgo.NewClient(append(slices.Clip(opts), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := testContext(t, 60*time.Second)
	for left > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d partitions not read to their end in time; have %s", topic, left, countRecords(out))
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("read %s/%d: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= end[r.Partition] {
				return
			}
			out[r.Partition] = append(out[r.Partition], r)
			if r.Offset == end[r.Partition]-1 {
				left--
			}
		})
	}
	return out
}

// countRecords describes how many records each partition has.
func countRecords(m map[int32][]*kgo.Record) string {
	var parts []string
	for p := int32(0); p < int32(len(m)); p++ {
		parts = append(parts, fmt.Sprintf("%d:%d", p, len(m[p])))
	}
	return strings.Join(parts, " ")
}

// values returns the records' values as strings.
func values(rs []*kgo.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Value)
	}
	return out
}
