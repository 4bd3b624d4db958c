package config

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// ParseProperties reads the Java .properties format as
// java.util.Properties.load does, so any server.properties Kafka accepts
// parses to the same keys and values:
//
//   - a logical line is "key=value", "key: value" or "key value"; the key
//     ends at the first unescaped '=', ':' or whitespace, and one '=' or ':'
//     plus the whitespace around it separate key from value;
//   - leading whitespace (space, tab, form feed) is skipped; lines whose
//     first other character is '#' or '!' are comments;
//   - a line ending in an odd number of backslashes continues on the next
//     line, whose leading whitespace is dropped;
//   - escapes \t \n \r \f \uXXXX are decoded and a backslash before any
//     other character yields that character (so "\=", "\:", "\ ", "\\");
//   - trailing whitespace of a value is kept; a later duplicate key wins.
//
// Unlike Java, the input is read as UTF-8 rather than ISO-8859-1, so non-ASCII
// values survive as written. The only error is a malformed \u escape.
func ParseProperties(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string)
	for _, line := range logicalLines(string(data)) {
		key, value, err := splitProperty(line.text)
		if err != nil {
			// The text is not quoted: it may hold a password.
			return nil, fmt.Errorf("line %d: %w", line.number, err)
		}
		props[key] = value
	}
	return props, nil
}

func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// logicalLine is one entry with continuations joined; escapes are still in
// place. number is the 1-based line on which it starts.
type logicalLine struct {
	number int
	text   string
}

// logicalLines splits s into logical lines with comments, blank lines and
// continuations resolved.
func logicalLines(s string) []logicalLine {
	var lines []logicalLine
	pos, counted, number := 0, 0, 1
	for pos < len(s) {
		for pos < len(s) && isPropSpace(s[pos]) {
			pos++
		}
		if pos == len(s) {
			break
		}
		if c := s[pos]; c == '\n' || c == '\r' || c == '#' || c == '!' {
			// Blank line or comment: a comment never continues.
			pos = skipNaturalLine(s, pos)
			continue
		}
		number += countLineStarts(s[counted:pos])
		counted = pos
		var b strings.Builder
		for {
			end := naturalLineEnd(s, pos)
			seg := s[pos:end]
			pos = skipLineTerminator(s, end)
			if trailingBackslashes(seg)%2 == 0 {
				b.WriteString(seg)
				break
			}
			b.WriteString(seg[:len(seg)-1])
			for pos < len(s) && isPropSpace(s[pos]) {
				pos++
			}
			if pos == len(s) {
				break // continuation at end of input: the backslash is dropped
			}
		}
		lines = append(lines, logicalLine{number, b.String()})
	}
	return lines
}

// countLineStarts counts line terminators (CRLF counts once).
func countLineStarts(s string) int {
	return strings.Count(s, "\n") + strings.Count(s, "\r") - strings.Count(s, "\r\n")
}

func naturalLineEnd(s string, pos int) int {
	for pos < len(s) && s[pos] != '\n' && s[pos] != '\r' {
		pos++
	}
	return pos
}

func skipLineTerminator(s string, pos int) int {
	if pos < len(s) && s[pos] == '\r' {
		pos++
	}
	if pos < len(s) && s[pos] == '\n' {
		pos++
	}
	return pos
}

func skipNaturalLine(s string, pos int) int {
	return skipLineTerminator(s, naturalLineEnd(s, pos))
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// splitProperty separates a logical line into its unescaped key and value.
func splitProperty(line string) (key, value string, err error) {
	keyLen, valueStart := 0, len(line)
	hasSep, escaped := false, false
	for ; keyLen < len(line); keyLen++ {
		c := line[keyLen]
		if !escaped && (c == '=' || c == ':') {
			valueStart, hasSep = keyLen+1, true
			break
		}
		if !escaped && isPropSpace(c) {
			valueStart = keyLen + 1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isPropSpace(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	if key, err = unescape(line[:keyLen]); err != nil {
		return "", "", err
	}
	if value, err = unescape(line[valueStart:]); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// unescape decodes the .properties escapes; \uXXXX pairs that form a
// UTF-16 surrogate pair become one code point.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	var pending rune = -1 // a high surrogate waiting for its pair
	flush := func() {
		if pending >= 0 {
			b.WriteRune(pending) // writes U+FFFD for a lone surrogate
			pending = -1
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break // a lone trailing backslash is dropped
		}
		switch c = s[i]; c {
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf(`malformed \uxxxx encoding`)
			}
			r, ok := hex4(s[i+1 : i+5])
			if !ok {
				return "", fmt.Errorf(`malformed \uxxxx encoding`)
			}
			i += 4
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00:
				flush()
				pending = r
			case utf16.IsSurrogate(r) && pending >= 0:
				b.WriteRune(utf16.DecodeRune(pending, r))
				pending = -1
			default:
				flush()
				b.WriteRune(r)
			}
			continue
		case 't':
			c = '\t'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 'f':
			c = '\f'
		}
		flush()
		b.WriteByte(c)
	}
	flush()
	return b.String(), nil
}

func hex4(s string) (rune, bool) {
	if len(s) != 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
