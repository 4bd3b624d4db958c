// Command guardgen writes internal/api/guard_gen_*.go, the wire layout of
// every request kmsg can read, for the request guard (internal/api/guard.go).
//
// It parses kmsg's generated.go and, for each request type that
// kmsg.RequestForKey returns, walks the type's readFrom method: every call
// on the kbin.Reader becomes a read of some kind (fixed width, varint,
// string or bytes of some length encoding, array length, tagged-field
// section), every "if" on version or isFlexible becomes the set of
// versions that reach the reads inside it, every element loop becomes an
// array of a sub-layout, and every known tagged field becomes a sub-layout
// read from the tag's bytes alone. The result is then instantiated once per
// version from 0 to MaxVersion and written as Go data.
//
// The walker accepts only the statement shapes kmsg's generator writes; a
// statement it does not understand must neither read the input nor leave
// the function, or guardgen fails. A kmsg upgrade therefore either yields an
// exact description or stops go generate; TestGuardGenerated fails when
// the guard_gen files are stale.
//
// The output is split over several files (see render.go). guardgen
// removes the files it wrote before and writes no longer: those in the
// output directory named guard_gen*.go, not tests, that start with its
// "Code generated" line.
//
// Usage (from internal/api, as go generate runs it):
//
//	go run ./internal/guardgen [-dir .] [-kmsg dir]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const kmsgPath = "github.com/twmb/franz-go/pkg/kmsg"

func main() {
	out := flag.String("dir", ".", "directory to write the guard_gen files into")
	kmsg := flag.String("kmsg", "", "kmsg source directory (default: the module's, from go list)")
	flag.Parse()
	if err := run(*out, *kmsg); err != nil {
		fmt.Fprintln(os.Stderr, "guardgen:", err)
		os.Exit(1)
	}
}

// run writes the guard_gen files for the kmsg source in kmsg into out.
func run(out, kmsg string) error {
	from := kmsgPath
	if kmsg == "" {
		var err error
		if kmsg, from, err = locate(); err != nil {
			return err
		}
	}
	files, err := generate(filepath.Join(kmsg, "generated.go"), from, targetLines)
	if err != nil {
		return err
	}
	return write(out, files)
}

// write writes files into dir and removes the files guardgen wrote there
// before that are not among them, so that no stale layout lingers.
func write(dir string, files []output) error {
	written := map[string]bool{}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.src, 0o644); err != nil {
			return err
		}
		written[f.name] = true
	}
	old, err := filepath.Glob(filepath.Join(dir, filePrefix+"*.go"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if written[filepath.Base(path)] || strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(src, []byte(header)) {
			continue // not guardgen's
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	return nil
}

// locate returns the directory and "path version" of the kmsg module the
// current module builds with.
func locate() (dir, from string, err error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\n{{.Path}} {{.Version}}", kmsgPath)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list %s: %w", kmsgPath, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] == "" {
		return "", "", fmt.Errorf("go list %s: unexpected output %q", kmsgPath, b)
	}
	return lines[0], lines[1], nil
}

// generate describes every request in the kmsg source file generated.go,
// as files of bodies of about target lines each.
func generate(file, from string, target int) ([]output, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	w := &walker{fset: fset}
	funcs := map[string]*ast.FuncDecl{} // "Type.method" or "func"
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil {
			star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			id, ok := star.X.(*ast.Ident)
			if !ok {
				continue
			}
			name = id.Name + "." + name
		}
		funcs[name] = fd
	}
	types, err := requestTypes(w, funcs["RequestForKey"])
	if err != nil {
		return nil, err
	}
	p := newProgram()
	for _, key := range slices.Sorted(maps.Keys(types)) {
		typ := types[key]
		r, err := describe(w, funcs, key, typ)
		if err != nil {
			return nil, err
		}
		tree, err := w.readFrom(funcs[typ+".readFrom"], typ)
		if err != nil {
			return nil, err
		}
		r.first = len(p.bodies)
		for v := 0; v < len(r.versions); v++ {
			if r.versions[v], err = p.instance(tree, v); err != nil {
				return nil, err
			}
		}
		r.end = len(p.bodies)
		p.requests = append(p.requests, r)
	}
	return p.files(from, target)
}

// requestTypes reads RequestForKey's switch: case N: return NewPtrTRequest().
func requestTypes(w *walker, fd *ast.FuncDecl) (map[int]string, error) {
	if fd == nil || len(fd.Body.List) != 1 {
		return nil, fmt.Errorf("RequestForKey not found or not a single switch")
	}
	sw, ok := fd.Body.List[0].(*ast.SwitchStmt)
	if !ok {
		return nil, w.errorf(fd, "RequestForKey is not a switch")
	}
	types := map[int]string{}
	for _, s := range sw.Body.List {
		cc := s.(*ast.CaseClause)
		if cc.List == nil {
			continue
		}
		key, ok := intLit(cc.List[0])
		ret := w.text(cc.Body[0])
		if !ok || len(cc.List) != 1 || len(cc.Body) != 1 || !strings.HasPrefix(ret, "returnNewPtr") || !strings.HasSuffix(ret, "()") {
			return nil, w.errorf(cc, "unrecognised RequestForKey case")
		}
		types[key] = strings.TrimSuffix(strings.TrimPrefix(ret, "returnNewPtr"), "()")
	}
	return types, nil
}

// describe checks that typ is the request for key, read by readFrom, and
// sizes its version table.
func describe(w *walker, funcs map[string]*ast.FuncDecl, key int, typ string) (request, error) {
	single := func(method string) (string, error) {
		fd := funcs[typ+"."+method]
		if fd == nil || len(fd.Body.List) != 1 {
			return "", fmt.Errorf("%s.%s not found or not one statement", typ, method)
		}
		return w.text(fd.Body.List[0]), nil
	}
	if s, err := single("ReadFrom"); err != nil || s != "returnv.readFrom(src,false)" {
		return request{}, fmt.Errorf("%s.ReadFrom is not readFrom(src, false): %q %v", typ, s, err)
	}
	if s, err := single("Key"); err != nil || s != fmt.Sprintf("return%d", key) {
		return request{}, fmt.Errorf("%s.Key is not %d: %q %v", typ, key, s, err)
	}
	s, err := single("MaxVersion")
	if err != nil {
		return request{}, err
	}
	var maxV int
	if _, err := fmt.Sscanf(s, "return%d", &maxV); err != nil || maxV < 0 || maxV >= maxVersion {
		return request{}, fmt.Errorf("%s.MaxVersion: %q", typ, s)
	}
	if funcs[typ+".readFrom"] == nil {
		return request{}, fmt.Errorf("%s.readFrom not found", typ)
	}
	return request{key: key, name: typ, versions: make([]int, maxV+1)}, nil
}
