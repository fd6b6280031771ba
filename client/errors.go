package client

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrClosed is returned by calls on a Client after Close.
	ErrClosed = errors.New("client: closed")
	// ErrNotFound matches (with errors.Is) an APIError with status 404:
	// the node does not hold the instance.
	ErrNotFound = errors.New("client: not found")
	// ErrNotRegistered is returned by calls that need an instance this
	// client registered and still keeps alive.
	ErrNotRegistered = errors.New("client: instance not registered by this client")
)

// APIError is an answer other than 2xx from a node.
type APIError struct {
	// Node is the base URL of the node that answered.
	Node string
	// Status is the HTTP status code.
	Status int
	// Message is the node's "error" field, or the body.
	Message string
}

// Error describes the answer.
func (e *APIError) Error() string {
	return fmt.Sprintf("client: %s answered %d %s: %s", e.Node, e.Status, http.StatusText(e.Status), e.Message)
}

// Is makes errors.Is(err, ErrNotFound) hold for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// retryable reports whether another node may answer differently: 5xx
// (including 503 from a node that syncs or leaves) and 429.
func (e *APIError) retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}
