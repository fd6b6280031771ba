package param

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Nacos defaults for the parts of an instance's address.
const (
	DefaultNamespace = "public"
	DefaultGroup     = "DEFAULT_GROUP"
	DefaultCluster   = "DEFAULT"
)

// MaxNameLen is the longest namespace, group, service or cluster name, in
// bytes.
const MaxNameLen = 512

// groupSeparator joins group and service in Nacos' grouped service names.
const groupSeparator = "@@"

// Name validates a required namespace, group, service or cluster name and
// returns it without leading and trailing white space. A name must be
// non-empty, at most MaxNameLen bytes of valid UTF-8, free of control
// characters, and must not contain "@@".
func Name(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", missing(field)
	}
	if reason := nameProblem(v); reason != "" {
		return "", invalid(field, reason)
	}
	if strings.Contains(v, groupSeparator) {
		return "", invalid(field, `must not contain "@@"`)
	}
	return v, nil
}

// OptionalName is Name for an optional parameter: it returns def when v is
// empty or white space.
func OptionalName(field, v, def string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return def, nil
	}
	return Name(field, v)
}

// ServiceName splits and validates Nacos' serviceName and groupName
// parameters. A serviceName of the form "group@@service" carries its own
// group, which wins over groupParam; otherwise the group is groupParam, or
// DefaultGroup when that is empty.
func ServiceName(serviceParam, groupParam string) (group, service string, err error) {
	const field = "serviceName"
	s := strings.TrimSpace(serviceParam)
	if s == "" {
		return "", "", missing(field)
	}
	if !strings.Contains(s, groupSeparator) {
		if service, err = Name(field, s); err != nil {
			return "", "", err
		}
		if group, err = OptionalName("groupName", groupParam, DefaultGroup); err != nil {
			return "", "", err
		}
		return group, service, nil
	}
	parts := strings.Split(s, groupSeparator)
	if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
		return "", "", invalid(field, `must be a name or "group@@name"`)
	}
	// Both parts came in serviceName, so errors name that parameter.
	if group, err = Name(field, parts[0]); err != nil {
		return "", "", err
	}
	if service, err = Name(field, parts[1]); err != nil {
		return "", "", err
	}
	return group, service, nil
}

// nameProblem returns why s is not an acceptable name, or "" if it is.
func nameProblem(s string) string {
	if len(s) > MaxNameLen {
		return "longer than " + strconv.Itoa(MaxNameLen) + " bytes"
	}
	return textProblem(s)
}

// textProblem returns why s is not valid UTF-8 free of control characters,
// or "" if it is.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "contains control character " + strconv.QuoteRune(r)
		}
	}
	return ""
}
