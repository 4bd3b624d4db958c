package main

import (
	"fmt"
	"strings"
)

// op is one read of a version's layout, as the guard interprets it.
type op struct {
	kind  kind
	arg   int      // kFixed, kFixedArray: bytes; kArray, kStruct: sub-body; kTags: tag set
	names []string // the fields read, for comments
}

// body is the layout of one struct at one version: the ops to run, in order.
type body struct {
	name    string // the first struct with this layout
	version int    // and the first version of it
	ops     []op
}

// request is one request type: its layout at each version kmsg knows.
type request struct {
	key        int
	name       string
	versions   []int // body index by version
	first, end int   // the bodies [first, end) are new with this request
}

// program is everything written to the guard_gen files. Identical bodies
// and tag sets are stored once.
type program struct {
	requests []request
	bodies   []body
	byLayout map[string]int
	tagSets  [][]ctagRef
	bySet    map[string]int
}

type ctagRef struct{ key, body int }

func newProgram() *program {
	return &program{
		byLayout: map[string]int{},
		tagSets:  [][]ctagRef{nil}, // 0: no known tags
		bySet:    map[string]int{"": 0},
	}
}

// instance returns the body that reads b at version v: the ops reached at v,
// runs of fixed-width reads merged, arrays of fixed-width elements turned
// into one skip.
func (p *program) instance(b *cbody, v int) (int, error) {
	var ops []op
	for _, c := range b.ops {
		if !c.when.has(v) {
			continue
		}
		switch c.kind {
		case kFixed:
			if n := len(ops); n > 0 && ops[n-1].kind == kFixed {
				ops[n-1].arg += c.width
				ops[n-1].names = append(ops[n-1].names, c.name)
				continue
			}
			ops = append(ops, op{kind: kFixed, arg: c.width, names: []string{c.name}})
		case kArray:
			if n := len(ops); n == 0 || !ops[n-1].kind.isLen() {
				return 0, fmt.Errorf("%s v%d: array %s is not right after its length", b.name, v, c.name)
			}
			e, err := p.instance(c.elem, v)
			if err != nil {
				return 0, err
			}
			switch eops := p.bodies[e].ops; {
			case len(eops) == 0:
				// kmsg would loop once per counted element without
				// reading: work not bounded by the input.
				return 0, fmt.Errorf("%s v%d: elements of %s read nothing", b.name, v, c.name)
			case len(eops) == 1 && eops[0].kind == kFixed:
				ops = append(ops, op{kind: kFixedArray, arg: eops[0].arg, names: []string{c.name}})
			default:
				ops = append(ops, op{kind: kArray, arg: e, names: []string{c.name}})
			}
		case kStruct:
			e, err := p.instance(c.elem, v)
			if err != nil {
				return 0, err
			}
			ops = append(ops, op{kind: kStruct, arg: e, names: []string{c.name}})
		case kTags:
			var set []ctagRef
			for _, t := range c.tags {
				tb, err := p.instance(t.body, v)
				if err != nil {
					return 0, err
				}
				set = append(set, ctagRef{int(t.key), tb})
			}
			ops = append(ops, op{kind: kTags, arg: p.tagSet(set), names: []string{c.name}})
		default:
			ops = append(ops, op{kind: c.kind, names: []string{c.name}})
		}
	}
	return p.body(b.name, v, ops), nil
}

func (p *program) body(name string, version int, ops []op) int {
	var key strings.Builder
	for _, o := range ops {
		fmt.Fprintf(&key, "%d:%d,", o.kind, o.arg)
	}
	if i, ok := p.byLayout[key.String()]; ok {
		return i
	}
	p.bodies = append(p.bodies, body{name: name, version: version, ops: ops})
	p.byLayout[key.String()] = len(p.bodies) - 1
	return len(p.bodies) - 1
}

func (p *program) tagSet(set []ctagRef) int {
	key := fmt.Sprint(set)
	if len(set) == 0 {
		key = ""
	}
	if i, ok := p.bySet[key]; ok {
		return i
	}
	p.tagSets = append(p.tagSets, set)
	p.bySet[key] = len(p.tagSets) - 1
	return len(p.tagSets) - 1
}
