package main

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// goldenTarget splits the miniature's bodies over files as the real ones
// are: inside a request, between requests, and several requests to a file.
const goldenTarget = 30

// TestGenerate describes the miniature kmsg source in testdata, which has
// one of each statement shape: the output is checked against golden files
// read by a person, testdata/golden/NAME.golden for each file NAME.
func TestGenerate(t *testing.T) {
	files, err := generate("testdata/generated.go", "testdata", goldenTarget)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/golden"
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(golden, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(golden, f.name+".golden"), f.src, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := filepath.Glob(filepath.Join(golden, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		path := filepath.Join(golden, f.name+".golden")
		got = append(got, path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (rerun with -update after checking the output)", err)
		}
		if n := strings.Count(string(f.src), "\n"); n > goldenTarget {
			t.Errorf("%s has %d lines, more than %d", f.name, n, goldenTarget)
		}
		if string(f.src) != string(b) {
			t.Errorf("%s differs from %s (rerun with -update after checking it):\n%s", f.name, path, f.src)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("wrote %q, golden files are %q", got, want)
	}
	if n := len(files); n != 4 {
		t.Errorf("%d files, want the index and three of bodies", n)
	}
}

// TestWrite: guardgen replaces what it wrote before, including files of
// an older split, and leaves every other file alone.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	old := map[string]string{
		"guard_gen.go":          header + "an older guardgen; DO NOT EDIT.\n\npackage api\n",
		"guard_gen_keys_00.go":  header + "an older guardgen; DO NOT EDIT.\n\npackage api\n",
		"guard_gen_notes.go":    "package api\n", // a person's
		"guard_gen_x_test.go":   header + "a test; DO NOT EDIT.\n\npackage api\n",
		"guard.go":              header + "not ours by name; DO NOT EDIT.\n\npackage api\n",
		"guard_gen_index.go":    "stale\n",
		"guard_gen_index.go.md": header,
	}
	for name, src := range old {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := generate("testdata/generated.go", "testdata", targetLines)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(dir, files); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for name, src := range old {
		want[name] = src
	}
	delete(want, "guard_gen.go")
	delete(want, "guard_gen_keys_00.go")
	for _, f := range files {
		want[f.name] = string(f.src)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		have[e.Name()] = string(b)
	}
	if !maps.Equal(have, want) {
		t.Errorf("after write, the directory holds %q, want %q", slices.Sorted(maps.Keys(have)), slices.Sorted(maps.Keys(want)))
	}
}

// TestGenerateLimit: a file that would reach maxLines is refused, not written.
func TestGenerateLimit(t *testing.T) {
	p := &program{bodies: []body{{name: "Huge", ops: make([]op, maxLines)}},
		requests: []request{{key: 0, name: "HugeRequest", versions: []int{0}, end: 1}},
		tagSets:  [][]ctagRef{nil}}
	if _, err := p.files("test", targetLines); err == nil || !strings.Contains(err.Error(), "lines, the limit is") {
		t.Fatalf("want a refusal of a file of %d ops, got %v", maxLines, err)
	}
}

// TestGenerateRefuses: each change to the miniature is one a kmsg upgrade
// could bring; guardgen must stop rather than describe it wrongly.
func TestGenerateRefuses(t *testing.T) {
	src, err := os.ReadFile("testdata/generated.go")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new, want string
	}{{
		name: "a reader method it does not know",
		old:  "v := b.Int64()", new: "v := b.Int128()",
		want: "unknown reader method Int128",
	}, {
		name: "a read it cannot place",
		old:  "v := b.Int64()", new: "v := int64(b.Int32()) << 32",
		want: "unrecognised statement uses b",
	}, {
		name: "an early return that depends on the data",
		old:  "make([]ThingItem, l)...)\n\t\t}\n",
		new:  "make([]ThingItem, l)...)\n\t\t}\n\t\tif l == 7 {\n\t\t\treturn nil\n\t\t}\n",
		want: "unrecognised control flow",
	}, {
		name: "safe and unsafe reads that differ",
		old:  "v = b.UnsafeString()", new: "v = b.UnsafeCompactString()",
		want: "safe and unsafe branches read differently",
	}, {
		name: "an array loop without its length",
		old:  "\t\tvar l int32\n\t\tif isFlexible {",
		new:  "\t\tvar l int32\n\t\t{\n\t\t\tv := b.Int8()\n\t\t\ts.Y = v\n\t\t}\n\t\tif isFlexible {",
		want: "array loop after a gFixed read",
	}, {
		name: "array elements that read nothing at some version",
		old:  "\t\t\t{\n\t\t\t\tv := b.Int16()\n\t\t\t\ts.X = v\n\t\t\t}",
		new:  "\t\t\tif version >= 1 {\n\t\t\t\tv := b.Int16()\n\t\t\t\ts.X = v\n\t\t\t}",
		want: "elements of Items read nothing",
	}, {
		name: "a change of version",
		old:  "\t\t\tv.Default()\n\t\t\ts := v\n\t\t\t{\n\t\t\t\tv := b.Int16()",
		new:  "\t\t\tv.Default()\n\t\t\ts := v\n\t\t\tversion++\n\t\t\t{\n\t\t\t\tv := b.Int16()",
		want: "unrecognised assignment to version",
	}, {
		name: "a tag loop without a default case",
		old:  "\t\t\tdefault:\n\t\t\t\ts.UnknownTags.Set(key, b.Span(int(b.Uvarint())))\n", new: "",
		want: "tag loop without a default case",
	}, {
		name: "a condition on something other than the version",
		old:  "if version >= 1 {\n\t\tv := b.Int64()", new: "if s.A > 0 {\n\t\tv := b.Int64()",
		want: "unrecognised statement uses b",
	}, {
		name: "a different readFrom prologue",
		old:  "\tb := kbin.Reader{Src: src}\n\tversion := v.Version\n\t_ = version\n\tisFlexible",
		new:  "\tb := kbin.Reader{Src: src[1:]}\n\tversion := v.Version\n\t_ = version\n\tisFlexible",
		want: `want "b:=kbin.Reader{Src:src}" first`,
	}, {
		name: "a ReadFrom that does more than readFrom",
		old:  "func (v *OldRequest) ReadFrom(src []byte) error { return v.readFrom(src, false) }",
		new:  "func (v *OldRequest) ReadFrom(src []byte) error { return v.readFrom(src, true) }",
		want: "OldRequest.ReadFrom is not readFrom(src, false)",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if strings.Count(string(src), c.old) != 1 {
				t.Fatalf("the miniature does not hold %q exactly once", c.old)
			}
			file := filepath.Join(t.TempDir(), "generated.go")
			changed := strings.Replace(string(src), c.old, c.new, 1)
			if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := generate(file, "test", targetLines)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
}
