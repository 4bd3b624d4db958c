package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// Broker is one samsa process started by a test: a one-node cluster (broker
// and controller) on loopback, or one node of a Cluster, with its data in a
// temporary directory. Its ports and data survive Kill, Term and Start, so
// clients reconnect to the same address. The process is killed when the
// test ends; if the test failed, the broker's log is printed.
//
// A Broker belongs to the test goroutine that created it; its methods are
// not safe for concurrent use (Addr, DataDir and PID may be read anywhere).
type Broker struct {
	t         testing.TB
	name      string // how messages and kept logs name it: "broker", "node 2"
	Addr      string // host:port of the PLAINTEXT listener
	DataDir   string // log.dirs
	props     map[string]string
	propsPath string
	logPath   string
	launch    func(propsPath, dataDir string) (path string, args []string)
	ready     func() error // what waitReady polls for; pingBroker(Addr) unless replaced

	proc     *process // the running process; nil when stopped
	starts   int      // how many times the process was started
	logStart int64    // offset in the log file where the current start begins
}

// process is one run of the binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // Wait's result; valid once done is closed
}

// brokerOption adjusts a Broker before its first start.
type brokerOption func(*Broker)

// withProps sets server.properties keys, given as key, value pairs.
func withProps(kv ...string) brokerOption {
	if len(kv)%2 != 0 {
		panic("withProps: odd number of arguments")
	}
	return func(b *Broker) {
		for i := 0; i < len(kv); i += 2 {
			b.props[kv[i]] = kv[i+1]
		}
	}
}

// withLauncher replaces `samsa server -c FILE` by another command line
// (a Kafka personality, say), given the properties file's path and the data
// directory.
func withLauncher(fn func(propsPath, dataDir string) (path string, args []string)) brokerOption {
	return func(b *Broker) { b.launch = fn }
}

// startBroker writes a server.properties on free loopback ports, starts the
// binary and waits until a client can fetch metadata from it.
func startBroker(t testing.TB, opts ...brokerOption) *Broker {
	t.Helper()
	b := newBroker(t, t.TempDir(), "broker", "127.0.0.1:"+strconv.Itoa(clustertest.FreePort(t)))
	b.props = map[string]string{
		"node.id":        "1",
		"process.roles":  "broker,controller",
		"listeners":      "PLAINTEXT://" + b.Addr + ",CONTROLLER://127.0.0.1:" + strconv.Itoa(clustertest.FreePort(t)),
		"log.dirs":       b.DataDir,
		"num.partitions": "1",
	}
	for _, o := range opts {
		o(b)
	}
	b.writeProps()
	b.Start()
	return b
}

// newBroker returns a stopped broker whose files live in dir and whose
// PLAINTEXT listener is addr, with no properties yet; its process is killed
// when the test ends.
func newBroker(t testing.TB, dir, name, addr string) *Broker {
	b := &Broker{
		t:         t,
		name:      name,
		Addr:      addr,
		DataDir:   filepath.Join(dir, "data"),
		propsPath: filepath.Join(dir, "server.properties"),
		logPath:   filepath.Join(dir, "samsa.log"),
		props:     map[string]string{},
	}
	b.launch = func(props, _ string) (string, []string) { return samsaBin, []string{"server", "-c", props} }
	b.ready = func() error { return pingBroker(b.Addr) }
	t.Cleanup(b.cleanup)
	return b
}

