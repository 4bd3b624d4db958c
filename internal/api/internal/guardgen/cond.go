package main

import (
	"go/ast"
	"go/token"
	"slices"
	"strconv"
)

// A version is a request version as kmsg compares it; int, not int16, so
// that lo-1 and hi+1 never wrap.
const (
	minVersion = -1 << 15
	maxVersion = 1<<15 - 1
)

// span is the inclusive version range [lo, hi].
type span struct{ lo, hi int }

// vset is a set of versions: sorted, disjoint, non-adjacent spans.
type vset []span

func allVersions() vset { return vset{{minVersion, maxVersion}} }

func (s vset) has(v int) bool {
	for _, sp := range s {
		if sp.lo <= v && v <= sp.hi {
			return true
		}
	}
	return false
}

func (s vset) and(t vset) vset {
	var out vset
	for _, a := range s {
		for _, b := range t {
			lo, hi := max(a.lo, b.lo), min(a.hi, b.hi)
			if lo <= hi {
				out = append(out, span{lo, hi})
			}
		}
	}
	return normalize(out)
}

func (s vset) not() vset {
	var out vset
	next := minVersion
	for _, sp := range s {
		if sp.lo > next {
			out = append(out, span{next, sp.lo - 1})
		}
		next = sp.hi + 1
	}
	if next <= maxVersion {
		out = append(out, span{next, maxVersion})
	}
	return out
}

func normalize(s vset) vset {
	slices.SortFunc(s, func(a, b span) int { return a.lo - b.lo })
	var out vset
	for _, sp := range s {
		if n := len(out); n > 0 && sp.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// versionSet returns the versions for which cond, an expression over
// version and isFlexible (true for the versions in *flex; nil while
// isFlexible itself is being defined), is true. ok is false when cond
// mentions anything else: then it depends on the data read.
//
// The predicate is evaluated at every version next to a threshold it
// compares against and once inside each gap between them; a comparison
// with a constant cannot change its value inside such a gap, so the
// result is exact.
func versionSet(cond ast.Expr, flex *vset) (set vset, ok bool) {
	var thresholds []int
	pred, ok := compile(cond, flex, &thresholds)
	if !ok {
		return nil, false
	}
	points := []int{minVersion, maxVersion}
	for _, t := range thresholds {
		for _, p := range []int{t - 1, t, t + 1} {
			if minVersion <= p && p <= maxVersion {
				points = append(points, p)
			}
		}
	}
	slices.Sort(points)
	points = slices.Compact(points)
	for i, p := range points {
		if pred(p) {
			set = append(set, span{p, p})
		}
		if i+1 < len(points) && points[i+1] > p+1 && pred(p+1) {
			set = append(set, span{p + 1, points[i+1] - 1})
		}
	}
	return normalize(set), true
}

// compile turns a version predicate into a function, collecting the
// constants it compares version with.
func compile(e ast.Expr, flex *vset, thresholds *[]int) (func(int) bool, bool) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return compile(e.X, flex, thresholds)
	case *ast.Ident:
		switch e.Name {
		case "isFlexible":
			if flex == nil {
				return nil, false // isFlexible's own definition
			}
			for _, sp := range *flex {
				*thresholds = append(*thresholds, sp.lo, sp.hi)
			}
			return flex.has, true
		case "true", "false":
			b := e.Name == "true"
			return func(int) bool { return b }, true
		}
		return nil, false
	case *ast.UnaryExpr:
		if e.Op != token.NOT {
			return nil, false
		}
		x, ok := compile(e.X, flex, thresholds)
		if !ok {
			return nil, false
		}
		return func(v int) bool { return !x(v) }, true
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND, token.LOR:
			x, ok1 := compile(e.X, flex, thresholds)
			y, ok2 := compile(e.Y, flex, thresholds)
			if !ok1 || !ok2 {
				return nil, false
			}
			if e.Op == token.LAND {
				return func(v int) bool { return x(v) && y(v) }, true
			}
			return func(v int) bool { return x(v) || y(v) }, true
		case token.GEQ, token.LEQ, token.GTR, token.LSS, token.EQL, token.NEQ:
			op := e.Op
			if isIdent(e.Y, "version") { // n < version: swap to version > n
				op = mirror(op)
				e = &ast.BinaryExpr{X: e.Y, Op: op, Y: e.X}
			}
			if !isIdent(e.X, "version") {
				return nil, false
			}
			n, ok := intLit(e.Y)
			if !ok {
				return nil, false
			}
			*thresholds = append(*thresholds, n)
			return func(v int) bool { return compare(v, op, n) }, true
		}
	}
	return nil, false
}

func compare(v int, op token.Token, n int) bool {
	switch op {
	case token.GEQ:
		return v >= n
	case token.LEQ:
		return v <= n
	case token.GTR:
		return v > n
	case token.LSS:
		return v < n
	case token.EQL:
		return v == n
	default: // token.NEQ
		return v != n
	}
}

func mirror(op token.Token) token.Token {
	switch op {
	case token.GEQ:
		return token.LEQ
	case token.LEQ:
		return token.GEQ
	case token.GTR:
		return token.LSS
	case token.LSS:
		return token.GTR
	}
	return op
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// intLit reads a decimal constant, possibly negated.
func intLit(e ast.Expr) (int, bool) {
	neg := false
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg, e = true, u.X
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return 0, false
	}
	n, err := strconv.Atoi(lit.Value)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}
