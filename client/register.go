package client

// Registration and heartbeats. Register posts the instance and starts one
// goroutine that beats at the interval the node answers with. A beat goes
// to the service's owner when the client knows it (members.go), else to
// any node with failover. A beat answered 404 (the registry lost the
// instance, say after every node holding it restarted) re-registers it at
// once. A failed beat is retried with backoff, never later than the next
// regular beat, so a node's death costs at most one retry. Registrations
// made while another is in flight leave together in one batch request
// (register_batch.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/roster-io/roster/api"
)

// registration is one instance this client keeps alive.
type registration struct {
	key    InstanceKey        // normalized
	ctx    context.Context    // of its beats sent singly; ends with Deregister
	cancel context.CancelFunc // ends ctx
	done   chan struct{}      // closed once no beat of it runs, after Deregister

	// Scheduling (beatsched.go), guarded by the client's sched.mu.
	due      time.Time // when the next beat is due, while in the heap
	idx      int       // index in the heap, -1 when not in it
	inflight int       // idle, inBatch or inRoutine
	stopped  bool      // deregistered: beats no more
	fails    int       // beats failed in a row

	// mu guards spec, enabled, interval and beats.
	mu       sync.Mutex
	spec     Registration
	enabled  bool
	interval time.Duration
	beats    uint64
}

// wire returns the body that (re-)registers r.
func (r *registration) wire() wireInstance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spec.toWire(r.enabled)
}

// beatInterval returns the interval the node last answered with.
func (r *registration) beatInterval() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.interval
}

// setInterval records the interval a node answered with.
func (r *registration) setInterval(d time.Duration) {
	if d <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interval = d
}

// checkRegistration validates the required fields.
func checkRegistration(reg Registration) error {
	switch {
	case reg.Name == "":
		return errors.New("client: register: Service.Name is empty")
	case reg.IP == "":
		return errors.New("client: register: IP is empty")
	case reg.Port < 1 || reg.Port > 65535:
		return fmt.Errorf("client: register: Port %d is not between 1 and 65535", reg.Port)
	case reg.Weight < 0 || reg.Weight > 10000:
		return fmt.Errorf("client: register: Weight %v is not between 0 and 10000", reg.Weight)
	case reg.BeatInterval < 0 || reg.BeatTimeout < 0 || reg.DeleteTimeout < 0:
		return errors.New("client: register: heartbeat timings must not be negative")
	}
	return nil
}

// Register registers an ephemeral instance and keeps it alive with
// heartbeats until Deregister or Close. Registering a key this client
// already keeps alive updates the instance and keeps one heartbeat.
func (c *Client) Register(ctx context.Context, reg Registration) (Instance, error) {
	if err := checkRegistration(reg); err != nil {
		return Instance{}, err
	}
	if err := c.checkOpen(); err != nil {
		return Instance{}, err
	}
	key := reg.InstanceKey.normal()
	c.mu.Lock()
	r, exists := c.regs[key]
	c.mu.Unlock()
	enabled := true
	if exists {
		r.mu.Lock()
		enabled = r.enabled
		r.mu.Unlock()
	}
	sent := time.Now()
	in, err := c.register(ctx, reg.toWire(enabled))
	if err != nil {
		return Instance{}, err
	}
	if !c.keep(key, reg, in, sent) {
		// Closed while the registration was in flight: nothing would
		// beat it, so take it back rather than leave it to expire.
		_ = c.Deregister(ctx, key)
		return Instance{}, ErrClosed
	}
	return in, nil
}

// keep records a posted registration and starts its beats, or updates the
// one already kept; it reports false if the client has closed. The first
// beat is due an interval after the registration was sent, not after its
// answer: the node may have stored it (and started its timeout) long
// before the answer came, when the registration waited for a peer to
// confirm it on a busy cluster.
func (c *Client) keep(key InstanceKey, reg Registration, in Instance, sent time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if r, ok := c.regs[key]; ok {
		r.mu.Lock()
		r.spec = reg
		r.interval = cmpInterval(in.BeatInterval, r.interval)
		r.mu.Unlock()
		return true
	}
	rctx, cancel := context.WithCancel(c.ctx)
	r := &registration{key: key, ctx: rctx, cancel: cancel, done: make(chan struct{}), spec: reg, enabled: true,
		interval: cmpInterval(in.BeatInterval, api.DefaultBeatInterval), idx: -1}
	c.regs[key] = r
	c.startMembersLocked()
	if !c.schedStarted {
		c.schedStarted = true
		c.goLocked(c.schedLoop)
	}
	c.sched.mu.Lock()
	c.scheduleLocked(r, sent.Add(r.interval))
	c.sched.mu.Unlock()
	return true
}

