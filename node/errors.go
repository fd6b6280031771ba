package node

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// statusOf maps an error to its HTTP status. It is the one table of such
// mappings in roster.
func statusOf(err error) int {
	var fe *param.FieldError
	switch {
	case errors.As(err, &fe):
		return http.StatusBadRequest
	case errors.Is(err, param.ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errBadJSON):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrServiceNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrServiceHasInstances), errors.Is(err, store.ErrServiceExists):
		return http.StatusBadRequest
	case errors.Is(err, errShuttingDown):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var (
	// errBadJSON marks a request body that is not the JSON expected.
	errBadJSON = errors.New("node: malformed json")
	// errShuttingDown refuses writes while the node leaves.
	errShuttingDown = errors.New("node: shutting down")
)

// writeText answers with a plain-text body, as Nacos does.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// nacosError answers err the way Nacos 1.x does: status code and a
// plain-text message.
func nacosError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	writeText(w, status, "caused: "+err.Error()+";")
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "node: encode response: "+err.Error())
		return
	}
	writeJSONBytes(w, status, b)
}

// writeJSONBytes answers already-encoded JSON.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// jsonError answers err as {"error": message} with its status.
func jsonError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
}
