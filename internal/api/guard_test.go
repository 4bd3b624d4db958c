package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// guardgen writes the guard_gen files and removes those of an older split.
// The directive is here, not in guard.go, because go generate reads the
// package's files one by one after listing them, and stops at one that has
// gone: it must run after the guard_gen files are read, and test files come
// after the others.
//
//go:generate go run ./internal/guardgen -dir .

// TestGuardGenerated fails when the guard_gen files are not what guardgen
// writes from the kmsg this module builds with, as after a kmsg upgrade,
// or when one of them reaches 800 lines.
func TestGuardGenerated(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run guardgen: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(gotool, "run", "./internal/guardgen", "-dir", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("guardgen: %v", err)
	}
	want, err := guardGenFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	have, err := guardGenFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range want {
		if !bytes.Equal(have[name], src) {
			t.Errorf("%s is stale or missing: run go generate ./internal/api", name)
		}
		if n := bytes.Count(src, []byte("\n")); n >= 800 {
			t.Errorf("%s has %d lines: STYLE.md wants files split at 800", name, n)
		}
	}
	for name := range have {
		if want[name] == nil {
			t.Errorf("%s is not written by guardgen: run go generate ./internal/api", name)
		}
	}
}

// guardGenFiles returns the contents of the guard_gen*.go files in dir, by name.
func guardGenFiles(dir string) (map[string][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "guard_gen*.go"))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		if files[filepath.Base(path)], err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// guardEachVersion calls fn for every request type and version kmsg knows.
func guardEachVersion(t *testing.T, fn func(t *testing.T, key, version int16)) {
	known := 0
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			if int(key) < len(guardRequests) && guardRequests[key].name != "" {
				t.Errorf("guard describes api key %d, kmsg has no such request", key)
			}
			continue
		}
		known++
		for v := int16(0); v <= req.MaxVersion(); v++ {
			t.Run(fmt.Sprintf("%s v%d", kmsg.NameForKey(key), v), func(t *testing.T) { fn(t, key, v) })
		}
	}
	if known < 90 {
		t.Fatalf("kmsg knows only %d requests?", known)
	}
}

// guardEncode returns req at version, default-valued or (rich) with every
// field set and every array holding two elements, as kmsg encodes it.
func guardEncode(key, version int16, rich bool) []byte {
	req := kmsg.RequestForKey(key)
	if rich {
		guardFill(reflect.ValueOf(req).Elem(), 0)
	}
	req.SetVersion(version)
	return req.AppendTo(nil)
}

// guardFill sets every field of v to a non-default value: numbers 1 (so
// tagged fields, written when not at their default, are written), strings
// and bytes non-empty, pointers non-nil, slices of two elements, and one
// unknown tag in every tag section.
func guardFill(v reflect.Value, depth int) {
	if depth > 16 {
		panic("guardFill: types nest too deeply")
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.String:
		v.SetString("s")
	case reflect.Array:
		for i := range v.Len() {
			guardFill(v.Index(i), depth+1)
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		guardFill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{1, 2, 3})
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			guardFill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		if tags, ok := v.Addr().Interface().(*kmsg.Tags); ok {
			tags.Set(1000, []byte{7, 7})
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				guardFill(v.Field(i), depth+1)
			}
		}
	default:
		panic("guardFill: unhandled kind " + v.Kind().String())
	}
}

// TestGuardAcceptsWhatKmsgEncodes checks every request at every version,
// default-valued and richly filled: the guard accepts what kmsg writes,
// reads exactly all of it, and rejects every truncation of it, as kmsg does.
func TestGuardAcceptsWhatKmsgEncodes(t *testing.T) {
	guardEachVersion(t, func(t *testing.T, key, version int16) {
		for _, rich := range []bool{false, true} {
			body := guardEncode(key, version, rich)
			n, err := guardScan(key, version, body)
			if err != nil {
				t.Fatalf("rich=%v: rejected %x: %v", rich, body, err)
			}
			if n != len(body) {
				t.Fatalf("rich=%v: read %d of %d bytes", rich, n, len(body))
			}
			req := kmsg.RequestForKey(key)
			req.SetVersion(version)
			if err := req.ReadFrom(body); err != nil {
				t.Fatalf("rich=%v: kmsg cannot read its own encoding: %v", rich, err)
			}
			if !rich {
				continue
			}
			for i := range len(body) {
				if _, err := guardScan(key, version, body[:i]); err == nil {
					t.Fatalf("accepted the first %d of %d bytes", i, len(body))
				}
				req := kmsg.RequestForKey(key)
				req.SetVersion(version)
				if req.ReadFrom(body[:i]) == nil {
					t.Fatalf("kmsg reads the first %d of %d bytes", i, len(body))
				}
			}
		}
	})
}

