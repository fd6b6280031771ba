// Package consul is roster's Consul-compatible read API, on a listener of
// its own: what Prometheus' consul_sd_configs, consul-template and
// Traefik's Consul catalog provider read — the catalog, health, agent and
// status endpoints — in Consul's JSON shapes, with Consul's blocking
// queries. It writes nothing: every write method gets 405. The mapping of
// roster's data model onto Consul's and the differences are described in
// docs/consul-api.md.
package consul

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// Defaults of Config.
const (
	DefaultDatacenter = "dc1"
	// defaultWait is the wait of a blocking query that names none, as
	// Consul's.
	defaultWait = 5 * time.Minute
)

// Config configures the door.
type Config struct {
	// Datacenter is the datacenter name the door reports and accepts in
	// the dc parameter. Default DefaultDatacenter.
	Datacenter string
	// MaxWait caps the wait of a blocking query.
	MaxWait time.Duration
	// Addr is the address the door is served on (host:port), reported by
	// /v1/agent/self and /v1/status/leader.
	Addr func() string
}

// Door serves the Consul-compatible API in front of a node's core.
type Door struct {
	cfg   Config
	core  *node.Node
	gate  *gate.Gate
	lists listCache
}

// New builds the door.
func New(cfg Config, core *node.Node, g *gate.Gate) *Door {
	if cfg.Datacenter == "" {
		cfg.Datacenter = DefaultDatacenter
	}
	if cfg.Addr == nil {
		cfg.Addr = func() string { return "" }
	}
	return &Door{cfg: cfg, core: core, gate: g}
}

// Handler returns the door's routes behind the gate.
func (d *Door) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/catalog/datacenters", d.datacenters)
	mux.HandleFunc("GET /v1/catalog/services", d.services)
	mux.HandleFunc("GET /v1/catalog/service/{name}", d.catalogService)
	mux.HandleFunc("GET /v1/catalog/nodes", d.nodes)
	mux.HandleFunc("GET /v1/health/service/{name}", d.healthService)
	mux.HandleFunc("GET /v1/health/checks/{name}", d.healthChecks)
	mux.HandleFunc("GET /v1/health/state/{state}", d.healthState)
	mux.HandleFunc("GET /v1/agent/self", d.agentSelf)
	mux.HandleFunc("GET /v1/status/leader", d.leader)
	mux.HandleFunc("GET /v1/status/peers", d.peers)
	mux.HandleFunc("/", d.other)
	return d.gate.WrapDoor(mux, gate.DoorPolicy{
		Blocking: blocking,
		Ungated: func(r *http.Request) bool {
			return strings.HasPrefix(r.URL.Path, "/v1/status/") || r.URL.Path == "/v1/agent/self"
		},
		Token: func(r *http.Request) string {
			if t := r.Header.Get("X-Consul-Token"); t != "" {
				return t
			}
			return r.URL.Query().Get("token")
		},
		Error:    writeError,
		ReadOnly: true,
		Resource: resourceOf,
	})
}

// resourceOf is what r reads, for the gate's permission check: the
// namespace of its partition, the group of its ns and the service its
// path names; the status and agent views are cluster-wide.
func resourceOf(r *http.Request) (gate.Resource, bool) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/v1/status/") || p == "/v1/agent/self" || p == "/v1/catalog/datacenters" {
		return gate.Resource{}, false
	}
	v := r.URL.Query()
	res := gate.Resource{Namespace: first(v.Get("partition"), r.Header.Get("X-Consul-Partition")),
		Group: first(v.Get("ns"), r.Header.Get("X-Consul-Namespace"))}
	if res.Namespace == "" || res.Namespace == "default" {
		res.Namespace = store.DefaultNamespace
	}
	if res.Group == "" || res.Group == "default" {
		res.Group = store.DefaultGroup
	}
	for _, prefix := range []string{"/v1/catalog/service/", "/v1/health/service/", "/v1/health/checks/"} {
		if name, ok := strings.CutPrefix(p, prefix); ok {
			if g, s, found := strings.Cut(name, "@@"); found {
				res.Group, name = g, s
			}
			res.Service = name
		}
	}
	return res, true
}

// blocking reports whether r is a blocking query: a GET with an index
// above 0.
func blocking(r *http.Request) bool {
	if r.Method != http.MethodGet || !strings.Contains(r.URL.RawQuery, "index=") {
		return false
	}
	i, err := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	return err == nil && i > 0
}

