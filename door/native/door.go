// Package native is roster's own front door: the JSON API under /v1/ that
// roster's Go client and CLI use — registration, beats, lists with
// blocking queries (X-Roster-Index), services — and the operator views of
// the cluster under /v1/cluster/. Bodies and answers are JSON; errors
// answer {"error": "..."} naming the field.
package native

import (
	"net/http"
	"time"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// Config configures the door.
type Config struct {
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// MaxWait caps the wait of a blocking query.
	MaxWait time.Duration
}

// Door serves the native API in front of a node's core.
type Door struct {
	cfg  Config
	core *node.Node
	gate *gate.Gate
}

// New builds the door.
func New(cfg Config, core *node.Node, g *gate.Gate) *Door {
	return &Door{cfg: cfg, core: core, gate: g}
}

// allow is the authorisation of a request on service k (gate.Check).
func (d *Door) allow(r *http.Request, act gate.Action, k store.Key) error {
	return d.gate.Check(r, "", act, gate.Resource{Namespace: k.Namespace, Group: k.Group, Service: k.Service})
}

// Routes registers the door's handlers on mux.
func (d *Door) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/instance", d.register)
	mux.HandleFunc("DELETE /v1/instance", d.deregister)
	mux.HandleFunc("GET /v1/instance", d.get)
	mux.HandleFunc("PATCH /v1/instance", d.update)
	mux.HandleFunc("PUT /v1/instance/beat", d.beat)
	mux.HandleFunc("PUT /v1/beats", d.batchBeats)
	mux.HandleFunc("GET /v1/instances", d.list)
	mux.HandleFunc("POST /v1/instances/batch", d.registerBatch)
	mux.HandleFunc("GET /v1/instances/beats", d.beats)
	mux.HandleFunc("GET /v1/services", d.services)
	mux.HandleFunc("GET /v1/sd/prometheus", d.prometheusSD)
	mux.HandleFunc("GET /v1/namespaces", d.namespaces)
	mux.HandleFunc("GET /v1/cluster/members", d.members)
	mux.HandleFunc("GET /v1/cluster/owner", d.owner)
	mux.HandleFunc("GET /v1/cluster/ring", d.ring)
	mux.HandleFunc("PUT /v1/service/cluster", d.clusterUpdate)
	mux.HandleFunc("PUT /v1/instance/health", d.instanceHealth)
	mux.HandleFunc("GET /v1/snapshot", d.snapshotSave)
	mux.HandleFunc("POST /v1/snapshot", d.snapshotRestore)
}
