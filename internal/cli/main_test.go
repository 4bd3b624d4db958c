package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// result is what one command run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// cluster is an in-memory one-broker Kafka cluster for a test.
type cluster struct {
	t    *testing.T
	addr string
	c    *kfake.Cluster
}

func newCluster(t *testing.T, opts ...kfake.Opt) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &cluster{t: t, addr: strings.Join(c.ListenAddrs(), ","), c: c}
}

// run runs Main with args (args[0] is the program name) against the
// cluster, which it finds through $SAMSA_BROKERS.
func (c *cluster) run(stdin string, args ...string) result {
	c.t.Helper()
	return runMain(c.t, c.addr, false, stdin, args...)
}

// runTTY is run with stdin reported as a terminal.
func (c *cluster) runTTY(stdin string, args ...string) result {
	c.t.Helper()
	return runMain(c.t, c.addr, true, stdin, args...)
}

// runMain runs one command in-process with a deadline so that a hang fails
// the test instead of stalling it.
func runMain(t *testing.T, brokers string, tty bool, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, args, IO{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if k == "SAMSA_BROKERS" {
				return brokers
			}
			return ""
		},
		IsTerminal: tty,
	}, Node{})
	if ctx.Err() != nil {
		t.Fatalf("%v: did not finish within the deadline; stdout:\n%s\nstderr:\n%s", args, out.String(), errb.String())
	}
	return result{code, out.String(), errb.String()}
}

// ok fails the test unless the command exited 0, and returns its stdout.
func (r result) ok(t *testing.T) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// wantCode fails the test unless the command exited with code.
func (r result) wantCode(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// matchLines fails unless each pattern matches a line of s, in order.
func matchLines(t *testing.T, s string, patterns ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Fatalf("no line matching %q (in order) in:\n%s", p, s)
		}
		i++
	}
}

// fields splits the lines of a table into whitespace-separated fields.
func fields(s string) [][]string {
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, strings.Fields(l))
	}
	return out
}
