package dns

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/store"
)

// foldEvery is the shortest time between two rebuilds of the case-folded
// index: a query whose case differs from the service's finds a service
// created within it only after it (an exact-case query finds it at once).
// It bounds what queries for unknown names can cost while the registry
// changes all the time.
const foldEvery = 250 * time.Millisecond

// resolver finds the service a query names, ignoring ASCII case. It is
// safe for concurrent use.
type resolver struct {
	core Core
	now  func() time.Time

	// mu guards fold, built and builtAt.
	mu      sync.Mutex
	fold    map[string][]store.Key // folded key → services, sorted
	built   uint64                 // the registry index fold was built at
	builtAt time.Time
}

// foldKey is k without ASCII case.
func foldKey(k store.Key) string {
	return strings.ToLower(k.Namespace) + "\x00" + strings.ToLower(k.Group) + "\x00" + strings.ToLower(k.Service)
}

// resolve returns the snapshot of the service k names: the service
// spelled exactly so if it exists, else the first (in key order) whose
// name matches without case. ok is false when none exists.
func (r *resolver) resolve(k store.Key) (*store.Snapshot, bool) {
	if strings.EqualFold(k.Namespace, reservedNamespace) {
		return nil, false // cluster records (users among them): no names
	}
	if snap := r.core.Snapshot(k); snap.Exists {
		return snap, true
	}
	for _, c := range r.candidates(foldKey(k)) {
		if snap := r.core.Snapshot(c); snap.Exists {
			return snap, true
		}
	}
	return nil, false
}

// reservedNamespace holds the cluster's own records (door nacos'
// namespaces and switches, the gate's users, roles and permissions); DNS
// answers no name in it.
const reservedNamespace = "roster-system"

// candidates returns the services whose folded key is fk, rebuilding the
// index when the registry changed and the last build is foldEvery old.
func (r *resolver) candidates(fk string) []store.Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	idx, now := r.core.Index(), r.now()
	if r.fold == nil || (idx != r.built && now.Sub(r.builtAt) >= foldEvery) {
		keys := r.core.AllServices()
		m := make(map[string][]store.Key, len(keys))
		for _, k := range keys {
			f := foldKey(k)
			m[f] = append(m[f], k)
		}
		for _, ks := range m {
			if len(ks) > 1 {
				slices.SortFunc(ks, compareKeys)
			}
		}
		r.fold, r.built, r.builtAt = m, idx, now
	}
	return r.fold[fk]
}

// compareKeys orders keys by namespace, group, service.
func compareKeys(a, b store.Key) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.Group, b.Group); c != 0 {
		return c
	}
	return strings.Compare(a.Service, b.Service)
}