// cmpInterval returns d if positive, else def.
func cmpInterval(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// post sends POST /v1/instance.
func (c *Client) post(ctx context.Context, w wireInstance) (Instance, error) {
	var out struct {
		Instance wireInstance `json:"instance"`
	}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/v1/instance", body: w}, &out); err != nil {
		return Instance{}, fmt.Errorf("client: register %s:%d in %s: %w", w.IP, w.Port, w.Service, err)
	}
	return fromWire(out.Instance), nil
}

// SetEnabled turns an instance this client keeps alive on or off: a
// disabled instance stays registered and beating, but Nacos lists and
// healthy-only lists leave it out, so callers stop sending it traffic.
func (c *Client) SetEnabled(ctx context.Context, key InstanceKey, enabled bool) error {
	c.mu.Lock()
	r, ok := c.regs[key.normal()]
	c.mu.Unlock()
	if !ok {
		return ErrNotRegistered
	}
	r.mu.Lock()
	r.enabled = enabled
	r.mu.Unlock()
	_, err := c.register(ctx, r.wire())
	return err
}

// Deregister stops the heartbeats of the instance (if this client keeps it
// alive) and removes it from the registry. The node acknowledges once the
// deletion is on two nodes; WaitGone waits until every node dropped it.
func (c *Client) Deregister(ctx context.Context, key InstanceKey) error {
	key = key.normal()
	c.mu.Lock()
	r, ok := c.regs[key]
	delete(c.regs, key)
	c.mu.Unlock()
	if ok {
		r.cancel()
		c.sched.mu.Lock()
		wait := c.unscheduleLocked(r)
		c.sched.mu.Unlock()
		if wait {
			<-r.done // no beat can re-register it after the deletion
		}
	}
	q := url.Values{"namespace": {key.Namespace}, "group": {key.Group}, "service": {key.Name},
		"cluster": {key.Cluster}, "ip": {key.IP}, "port": {strconv.Itoa(key.Port)}}
	if err := c.do(ctx, request{method: http.MethodDelete, path: "/v1/instance", query: q}, nil); err != nil {
		return fmt.Errorf("client: deregister %s:%d in %s: %w", key.IP, key.Port, key.Name, err)
	}
	return nil
}

// Beats returns how many beats of an instance this client kept alive were
// acknowledged, and false if it does not keep it alive.
func (c *Client) Beats(key InstanceKey) (uint64, bool) {
	c.mu.Lock()
	r, ok := c.regs[key.normal()]
	c.mu.Unlock()
	if !ok {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.beats, true
}

// beat sends one heartbeat of r in a request of its own (not batched),
// re-registering r if the node lost it.
func (c *Client) beat(r *registration) error {
	ctx, cancel := context.WithTimeout(r.ctx, max(r.beatInterval(), c.cfg.RequestTimeout))
	defer cancel()
	// A light beat: the instance itself is sent again only when a beat
	// finds it missing.
	req := request{method: http.MethodPut, path: "/v1/instance/beat", body: wireKey(r.key)}
	var ans answer
	var err error
	if owner, ok := c.ownerURL(r.key.Service); ok {
		octx, ocancel := context.WithTimeout(ctx, min(c.cfg.RequestTimeout, r.beatInterval()/2))
		ans, err = c.sendTo(octx, owner, req)
		ocancel()
		if err != nil && !errors.Is(err, ErrNotFound) && !shed(err) && ctx.Err() == nil {
			c.log.Debug("beat to the owner failed; beating through any node", "owner", owner.String(), "err", err)
			c.kickMembers()
			ans, err = c.send(ctx, req)
		}
	} else {
		ans, err = c.send(ctx, req)
	}
	if errors.Is(err, ErrNotFound) {
		iv, err := c.registerAgain(r)
		r.setInterval(iv)
		return err
	}
	if err != nil {
		return err
	}
	var out struct {
		BeatIntervalMs int64 `json:"beatIntervalMs"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil {
		return fmt.Errorf("client: beat: decode answer: %w", err)
	}
	r.setInterval(time.Duration(out.BeatIntervalMs) * time.Millisecond)
	return nil
}

// registerAgain registers r again after a beat found it missing (say
// after every node holding it restarted) and returns the interval the
// node answered with.
func (c *Client) registerAgain(r *registration) (time.Duration, error) {
	c.log.Warn("instance lost by the registry; registering it again", "service", r.key.Name,
		"instance", r.key.IP+":"+strconv.Itoa(r.key.Port))
	ctx, cancel := context.WithTimeout(r.ctx, max(r.beatInterval(), c.cfg.RequestTimeout))
	defer cancel()
	in, err := c.register(ctx, r.wire())
	if err != nil {
		return 0, err
	}
	return in.BeatInterval, nil
}

// countBeat counts an acknowledged beat.
func (c *Client) countBeat(r *registration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beats++
}
