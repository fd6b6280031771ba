package param

import "errors"

// ErrBodyTooLarge is returned by Read when the request body is larger than the
// allowed maximum. Callers answer it with 413 Request Entity Too Large.
var ErrBodyTooLarge = errors.New("param: request body too large")

// ReasonMissing is the FieldError reason for a required parameter that is
// absent or empty.
const ReasonMissing = "missing"

// FieldError reports a request parameter that is missing or invalid. Field is
// the parameter's name as the client sent it (for example "serviceName" or
// "metadata"); Reason says what is wrong with it, or is ReasonMissing.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "missing <field>" or "invalid <field>: <reason>". The message
// is meant for the client and so carries no package prefix.
func (e *FieldError) Error() string {
	if e.Reason == ReasonMissing {
		return "missing " + e.Field
	}
	return "invalid " + e.Field + ": " + e.Reason
}

// missing returns the error for an absent required parameter.
func missing(field string) error {
	return &FieldError{Field: field, Reason: ReasonMissing}
}

// invalid returns the error for a parameter with a bad value.
func invalid(field, reason string) error {
	return &FieldError{Field: field, Reason: reason}
}
