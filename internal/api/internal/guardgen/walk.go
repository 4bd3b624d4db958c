package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/printer"
	"go/token"
	"slices"
	"strings"
	"unicode"
)

// kind is what one read takes from the input. The names match the guard's
// opcodes in internal/api/guard.go.
type kind int

const (
	kFixed                 kind = iota // width bytes: Bool, Int8…Int64, Uint16/32, Float64, Uuid
	kVarint                            // zigzag varint, ≤ 5 bytes
	kVarlong                           // zigzag varint, ≤ 10 bytes
	kUvarint                           // unsigned varint, ≤ 5 bytes
	kString                            // int16 length ≥ 0, then bytes
	kNullableString                    // int16 length, < 0 = null
	kCompactString                     // uvarint length+1 ≥ 1, then bytes
	kCompactNullableString             // uvarint length+1, 0 = null
	kBytes                             // int32 length, -1 = empty
	kNullableBytes                     // int32 length, < 0 = null
	kCompactBytes                      // uvarint length+1, 0 = empty
	kCompactNullableBytes              // uvarint length+1, 0 = null
	kVarintBytes                       // zigzag varint length, < 0 = null
	kArrayLen                          // int32 element count
	kCompactArrayLen                   // uvarint element count+1
	kVarintArrayLen                    // zigzag varint element count
	kArray                             // elem, once per element of the count just read
	kFixedArray                        // as kArray, when an element is width fixed bytes
	kTags                              // a tagged-field section
	kStruct                            // int8 presence, then elem unless it is -1
)

var kindNames = [...]string{
	kFixed: "gFixed", kVarint: "gVarint", kVarlong: "gVarlong", kUvarint: "gUvarint",
	kString: "gString", kNullableString: "gNullableString",
	kCompactString: "gCompactString", kCompactNullableString: "gCompactNullableString",
	kBytes: "gBytes", kNullableBytes: "gNullableBytes",
	kCompactBytes: "gCompactBytes", kCompactNullableBytes: "gCompactNullableBytes",
	kVarintBytes: "gVarintBytes", kArrayLen: "gArrayLen",
	kCompactArrayLen: "gCompactArrayLen", kVarintArrayLen: "gVarintArrayLen",
	kArray: "gArray", kFixedArray: "gFixedArray", kTags: "gTags", kStruct: "gNullableStruct",
}

func (k kind) String() string { return kindNames[k] }

func (k kind) isLen() bool { return k == kArrayLen || k == kCompactArrayLen || k == kVarintArrayLen }

// readers maps the kbin.Reader methods a readFrom may call to what they
// take. A call to any other method on the reader stops the generator.
var readers = map[string]struct {
	kind  kind
	width int
}{
	"Bool": {kFixed, 1}, "Int8": {kFixed, 1}, "Int16": {kFixed, 2}, "Uint16": {kFixed, 2},
	"Int32": {kFixed, 4}, "Uint32": {kFixed, 4}, "Int64": {kFixed, 8}, "Float64": {kFixed, 8},
	"Uuid":   {kFixed, 16},
	"Varint": {kVarint, 0}, "Varlong": {kVarlong, 0}, "Uvarint": {kUvarint, 0},
	"String": {kString, 0}, "UnsafeString": {kString, 0},
	"NullableString": {kNullableString, 0}, "UnsafeNullableString": {kNullableString, 0},
	"CompactString": {kCompactString, 0}, "UnsafeCompactString": {kCompactString, 0},
	"CompactNullableString": {kCompactNullableString, 0}, "UnsafeCompactNullableString": {kCompactNullableString, 0},
	"Bytes": {kBytes, 0}, "NullableBytes": {kNullableBytes, 0},
	"CompactBytes": {kCompactBytes, 0}, "CompactNullableBytes": {kCompactNullableBytes, 0},
	"VarintBytes": {kVarintBytes, 0}, "VarintString": {kVarintBytes, 0}, "UnsafeVarintString": {kVarintBytes, 0},
	"ArrayLen": {kArrayLen, 0}, "CompactArrayLen": {kCompactArrayLen, 0}, "VarintArrayLen": {kVarintArrayLen, 0},
}

// cop is one read of a readFrom, with the versions in which it happens.
type cop struct {
	kind  kind
	width int    // kFixed
	when  vset   // the versions that reach it
	name  string // the field it fills, for comments
	elem  *cbody // kArray: one element; kStruct: the struct
	tags  []ctag // kTags: the tags read into fields (the rest are skipped)
}

// ctag is a known tagged field: its value is read by body from a reader
// limited to the tag's bytes.
type ctag struct {
	key  uint32
	body *cbody
}

// cbody is a sequence of reads from one reader, in order.
type cbody struct {
	name string
	ops  []cop
}

