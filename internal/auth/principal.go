package auth

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/samsa-io/samsa/internal/config"
)

// PrincipalMapper turns the subject of a client's TLS certificate (its
// distinguished name in RFC 2253 form, "CN=app,OU=Eng,O=Example") into the
// user name that client quotas (and later ACLs) see, by Kafka's
// ssl.principal.mapping.rules (KIP-371): a comma- or newline-separated list
// of
//
//	RULE:pattern/replacement/[L|U]   the name, when pattern matches the whole DN
//	DEFAULT                          the DN itself
//
// tried in order. A DN no rule applies to fails authentication.
type PrincipalMapper struct {
	rules []principalRule
	text  string
}

type principalRule struct {
	isDefault   bool
	pattern     *regexp.Regexp // anchored: the whole DN must match
	replacement string
	lower       bool
	upper       bool
}

// ruleParser reads one rule at the start of the text left, and its
// separator: DEFAULT, or RULE:pattern/replacement/ with an optional L or U
// (a backslash escapes a slash in the pattern and the replacement).
var ruleParser = regexp.MustCompile(`^\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)/((?:\\.|[^\\/])*)/([LU]?))\s*(?:[,\n]\s*|$)`)

// ParsePrincipalRules parses a rules list; "" means DEFAULT.
func ParsePrincipalRules(text string) (*PrincipalMapper, error) {
	m := &PrincipalMapper{text: text}
	rest := strings.TrimSpace(text)
	if rest == "" {
		rest = "DEFAULT"
	}
	for rest != "" {
		g := ruleParser.FindStringSubmatch(rest)
		if g == nil {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: invalid rule at %q (want RULE:pattern/replacement/[L|U] or DEFAULT)", rest)
		}
		rest = rest[len(g[0]):]
		if g[1] != "" {
			m.rules = append(m.rules, principalRule{isDefault: true})
			continue
		}
		re, err := regexp.Compile(`^(?:` + g[2] + `)$`)
		if err != nil {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: pattern %q: %v", g[2], err)
		}
		m.rules = append(m.rules, principalRule{pattern: re, replacement: javaReplacement(g[3]), lower: g[4] == "L", upper: g[4] == "U"})
	}
	return m, nil
}

// PrincipalRules reads listener's ssl.principal.mapping.rules.
func PrincipalRules(b *config.Broker, listener string) (*PrincipalMapper, error) {
	return ParsePrincipalRules(settings(b, listener)("ssl.principal.mapping.rules"))
}

// ErrNoRule means no mapping rule applies to a certificate's DN.
var ErrNoRule = errors.New("no ssl.principal.mapping.rules rule applies")

// Name maps a DN to a user name.
func (m *PrincipalMapper) Name(dn string) (string, error) {
	for _, r := range m.rules {
		if r.isDefault {
			return dn, nil
		}
		if !r.pattern.MatchString(dn) {
			continue
		}
		name := r.pattern.ReplaceAllString(dn, r.replacement)
		switch {
		case r.lower:
			name = strings.ToLower(name)
		case r.upper:
			name = strings.ToUpper(name)
		}
		return name, nil
	}
	return "", fmt.Errorf("%w to %s (rules %s)", ErrNoRule, dn, m.text)
}

// javaReplacement turns a Java replacement string ($1, \$ for a dollar,
// \/ for a slash) into Go's (${1}, $$).
func javaReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '$':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 {
				b.WriteString("$$")
				continue
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
