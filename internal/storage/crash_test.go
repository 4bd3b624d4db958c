package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// childEnv makes the test binary run as the crash child: it appends to the
// log directory named by the variable until it is killed.
const childEnv = "SAMSA_STORAGE_CRASH_CHILD"

func crashConfig() LogConfig {
	cfg := testConfig()
	cfg.SegmentBytes = 4 << 10
	cfg.FlushMessages = 1 // fsync mode: an ack means fdatasync'd
	return cfg
}

// runCrashChild appends idempotent batches forever, printing one line per
// batch once it is durable: "<base> <last> <sequence>".
func runCrashChild() int {
	d, err := OpenDir(os.Getenv(childEnv), DirOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	l, err := d.OpenLog(testTP, testTopicID, crashConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for seq := int32(0); ; seq += 3 {
		res, err := l.AppendAsLeader(makeBatch(spec{n: 3, value: 100, ts: int64(seq), pid: testPID, epoch: 0, seq: seq}), 0, int64(seq))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if err := l.WaitDurable(context.Background(), res.LastOffset+1); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("%d %d %d\n", res.BaseOffset, res.LastOffset, seq)
	}
}

func TestSIGKILLMidAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct{ base, last, seq int64 }
	var acks []ack
	sc := bufio.NewScanner(out)
	for len(acks) < 150 && sc.Scan() {
		var a ack
		if _, err := fmt.Sscan(sc.Text(), &a.base, &a.last, &a.seq); err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acks = append(acks, a)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exitErr) {
		t.Fatalf("child exit: %v", err)
	}
	if len(acks) < 150 {
		t.Fatalf("child acknowledged only %d batches", len(acks))
	}

	d := openDir(t, path)
	if d.Clean() {
		t.Fatal("a killed process left a clean-shutdown marker")
	}
	l := openTestLog(t, d, crashConfig())
	hs := batches(t, l, 0)
	if len(hs) < len(acks) {
		t.Fatalf("%d batches after recovery, %d were acknowledged", len(hs), len(acks))
	}
	for i, a := range acks {
		if h := hs[i]; h.BaseOffset != a.base || h.LastOffset() != a.last || int64(h.BaseSequence) != a.seq {
			t.Fatalf("acknowledged batch %d (%d-%d seq %d) recovered as %d-%d seq %d", i, a.base, a.last, a.seq, h.BaseOffset, h.LastOffset(), h.BaseSequence)
		}
	}
	// The producer's last batch on disk, acknowledged or not, is a
	// duplicate; the one after it is accepted; a gap is refused.
	last := hs[len(hs)-1]
	res, err := l.AppendAsLeader(makeBatch(spec{n: 3, value: 100, pid: testPID, epoch: 0, seq: last.BaseSequence}), 0, 0)
	if err != nil || !res.Duplicate || res.BaseOffset != last.BaseOffset {
		t.Fatalf("retry of the last batch: %+v, %v", res, err)
	}
	if _, err := l.AppendAsLeader(makeBatch(spec{n: 1, pid: testPID, epoch: 0, seq: last.BaseSequence + 4}), 0, 0); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("gap after recovery: %v", err)
	}
	appendOK(t, l, spec{n: 1, pid: testPID, epoch: 0, seq: last.BaseSequence + 3})
}
