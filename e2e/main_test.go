package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// samsaBin is the path of the binary TestMain built for this run.
var samsaBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds ./cmd/samsa once into a temporary directory, runs the
// tests, and then checks that no goroutine outlived them.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "samsa-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	samsaBin = filepath.Join(dir, "samsa")
	build := exec.Command("go", "build", "-o", samsaBin, "./cmd/samsa")
	build.Dir = ".." // the module root, seen from the package directory
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/samsa: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: goroutines left running:", err)
			return 1
		}
	}
	return code
}