// writeProps writes the properties to the broker's server.properties.
func (b *Broker) writeProps() {
	b.t.Helper()
	if err := os.WriteFile(b.propsPath, []byte(formatProps(b.props)), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// formatProps renders properties in Java properties syntax, sorted.
func formatProps(p map[string]string) string {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(p)) {
		fmt.Fprintf(&sb, "%s=%s\n", k, p[k])
	}
	return sb.String()
}

// Start starts the process (it must be stopped) and waits until it serves
// metadata.
func (b *Broker) Start() {
	b.t.Helper()
	b.spawn()
	b.waitReady()
}

// spawn starts the process (it must be stopped) without waiting for it:
// the nodes of a cluster can only become ready together.
func (b *Broker) spawn() {
	b.t.Helper()
	if b.proc != nil {
		b.t.Fatalf("Start: the %s is already running", b.name)
	}
	logf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	defer logf.Close() // the child holds its own descriptor
	b.starts++
	st, _ := logf.Stat()
	b.logStart = st.Size()
	path, args := b.launch(b.propsPath, b.DataDir)
	fmt.Fprintf(logf, "=== e2e: start #%d: %s %s\n", b.starts, filepath.Base(path), strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	cmd.Env = brokerEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(b.propsPath)
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start %s: %v", path, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	b.proc = p
}

// brokerEnv is the test's environment without the SAMSA_* variables, which
// samsa reads as properties: a broker's configuration is its command line
// alone, whatever the shell running the tests has set (SAMSA_E2E_SEED,
// SAMSA_FAULT_DURATION and the like are for the tests).
func brokerEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SAMSA_") })
}

// waitReady polls b.ready (by default: a franz-go client's ApiVersions and
// Metadata succeed) until it passes, failing at once if the process exits.
func (b *Broker) waitReady() {
	b.t.Helper()
	waitUntil(b.t, 60*time.Second, b.name+" ready", func() error {
		if !b.Alive() {
			b.t.Fatalf("the %s exited while starting: %v", b.name, b.proc.err)
		}
		return b.ready()
	})
}

// pingBroker sends ApiVersions (kgo does that first on a new connection) and
// Metadata to addr.
func pingBroker(addr string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTimeout(time.Second), kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if len(resp.Brokers) == 0 {
		return errors.New("metadata lists no broker")
	}
	return nil
}

// Alive reports whether the process is running (paused counts as running).
func (b *Broker) Alive() bool {
	if b.proc == nil {
		return false
	}
	select {
	case <-b.proc.done:
		return false
	default:
		return true
	}
}

// PID returns the running process's id.
func (b *Broker) PID() int {
	b.t.Helper()
	if b.proc == nil {
		b.t.Fatalf("PID: the %s is not running", b.name)
	}
	return b.proc.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to be gone.
func (b *Broker) Kill() {
	b.t.Helper()
	b.signal(syscall.SIGKILL)
	b.wait(30 * time.Second)
}

// Term sends SIGTERM, waits for the process to exit and fails the test
// unless it exited with status 0.
func (b *Broker) Term() {
	b.t.Helper()
	b.signal(syscall.SIGTERM)
	p := b.wait(60 * time.Second)
	if p.err != nil {
		b.t.Fatalf("after SIGTERM the %s exited with %v, want status 0", b.name, p.err)
	}
}

// Restart stops the broker cleanly (SIGTERM, status 0) and starts it again.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Term()
	b.Start()
}

// Pause stops the process with SIGSTOP; Resume continues it with SIGCONT.
func (b *Broker) Pause()  { b.t.Helper(); b.signal(syscall.SIGSTOP) }
func (b *Broker) Resume() { b.t.Helper(); b.signal(syscall.SIGCONT) }

func (b *Broker) signal(sig syscall.Signal) {
	b.t.Helper()
	if !b.Alive() {
		b.t.Fatalf("cannot send %v: the %s is not running", sig, b.name)
	}
	if err := b.proc.cmd.Process.Signal(sig); err != nil {
		b.t.Fatalf("send %v: %v", sig, err)
	}
}

// wait waits for the process to exit and forgets it.
func (b *Broker) wait(limit time.Duration) *process {
	b.t.Helper()
	p := b.proc
	select {
	case <-p.done:
	case <-time.After(limit):
		b.t.Fatalf("the %s did not exit within %v", b.name, limit)
	}
	b.proc = nil
	return p
}

// StartLog returns what the current (or last) start has logged so far.
func (b *Broker) StartLog() string {
	b.t.Helper()
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(data[min(b.logStart, int64(len(data))):])
}

// cleanup kills a running process, notes one that died on its own, and
// prints the log of a failed test.
func (b *Broker) cleanup() {
	if b.proc != nil {
		if !b.Alive() {
			b.t.Errorf("the %s exited on its own: %v", b.name, b.proc.err)
		} else {
			b.proc.cmd.Process.Signal(syscall.SIGKILL)
			<-b.proc.done
		}
		b.proc = nil
	}
	if b.t.Failed() {
		b.dumpLog()
	}
}

// dumpLog prints the end of the broker's log and keeps a full copy outside
// the test's temporary directory.
func (b *Broker) dumpLog() {
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		b.t.Logf("%s log: %v", b.name, err)
		return
	}
	file := b.t.Name()
	if b.name != "broker" {
		file += "-" + b.name
	}
	if keep, ok := keepLog(file, data); ok {
		b.t.Logf("full %s log kept in %s", b.name, keep)
	}
	const tail = 200
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	b.t.Logf("last %d lines of the %s log:\n%s", len(lines), b.name, bytes.Join(lines, nil))
}

// keepLog writes a failed test's log where it outlives the test's
// temporary directory, as samsa-e2e-logs/name.log in the system's.
func keepLog(name string, data []byte) (path string, ok bool) {
	path = filepath.Join(os.TempDir(), "samsa-e2e-logs", strings.NewReplacer("/", "_", " ", "_").Replace(name)+".log")
	if os.MkdirAll(filepath.Dir(path), 0o755) != nil || os.WriteFile(path, data, 0o644) != nil {
		return "", false
	}
	return path, true
}

// Client returns a franz-go client for the broker, closed when the test
// ends.
func (b *Broker) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, append([]kgo.Opt{kgo.SeedBrokers(b.Addr)}, opts...)...)
}

// newClient returns a franz-go client, closed when the test ends.
func newClient(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns a kadm client for the broker, closed when the test ends.
func (b *Broker) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.Client(t))
}
