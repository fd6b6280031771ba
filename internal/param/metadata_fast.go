package param

// flatJSON decodes the common form of JSON metadata without
// encoding/json: an object whose keys and values are strings without
// escapes or control characters, with JSON white space between tokens,
// at most MaxMetadataKeys distinct keys (for a repeated key the last
// wins, as with encoding/json). The keys and values are slices of s, so
// it also reports false when s holds much more than them (white space,
// repeated keys): the map must not keep a padded input alive. It reports
// false for anything else
// (escapes, numbers, booleans, null, nesting, malformed text), which
// metadataJSON then decodes or refuses; where it reports true the map is
// what metadataJSON returns for s. s must be valid UTF-8.
func flatJSON(s string) (map[string]string, bool) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i = skipSpace(s, i+1)
	m := make(map[string]string, 4)
	if i < len(s) && s[i] == '}' {
		return m, skipSpace(s, i+1) == len(s)
	}
	kept := 0 // bytes of the keys and values m holds
	for {
		k, j, ok := plainString(s, i)
		if !ok {
			return nil, false
		}
		j = skipSpace(s, j)
		if j >= len(s) || s[j] != ':' {
			return nil, false
		}
		v, j, ok := plainString(s, skipSpace(s, j+1))
		if !ok {
			return nil, false
		}
		if old, dup := m[k]; dup {
			kept -= len(k) + len(old)
		}
		m[k] = v
		kept += len(k) + len(v)
		if len(m) > MaxMetadataKeys {
			return nil, false
		}
		j = skipSpace(s, j)
		switch {
		case j < len(s) && s[j] == ',':
			i = skipSpace(s, j+1)
		case j < len(s) && s[j] == '}':
			// Each pair's punctuation is 6 bytes ("":"",); allow a
			// few spaces around it besides.
			return m, skipSpace(s, j+1) == len(s) && len(s) <= kept+10*len(m)+4
		default:
			return nil, false
		}
	}
}

// plainString reads a JSON string at s[i] that holds no escape and no
// control character, and returns its text and the index after it.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
