package grpcdoor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/store"
)

// Push. Each service with at least one subscriber on this node has one
// watcher goroutine (a topic), blocked in node.WaitChange: a change made
// anywhere in the cluster reaches this node by replication, wakes the
// watcher, and the watcher marks the service pending on every subscribed
// connection. Each connection's writer then sends the service's current
// list, so pushes coalesce: a connection gets at most one list per
// service in flight, always the latest. A push unanswered within
// AckTimeout is sent again.

// watchWait bounds one WaitChange of a topic.
const watchWait = 30 * time.Second

type hub struct {
	d      *Door
	wg     sync.WaitGroup
	mu     sync.Mutex // guards topics
	topics map[store.Key]*topic
}

// topic is the subscribers of one service on this node: by connection,
// the clusters strings each asked for.
type topic struct {
	subs   map[*conn]map[string]bool
	cancel context.CancelFunc
}

func newHub(d *Door) *hub { return &hub{d: d, topics: map[store.Key]*topic{}} }

// errTooManySubs refuses a subscription beyond MaxSubscriptions.
var errTooManySubs = errors.New("grpcdoor: too many subscriptions on this connection")

// subscribe adds c's subscription to sub, whose list c was sent at index.
func (h *hub) subscribe(c *conn, sub subKey, index uint64) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if !c.subs[sub] && len(c.subs) >= h.d.cfg.MaxSubscriptions {
		c.mu.Unlock()
		return &tooMany{fmt.Errorf("%w: %d subscriptions, the limit is %d; unsubscribe first", errTooManySubs, len(c.subs), h.d.cfg.MaxSubscriptions)}
	}
	c.subs[sub] = true
	c.mu.Unlock()
	h.mu.Lock()
	t := h.topics[sub.k]
	if t == nil {
		ctx, cancel := context.WithCancel(h.d.ctx)
		t = &topic{subs: map[*conn]map[string]bool{}, cancel: cancel}
		h.topics[sub.k] = t
		h.wg.Go(func() { h.watch(ctx, sub.k, index) })
	}
	if t.subs[c] == nil {
		t.subs[c] = map[string]bool{}
	}
	t.subs[c][sub.clusters] = true
	h.mu.Unlock()
	// A change between the list sent and joining a running topic would
	// be missed otherwise.
	if h.d.core.Snapshot(sub.k).Index > index {
		c.queue(sub)
	}
	return nil
}

// tooMany is an error answered with code 429.
type tooMany struct{ error }

func (e *tooMany) HTTPStatus() int { return 429 }
func (e *tooMany) Unwrap() error   { return e.error }

// unsubscribe ends c's subscription to sub.
func (h *hub) unsubscribe(c *conn, sub subKey) {
	c.mu.Lock()
	delete(c.subs, sub)
	delete(c.pending, sub)
	c.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.leaveLocked(c, sub)
}

// dropConn ends every subscription of a closed connection.
func (h *hub) dropConn(c *conn) {
	c.mu.Lock()
	subs := c.subs
	c.subs, c.pending = map[subKey]bool{}, map[subKey]bool{}
	c.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range subs {
		h.leaveLocked(c, sub)
	}
}

func (h *hub) leaveLocked(c *conn, sub subKey) {
	t := h.topics[sub.k]
	if t == nil || t.subs[c] == nil {
		return
	}
	delete(t.subs[c], sub.clusters)
	if len(t.subs[c]) == 0 {
		delete(t.subs, c)
	}
	if len(t.subs) == 0 {
		t.cancel()
		delete(h.topics, sub.k)
	}
}

