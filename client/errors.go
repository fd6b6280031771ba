package client

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
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
	// RetryAfter is the node's Retry-After (in seconds) on a 429 or 503,
	// else 0.
	RetryAfter time.Duration
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

// parseRetryAfter reads a Retry-After header given in seconds; an HTTP
// date or anything else counts as absent.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}

// retryAfter returns how long a node that shed err asked the client to
// wait, with up to half as much again of jitter so that the beats it
// refused together do not all come back at once; 0 if it asked nothing.
func retryAfter(err error) time.Duration {
	var ae *APIError
	if !errors.As(err, &ae) || ae.RetryAfter <= 0 {
		return 0
	}
	return ae.RetryAfter + rand.N(ae.RetryAfter/2+1)
}

// shed reports whether err is a node refusing work because it is
// overloaded (429): the client backs off instead of trying elsewhere at
// once.
func shed(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests
}
