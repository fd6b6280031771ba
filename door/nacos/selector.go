package nacos

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Nacos 1.4's label selector of service/list: a JSON object
// {"type":"label","expression":"INSTANCE.metadata.K = 'V'"} keeps the
// services one of whose instances has metadata K=V, and
// "SERVICE.metadata.K = 'V'" the services whose own metadata has K=V.
// Type "none", or a label selector with an empty expression, keeps every
// service, as in Nacos. Everything else Nacos would ignore or fail on is a
// 400 here, so a filter is never silently dropped.

// labelFilter is a parsed service/list selector; a nil *labelFilter keeps
// every service.
type labelFilter struct {
	instance bool // INSTANCE.metadata (else SERVICE.metadata)
	key      string
	value    string
}

// selectorJSON is the selector parameter.
type selectorJSON struct {
	Type       *string `json:"type"`
	Expression string  `json:"expression"`
}

// parseListSelector reads the selector parameter of service/list.
func parseListSelector(raw string) (*labelFilter, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var sel selectorJSON
	if err := json.Unmarshal([]byte(raw), &sel); err != nil {
		return nil, &param.FieldError{Field: "selector", Reason: `must be a JSON object such as {"type":"label","expression":"INSTANCE.metadata.k = 'v'"}`}
	}
	if sel.Type == nil {
		return nil, &param.FieldError{Field: "selector", Reason: `has no "type" ("none" or "label")`}
	}
	switch *sel.Type {
	case "none":
		return nil, nil
	case "label":
	default:
		return nil, &param.FieldError{Field: "selector", Reason: `type ` + quote(*sel.Type) + ` is not supported: use "none" or "label"`}
	}
	expr := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, sel.Expression)
	if expr == "" {
		return nil, nil
	}
	return parseLabelExpression(expr)
}

// parseLabelExpression reads PREFIX.metadata.KEY='VALUE' (white space
// already removed), PREFIX being INSTANCE or SERVICE: the only forms
// Nacos 1.4's service/list applies.
func parseLabelExpression(expr string) (*labelFilter, error) {
	unsupported := &param.FieldError{Field: "selector", Reason: "expression " + quote(expr) +
		" is not supported: service/list applies only INSTANCE.metadata.KEY = 'VALUE' and SERVICE.metadata.KEY = 'VALUE'"}
	lhs, rhs, ok := strings.Cut(expr, "=")
	if !ok || strings.Contains(rhs, "=") {
		return nil, unsupported
	}
	parts := strings.Split(lhs, ".")
	if len(parts) != 3 || parts[1] != "metadata" || parts[2] == "" {
		return nil, unsupported
	}
	f := &labelFilter{key: parts[2], value: strings.ReplaceAll(rhs, "'", "")}
	switch parts[0] {
	case "INSTANCE":
		f.instance = true
	case "SERVICE":
	default:
		return nil, unsupported
	}
	return f, nil
}

// keeps reports whether the filter keeps the service of snap.
func (f *labelFilter) keeps(snap *store.Snapshot) bool {
	if f == nil {
		return true
	}
	if !f.instance {
		v, ok := snap.Info.Metadata[f.key]
		return ok && v == f.value
	}
	for _, in := range snap.Instances {
		if v, ok := in.Metadata[f.key]; ok && v == f.value {
			return true
		}
	}
	return false
}

// parseServiceSelector reads the selector parameter of POST and PUT
// service. Nacos keeps a service's selector to filter instance lists by
// the CMDB labels of the caller; roster has no CMDB, so only "none" (what
// Nacos clients send by default) is accepted.
func parseServiceSelector(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	var sel selectorJSON
	if err := json.Unmarshal([]byte(raw), &sel); err != nil {
		return &param.FieldError{Field: "selector", Reason: `must be a JSON object such as {"type":"none"}`}
	}
	if sel.Type == nil || *sel.Type != "none" {
		return &param.FieldError{Field: "selector", Reason: `only {"type":"none"} is supported: roster has no CMDB labels to select instances by`}
	}
	return nil
}

// quote returns s in double quotes, cut to 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