// other answers what no route matched: 405 for a write (the API is
// read-only), 404 for an unknown read.
func (d *Door) other(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		gate.WriteText(w, http.StatusMethodNotAllowed, fmt.Sprintf(
			"roster's Consul-compatible API is read-only: %s %s is not served; register instances with the Nacos API "+
				"(/nacos/v1/ns/instance) or roster's own API (/v1/instance) on roster's HTTP port", r.Method, r.URL.Path))
		return
	}
	gate.WriteText(w, http.StatusNotFound, fmt.Sprintf("roster's Consul-compatible API does not serve %s (see docs/consul-api.md)", r.URL.Path))
}

// writeError answers err as Consul does: its status and a plain-text
// message.
func writeError(w http.ResponseWriter, err error) {
	status := gate.StatusOf(err)
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	gate.WriteText(w, status, err.Error())
}

// query is a read's parsed parameters.
type query struct {
	namespace, group string // roster's: from partition and ns
	blocking         bool   // an index above 0 was sent
	index            uint64 // roster's index: the one sent less 1 (see setMeta)
	wait             time.Duration
	tags             []string
	passing          bool
}

// parseQuery reads the parameters every read shares. Consul's
// enterprise namespace (ns, X-Consul-Namespace) selects a roster group
// and its admin partition (partition, X-Consul-Partition) a roster
// namespace; "default" or none means roster's defaults.
func (d *Door) parseQuery(r *http.Request) (query, error) {
	v := r.URL.Query()
	var q query
	var err error
	if q.group, err = scope("ns", first(v.Get("ns"), r.Header.Get("X-Consul-Namespace")), store.DefaultGroup); err != nil {
		return q, err
	}
	if q.namespace, err = scope("partition", first(v.Get("partition"), r.Header.Get("X-Consul-Partition")), store.DefaultNamespace); err != nil {
		return q, err
	}
	if dc := v.Get("dc"); dc != "" && dc != d.cfg.Datacenter {
		return q, &param.FieldError{Field: "dc", Reason: fmt.Sprintf("no path to datacenter %q: this node serves %q", dc, d.cfg.Datacenter)}
	}
	if v.Get("filter") != "" {
		return q, &param.FieldError{Field: "filter", Reason: "filter expressions are not supported by roster's Consul-compatible API; use tag, node-meta or passing"}
	}
	if s := v.Get("index"); s != "" {
		if q.index, err = strconv.ParseUint(s, 10, 64); err != nil {
			return q, &param.FieldError{Field: "index", Reason: "not a non-negative integer"}
		}
		if q.index > 0 {
			q.blocking, q.index = true, q.index-1
		}
	}
	if q.wait, err = parseWait(v.Get("wait"), d.cfg.MaxWait); err != nil {
		return q, err
	}
	if v.Get("node-meta") != "" {
		return q, &param.FieldError{Field: "node-meta", Reason: "roster's nodes (instance hosts) carry no metadata; filter with tag instead"}
	}
	q.tags = v["tag"]
	if _, ok := v["passing"]; ok {
		// Consul reads the parameter as strconv.ParseBool does, and its
		// client sends passing=1; a bare "passing" is true.
		q.passing = true
		if s := v.Get("passing"); s != "" {
			if q.passing, err = strconv.ParseBool(s); err != nil {
				return q, &param.FieldError{Field: "passing", Reason: "not a boolean"}
			}
		}
	}
	return q, nil
}

// scope validates a group or namespace parameter; "" and "default" mean
// def.
func scope(field, v, def string) (string, error) {
	if v == "" || v == "default" {
		return def, nil
	}
	return param.Name(field, v)
}

// first returns a, or b when a is empty.
func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseWait reads a blocking query's wait: a Go duration ("10s", "5m",
// "100ms", as Consul's clients send it) or whole seconds, capped by max.
func parseWait(s string, maxWait time.Duration) (time.Duration, error) {
	if s == "" {
		return min(defaultWait, maxWait), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseUint(s, 10, 32)
		if nerr != nil {
			return 0, &param.FieldError{Field: "wait", Reason: "not a duration such as 10s or 5m"}
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, &param.FieldError{Field: "wait", Reason: "negative"}
	}
	return min(d, maxWait), nil
}

// setMeta sets Consul's query headers: the index, a known leader (this
// node, once synced: every node answers reads) and no staleness. The
// index sent is roster's plus 1, so it is never 0 (which Consul's clients
// take as "do not block"), and a client that sends back the index of a
// service that does not exist yet (1) waits until it appears.
func (d *Door) setMeta(w http.ResponseWriter, index uint64) {
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(index+1, 10))
	h.Set("X-Consul-KnownLeader", strconv.FormatBool(d.core.Synced()))
	h.Set("X-Consul-LastContact", "0")
}
