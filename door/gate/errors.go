package gate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

var (
	// ErrBadJSON marks a request body that is not the JSON expected.
	ErrBadJSON = errors.New("gate: malformed json")
	// ErrForbidden refuses a request this client may not make.
	ErrForbidden = errors.New("gate: forbidden")
	// ErrUnauthorized refuses a request without valid credentials.
	ErrUnauthorized = errors.New("gate: unauthorized")
	// ErrLoginFailed refuses a login with unknown credentials.
	ErrLoginFailed = errors.New("gate: login failed")
	// ErrTooBusy refuses a client request beyond MaxConcurrent.
	ErrTooBusy = errors.New("gate: too many requests")
)

// StatusOf maps an error to its HTTP status. It is the one table of such
// mappings for the front doors.
func StatusOf(err error) int {
	var fe *param.FieldError
	var hs interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &fe), errors.Is(err, ErrBadJSON):
		return http.StatusBadRequest
	case errors.Is(err, param.ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrServiceNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrServiceHasInstances), errors.Is(err, store.ErrServiceExists):
		return http.StatusBadRequest
	case errors.Is(err, node.ErrShuttingDown), errors.Is(err, node.ErrNotReady), errors.Is(err, node.ErrNotReplicated):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrLoginFailed):
		return http.StatusForbidden
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrTooBusy):
		return http.StatusTooManyRequests
	case errors.Is(err, store.ErrServiceFull), errors.Is(err, store.ErrNamespaceFull):
		return http.StatusConflict
	case errors.As(err, &hs) && hs.HTTPStatus() >= 400:
		return hs.HTTPStatus()
	}
	return http.StatusInternalServerError
}

// WriteText answers with a plain-text body, as Nacos does.
func WriteText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h["Content-Type"], h["X-Content-Type-Options"] = textType, nosniff
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// NacosError answers err the way Nacos 1.x does: status code and a
// plain-text message.
func NacosError(w http.ResponseWriter, err error) {
	status := StatusOf(err)
	setRetryAfter(w, err, status)
	WriteText(w, status, "caused: "+err.Error()+";")
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteText(w, http.StatusInternalServerError, "gate: encode response: "+err.Error())
		return
	}
	WriteJSONBytes(w, status, b)
}

// Header values of answers, shared so that setting them allocates
// nothing (net/http only reads them).
var (
	jsonType = []string{"application/json"}
	textType = []string{"text/plain; charset=utf-8"}
	nosniff  = []string{"nosniff"}
)

// WriteJSONBytes answers already-encoded JSON.
func WriteJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// JSONError answers err as {"error": message} with its status.
func JSONError(w http.ResponseWriter, err error) {
	setRetryAfter(w, err, StatusOf(err))
	WriteJSON(w, StatusOf(err), map[string]string{"error": err.Error()})
}

// setRetryAfter tells the client when to retry: what a RetryError says,
// or a second for a 503.
func setRetryAfter(w http.ResponseWriter, err error, status int) {
	var re *RetryError
	switch {
	case errors.As(err, &re):
		w.Header().Set("Retry-After", strconv.Itoa(re.RetryAfter()))
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
}

// DecodeJSON reads a JSON body of at most limit bytes into v.
func DecodeJSON(r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", ErrBadJSON, err)
	}
	if int64(len(body)) > limit {
		return param.ErrBodyTooLarge
	}
	// encoding/json would store U+FFFD for each invalid byte; the Nacos
	// door refuses such parameters, and so does this one.
	if !utf8.Valid(body) {
		return &param.FieldError{Field: "body", Reason: "not valid UTF-8"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadJSON, err)
	}
	return nil
}