// walker turns one readFrom into a cbody. It recognises the statement
// shapes kmsg's generator writes and fails on anything else, so a kmsg
// upgrade that changes the shapes stops go generate instead of producing a
// wrong description.
type walker struct {
	fset *token.FileSet
	flex *vset  // the versions in which isFlexible is true
	path string // the struct being read, for naming sub-bodies
}

// enter sets the struct path until the returned function is called.
func (w *walker) enter(path string) func() {
	saved := w.path
	w.path = path
	return func() { w.path = saved }
}

func (w *walker) errorf(n ast.Node, format string, args ...any) error {
	return fmt.Errorf("%s: %s", w.fset.Position(n.Pos()), fmt.Sprintf(format, args...))
}

// text renders n without white space, for comparing shapes.
func (w *walker) text(n ast.Node) string {
	if n == nil {
		return ""
	}
	var buf bytes.Buffer
	if err := printer.Fprint(&buf, w.fset, n); err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, buf.String())
}

// readFrom describes the body of func (v *T) readFrom(src []byte, unsafe bool) error.
func (w *walker) readFrom(fd *ast.FuncDecl, name string) (*cbody, error) {
	stmts := fd.Body.List
	// v.Default(); b := kbin.Reader{Src: src}; version := v.Version;
	// _ = version; [isFlexible := …; _ = isFlexible;] s := v
	head := []string{"v.Default()", "b:=kbin.Reader{Src:src}", "version:=v.Version", "_=version"}
	flex := vset{} // never flexible unless isFlexible says otherwise
	for i, want := range head {
		if i >= len(stmts) || w.text(stmts[i]) != want {
			return nil, w.errorf(fd, "%s.readFrom: want %q first", name, want)
		}
	}
	stmts = stmts[len(head):]
	if len(stmts) >= 2 && w.text(stmts[1]) == "_=isFlexible" {
		def, ok := stmts[0].(*ast.AssignStmt)
		if !ok || len(def.Lhs) != 1 || !isIdent(def.Lhs[0], "isFlexible") || def.Tok != token.DEFINE {
			return nil, w.errorf(stmts[0], "%s.readFrom: want isFlexible := …", name)
		}
		if flex, ok = versionSet(def.Rhs[0], nil); !ok {
			return nil, w.errorf(def, "%s.readFrom: isFlexible is not a version condition", name)
		}
		stmts = stmts[2:]
	}
	w.flex = &flex
	if len(stmts) < 2 || w.text(stmts[0]) != "s:=v" {
		return nil, w.errorf(fd, "%s.readFrom: want s := v", name)
	}
	last := stmts[len(stmts)-1]
	if w.text(last) != "returnb.Complete()" {
		return nil, w.errorf(last, "%s.readFrom: want return b.Complete() last", name)
	}
	b := &cbody{name: name}
	defer w.enter(name)()
	if err := w.list(stmts[1:len(stmts)-1], allVersions(), b, ""); err != nil {
		return nil, err
	}
	return b, nil
}

