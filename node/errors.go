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
	case errors.Is(err, errBadJSON), errors.Is(err, errBadMsgpack):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrServiceNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrServiceHasInstances), errors.Is(err, store.ErrServiceExists):
		return http.StatusBadRequest
	case errors.Is(err, errShuttingDown), errors.Is(err, errNotReady), errors.Is(err, errNotReplicated):
		return http.StatusServiceUnavailable
	case errors.Is(err, errForbidden), errors.Is(err, errLoginFailed):
		return http.StatusForbidden
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errTooBusy):
		return http.StatusTooManyRequests
	case errors.Is(err, store.ErrServiceFull), errors.Is(err, store.ErrNamespaceFull):
		return http.StatusConflict
	}
	var se *statusError
	if errors.As(err, &se) && se.status >= 400 {
		return se.status
	}
	return http.StatusInternalServerError
}

var (
	// errBadJSON marks a request body that is not the JSON expected.
	errBadJSON = errors.New("node: malformed json")
	// errShuttingDown refuses writes while the node leaves.
	errShuttingDown = errors.New("node: shutting down")
	// errNotReady refuses client requests until the node has synced.
	errNotReady = errors.New("node: not ready: syncing the registry from peers")
	// errNotReplicated means no peer confirmed a write in time.
	errNotReplicated = errors.New("node: write not confirmed by any peer in time")
	// errBatchReply means a peer answered a batch with the wrong count.
	errBatchReply = errors.New("node: peer answered a batch with a wrong number of results")
	// errForbidden refuses internal requests that do not come from a member.
	errForbidden = errors.New("node: internal request not from a cluster member")
	// errUnauthorized refuses a request without valid credentials: a
	// client token or an internal request's signature.
	errUnauthorized = errors.New("node: unauthorized")
	// errLoginFailed refuses a login with unknown credentials.
	errLoginFailed = errors.New("node: login failed")
	// errTooBusy refuses a client request beyond MaxConcurrent.
	errTooBusy = errors.New("node: too many requests")
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
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
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
	if statusOf(err) == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
}
