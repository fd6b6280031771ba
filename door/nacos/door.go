// Package nacos is roster's Nacos 1.x front door: the v1 naming API under
// /nacos/v1/ns/ (instances, beats, lists, services, catalog, operator
// views and switches), the console's namespaces, the core's cluster
// nodes, the login endpoint, and UDP push of changed lists to subscribed
// clients.
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
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// Config configures the door.
type Config struct {
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// MaxMetadataBytes is the core's bound on one instance's metadata
	// (node.Config); batch metadata writes check it before writing any.
	// 0 means param.MaxMetadataBytes.
	MaxMetadataBytes int
	// CacheMillis is what the list API tells clients to cache for, in
	// milliseconds: how often nacos-sdk-go re-polls a subscribed service.
	// It is the initial value of the defaultCacheMillis switch.
	CacheMillis int64
	// PushCacheMillis is the cacheMillis told to clients that are pushed
	// to (the defaultPushCacheMillis switch); 0 means Nacos' 10000.
	PushCacheMillis int64
	// PushAckTimeout is how long a push waits for its acknowledgement
	// before it is sent once more; 0 means Nacos' 10 s.
	PushAckTimeout time.Duration
	// PushToClientIP sends pushes to the clientIP parameter of the list
	// request instead of its source address (clients behind NAT).
	PushToClientIP bool
	// Logger receives the door's logs.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Door serves the Nacos v1 API in front of a node's core.
type Door struct {
	cfg  Config
	core *node.Node
	gate *gate.Gate
	push *pusher // nil until Start
	// moreSubs lists the subscriptions other doors hold (SetSubscribers);
	// set before serving.
	moreSubs func(k store.Key) []Subscriber
	// switches are the operator's settable switches.
	switches *switches
	// recentKeys are the list cache keys of the last two cacheMillis values.
	recentKeys [2]atomic.Pointer[listKeys]
	// proc samples the process and system figures of operator/metrics.
	proc   *procSampler
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the door; Start opens its push socket.
func New(cfg Config, core *node.Node, g *gate.Gate) *Door {
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.PushCacheMillis <= 0 {
		cfg.PushCacheMillis = minPushCacheMillis
	}
	if cfg.MaxMetadataBytes <= 0 {
		cfg.MaxMetadataBytes = param.MaxMetadataBytes
	}
	if cfg.PushAckTimeout <= 0 {
		cfg.PushAckTimeout = 10 * time.Second
	}
	return &Door{cfg: cfg, core: core, gate: g, ctx: ctx, cancel: cancel,
		switches: newSwitches(cfg.CacheMillis, cfg.PushCacheMillis), proc: newProcSampler()}
}

// Routes registers the door's handlers on mux.
func (d *Door) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /nacos/v1/auth/users/login", d.login)
	mux.HandleFunc("POST /nacos/v1/auth/login", d.login)
	const ns = "/nacos/v1/ns/"
	mux.HandleFunc("POST "+ns+"instance", d.handler(d.register))
	mux.HandleFunc("DELETE "+ns+"instance", d.handler(d.deregister))
	mux.HandleFunc("PUT "+ns+"instance", d.handler(d.update))
	mux.HandleFunc("PATCH "+ns+"instance", d.handler(d.patch))
	mux.HandleFunc("GET "+ns+"instance", d.handler(d.get))
	mux.HandleFunc("GET "+ns+"instance/list", d.handler(d.list))
	mux.HandleFunc("PUT "+ns+"instance/beat", d.handler(d.beat))
	mux.HandleFunc("POST "+ns+"service", d.handler(d.serviceCreate))
	mux.HandleFunc("DELETE "+ns+"service", d.handler(d.serviceDelete))
	mux.HandleFunc("PUT "+ns+"service", d.handler(d.serviceUpdate))
	mux.HandleFunc("GET "+ns+"service", d.handler(d.serviceGet))
	mux.HandleFunc("GET "+ns+"service/list", d.handler(d.serviceList))
	mux.HandleFunc("GET "+ns+"operator/metrics", d.clusterView(d.metrics))
	d.moreRoutes(mux)
	d.authRoutes(mux)
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
	d.wg.Go(d.runAcks)
	return nil
}

// Close stops pushing and closes the socket.
func (d *Door) Close() {
	d.cancel()
	if d.push != nil {
		_ = d.push.conn.Close() // ends runAcks
	}
	d.wg.Wait()
}

// handler adapts a Nacos handler: it reads the parameters, checks the
// client's token and answers any error in Nacos' style.
func (d *Door) handler(fn func(w http.ResponseWriter, r *http.Request, p param.Values) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := param.Read(r, d.cfg.MaxBodyBytes)
		if err == nil && d.gate.ACLEnabled() {
			act := gate.Write
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				act = gate.Read
			}
			err = d.gate.Check(r, p.Get("accessToken"), act, resourceOf(p))
		}
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			gate.NacosError(w, err)
		}
	}
}

// clusterView adapts the handler of a cluster-wide read (operator views,
// cluster nodes, the namespace list): any valid token may read it.
func (d *Door) clusterView(fn func(w http.ResponseWriter, r *http.Request, p param.Values) error) http.HandlerFunc {
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

// adminOnly adapts the handler of a cluster-wide setting (switches,
// namespaces): a global admin's.
func (d *Door) adminOnly(what string, fn func(w http.ResponseWriter, r *http.Request, p param.Values) error) http.HandlerFunc {
	return d.admin(what, func(w http.ResponseWriter, r *http.Request, p param.Values, _ gate.Actor) error {
		if err := fn(w, r, p); err != nil {
			return err
		}
		a, _ := d.gate.PrincipalOf(r, p.Get("accessToken"))
		d.gate.Audit("admin change", a, r, what)
		return nil
	})
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
	admin := false
	if pr, err := d.gate.PrincipalOf(r, tok); err == nil {
		admin = pr.Admin
	}
	gate.WriteJSON(w, http.StatusOK, loginReply{AccessToken: tok, TokenTTL: int64(ttl / time.Second), GlobalAdmin: admin})
}
