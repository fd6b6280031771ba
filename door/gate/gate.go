// Package gate holds what every request through roster's HTTP front
// doors passes once, on its way in: request metrics, the concurrency
// limit, the ACL token check and the readiness gate (Wrap), and on its
// way out the error answers (StatusOf and the writers). It also loads the
// TLS configuration of the HTTP port.
package gate

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
)

// Config configures the gate.
type Config struct {
	// ACL configures client authentication. The zero value is off.
	ACL ACLConfig
	// Secret signs login tokens (the cluster secret, or the gossip key),
	// so every node sharing it accepts them. Nil: a random key of this
	// node, accepted by no other node.
	Secret []byte
	// MaxConcurrent bounds client API requests being handled at once;
	// beyond it a request gets 429 at once. Internal and probe requests
	// do not count, nor do blocking queries. Zero means no limit.
	MaxConcurrent int
	// MaxWatchers bounds the blocking queries waiting at once; one more
	// gets 429 at once. Zero means no limit.
	MaxWatchers int
	// ShedLatency turns on admission control (admit.go): while goroutines
	// wait longer than this for a CPU (90th percentile over 50 ms), a
	// growing share of client requests is shed with 429 and Retry-After.
	// Zero: never shed.
	ShedLatency time.Duration
	// ShedQueueAge turns on shedding by queue age (admitqueue.go): a read
	// that waited longer than this on its connection before its handler
	// could start, or a write that waited twice this, is answered 429 with
	// Retry-After at once. Serve with Listener and ConnContext. Zero: off.
	ShedQueueAge time.Duration
	// Logger receives the gate's logs.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Gate is the shared front of the HTTP doors. It is safe for concurrent
// use.
type Gate struct {
	cfg  Config
	core *node.Node
	auth *auth
	acls aclCache // the compiled users, roles and permissions
	// auditLim limits the audit lines of unauthenticated writes.
	auditLim auditLimiter
	// dummyHash is compared for a login of an unknown user.
	dummyHash string
	dummyOnce sync.Once
	brake     brake
	metrics   *httpMetrics
	admit     *admission
	queue     *queueShed
	inflight  atomic.Int64 // client requests counted against MaxConcurrent
	waiting   atomic.Int64 // blocking queries waiting (never counted)
}

// New builds the gate of the doors in front of core and registers its
// request metrics with reg.
func New(cfg Config, core *node.Node, reg prometheus.Registerer) (*Gate, error) {
	if err := cfg.ACL.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxConcurrent < 0 || cfg.MaxWatchers < 0 || cfg.ShedLatency < 0 || cfg.ShedQueueAge < 0 {
		return nil, errors.New("gate: config: max concurrent, max watchers, shed latency and shed queue age must not be negative")
	}
	g := &Gate{cfg: cfg, core: core, auth: newAuth(cfg.ACL, cfg.Secret, cfg.Now), metrics: newHTTPMetrics()}
	if err := g.metrics.register(reg, func() float64 { return float64(g.waiting.Load()) }); err != nil {
		return nil, err
	}
	if err := g.startAdmission(reg); err != nil {
		return nil, err
	}
	if err := g.startQueueShed(reg); err != nil {
		return nil, err
	}
	return g, nil
}

// ACLEnabled reports whether client requests need tokens.
func (g *Gate) ACLEnabled() bool { return g.auth.acl.Enabled() }

// Wrap puts the gate around mux, which routes every path of the HTTP
// port: each request is counted in the metrics, then held to the
// concurrency limit, the token check and the readiness gate as its kind
// asks (kindOf).
func (g *Gate) Wrap(mux *http.ServeMux) http.Handler {
	return g.metrics.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := kindOf(r)
		if strings.HasPrefix(r.URL.Path, "/internal/") {
			untrack(r) // the cluster's own traffic is never timed
		}
		if k.counted {
			if err := g.queue.admit(r); err != nil {
				_, r.Pattern = mux.Handler(r)
				g.refuse(w, r, err)
				return
			}
		}
		if k.counted && !g.admit.admit() {
			_, r.Pattern = mux.Handler(r)
			g.refuse(w, r, g.admit.tooBusy())
			return
		}
		if k.counted && g.cfg.MaxConcurrent > 0 {
			if !g.acquire() {
				_, r.Pattern = mux.Handler(r) // the route label of the metrics
				g.refuse(w, r, g.tooBusy())
				return
			}
			defer g.inflight.Add(-1)
		}
		if k.token != nil {
			if err := k.token(g, r); err != nil {
				if r.Method != http.MethodGet && r.Method != http.MethodHead && errors.Is(err, ErrUnauthorized) {
					g.auditUnauthenticated(sourceOf(r), r.URL.Path, err)
				}
				_, r.Pattern = mux.Handler(r)
				w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
				JSONError(w, err)
				return
			}
		}
		if k.gated && !g.core.Synced() {
			_, r.Pattern = mux.Handler(r)
			g.refuse(w, r, node.ErrNotReady)
			return
		}
		if k.gated {
			tw, tr := trackReplicas(w, r)
			mux.ServeHTTP(tw, tr)
			r.Pattern = tr.Pattern // the route label of the metrics
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// refuse answers err in the style of the door r is for.
func (g *Gate) refuse(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	if strings.HasPrefix(r.URL.Path, "/nacos/") {
		NacosError(w, err)
		return
	}
	JSONError(w, err)
}

// kind is how the gate treats one request.
type kind struct {
	counted bool                                 // holds a MaxConcurrent slot
	token   func(g *Gate, r *http.Request) error // the token check; nil: none here
	gated   bool                                 // refused until the node has synced
}

// kindOf classifies a request by its path; it is the one place that says
// which requests the gate's checks apply to.
//
//   - Probes (/healthz, /readyz) and internal traffic (/internal/, which
//     the transport authenticates itself) pass every check: a client
//     flood can neither starve the cluster's own traffic nor make the node
//     look dead.
//   - Blocking queries (GET /v1/instances or /v1/services with an index)
//     hold no slot: they spend nearly all their time waiting and answer
//     from a cached snapshot or a summary, so thousands of watchers cannot
//     starve writes.
//   - The Nacos API checks its token in its door, once it has parsed the
//     form (the token may be in the body); /debug/faults is loopback-only;
//     /debug/pprof needs a token even to read.
//   - The console's files (/ui/, and the redirects to it from /, /ui,
//     /nacos and /nacos/) need no token and are served while the node
//     syncs; the API calls its pages make pass the checks of their own.
//   - Client APIs (/nacos/, /v1/ but the cluster views) answer 503 until
//     the node has synced.
func kindOf(r *http.Request) kind {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/internal/"):
		return kind{}
	case consolePath(p):
		return kind{counted: true}
	case strings.HasPrefix(p, "/nacos/"):
		return kind{counted: true, gated: true}
	case strings.HasPrefix(p, "/debug/faults"):
		return kind{counted: true}
	case strings.HasPrefix(p, "/debug/pprof"):
		return kind{counted: true, token: (*Gate).adminOnly}
	case p == "/v1/snapshot": // a backup holds everything: a global admin even for GET
		return kind{counted: true, token: (*Gate).adminOnly, gated: true}
	case strings.HasPrefix(p, "/v1/cluster/"):
		return kind{counted: true, token: (*Gate).authorizeAny}
	case strings.HasPrefix(p, "/v1/"):
		return kind{counted: !blocking(r), token: (*Gate).authorizeAny, gated: true}
	}
	return kind{counted: true, token: (*Gate).authorizeAny}
}

// consolePath reports whether p is served by the console (door/console).
func consolePath(p string) bool {
	return p == "/" || p == "/ui" || p == "/nacos" || p == "/nacos/" || strings.HasPrefix(p, "/ui/")
}

// blocking reports whether r is a blocking query: a list with an index
// that may wait (wait=0 answers at once, like an ordinary list).
func blocking(r *http.Request) bool {
	if (r.URL.Path != "/v1/instances" && r.URL.Path != "/v1/services") || !strings.Contains(r.URL.RawQuery, "index=") {
		return false
	}
	q := r.URL.Query()
	if idx := q.Get("index"); idx == "" || idx == "0" {
		return false
	}
	wait, err := param.Duration("wait", q.Get("wait"), time.Second, 0)
	return err != nil || wait > 0
}

func (g *Gate) authorizeAny(r *http.Request) error { return g.Authorize(r, "") }

// adminOnly lets only a global admin through (ACLs on).
func (g *Gate) adminOnly(r *http.Request) error {
	return g.CheckAdmin(r, "", r.URL.Path)
}
