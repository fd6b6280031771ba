package node

import (
	"net/http"
	"strings"
)

// routes registers every handler on the node's mux. Go's ServeMux answers
// 405 with an Allow header for a known path with the wrong method, and 404
// for unknown paths.
func (n *Node) routes() {
	m := n.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case n.closing.Load():
			writeText(w, http.StatusServiceUnavailable, "not ready: leaving the cluster")
		case !n.synced.Load():
			writeText(w, http.StatusServiceUnavailable, "not ready: syncing the registry from peers")
		default:
			writeText(w, http.StatusOK, "ready")
		}
	})

	m.HandleFunc("POST /nacos/v1/auth/users/login", n.nacosLogin)
	m.HandleFunc("POST /nacos/v1/auth/login", n.nacosLogin)

	const ns = "/nacos/v1/ns/"
	m.HandleFunc("POST "+ns+"instance", n.nacosHandler(n.nacosRegister))
	m.HandleFunc("DELETE "+ns+"instance", n.nacosHandler(n.nacosDeregister))
	m.HandleFunc("PUT "+ns+"instance", n.nacosHandler(n.nacosUpdate))
	m.HandleFunc("PATCH "+ns+"instance", n.nacosHandler(n.nacosUpdate))
	m.HandleFunc("GET "+ns+"instance", n.nacosHandler(n.nacosGet))
	m.HandleFunc("GET "+ns+"instance/list", n.nacosHandler(n.nacosList))
	m.HandleFunc("PUT "+ns+"instance/beat", n.nacosHandler(n.nacosBeat))
	m.HandleFunc("POST "+ns+"service", n.nacosHandler(n.nacosServiceCreate))
	m.HandleFunc("DELETE "+ns+"service", n.nacosHandler(n.nacosServiceDelete))
	m.HandleFunc("PUT "+ns+"service", n.nacosHandler(n.nacosServiceUpdate))
	m.HandleFunc("GET "+ns+"service", n.nacosHandler(n.nacosServiceGet))
	m.HandleFunc("GET "+ns+"service/list", n.nacosHandler(n.nacosServiceList))
	m.HandleFunc("GET "+ns+"operator/metrics", n.nacosHandler(n.nacosMetrics))

	m.HandleFunc("POST /v1/instance", n.nativeRegister)
	m.HandleFunc("DELETE /v1/instance", n.nativeDeregister)
	m.HandleFunc("GET /v1/instance", n.nativeGet)
	m.HandleFunc("PUT /v1/instance/beat", n.nativeBeat)
	m.HandleFunc("GET /v1/instances", n.nativeList)
	m.HandleFunc("GET /v1/services", n.nativeServices)

	m.HandleFunc("GET /v1/cluster/members", n.clusterMembers)
	m.HandleFunc("GET /v1/cluster/owner", n.clusterOwner)
	m.HandleFunc("GET /v1/cluster/ring", n.clusterRing)

	m.Handle("GET /metrics", n.metrics.handler())
	if n.cfg.Pprof {
		n.routePprof()
	}

	if n.cfg.DebugFaults {
		m.HandleFunc("GET /debug/faults", n.debugFaults)
		m.HandleFunc("PUT /debug/faults", n.debugFaults)
	}

	m.HandleFunc("POST /internal/v1/deltas", n.internal(n.internalDeltas))
	m.HandleFunc("POST /internal/v1/beats", n.internal(n.internalBeats))
	m.HandleFunc("GET /internal/v1/dump", n.internal(n.internalDump))
	m.HandleFunc("POST /internal/v1/digest", n.internal(n.internalDigest))
	m.HandleFunc("POST /internal/v1/pull", n.internal(n.internalPull))
	m.HandleFunc("POST /internal/v1/summary", n.internal(n.internalSummary))
	m.HandleFunc("POST /internal/v1/ready", n.internal(n.internalReady))
}

// gate answers client API requests with 503 and the reason until the node
// has synced the registry; probes, cluster views and internal traffic pass.
func (n *Node) gate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !n.synced.Load() {
			p := r.URL.Path
			if strings.HasPrefix(p, "/nacos/") || (strings.HasPrefix(p, "/v1/") && !strings.HasPrefix(p, "/v1/cluster/")) {
				_, r.Pattern = n.mux.Handler(r) // the route label of the metrics
				w.Header().Set("Retry-After", "1")
				if strings.HasPrefix(p, "/nacos/") {
					nacosError(w, errNotReady)
				} else {
					jsonError(w, errNotReady)
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
