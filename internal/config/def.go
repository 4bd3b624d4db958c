package config

import (
	"math"
	"net"
	"strconv"
	"strings"
)

// Type is a configuration value type. The numbers are the config_type codes
// of DescribeConfigs v3+, so an Entry's Type goes on the wire unchanged.
type Type int8

// Configuration types, numbered as in DescribeConfigs.
const (
	TypeUnknown  Type = 0
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3 // 32-bit signed
	TypeShort    Type = 4 // 16-bit signed
	TypeLong     Type = 5 // 64-bit signed
	TypeDouble   Type = 6
	TypeList     Type = 7 // comma-separated strings
	TypeClass    Type = 8 // a Java class name; samsa accepts only the values it implements
	TypePassword Type = 9 // a string never printed or returned
)

// String returns Kafka's upper-case name of the type (as in "Not a number of type INT").
func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "BOOLEAN"
	case TypeString:
		return "STRING"
	case TypeInt:
		return "INT"
	case TypeShort:
		return "SHORT"
	case TypeLong:
		return "LONG"
	case TypeDouble:
		return "DOUBLE"
	case TypeList:
		return "LIST"
	case TypeClass:
		return "CLASS"
	case TypePassword:
		return "PASSWORD"
	}
	return "UNKNOWN"
}

// Importance is Kafka's documentation grouping of a setting.
type Importance int8

// Importance levels, as Kafka's docs print them.
const (
	High Importance = iota
	Medium
	Low
)

func (i Importance) String() string {
	switch i {
	case High:
		return "high"
	case Medium:
		return "medium"
	}
	return "low"
}

// UpdateMode says whether AlterConfigs may change a broker setting at run
// time, as Kafka's "Update Mode" column does.
type UpdateMode int8

// Update modes. ClusterWide settings may also be set for a single broker.
const (
	ReadOnly    UpdateMode = iota // only server.properties, env or --override
	PerBroker                     // AlterConfigs on one broker resource
	ClusterWide                   // AlterConfigs on the default broker resource, or per broker
)

func (m UpdateMode) String() string {
	switch m {
	case PerBroker:
		return "per-broker"
	case ClusterWide:
		return "cluster-wide"
	}
	return "read-only"
}

// Def is one row of the configuration table: a Kafka property name with its
// type, default, validation and documentation. Defs are immutable.
type Def struct {
	Name       string
	Type       Type
	Default    string // Kafka's printed form of the default; ignored when Null
	Null       bool   // the default is null (unset)
	Importance Importance
	Mode       UpdateMode // broker settings only
	Valid      Validator  // nil: any value of Type
	Doc        string     // one line, samsa's wording
}

// Validator checks a parsed value. String describes the valid values the
// way Kafka's documentation prints them ("[1,...]").
type Validator interface {
	check(v any) (reason string)
	String() string
}

// parse converts a raw property value into the Go value of t: bool, int32,
// int16, int64, float64, string or []string. Like Kafka, it trims
// surrounding whitespace first; reason is Kafka's wording on failure.
func parse(t Type, raw string) (v any, reason string) {
	s := strings.TrimSpace(raw)
	switch t {
	case TypeBoolean:
		switch {
		case strings.EqualFold(s, "true"):
			return true, ""
		case strings.EqualFold(s, "false"):
			return false, ""
		}
		return nil, "Expected value to be either true or false"
	case TypeInt:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, "Not a number of type INT"
		}
		return int32(n), ""
	case TypeShort:
		n, err := strconv.ParseInt(s, 10, 16)
		if err != nil {
			return nil, "Not a number of type SHORT"
		}
		return int16(n), ""
	case TypeLong:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, "Not a number of type LONG"
		}
		return n, ""
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, "Not a number of type DOUBLE"
		}
		return f, ""
	case TypeList:
		return splitList(s), ""
	}
	return s, "" // STRING, PASSWORD, CLASS, UNKNOWN
}

// splitList splits on commas and the whitespace around them, as Kafka's
// LIST type does: "" is the empty list, "a,,b" keeps its empty element.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// format prints a parsed value as Kafka's ConfigDef.convertToString does.
func format(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return javaDouble(x)
	case []string:
		return strings.Join(x, ",")
	case string:
		return x
	}
	return ""
}

// javaDouble formats f like Java's Double.toString: plain decimal with at
// least one fractional digit for 1e-3 <= |f| < 1e7, otherwise "d.dddE±n".
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e+308
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}

