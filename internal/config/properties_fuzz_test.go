package config

import (
	"maps"
	"strings"
	"testing"
)

// FuzzParseProperties feeds server.properties text to the parser: it must
// not panic, and what it reads must survive being written back with every
// special character escaped (as java.util.Properties.store does) and read
// again.
func FuzzParseProperties(f *testing.F) {
	f.Add("listeners=PLAINTEXT://:9092\n# comment\nlog.dirs = /tmp/a\\\n   ,/tmp/b\n")
	f.Add("a\\u0041b=\\u00e9\\t\\\\ \n!x\n  key   value  \r\nk:v\\")
	f.Add("\\u12")
	f.Add("\\\n\\\r\n=\\ ")
	f.Fuzz(func(t *testing.T, text string) {
		props, err := ParseProperties(strings.NewReader(text))
		if err != nil {
			return
		}
		var b strings.Builder
		for k, v := range props {
			b.WriteString(escapeProperty(k))
			b.WriteByte('=')
			b.WriteString(escapeProperty(v))
			b.WriteByte('\n')
		}
		again, err := ParseProperties(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("cannot read back %q: %v", b.String(), err)
		}
		if !maps.Equal(props, again) {
			t.Fatalf("read %q back as %q", props, again)
		}
	})
}

// escapeProperty escapes what the properties format gives a meaning to.
func escapeProperty(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "=", `\=`, ":", `\:`, " ", `\ `, "#", `\#`, "!", `\!`,
		"\t", `\t`, "\n", `\n`, "\r", `\r`, "\f", `\f`)
	return r.Replace(s)
}
