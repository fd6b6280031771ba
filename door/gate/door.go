package gate

import (
	"net/http"
	"strings"

	"github.com/roster-io/roster/node"
)

// DoorPolicy says how WrapDoor treats the requests of a door served on a
// listener of its own (the Consul-compatible API), whose paths kindOf
// does not know.
type DoorPolicy struct {
	// Blocking reports whether r is a blocking query: it holds no
	// MaxConcurrent slot (the door caps its wait with Waiting). Nil: none
	// is.
	Blocking func(r *http.Request) bool
	// Ungated reports whether r is answered while the node syncs (status
	// views). Nil: every request waits for the sync.
	Ungated func(r *http.Request) bool
	// Token returns the client token r carries in the door's own spelling
	// ("" for none); the gate then also reads Authorization: Bearer and
	// the accessToken parameter.
	Token func(r *http.Request) string
	// Error answers an error the gate refuses r with, in the door's style.
	// Nil: JSONError.
	Error func(w http.ResponseWriter, err error)
	// ReadOnly says the door changes nothing whatever the method, so every
	// request needs a token only as a read does (with ACLConfig.Read); its
	// writes then reach the door, which refuses them itself.
	ReadOnly bool
	// Resource returns what r reads, for the permission check of a
	// scoped principal (and the reserved namespace's), or false for a
	// cluster-wide view any valid token may read. Nil: r reads every
	// namespace.
	Resource func(r *http.Request) (Resource, bool)
}

// WrapDoor puts the gate around mux, a door's own router: each request is
// counted in the metrics, then held to the concurrency limit, the token
// check (ACL tokens as on the HTTP port; reads pass unless --acl-read)
// and the readiness gate, as p says.
func (g *Gate) WrapDoor(mux *http.ServeMux, p DoorPolicy) http.Handler {
	fail := p.Error
	if fail == nil {
		fail = JSONError
	}
	return g.metrics.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (p.Blocking == nil || !p.Blocking(r)) && g.cfg.MaxConcurrent > 0 {
			if !g.acquire() {
				_, r.Pattern = mux.Handler(r)
				w.Header().Set("Retry-After", "1")
				fail(w, g.tooBusy())
				return
			}
			defer g.inflight.Add(-1)
		}
		tok := ""
		if p.Token != nil {
			tok = strings.TrimSpace(p.Token(r))
		}
		if err := g.authorizeDoor(r, tok, p); err != nil {
			_, r.Pattern = mux.Handler(r)
			fail(w, err)
			return
		}
		if (p.Ungated == nil || !p.Ungated(r)) && !g.core.Synced() {
			_, r.Pattern = mux.Handler(r)
			w.Header().Set("Retry-After", "1")
			fail(w, node.ErrNotReady)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// authorizeDoor checks r's token as Authorize does, or as a read's when
// the door is read-only, and then the principal's permission on the
// resource the policy names.
func (g *Gate) authorizeDoor(r *http.Request, tok string, p DoorPolicy) error {
	if !p.ReadOnly {
		return g.Authorize(r, tok)
	}
	res, scoped := Resource{}, true
	if p.Resource != nil {
		res, scoped = p.Resource(r)
	}
	if !scoped {
		return g.Authorize(r, tok)
	}
	return g.Check(r, tok, Read, res)
}
