package config

import (
	"maps"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"equals separates key and value", "a=b", map[string]string{"a": "b"}},
		{"colon separates key and value", "a: b", map[string]string{"a": "b"}},
		{"whitespace alone separates key and value", "a   b", map[string]string{"a": "b"}},
		{"whitespace around the separator is dropped", "a \t= \t b", map[string]string{"a": "b"}},
		{"only the first separator counts", "a = = b", map[string]string{"a": "= b"}},
		{"a colon after a whitespace separator is still a separator", "a : b", map[string]string{"a": "b"}},
		{"listener values keep their colons", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
			map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"}},
		{"leading whitespace is skipped", "   \t\fa=b", map[string]string{"a": "b"}},
		{"trailing whitespace of a value is kept", "a=b  ", map[string]string{"a": "b  "}},
		{"a key alone has an empty value", "a", map[string]string{"a": ""}},
		{"a key with a separator and nothing after has an empty value", "a=", map[string]string{"a": ""}},
		{"hash and bang start comments", "# c\n! d\n  # e\na=b", map[string]string{"a": "b"}},
		{"a hash inside a value is not a comment", "a=b#c", map[string]string{"a": "b#c"}},
		{"blank lines are skipped", "\n\n  \na=b\n\n", map[string]string{"a": "b"}},
		{"a backslash continues the line and the next line's indent is dropped",
			"a=one,\\\n    two,\\\n\tthree", map[string]string{"a": "one,two,three"}},
		{"an even number of backslashes does not continue", "a=x\\\\\nb=y", map[string]string{"a": `x\`, "b": "y"}},
		{"a continued line may look like a comment", "a=x\\\n#y", map[string]string{"a": "x#y"}},
		{"a comment ending in a backslash does not continue", "# c \\\na=b", map[string]string{"a": "b"}},
		{"a continuation onto an empty line ends the value", "a=x\\\n\nb=y", map[string]string{"a": "x", "b": "y"}},
		{"a continuation at end of input drops the backslash", "a=x\\", map[string]string{"a": "x"}},
		{"CRLF and CR end lines", "a=1\r\nb=2\rc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"CRLF continuation", "a=1\\\r\n  2", map[string]string{"a": "12"}},
		{"escapes decode", `a=\t\n\r\f\\\=\:\ x`, map[string]string{"a": "\t\n\r\f\\=: x"}},
		{"escaped separators belong to the key", `k\=1\:2\ 3=v`, map[string]string{"k=1:2 3": "v"}},
		{"unknown escapes drop the backslash", `a=\q\d`, map[string]string{"a": "qd"}},
		{"unicode escapes decode", `a=caf\u00e9 \u4e2d`, map[string]string{"a": "café 中"}},
		{"surrogate pairs decode to one code point", `a=\ud83d\ude00`, map[string]string{"a": "😀"}},
		{"UTF-8 passes through", "a=日志目录 # 注释", map[string]string{"a": "日志目录 # 注释"}},
		{"the last duplicate wins", "a=1\na=2\na: 3", map[string]string{"a": "3"}},
		{"an empty key is allowed", "=v", map[string]string{"": "v"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ParseProperties(%q): %v", tc.in, err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("ParseProperties(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParsePropertiesRejectsMalformedUnicodeEscapes(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\u12g4`, `\uZZZZ=b`} {
		if _, err := ParseProperties(strings.NewReader(in)); err == nil {
			t.Errorf("ParseProperties(%q) succeeded, want an error", in)
		}
	}
	_, err := ParseProperties(strings.NewReader("# c\r\na=1\r\nb=2\\\n  3\npassword=se\\u12cret\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 5:") || strings.Contains(err.Error(), "cret") {
		t.Errorf("err = %v, want it to name line 5 without quoting the value", err)
	}
}
