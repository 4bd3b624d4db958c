package archtest

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestReadmeListsEveryPackage keeps internal/README.md's one line per
// package true: every directory under internal has its line, and no line
// names a package that is gone.
func TestReadmeListsEveryPackage(t *testing.T) {
	text, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^- `([a-z0-9]+)` — ").FindAllSubmatch(text, -1) {
		listed = append(listed, string(m[1]))
	}
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, d := range dirs {
		if !slices.Contains(listed, d) {
			t.Errorf("internal/README.md has no line for package %s", d)
		}
	}
	for _, l := range listed {
		if !slices.Contains(dirs, l) {
			t.Errorf("internal/README.md lists %s, which is not a package under internal", l)
		}
	}
	if len(listed) < 10 {
		t.Fatalf("only %d packages listed; has the line format changed?", len(listed))
	}
}
