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
		if err := g.authorizeDoor(r, tok, p.ReadOnly); err != nil {
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
// the door is read-only.
func (g *Gate) authorizeDoor(r *http.Request, tok string, readOnly bool) error {
	if readOnly && g.auth.acl.Enabled() && !g.auth.acl.Read {
		return nil
	}
	if readOnly && g.auth.acl.Enabled() {
		return g.auth.authorizeAlways(r, tok)
	}
	return g.Authorize(r, tok)
}