// parseValue parses and validates raw for d, returning Kafka's
// "Invalid value ..." error naming d.Name on failure.
func (d *Def) parseValue(raw string) (any, error) {
	v, reason := parse(d.Type, raw)
	if reason == "" && d.Valid != nil {
		reason = d.Valid.check(v)
	}
	if reason != "" {
		return nil, invalid(d.Name, raw, reason)
	}
	return v, nil
}

// defaultValue returns the parsed default, or nil for a null default.
func (d *Def) defaultValue() any {
	if d.Null {
		return nil
	}
	v, reason := parse(d.Type, d.Default)
	if reason != "" {
		panic("config: bad default for " + d.Name + ": " + reason)
	}
	return v
}

// asInt64 widens the integer types; ok is false for anything else.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// rangeValidator is Kafka's Range: inclusive bounds on a number.
type rangeValidator struct {
	min, max       float64
	hasMin, hasMax bool
}

func atLeast(min float64) Validator { return rangeValidator{min: min, hasMin: true} }

func between(min, max float64) Validator {
	return rangeValidator{min: min, max: max, hasMin: true, hasMax: true}
}

func (r rangeValidator) check(v any) string {
	var f float64
	if n, ok := asInt64(v); ok {
		f = float64(n)
	} else if x, ok := v.(float64); ok {
		f = x
	} else {
		return ""
	}
	if r.hasMin && f < r.min {
		return "Value must be at least " + num(r.min)
	}
	if r.hasMax && f > r.max {
		return "Value must be no more than " + num(r.max)
	}
	return ""
}

func (r rangeValidator) String() string {
	switch {
	case r.hasMin && r.hasMax:
		return "[" + num(r.min) + ",...," + num(r.max) + "]"
	case r.hasMin:
		return "[" + num(r.min) + ",...]"
	}
	return "[...," + num(r.max) + "]"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// oneOf is Kafka's ValidString.in: the value must equal one of the strings
// exactly (case matters).
type oneOf []string

func (o oneOf) check(v any) string {
	s, _ := v.(string)
	for _, ok := range o {
		if s == ok {
			return ""
		}
	}
	return "String must be one of: " + strings.Join(o, ", ")
}

func (o oneOf) String() string { return "[" + strings.Join(o, ", ") + "]" }

// hostPort takes an address as host:port (the host may be empty, for every
// interface), or nothing.
type hostPort struct{}

func (hostPort) check(v any) string {
	s, _ := v.(string)
	if s == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || (n == 0 && port != "0") {
		return "Value must be host:port"
	}
	return ""
}

func (hostPort) String() string { return "host:port, or empty" }

// listOf is Kafka's ValidList.in: every element must be one of the strings.
// With nonEmpty it also rejects the empty list.
type listOf struct {
	allowed  oneOf
	nonEmpty bool
}

func (l listOf) check(v any) string {
	xs, _ := v.([]string)
	if l.nonEmpty && len(xs) == 0 {
		return "Value must not be empty"
	}
	for _, x := range xs {
		if r := l.allowed.check(x); r != "" {
			return r
		}
	}
	return ""
}

func (l listOf) String() string { return l.allowed.String() }

// funcValidator wraps a one-off check with its documentation text.
type funcValidator struct {
	fn   func(v any) string
	text string
}

func (f funcValidator) check(v any) string { return f.fn(v) }
func (f funcValidator) String() string     { return f.text }

// levelOrDefault is the gzip level rule: a range, or exactly the default.
func levelOrDefault(min, max, def int32) Validator {
	return funcValidator{
		fn: func(v any) string {
			n, _ := v.(int32)
			if n > max || (n < min && n != def) {
				return "Value must be between " + strconv.Itoa(int(min)) + " and " +
					strconv.Itoa(int(max)) + " or equal to " + strconv.Itoa(int(def))
			}
			return ""
		},
		text: "[" + strconv.Itoa(int(min)) + ",...," + strconv.Itoa(int(max)) + "] or " + strconv.Itoa(int(def)),
	}
}

// onlyValues accepts a STRING or CLASS setting only when it names something
// samsa implements; anything else would select code samsa does not have.
func onlyValues(why string, allowed ...string) Validator {
	return funcValidator{
		fn: func(v any) string {
			s, _ := v.(string)
			for _, a := range allowed {
				if s == a {
					return ""
				}
			}
			return why
		},
		text: "[" + strings.Join(quoteEmpty(allowed), ", ") + "]",
	}
}

func quoteEmpty(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		if x == "" {
			x = `""`
		}
		out[i] = x
	}
	return out
}
