package auth

import (
	"errors"
	"testing"
)

// Kafka's own examples of ssl.principal.mapping.rules (KIP-371).
func TestPrincipalRules(t *testing.T) {
	m, err := ParsePrincipalRules(`RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,
		RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,
		RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U,
		DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	for dn, want := range map[string]string{
		"CN=Duke,OU=ServiceUsers,O=Org,C=US":        "Duke",
		"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US": "duke@sme",
		"cn=duke,ou=JavaSoft,o=Sun Microsystems":    "DUKE",
		"OU=JavaSoft,O=Sun Microsystems,C=US":       "OU=JavaSoft,O=Sun Microsystems,C=US",
	} {
		if got, err := m.Name(dn); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", dn, got, err, want)
		}
	}

	// Without DEFAULT, a DN no rule matches fails authentication.
	m, err = ParsePrincipalRules(`RULE:^CN=([^,]*),O=Example$/$1/`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Name("CN=app,O=Example"); err != nil || got != "app" {
		t.Errorf("app: %q, %v", got, err)
	}
	if _, err := m.Name("CN=app,O=Elsewhere"); !errors.Is(err, ErrNoRule) {
		t.Errorf("no rule applies: %v", err)
	}
	// Escapes: a slash in the pattern, a dollar in the replacement.
	m, err = ParsePrincipalRules(`RULE:^CN=a\/b,(.*)$/x\$$1/`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Name("CN=a/b,O=z"); err != nil || got != "x$O=z" {
		t.Errorf("escapes: %q, %v", got, err)
	}
	if m, err := ParsePrincipalRules(""); err != nil || len(m.rules) != 1 || !m.rules[0].isDefault {
		t.Errorf("empty rules: %+v, %v; want DEFAULT", m, err)
	}
	for _, bad := range []string{"RULE:^CN=(.*$/$1/", "RULE:abc", "NONSENSE", "RULE:a/b/X"} {
		if _, err := ParsePrincipalRules(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
