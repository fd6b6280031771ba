package agent

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roster-io/roster/door/gate"
)

// routes registers the agent's own handlers: probes, metrics, profiling,
// fault injection and the transport's internal endpoints. The doors
// register theirs (door/nacos, door/native). Go's ServeMux answers 405
// with an Allow header for a known path with the wrong method, and 404 for
// unknown paths.
func (a *Agent) routes() {
	m := a.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.node.Healthy(); err != nil {
			gate.WriteText(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		gate.WriteText(w, http.StatusOK, "ok")
	})
	m.HandleFunc("GET /readyz", a.readyz)
	m.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	if a.cfg.Pprof {
		a.routePprof()
	}
	if a.cfg.DebugFaults {
		m.HandleFunc("GET /debug/faults", a.debugFaults)
		m.HandleFunc("PUT /debug/faults", a.debugFaults)
	}
	a.server.Routes(m)
}

// readyz handles GET /readyz.
func (a *Agent) readyz(w http.ResponseWriter, r *http.Request) {
	switch {
	case a.node.Leaving():
		gate.WriteText(w, http.StatusServiceUnavailable, "not ready: leaving the cluster")
	case !a.node.Synced():
		gate.WriteText(w, http.StatusServiceUnavailable, "not ready: syncing the registry from peers")
	default:
		gate.WriteText(w, http.StatusOK, "ready")
	}
}

// registerMetrics adds the process, Go runtime and core series to the
// agent's own registry (never the global one: tests run several agents
// in one process).
func (a *Agent) registerMetrics() error {
	cs := append(a.node.Collectors(), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range cs {
		if err := a.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// faultsBody is the body of /debug/faults.
type faultsBody struct {
	Block []string `json:"block"`
}

// debugFaults handles GET and PUT /debug/faults (with Config.DebugFaults,
// loopback clients only): PUT {"block":["name",...]} makes this node drop
// its gossip packets and internal requests to the named members; telling
// both sides cuts the network between them both ways, and {"block":[]}
// heals it.
func (a *Agent) debugFaults(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		gate.JSONError(w, gate.ErrForbidden)
		return
	}
	if r.Method == http.MethodPut {
		var b faultsBody
		if err := gate.DecodeJSON(r, &b, a.cfg.MaxBodyBytes); err != nil {
			gate.JSONError(w, err)
			return
		}
		a.node.SetFaults(b.Block)
	}
	gate.WriteJSON(w, http.StatusOK, faultsBody{Block: a.node.Faults()})
}

// warn logs what the configuration leaves open.
func (a *Agent) warn() {
	c := a.cfg
	if c.secret() == nil && c.GossipAddr != "" {
		a.log.Warn("internal node-to-node traffic is not authenticated; set --gossip-key or --cluster-secret on every node")
	}
	if c.ACL.Enabled() && c.TLS == nil {
		a.log.Warn("ACLs are on without TLS: tokens and passwords cross the network in the clear; set --tls-cert and --tls-key")
	}
	if len(c.ACL.Users) > 0 && c.secret() == nil {
		a.log.Warn("login tokens are signed with a random key of this node and accepted by no other node; set --cluster-secret or --gossip-key")
	}
}
