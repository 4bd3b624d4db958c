package auth

import (
	"errors"
	"testing"
)

// FuzzPrincipalRules parses ssl.principal.mapping.rules and maps a DN with
// them: neither may panic, and a parsed list maps every DN or says that no
// rule applies.
func FuzzPrincipalRules(f *testing.F) {
	f.Add(`RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L, DEFAULT`, "CN=App,OU=Eng,O=Example")
	f.Add(`RULE:CN=([^,]*)\/x.*/\$$1\//U`, "CN=a/x,O=b")
	f.Add("RULE:(/$9/\nRULE:a/b/", "a")
	f.Add("", "CN=x")
	f.Fuzz(func(t *testing.T, rules, dn string) {
		m, err := ParsePrincipalRules(rules)
		if err != nil {
			return
		}
		if _, err := m.Name(dn); err != nil && !errors.Is(err, ErrNoRule) {
			t.Fatalf("rules %q, DN %q: %v", rules, dn, err)
		}
	})
}