// watch marks service k pending on its subscribers at each change.
func (h *hub) watch(ctx context.Context, k store.Key, index uint64) {
	for ctx.Err() == nil {
		snap := h.d.core.WaitChange(ctx, k, index, watchWait)
		if snap.Index <= index {
			if h.d.core.Leaving() { // WaitChange returns at once now
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		index = snap.Index
		h.mu.Lock()
		if t := h.topics[k]; t != nil {
			for c, clusters := range t.subs {
				for cl := range clusters {
					c.queue(subKey{k: k, clusters: cl})
				}
			}
		}
		h.mu.Unlock()
	}
}

// Subscriber is one subscription a gRPC client holds on this node, with
// what Nacos 2.x lists of it in service/subscribers: the client's IP (the
// connection's source address), its version (ConnectionSetupRequest's
// clientVersion), its application (the "app" header of its requests,
// "unknown" without one) and the clusters it asked for.
type Subscriber struct {
	IP, Agent, App, Clusters string
}

// Subscribers returns the subscriptions to service k held on this node,
// one per connection and clusters string.
func (d *Door) Subscribers(k store.Key) []Subscriber {
	h := d.hub
	h.mu.Lock()
	t := h.topics[k]
	type sub struct {
		c        *conn
		clusters string
	}
	var subs []sub
	if t != nil {
		for c, clusters := range t.subs {
			for cl := range clusters {
				subs = append(subs, sub{c, cl})
			}
		}
	}
	h.mu.Unlock()
	out := make([]Subscriber, 0, len(subs))
	for _, s := range subs {
		ip, _, err := net.SplitHostPort(s.c.remote)
		if err != nil {
			ip = s.c.remote
		}
		s.c.mu.Lock()
		agent, app := s.c.version, s.c.app
		s.c.mu.Unlock()
		if app == "" {
			app = "unknown"
		}
		out = append(out, Subscriber{IP: ip, Agent: agent, App: app, Clusters: s.clusters})
	}
	return out
}

// setApp records the application name c's requests carry.
func (c *conn) setApp(app string) {
	if len(app) > 128 {
		app = app[:128]
	}
	c.mu.Lock()
	c.app = app
	c.mu.Unlock()
}

// stop waits for the topics' watchers, which end with the door's context.
func (h *hub) stop() { h.wg.Wait() }

// topics returns how many services have subscribers here.
func (h *hub) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}

// queue marks sub pending on c and wakes its writer.
func (c *conn) queue(sub subKey) {
	c.mu.Lock()
	if c.closed || !c.subs[sub] {
		c.mu.Unlock()
		return
	}
	c.pending[sub] = true
	c.mu.Unlock()
	c.signal()
}

// pushes takes c's pending services and returns their current lists as
// NotifySubscriberRequests, each awaiting its ack.
func (h *hub) pushes(c *conn) []*pb.Payload {
	c.mu.Lock()
	pending := c.pending
	c.pending = map[subKey]bool{}
	c.mu.Unlock()
	out := make([]*pb.Payload, 0, len(pending))
	for sub := range pending {
		filter, err := clusterFilter("clusters", sub.clusters)
		if err != nil {
			continue // refused at subscription; cannot happen
		}
		info := h.d.serviceInfo(c, h.d.core.Snapshot(sub.k), sub.clusters, filter, false)
		id := h.d.nextPushID()
		c.mu.Lock()
		c.unacked[id] = pushWait{sub: sub, sent: h.d.cfg.Now()}
		c.mu.Unlock()
		out = append(out, payload("NotifySubscriberRequest", notifyRequest{
			namingRequest: namingRequest{request: request{RequestID: id, Module: "naming"},
				Namespace: sub.k.Namespace, ServiceName: sub.k.Service, GroupName: sub.k.Group},
			ServiceInfo: info}))
	}
	return out
}

// serviceInfo is the list of snap as Nacos 2.x sends it: the instances
// of the clusters in filter (every cluster if nil), disabled ones left
// out; when the healthy share is at or below the protect threshold every
// instance is listed as healthy; healthyOnly leaves out the unhealthy.
func (d *Door) serviceInfo(c *conn, snap *store.Snapshot, clusters string, filter map[string]bool, healthyOnly bool) serviceInfo {
	k := snap.Key
	var sel []*store.Instance
	nHealthy := 0
	for _, in := range snap.Instances {
		if filter != nil && !filter[in.Cluster] {
			continue
		}
		sel = append(sel, in)
		if in.Healthy {
			nHealthy++
		}
	}
	protected := len(sel) > 0 && float64(nHealthy)/float64(len(sel)) <= snap.Info.ProtectThreshold
	hosts := make([]host, 0, len(sel))
	for _, in := range sel {
		healthy := in.Healthy || protected
		if !in.Enabled || (healthyOnly && !healthy) {
			continue
		}
		md := in.Metadata
		if md == nil {
			md = map[string]string{}
		}
		hosts = append(hosts, host{InstanceID: in.ID(k), IP: in.IP, Port: in.Port, Weight: in.Weight,
			Healthy: healthy, Enabled: in.Enabled, Ephemeral: in.Ephemeral, ClusterName: in.Cluster,
			ServiceName: k.Grouped(), Metadata: md, InstanceHeartBeatInterval: in.BeatInterval.Milliseconds(),
			InstanceHeartBeatTimeOut: in.BeatTimeout.Milliseconds(), IPDeleteTimeout: in.DeleteTimeout.Milliseconds(),
			InstanceIDGenerator: "simple"})
	}
	return serviceInfo{Name: k.Service, GroupName: k.Group, Clusters: clusters, CacheMillis: d.cfg.CacheMillis,
		Hosts: hosts, LastRefTime: c.refTime(), ReachProtectionThreshold: protected, Valid: true}
}