// list appends the reads of stmts, reached in the versions when, to b.
// name is the field being read, for comments.
func (w *walker) list(stmts []ast.Stmt, when vset, b *cbody, name string) error {
	if n := assignedField(stmts); n != "" {
		name = n
	}
	if n := inlineStruct(stmts); n != "" {
		defer w.enter(w.path + "." + n)()
	}
	arr := -1 // where in b.ops the current array's length reads start
	for _, st := range stmts {
		var err error
		switch st := st.(type) {
		case *ast.DeclStmt:
			if w.text(st) == "varlint32" {
				arr = len(b.ops)
				continue
			}
			err = w.noReads(st)
		case *ast.AssignStmt:
			err = w.assign(st, when, b, name)
		case *ast.BlockStmt:
			err = w.list(st.List, when, b, name)
		case *ast.IfStmt:
			err = w.ifStmt(st, when, b, name)
		case *ast.ForStmt:
			if w.text(st.Init) == "i:=int32(0)" && w.text(st.Cond) == "i<l" && w.text(st.Post) == "i++" {
				err = w.array(st, arr, when, b, name)
				arr = -1
			} else {
				err = w.tagLoop(st, when, b)
			}
		default:
			err = w.noReads(st)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// assignedField returns the field a statement list fills (s.Field = v).
func assignedField(stmts []ast.Stmt) string {
	for _, st := range stmts {
		as, ok := st.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 {
			continue
		}
		if sel, ok := as.Lhs[0].(*ast.SelectorExpr); ok && isIdent(sel.X, "s") && sel.Sel.Name != "UnknownTags" {
			return sel.Sel.Name
		}
	}
	return ""
}

// inlineStruct returns the struct field whose fields a statement list
// reads (v := &s.Field).
func inlineStruct(stmts []ast.Stmt) string {
	for _, st := range stmts {
		as, ok := st.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 || !isIdent(as.Lhs[0], "v") {
			continue
		}
		if u, ok := as.Rhs[0].(*ast.UnaryExpr); ok && u.Op == token.AND {
			if sel, ok := u.X.(*ast.SelectorExpr); ok && isIdent(sel.X, "s") {
				return sel.Sel.Name
			}
		}
	}
	return ""
}

func (w *walker) assign(st *ast.AssignStmt, when vset, b *cbody, name string) error {
	if len(st.Lhs) == 1 && len(st.Rhs) == 1 {
		if call, ok := st.Rhs[0].(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "b") && len(call.Args) == 0 {
				r, ok := readers[sel.Sel.Name]
				if !ok {
					return w.errorf(st, "unknown reader method %s", sel.Sel.Name)
				}
				if r.kind.isLen() != isIdent(st.Lhs[0], "l") {
					return w.errorf(st, "array lengths must be read into l, and only they")
				}
				b.ops = append(b.ops, cop{kind: r.kind, width: r.width, when: when, name: name})
				return nil
			}
			if w.text(call) == "internalReadTags(&b)" {
				b.ops = append(b.ops, cop{kind: kTags, when: when, name: "tags"})
				return nil
			}
		}
	}
	return w.noReads(st)
}

// noReads fails if n reads the input or can leave the function: a
// statement the walker does not understand must not matter to the wire
// layout.
func (w *walker) noReads(n ast.Node) error {
	var err error
	ast.Inspect(n, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.Ident:
			switch n.Name {
			case "b", "src", "internalReadTags", "panic":
				err = w.errorf(n, "unrecognised statement uses %s", n.Name)
			}
		case *ast.ReturnStmt, *ast.BranchStmt, *ast.GoStmt, *ast.DeferStmt:
			err = w.errorf(n, "unrecognised control flow")
		case *ast.AssignStmt:
			err = w.fixed(n, n.Lhs...)
		case *ast.IncDecStmt:
			err = w.fixed(n, n.X)
		}
		return true
	})
	return err
}

// fixed fails if lhs assigns to a variable whose value the description
// takes as given: the version, isFlexible, the array length l.
func (w *walker) fixed(n ast.Node, lhs ...ast.Expr) error {
	for _, e := range lhs {
		for _, name := range []string{"version", "isFlexible", "unsafe", "l"} {
			if isIdent(e, name) {
				return w.errorf(n, "unrecognised assignment to %s", name)
			}
		}
	}
	return nil
}

func (w *walker) ifStmt(st *ast.IfStmt, when vset, b *cbody, name string) error {
	switch w.text(st) {
	case "if!b.Ok(){returnb.Complete()}", "iferr:=b.Complete();err!=nil{returnerr}":
		// Only returns once the reader has failed; the guard fails at once.
		return nil
	}
	if st.Init != nil {
		if w.text(st.Init) == "present:=b.Int8()" && w.text(st.Cond) == "present!=-1&&b.Ok()" && st.Else == nil {
			return w.nullable(st, when, b, name)
		}
		return w.errorf(st, "unrecognised if initialiser")
	}
	if isIdent(st.Cond, "unsafe") {
		return w.unsafeIf(st, when, b, name)
	}
	set, ok := versionSet(st.Cond, w.flex)
	if !ok {
		return w.noReads(st) // depends on data read, as in "if l > 0", and reads nothing
	}
	if err := w.list(st.Body.List, when.and(set), b, name); err != nil {
		return err
	}
	switch e := st.Else.(type) {
	case nil:
		return nil
	case *ast.BlockStmt:
		return w.list(e.List, when.and(set.not()), b, name)
	default:
		return w.list([]ast.Stmt{e}, when.and(set.not()), b, name)
	}
}

// unsafeIf handles "if unsafe { A } else { B }": the unsafe variants of
// kbin's string readers read the same bytes, so A and B must agree.
func (w *walker) unsafeIf(st *ast.IfStmt, when vset, b *cbody, name string) error {
	els, ok := st.Else.(*ast.BlockStmt)
	if !ok {
		return w.errorf(st, "if unsafe without else")
	}
	x, y := &cbody{name: b.name}, &cbody{name: b.name}
	if err := w.list(st.Body.List, when, x, name); err != nil {
		return err
	}
	if err := w.list(els.List, when, y, name); err != nil {
		return err
	}
	if !equalOps(x.ops, y.ops) {
		return w.errorf(st, "safe and unsafe branches read differently")
	}
	b.ops = append(b.ops, x.ops...)
	return nil
}