// TestGuardAgreesWithKmsgOnMutations changes each byte of every rich
// encoding to a few telling values and checks that the guard accepts
// exactly what kmsg's ReadFrom decodes. (FuzzRequest explores further.)
func TestGuardAgreesWithKmsgOnMutations(t *testing.T) {
	guardEachVersion(t, func(t *testing.T, key, version int16) {
		body := guardEncode(key, version, true)
		mutated := make([]byte, len(body))
		for i := range body {
			for _, b := range []byte{0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, body[i] + 1, body[i] - 1} {
				copy(mutated, body)
				mutated[i] = b
				if msg := guardCompare(key, version, mutated); msg != "" {
					t.Fatalf("byte %d set to %#x in %x: %s", i, b, body, msg)
				}
			}
		}
	})
}

// guardCompare returns what is wrong when the guard and kmsg disagree on
// body, or "". kmsg is not run where the guard rejected a tag count above
// 2^16: kmsg would turn its loop that many times before failing.
func guardCompare(key, version int16, body []byte) string {
	_, err := guardScan(key, version, body)
	var ge *guardError
	if err != nil && !errors.As(err, &ge) {
		return fmt.Sprintf("guard error %T: %v", err, err)
	}
	if ge != nil && ge.tagCount > 1<<16 {
		return ""
	}
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	kerr := req.ReadFrom(body)
	if (err == nil) != (kerr == nil) {
		return fmt.Sprintf("guard says %v, kmsg says %v", err, kerr)
	}
	return ""
}

// TestGuardRichEncodingsFillEveryField makes sure the rich encodings are
// rich: at the newest version of each request every tag section the guard
// reads holds the unknown tag guardFill sets, so none was skipped.
func TestGuardRichEncodingsFillEveryField(t *testing.T) {
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil || !guardFlexible(key, req.MaxVersion()) {
			continue
		}
		body := guardEncode(key, req.MaxVersion(), true)
		// The tag guardFill sets: key 1000 (uvarint e8 07), size 2, 7 7.
		if !bytes.Contains(body, []byte{0xe8, 0x07, 0x02, 0x07, 0x07}) {
			t.Errorf("%s: rich encoding has no unknown tag: %x", kmsg.NameForKey(key), body)
		}
	}
}

func guardFlexible(key, version int16) bool {
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	return req.IsFlexible()
}

// guardBuf assembles hand-made request bodies.
type guardBuf []byte

func (b guardBuf) i8(v int8) guardBuf   { return append(b, byte(v)) }
func (b guardBuf) i16(v int16) guardBuf { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func (b guardBuf) i32(v int32) guardBuf { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func (b guardBuf) i64(v int64) guardBuf { return binary.BigEndian.AppendUint64(b, uint64(v)) }
func (b guardBuf) uv(v uint32) guardBuf { return binary.AppendUvarint(b, uint64(v)) }
func (b guardBuf) raw(p ...byte) guardBuf {
	return append(b, p...)
}

// fetchV12Partition is one Fetch v12 partition without its tag section.
func (b guardBuf) fetchV12Partition() guardBuf {
	return b.i32(0).i32(-1).i64(0).i32(-1).i64(-1).i32(1 << 20)
}

func fetchV12Tag(key uint32, size int) []byte {
	b := guardBuf{}.i32(-1).i32(500).i32(1).i32(1 << 20).i8(0).i32(0).i32(-1)
	return b.uv(1).uv(1).uv(1).uv(1).uv(key).uv(uint32(size)).raw(make([]byte, size)...)
}

// TestGuardRejectsTagFloods: bodies whose tag count is 2^32-1 with almost
// nothing left, which made kmsg's ReadFrom loop for minutes. The guard
// rejects each at the count itself, without reading a single tag.
func TestGuardRejectsTagFloods(t *testing.T) {
	const flood = 1<<32 - 1
	// Fetch v12 up to its topics: replica id, max wait, min bytes, max
	// bytes, isolation level, session id and epoch (25 bytes).
	fetchHead := func() guardBuf { return guardBuf{}.i32(-1).i32(500).i32(1).i32(1 << 20).i8(0).i32(0).i32(-1) }
	cases := []struct {
		name     string
		key, ver int16
		body     []byte
		at       int // where the count starts
	}{{
		name: "ApiVersions v3 top level",
		key:  18, ver: 3,
		body: []byte{0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f},
		at:   2,
	}, {
		name: "Produce v9 top level",
		key:  0, ver: 9,
		body: guardBuf{}.uv(0).i16(-1).i32(30000).uv(1).uv(flood),
		at:   8,
	}, {
		name: "Fetch v12 in a partition of a topic",
		key:  1, ver: 12,
		// One topic "t" with one partition, whose tag count floods.
		body: fetchHead().uv(2).uv(2).raw('t').uv(2).fetchV12Partition().uv(flood),
		at:   25 + 4 + 32,
	}, {
		name: "Fetch v12 in the known tag ReplicaState",
		key:  1, ver: 12,
		// No topics, no forgotten topics, rack "", one tag: key 1 with 17
		// bytes, ReplicaState's id and epoch then its flooding tag count.
		body: fetchHead().uv(1).uv(1).uv(1).uv(1).uv(1).uv(4 + 8 + 5).i32(1).i64(1).uv(flood),
		at:   25 + 6 + 12,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := guardScan(c.key, c.ver, c.body)
			var ge *guardError
			if !errors.As(err, &ge) {
				t.Fatalf("want a guardError, got %v", err)
			}
			if ge.tagCount != flood || ge.off != c.at {
				t.Fatalf("want the tag count at byte %d rejected, got %v", c.at, err)
			}
			req := kmsg.RequestForKey(c.key)
			req.SetVersion(c.ver)
			err = decode(req, c.body)
			if err == nil {
				t.Fatal("decode accepted it")
			}
			name := fmt.Sprintf("%T v%d", req, c.ver)[len("*kmsg."):]
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "tag count 4294967295") {
				t.Fatalf("error %q does not say what was wrong with the %s", err, name)
			}
			t.Log(err)
		})
	}
}

