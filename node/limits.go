package node

// Limits that keep one client (or many) from exhausting a node:
//
//   - MaxConcurrent bounds the client API requests being handled at once.
//     One more gets 429 with Retry-After at once, never a queue. Internal
//     routes (replication, hand-offs, sync) and probes are not counted, so
//     a client flood cannot starve the cluster's own traffic or make the
//     node look dead; blocking queries do not count either (they spend
//     their time waiting and answer from cached snapshots), so thousands
//     of watchers cannot starve writes.
//   - MaxInstancesPerService and MaxInstancesPerNamespace bound live
//     instances. They are checked atomically with the write on the node
//     that accepts a client's registration (or a beat that re-registers),
//     against the instances that node holds; replicated writes from peers
//     are never refused, so replicas never diverge over a limit. Writes
//     accepted at once by different nodes may overshoot by their number.
//   - MaxMetadataBytes bounds instance and service metadata.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// validateLimits checks the limit fields of c.
func (c *Config) validateLimits() error {
	if c.MaxConcurrent < 0 || c.MaxInstancesPerService < 0 || c.MaxInstancesPerNamespace < 0 {
		return errors.New("node: config: max concurrent and max instances must not be negative")
	}
	if c.MaxMetadataBytes < 1 || c.MaxMetadataBytes > param.MaxMetadataBytes {
		return fmt.Errorf("node: config: max metadata bytes %d must be in 1..%d", c.MaxMetadataBytes, param.MaxMetadataBytes)
	}
	if c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.IdleTimeout <= 0 {
		return errors.New("node: config: read header, read and idle timeouts must be positive")
	}
	return nil
}

// blockingWait is waitChange for a blocking query, counted as waiting
// meanwhile. Blocking queries hold no MaxConcurrent slot (see
// limitExempt).
func (n *Node) blockingWait(r *http.Request, k store.Key, snap *store.Snapshot, index uint64, wait time.Duration) *store.Snapshot {
	n.sec.waiting.Add(1)
	defer n.sec.waiting.Add(-1)
	return n.waitChange(r, k, snap, index, wait)
}

// limitExempt reports whether r escapes MaxConcurrent: internal traffic,
// probes and blocking queries (GET /v1/instances with an index), which
// spend nearly all their time waiting and answer from a cached snapshot.
func limitExempt(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/internal/") || p == "/healthz" || p == "/readyz" {
		return true
	}
	if p == "/v1/instances" && strings.Contains(r.URL.RawQuery, "index=") {
		idx := r.URL.Query().Get("index")
		return idx != "" && idx != "0"
	}
	return false
}

// limitConcurrency answers 429 to client requests beyond MaxConcurrent.
func (n *Node) limitConcurrency(h http.Handler) http.Handler {
	max := int64(n.cfg.MaxConcurrent)
	if max <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limitExempt(r) {
			h.ServeHTTP(w, r)
			return
		}
		if n.sec.inflight.Add(1) > max {
			n.sec.inflight.Add(-1)
			err := fmt.Errorf("%w: more than %d client requests in flight on this node (--max-concurrent); retry shortly", errTooBusy, max)
			w.Header().Set("Retry-After", "1")
			if strings.HasPrefix(r.URL.Path, "/nacos/") {
				nacosError(w, err)
			} else {
				jsonError(w, err)
			}
			return
		}
		defer n.sec.inflight.Add(-1)
		h.ServeHTTP(w, r)
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
