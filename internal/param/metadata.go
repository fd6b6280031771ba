package param

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on instance metadata.
const (
	// MaxMetadataKeys is the most keys metadata may hold.
	MaxMetadataKeys = 128
	// MaxMetadataBytes bounds the total bytes of all keys and values.
	MaxMetadataBytes = 16384
	// MaxMetadataKeyLen is the longest metadata key, in bytes.
	MaxMetadataKeyLen = 256
)

// maxMetadataInput bounds the raw text Metadata will decode. JSON escapes
// (\u0001 is six bytes for one) and white space can make valid input several
// times larger than its decoded form; anything beyond this cannot fit.
const maxMetadataInput = 16 * MaxMetadataBytes

// Metadata parses instance metadata, given either as a JSON object or as
// comma-separated k=v pairs (split at the first '=' of each pair; for repeated
// keys the last wins). In a JSON object string values are kept, numbers and
// booleans become their JSON text, null becomes "", and nested objects or
// arrays are rejected. Keys must be non-empty, at most MaxMetadataKeyLen
// bytes of valid UTF-8 without control characters; values must be valid
// UTF-8. An empty v yields an empty, non-nil map.
func Metadata(field, v string) (map[string]string, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return map[string]string{}, nil
	}
	if len(s) > maxMetadataInput {
		return nil, invalid(field, "longer than "+strconv.Itoa(maxMetadataInput)+" bytes")
	}
	var (
		m   map[string]string
		err error
	)
	switch s[0] {
	case '{':
		m, err = metadataJSON(field, s)
	case '[':
		return nil, invalid(field, "must be a JSON object or k=v pairs")
	default:
		m, err = metadataPairs(field, s)
	}
	if err != nil {
		return nil, err
	}
	if err := checkMetadata(field, m); err != nil {
		return nil, err
	}
	return m, nil
}

// metadataJSON decodes a JSON object of scalar values.
func metadataJSON(field, s string) (map[string]string, error) {
	if !utf8.ValidString(s) {
		return nil, invalid(field, "not valid UTF-8")
	}
	if m, ok := flatJSON(s); ok {
		return m, nil
	}
	return decodeJSONObject(field, s)
}

// decodeJSONObject decodes a JSON object of scalar values with
// encoding/json.
func decodeJSONObject(field, s string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, invalid(field, "malformed JSON: "+err.Error())
	}
	if len(raw) > MaxMetadataKeys {
		return nil, tooManyKeys(field)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the same offending key every time
	m := make(map[string]string, len(raw))
	for _, k := range keys {
		val := bytes.TrimSpace(raw[k])
		if len(val) == 0 {
			continue // cannot happen after a successful Unmarshal
		}
		switch val[0] {
		case '"':
			var str string
			if err := json.Unmarshal(val, &str); err != nil {
				return nil, keyError(field, k, "malformed string")
			}
			m[k] = str
		case 'n':
			m[k] = ""
		case '{', '[':
			return nil, keyError(field, k, "nested objects and arrays are not allowed")
		default: // number, true or false
			m[k] = string(val)
		}
	}
	return m, nil
}

// metadataPairs parses "k=v,k2=v2". Empty pairs are skipped.
func metadataPairs(field, s string) (map[string]string, error) {
	m := make(map[string]string)
	for pair := range strings.SplitSeq(s, ",") {
		if pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, invalid(field, "pair "+strconv.Quote(pair)+` has no "="`)
		}
		if !utf8.ValidString(k) {
			return nil, keyError(field, k, "not valid UTF-8")
		}
		if !utf8.ValidString(val) {
			return nil, keyError(field, k, "value is not valid UTF-8")
		}
		m[k] = val
		if len(m) > MaxMetadataKeys {
			return nil, tooManyKeys(field)
		}
	}
	return m, nil
}

// checkMetadata applies the key and size limits to decoded metadata.
func checkMetadata(field string, m map[string]string) error {
	if len(m) > MaxMetadataKeys {
		return tooManyKeys(field)
	}
	var small [8]string // most metadata has a few keys: sort them on the stack
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the same offending key every time
	total := 0
	for _, k := range keys {
		if k == "" {
			return invalid(field, "empty key")
		}
		if len(k) > MaxMetadataKeyLen {
			return keyError(field, k[:32]+"...", "longer than "+strconv.Itoa(MaxMetadataKeyLen)+" bytes")
		}
		if reason := textProblem(k); reason != "" {
			return keyError(field, k, reason)
		}
		if !utf8.ValidString(m[k]) {
			return keyError(field, k, "value is not valid UTF-8")
		}
		total += len(k) + len(m[k])
	}
	if total > MaxMetadataBytes {
		return invalid(field, "keys and values exceed "+strconv.Itoa(MaxMetadataBytes)+" bytes")
	}
	return nil
}

func tooManyKeys(field string) error {
	return invalid(field, "more than "+strconv.Itoa(MaxMetadataKeys)+" keys")
}

// keyError reports a problem with one metadata key.
func keyError(field, key, reason string) error {
	return invalid(field, "key "+strconv.Quote(key)+": "+reason)
}
