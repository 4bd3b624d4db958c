package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/guard_gen.golden")

// TestGenerate describes the miniature kmsg source in testdata, which has
// one of each statement shape: the output is checked against a golden file
// read by a person.
func TestGenerate(t *testing.T) {
	got, err := generate("testdata/generated.go", "testdata")
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/guard_gen.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("output differs from %s (rerun with -update after checking it):\n%s", golden, got)
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
			_, err := generate(file, "test")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
}
