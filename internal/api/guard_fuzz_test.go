package api

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var guardUpdateSeeds = flag.Bool("guard.update-seeds", false,
	"rewrite testdata/fuzz/FuzzRequest from kmsg's encodings of every request")

const guardSeedDir = "testdata/fuzz/FuzzRequest"

// FuzzRequest reads fuzzed bodies as every request at every version. It
// is seeded with kmsg's default-valued encodings here and its rich ones
// (guardEncode) under testdata/fuzz/FuzzRequest. Invariants:
//
//   - the guard never panics, and rejects keys and versions kmsg lacks;
//   - the guard accepts exactly what kmsg's ReadFrom decodes without error,
//     and ReadFrom returns within 2 s on what the guard accepts (ReadFrom
//     is not run where the guard rejected a tag count above 2^16: kmsg
//     would turn its loop that many times);
//   - what kmsg decodes re-encodes to bytes the guard reads exactly, and
//     decoding and encoding those again gives the same bytes.
func FuzzRequest(f *testing.F) {
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		if req := kmsg.RequestForKey(key); req != nil {
			for v := int16(0); v <= req.MaxVersion(); v++ {
				f.Add(key, v, guardEncode(key, v, false))
			}
		}
	}
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		n, err := guardScan(key, version, body)
		if n > len(body) {
			t.Fatalf("read %d of %d bytes", n, len(body))
		}
		req := kmsg.RequestForKey(key)
		if req == nil || version < 0 || version > req.MaxVersion() {
			if err == nil {
				t.Fatalf("accepted key %d version %d", key, version)
			}
			return
		}
		var ge *guardError
		if err != nil && !errors.As(err, &ge) {
			t.Fatalf("guard error %T: %v", err, err)
		}
		if ge != nil && ge.tagCount > 1<<16 {
			return
		}
		req.SetVersion(version)
		kerr := guardReadFromWithin(t, req, body)
		if (err == nil) != (kerr == nil) {
			t.Fatalf("guard says %v, kmsg says %v", err, kerr)
		}
		if err != nil {
			return
		}
		enc := req.AppendTo(nil)
		if n, err := guardScan(key, version, enc); err != nil || n != len(enc) {
			t.Fatalf("re-encoding %x: guard read %d of %d bytes: %v", enc, n, len(enc), err)
		}
		again := kmsg.RequestForKey(key)
		again.SetVersion(version)
		if err := again.ReadFrom(enc); err != nil {
			t.Fatalf("re-encoding %x: kmsg: %v", enc, err)
		}
		if enc2 := again.AppendTo(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable: decoded and encoded %x, then %x", enc, enc2)
		}
	})
}

// guardReadFromWithin runs req.ReadFrom(body) and fails t if it has not
// returned within 2 s. That catches a loop the guard should have refused
// (minutes, on a few bytes), not a slow decode: a fuzzer's inputs decode in
// microseconds.
func guardReadFromWithin(t *testing.T, req kmsg.Request, body []byte) error {
	done := make(chan error, 1)
	go func() { done <- req.ReadFrom(body) }()
	timer := time.NewTimer(2 * time.Second)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("ReadFrom still running after 2s on %x", body)
		return nil
	}
}

// TestGuardFuzzSeeds checks that FuzzRequest's committed seeds are kmsg's
// rich encodings of every request at every version; -guard.update-seeds
// rewrites them (after a kmsg upgrade).
func TestGuardFuzzSeeds(t *testing.T) {
	want := map[string]string{}
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		for v := int16(0); v <= req.MaxVersion(); v++ {
			name := fmt.Sprintf("%02d-%s-v%d", key, kmsg.NameForKey(key), v)
			want[name] = fmt.Sprintf("go test fuzz v1\nint16(%d)\nint16(%d)\n[]byte(%q)\n",
				key, v, guardEncode(key, v, true))
		}
	}
	if *guardUpdateSeeds {
		if err := os.MkdirAll(guardSeedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range want {
			if err := os.WriteFile(filepath.Join(guardSeedDir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, content := range want {
		have, err := os.ReadFile(filepath.Join(guardSeedDir, name))
		if err != nil || string(have) != content {
			t.Errorf("seed %s missing or stale (run go test -run TestGuardFuzzSeeds -guard.update-seeds): %v", name, err)
		}
	}
}
