package node

// Limits that keep one client (or many) from exhausting a node:
//
//   - MaxConcurrent bounds the client API requests being handled at once.
//     One more gets 429 with Retry-After at once, never a queue. Internal
//     routes (replication, hand-offs, sync) and probes are not counted, so
//     a client flood cannot starve the cluster's own traffic or make the
//     node look dead; a blocking query gives its slot back when it starts
//     to wait, so thousands of watchers cannot starve writes either.
//   - MaxInstancesPerService and MaxInstancesPerNamespace bound live
//     instances. They are checked atomically with the write on the node
//     that accepts a client's registration (or a beat that re-registers),
//     against the instances that node holds; replicated writes from peers
//     are never refused, so replicas never diverge over a limit. Writes
//     accepted at once by different nodes may overshoot by their number.
//   - MaxMetadataBytes bounds instance and service metadata.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// slotKey finds a request's concurrency slot in its context.
type slotKey struct{}

// slot is one request's share of MaxConcurrent.
type slot struct {
	once sync.Once
	n    *Node
}

// release gives the slot back; later calls do nothing.
func (s *slot) release() { s.once.Do(func() { s.n.sec.inflight.Add(-1) }) }

// releaseSlot gives back the slot of the request ctx belongs to, if any;
// blocking queries call it before they wait.
func releaseSlot(ctx context.Context) {
	if s, ok := ctx.Value(slotKey{}).(*slot); ok {
		s.release()
	}
}

// blockingWait is waitChange for a blocking query: the request gives its
// MaxConcurrent slot back first, and counts as waiting meanwhile.
func (n *Node) blockingWait(r *http.Request, k store.Key, snap *store.Snapshot, index uint64, wait time.Duration) *store.Snapshot {
	releaseSlot(r.Context())
	n.sec.waiting.Add(1)
	defer n.sec.waiting.Add(-1)
	return n.waitChange(r, k, snap, index, wait)
}

// limitConcurrency answers 429 to client requests beyond MaxConcurrent.
func (n *Node) limitConcurrency(h http.Handler) http.Handler {
	max := int64(n.cfg.MaxConcurrent)
	if max <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/internal/") || p == "/healthz" || p == "/readyz" {
			h.ServeHTTP(w, r)
			return
		}
		if n.sec.inflight.Add(1) > max {
			n.sec.inflight.Add(-1)
			err := fmt.Errorf("%w: more than %d client requests in flight on this node (--max-concurrent); retry shortly", errTooBusy, max)
			w.Header().Set("Retry-After", "1")
			if strings.HasPrefix(p, "/nacos/") {
				nacosError(w, err)
			} else {
				jsonError(w, err)
			}
			return
		}
		s := &slot{n: n}
		defer s.release()
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, s)))
	})
}

// wrap puts the limits and the ACL check around the node's routes.
func (n *Node) wrap(h http.Handler) http.Handler {
	return n.limitConcurrency(n.requireToken(n.gate(h)))
}

// instanceLimits are the store limits of client registrations.
func (n *Node) instanceLimits() store.Limits {
	return store.Limits{PerService: n.cfg.MaxInstancesPerService, PerNamespace: n.cfg.MaxInstancesPerNamespace}
}

// limitError names the flag of a store limit error.
func limitError(err error) error {
	switch {
	case errors.Is(err, store.ErrServiceFull):
		return fmt.Errorf("node: %w (--max-instances-per-service)", err)
	case errors.Is(err, store.ErrNamespaceFull):
		return fmt.Errorf("node: %w (--max-instances-per-namespace)", err)
	}
	return err
}

// checkMetadataSize refuses metadata whose keys and values exceed
// MaxMetadataBytes.
func (n *Node) checkMetadataSize(field string, md map[string]string) error {
	total := 0
	for k, v := range md {
		total += len(k) + len(v)
	}
	if total > n.cfg.MaxMetadataBytes {
		return &param.FieldError{Field: field, Reason: fmt.Sprintf("%d bytes of keys and values, over the limit of %d (--max-metadata-bytes)", total, n.cfg.MaxMetadataBytes)}
	}
	return nil
}

// checkMetadataParam applies checkMetadataSize to the metadata parameter
// of a Nacos request, when the limit is below the parser's own.
func (n *Node) checkMetadataParam(p param.Values) error {
	if n.cfg.MaxMetadataBytes >= param.MaxMetadataBytes {
		return nil
	}
	v, ok := p.First("metadata")
	if !ok {
		return nil
	}
	md, err := param.Metadata("metadata", v)
	if err != nil {
		return err
	}
	return n.checkMetadataSize("metadata", md)
}

// statusError carries the HTTP status of an error that crossed a node
// boundary as text (a handed-off beat's answer).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }
