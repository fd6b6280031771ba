// Package nacos is roster's Nacos 1.x front door: the v1 naming API under
// /nacos/v1/ns/ (instances, beats, lists, services, operator metrics), the
// login endpoint, and UDP push of changed lists to subscribed clients.
// Parameters come from the query string or a form body (nacos-sdk-go sends
// PUT bodies unescaped; internal/param tolerates that). Errors answer
// plain text with a 4xx naming the field, as Nacos does.
package nacos

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
)

// Config configures the door.
type Config struct {
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// CacheMillis is what the list API tells clients to cache for, in
	// milliseconds: how often nacos-sdk-go re-polls a subscribed service.
	CacheMillis int64
	// Logger receives the door's logs.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Door serves the Nacos v1 API in front of a node's core.
type Door struct {
	cfg    Config
	core   *node.Node
	gate   *gate.Gate
	push   *pusher // nil until Start
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the door; Start opens its push socket.
func New(cfg Config, core *node.Node, g *gate.Gate) *Door {
	ctx, cancel := context.WithCancel(context.Background())
	return &Door{cfg: cfg, core: core, gate: g, ctx: ctx, cancel: cancel}
}

// Routes registers the door's handlers on mux.
func (d *Door) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /nacos/v1/auth/users/login", d.login)
	mux.HandleFunc("POST /nacos/v1/auth/login", d.login)
	const ns = "/nacos/v1/ns/"
	mux.HandleFunc("POST "+ns+"instance", d.handler(d.register))
	mux.HandleFunc("DELETE "+ns+"instance", d.handler(d.deregister))
	mux.HandleFunc("PUT "+ns+"instance", d.handler(d.update))
	mux.HandleFunc("PATCH "+ns+"instance", d.handler(d.update))
	mux.HandleFunc("GET "+ns+"instance", d.handler(d.get))
	mux.HandleFunc("GET "+ns+"instance/list", d.handler(d.list))
	mux.HandleFunc("PUT "+ns+"instance/beat", d.handler(d.beat))
	mux.HandleFunc("POST "+ns+"service", d.handler(d.serviceCreate))
	mux.HandleFunc("DELETE "+ns+"service", d.handler(d.serviceDelete))
	mux.HandleFunc("PUT "+ns+"service", d.handler(d.serviceUpdate))
	mux.HandleFunc("GET "+ns+"service", d.handler(d.serviceGet))
	mux.HandleFunc("GET "+ns+"service/list", d.handler(d.serviceList))
	mux.HandleFunc("GET "+ns+"operator/metrics", d.handler(d.metrics))
	d.healthRoutes(mux, ns)
}

// Start opens the UDP socket pushes leave from, on the host of httpAddr
// (the bound HTTP address), and starts pushing.
func (d *Door) Start(httpAddr string) error {
	p, err := newPusher(httpAddr)
	if err != nil {
		return fmt.Errorf("nacos: %w", err)
	}
	d.push = p
	d.wg.Go(d.runPush)
	return nil
}

// Close stops pushing and closes the socket.
func (d *Door) Close() {
	d.cancel()
	d.wg.Wait()
	if d.push != nil {
		_ = d.push.conn.Close()
	}
}

// handler adapts a Nacos handler: it reads the parameters, checks the
// client's token and answers any error in Nacos' style.
func (d *Door) handler(fn func(w http.ResponseWriter, r *http.Request, p param.Values) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := param.Read(r, d.cfg.MaxBodyBytes)
		if err == nil {
			err = d.gate.Authorize(r, p.Get("accessToken"))
		}
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			gate.NacosError(w, err)
		}
	}
}

// loginReply is the answer of the login endpoint.
type loginReply struct {
	AccessToken string `json:"accessToken"`
	TokenTTL    int64  `json:"tokenTtl"` // seconds
	GlobalAdmin bool   `json:"globalAdmin"`
}

// login handles POST /nacos/v1/auth/users/login (and Nacos' older
// /nacos/v1/auth/login): form or query username and password.
func (d *Door) login(w http.ResponseWriter, r *http.Request) {
	p, err := param.Read(r, d.cfg.MaxBodyBytes)
	if err != nil {
		gate.NacosError(w, err)
		return
	}
	source, _, _ := net.SplitHostPort(r.RemoteAddr)
	tok, ttl, err := d.gate.Login(source, p.Get("username"), p.Get("password"))
	if err != nil {
		gate.NacosError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, loginReply{AccessToken: tok, TokenTTL: int64(ttl / time.Second)})
}
