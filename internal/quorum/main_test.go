package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// eventually polls cond until it holds or within has passed, then fails the
// test naming what it waited for. It is the one way tests here wait; under
// testing/synctest the clock it reads is the bubble's fake clock.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		<-tick.C
	}
}

// testLogger sends warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// kvSM is the test state machine: the list of applied payloads in order.
// Its snapshot is the list, length-prefixed.
type kvSM struct {
	mu       sync.Mutex
	data     []string // guarded by mu
	index    uint64   // guarded by mu; last index applied or restored
	restores int      // guarded by mu
}

func (s *kvSM) Apply(ents []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range ents {
		if e.Index <= s.index {
			panic(fmt.Sprintf("entry %d applied after %d", e.Index, s.index))
		}
		s.data = append(s.data, string(e.Data))
		s.index = e.Index
	}
}

func (s *kvSM) Snapshot() ([]byte, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	for _, d := range s.data {
		b = binary.AppendUvarint(b, uint64(len(d)))
		b = append(b, d...)
	}
	return b, s.index
}

func (s *kvSM) Restore(b []byte, index uint64) error {
	var data []string
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errors.New("bad snapshot")
		}
		data = append(data, string(b[k:k+int(n)]))
		b = b[k+int(n):]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data, s.index = data, index
	s.restores++
	return nil
}

func (s *kvSM) values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.data)
}

func (s *kvSM) has(v string) bool {
	return slices.Contains(s.values(), v)
}

func (s *kvSM) restoreCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restores
}

// values returns "prefix-0" … "prefix-(n-1)".
func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}
