package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
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
	msg := fmt.Sprintf("%s is not available: install the Debian package %s (apt-get install %s)", what, pkg, pkg)
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
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
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
	cfg := map[string]*string{}
	for i := 0; i+1 < len(configs); i += 2 {
		cfg[configs[i]] = kadm.StringPtr(configs[i+1])
	}
	resp, err := adm.CreateTopic(testContext(t, 30*time.Second), partitions, 1, cfg, topic)
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
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
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}))
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