// TestGuardRejectsWhatKmsgRejects spot-checks hostile lengths and counts
// against kmsg on small bodies where kmsg itself finishes quickly.
func TestGuardRejectsWhatKmsgRejects(t *testing.T) {
	cases := []struct {
		name     string
		key, ver int16
		body     []byte
		ok       bool
	}{
		{"string length -1", 18, 3, []byte{0x00, 0x01, 0x00}, false},
		{"array count above bytes left", 3, 0, guardBuf{}.i32(5).raw(0, 0, 0, 0), false},
		{"array count -1 is null", 3, 1, guardBuf{}.i32(-1), true},
		{"array count -2 reads nothing", 3, 0, guardBuf{}.i32(-2), true},
		{"6-byte varint", 18, 3, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, false},
		{"5-byte varint overflowing 32 bits", 18, 3, []byte{0x80, 0x80, 0x80, 0x80, 0x10}, false},
		{"tag count just fits", 18, 3, []byte{0x01, 0x01, 0x02, 0x05, 0x00, 0x06, 0x00}, true},
		{"tag count one too many", 18, 3, []byte{0x01, 0x01, 0x03, 0x05, 0x00, 0x06, 0x00}, false},
		{"tag size beyond the body", 18, 3, []byte{0x01, 0x01, 0x01, 0x05, 0x02, 0x00}, false},
		{"trailing bytes", 18, 3, []byte{0x01, 0x01, 0x00, 0xff}, true},
		{"bytes length -1 is empty", 36, 0, guardBuf{}.i32(-1), true},
		{"bytes length -2", 36, 0, guardBuf{}.i32(-2), false},
		{"compact array count 2^31 wraps", 3, 9, guardBuf{}.uv(1<<31).raw(0, 0, 0), false},
		// Fetch v12 with no topics, no forgotten topics, rack "" and one
		// tag of 3 bytes: ReplicaState (key 1) needs 13, an unknown key
		// is skipped.
		{"known tag shorter than its field", 1, 12, fetchV12Tag(1, 3), false},
		{"unknown tag of the same size", 1, 12, fetchV12Tag(5, 3), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := guardRequestBody(c.key, c.ver, c.body)
			if (err == nil) != c.ok {
				t.Fatalf("guard: %v, want ok=%v", err, c.ok)
			}
			req := kmsg.RequestForKey(c.key)
			req.SetVersion(c.ver)
			if kerr := req.ReadFrom(c.body); (kerr == nil) != c.ok {
				t.Fatalf("kmsg: %v, want ok=%v (the case is wrong)", kerr, c.ok)
			}
		})
	}
}

func TestGuardRejectsUnknownRequests(t *testing.T) {
	for _, c := range []struct{ key, ver int16 }{{-1, 0}, {kmsg.MaxKey + 1, 0}, {0, -1}, {18, 100}} {
		if err := guardRequestBody(c.key, c.ver, nil); err == nil {
			t.Errorf("key %d version %d accepted", c.key, c.ver)
		}
	}
}
