package store

import "errors"

var (
	// ErrNotFound means no live instance matches the request.
	ErrNotFound = errors.New("store: instance not found")
	// ErrServiceNotFound means the service does not exist.
	ErrServiceNotFound = errors.New("store: service not found")
	// ErrServiceHasInstances means a service cannot be deleted while it has
	// instances.
	ErrServiceHasInstances = errors.New("store: service has instances")
	// ErrServiceExists means the service was already created.
	ErrServiceExists = errors.New("store: service already exists")
)

// errNotFresh reports a record no newer than the one held; callers treat
// it as a normal outcome of merging, not a failure.
var errNotFresh = errors.New("store: record not fresher than the one held")
