package peer

import (
	"encoding/json"
	"errors"
	"net/http"
)

var (
	// ErrStaleHandoff answers the beats of a hand-off the owner refused
	// as too old to act on: the sender has handled them itself.
	ErrStaleHandoff = errors.New("peer: stale beat hand-off: the sender has handled it itself")
	// ErrNoQueue means the member has no outbound queue (it is not, or no
	// longer, a live member).
	ErrNoQueue = errors.New("peer: member has no queue")
	// ErrQueueFull means a member's outbound queue is full.
	ErrQueueFull = errors.New("peer: queue full")
	// ErrTimeout means an answer did not come in time.
	ErrTimeout = errors.New("peer: timed out")

	errBadJSON    = errors.New("peer: malformed json")
	errBadMsgpack = errors.New("peer: bad MessagePack body")
	errTooLarge   = errors.New("peer: request body too large")
	errBatchReply = errors.New("peer: peer answered a batch with a wrong number of results")
	// errForbidden refuses internal requests that do not come from a member.
	errForbidden = errors.New("peer: internal request not from a cluster member")
	// errUnauthorized refuses an internal request without a valid signature.
	errUnauthorized = errors.New("peer: unauthorized")
)

// RemoteError is an error a peer answered as text with its HTTP status
// (a handed-off beat's answer). HTTPStatus lets the front doors answer
// the client with the same status.
type RemoteError struct {
	Status int
	Msg    string
}

func (e *RemoteError) Error() string { return e.Msg }

// HTTPStatus returns the status the peer answered.
func (e *RemoteError) HTTPStatus() int { return e.Status }

// answerError is a peer's answer other than 200 to an internal request,
// over HTTP or a stream.
type answerError struct {
	status int
	msg    string
}

func (e *answerError) Error() string { return e.msg }

// answerStatus returns the status a peer answered err with, 0 if err is
// not a peer's answer.
func answerStatus(err error) int {
	var a *answerError
	if errors.As(err, &a) {
		return a.status
	}
	return 0
}

// statusOf maps an error of an internal request to its HTTP status.
func statusOf(err error) int {
	var (
		re  *RemoteError
		bad *RecordError
	)
	switch {
	case errors.Is(err, errBadJSON), errors.Is(err, errBadMsgpack), errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.As(err, &re):
		return re.Status
	}
	return http.StatusInternalServerError
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"peer: encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers err as {"error": message} with its status.
func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
}
