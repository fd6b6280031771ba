package param

// The parser walks the input once, splitting it into key=value pairs on '&'.
// A value that starts with a raw '{' or '[' comes from a client that does not
// escape (an escaping client sends %7B or %5B), so it is scanned as a balanced
// JSON value: strings and backslash escapes are tracked, so '&' and '=' inside
// JSON strings do not end it. If the scan reaches the matching close bracket
// and is followed by '&' or the end, the JSON is the value, taken verbatim.
// Otherwise the value runs to the next '&', still verbatim.
//
// Scans that fail are the only work that can be repeated, so their total is
// capped at the input length; after that, JSON scanning is switched off. This
// keeps Parse linear even on adversarial input such as `a={"&b={"&c={"...`.

import (
	"net/url"
	"strings"
)

// Values holds request parameters, one value per key: the first occurrence of
// a key wins, as with Servlet getParameter. A Values is not safe for
// concurrent mutation.
type Values map[string]string

// Get returns the value of key, or "" if it is absent.
func (v Values) Get(key string) string {
	return v[key]
}

// First returns the value of the first of keys that is present, even if its
// value is empty, and whether any was present. It serves parameters with a
// legacy alias, such as clusterName falling back to cluster.
func (v Values) First(keys ...string) (string, bool) {
	for _, k := range keys {
		if s, ok := v[k]; ok {
			return s, true
		}
	}
	return "", false
}

// Parse parses a raw query string and then a form body into a new Values.
// Keys from rawQuery take precedence over the same keys in body.
func Parse(rawQuery string, body []byte) Values {
	v := make(Values)
	ParseInto(v, rawQuery)
	ParseInto(v, string(body))
	return v
}

// ParseInto parses raw, a query string or form body, into v. Keys already in
// v keep their value. Pairs with an empty key are skipped and a key without
// '=' gets the empty value. Malformed input never causes a panic or an
// error: it yields the best reading of what was sent.
func ParseInto(v Values, raw string) {
	parseInto(v, raw)
}

// parseInto implements ParseInto and returns the number of bytes examined, so
// that tests can check that the work is linear in len(s).
func parseInto(v Values, s string) (work int) {
	budget := len(s) // bytes that failed JSON scans may still examine
	for i := 0; i < len(s); {
		j := i + strings.IndexAny(s[i:], "=&")
		if j < i {
			j = len(s)
		}
		work += j - i
		key := s[i:j]
		if j == len(s) || s[j] == '&' {
			add(v, key, "")
			i = j + 1
			continue
		}

		start := j + 1 // s[j] == '='
		end := -1
		verbatim := start < len(s) && (s[start] == '{' || s[start] == '[')
		if verbatim && budget > 0 {
			n, examined, ok := scanJSON(s[start:], budget)
			work += examined
			if ok && (start+n == len(s) || s[start+n] == '&') {
				end = start + n
			} else {
				budget -= examined
			}
		}
		if end < 0 {
			end = start + strings.IndexByte(s[start:], '&')
			if end < start {
				end = len(s)
			}
			work += end - start
		}
		val := s[start:end]
		if !verbatim {
			val = unescape(val)
		}
		add(v, key, val)
		i = end + 1
	}
	return work
}

// add stores key=val in v unless the key is empty or already present.
func add(v Values, rawKey, val string) {
	if rawKey == "" {
		return
	}
	key := unescape(rawKey)
	if _, ok := v[key]; !ok {
		v[key] = val
	}
}

// unescape query-unescapes s, or returns s as sent if it holds a malformed
// percent sequence.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// scanJSON finds the end of the balanced JSON value that s starts with. It
// returns the length of that value, the number of bytes examined and whether
// the value was closed. It gives up after limit bytes, and at a '&' outside a
// string, which valid JSON cannot hold.
func scanJSON(s string, limit int) (n, examined int, ok bool) {
	depth := 0
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		if i >= limit {
			return 0, i, false
		}
		c := s[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, i + 1, true
			}
		case '&':
			return 0, i + 1, false
		}
	}
	return 0, len(s), false
}