func equalOps(x, y []cop) bool {
	return slices.EqualFunc(x, y, func(a, b cop) bool {
		if a.kind != b.kind || a.width != b.width || a.name != b.name || !slices.Equal(a.when, b.when) ||
			(a.elem == nil) != (b.elem == nil) || len(a.tags) != len(b.tags) {
			return false
		}
		if a.elem != nil && !equalOps(a.elem.ops, b.elem.ops) {
			return false
		}
		for i := range a.tags {
			if a.tags[i].key != b.tags[i].key || !equalOps(a.tags[i].body.ops, b.tags[i].body.ops) {
				return false
			}
		}
		return true
	})
}

// nullable handles a nullable struct: an int8 that is -1 for null, else
// the struct's fields.
func (w *walker) nullable(st *ast.IfStmt, when vset, b *cbody, name string) error {
	if n := assignedField(st.Body.List); n != "" { // s.Field = new(T)
		name = n
	}
	elem := &cbody{name: w.path + "." + name}
	defer w.enter(elem.name)()
	if err := w.list(st.Body.List, when, elem, name); err != nil {
		return err
	}
	b.ops = append(b.ops, cop{kind: kStruct, when: when, name: name, elem: elem})
	return nil
}

// array handles "for i := int32(0); i < l; i++ { elem }". The reads since
// "var l int32" in the same list must be the array's length and nothing
// else, so that the count the loop uses is the one just read.
func (w *walker) array(st *ast.ForStmt, arr int, when vset, b *cbody, name string) error {
	if arr < 0 || arr == len(b.ops) {
		return w.errorf(st, "array loop without a length read before it")
	}
	for _, op := range b.ops[arr:] {
		if !op.kind.isLen() {
			return w.errorf(st, "array loop after a %v read", op.kind)
		}
	}
	elem := &cbody{name: w.path + "." + name + "[]"}
	defer w.enter(elem.name)()
	if err := w.list(st.Body.List, when, elem, name+"[]"); err != nil {
		return err
	}
	b.ops = append(b.ops, cop{kind: kArray, when: when, name: name, elem: elem})
	return nil
}

// tagLoop handles a tagged-field section with fields kmsg knows:
//
//	for i := b.Uvarint(); i > 0; i-- {
//		switch key := b.Uvarint(); key {
//		default:
//			s.UnknownTags.Set(key, b.Span(int(b.Uvarint())))
//		case N:
//			b := kbin.Reader{Src: b.Span(int(b.Uvarint()))}
//			… reads of the field from the new b …
//			if err := b.Complete(); err != nil {
//				return err
//			}
//		}
//	}
func (w *walker) tagLoop(st *ast.ForStmt, when vset, b *cbody) error {
	if w.text(st.Init) != "i:=b.Uvarint()" || w.text(st.Cond) != "i>0" || w.text(st.Post) != "i--" ||
		len(st.Body.List) != 1 {
		return w.errorf(st, "unrecognised loop")
	}
	sw, ok := st.Body.List[0].(*ast.SwitchStmt)
	if !ok || w.text(sw.Init) != "key:=b.Uvarint()" || !isIdent(sw.Tag, "key") {
		return w.errorf(st, "unrecognised tag loop")
	}
	op := cop{kind: kTags, when: when, name: "tags"}
	sawDefault := false
	for _, s := range sw.Body.List {
		cc := s.(*ast.CaseClause)
		if cc.List == nil {
			if len(cc.Body) != 1 || w.text(cc.Body[0]) != "s.UnknownTags.Set(key,b.Span(int(b.Uvarint())))" {
				return w.errorf(cc, "unrecognised unknown-tag case")
			}
			sawDefault = true
			continue
		}
		n := len(cc.Body)
		if n < 2 || w.text(cc.Body[0]) != "b:=kbin.Reader{Src:b.Span(int(b.Uvarint()))}" ||
			w.text(cc.Body[n-1]) != "iferr:=b.Complete();err!=nil{returnerr}" {
			return w.errorf(cc, "unrecognised known-tag case")
		}
		tb := &cbody{name: w.path + " tag " + w.text(cc.List[0])}
		restore := w.enter(tb.name)
		err := w.list(cc.Body[1:n-1], when, tb, "")
		restore()
		if err != nil {
			return err
		}
		for _, e := range cc.List {
			key, ok := intLit(e)
			if !ok || key < 0 || int64(key) > 1<<32-1 {
				return w.errorf(e, "tag key is not a uint32 constant")
			}
			for _, t := range op.tags {
				if t.key == uint32(key) {
					return w.errorf(e, "tag %d twice", key)
				}
			}
			op.tags = append(op.tags, ctag{key: uint32(key), body: tb})
		}
	}
	if !sawDefault {
		return w.errorf(sw, "tag loop without a default case")
	}
	b.ops = append(b.ops, op)
	return nil
}
