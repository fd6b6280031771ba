package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Simulated service instances. Each is one goroutine (cheap: a thousand
// share one HTTP transport and its kept-alive connections) that registers
// through a node, beats every Timings.Interval through its node (switching to
// another live node when one fails, as a real client does), and ends by
// deregistering or by falling silent. Every attempt is recorded as an Op.

// Timings are the heartbeat timings the simulated instances ask for
// through the preserved.* metadata.
type Timings struct {
	// Interval between beats. Default 500ms.
	Interval time.Duration
	// Timeout: unhealthy after this without a beat. Default 3·Interval.
	Timeout time.Duration
	// Delete: removed after this without a beat. Default 6·Interval.
	Delete time.Duration
}

func (t Timings) withDefaults() Timings {
	if t.Interval <= 0 {
		t.Interval = 500 * time.Millisecond
	}
	if t.Timeout <= 0 {
		t.Timeout = 3 * t.Interval
	}
	if t.Delete <= 0 {
		t.Delete = 2 * t.Timeout
	}
	return t
}

func (t Timings) metadata() map[string]string {
	return map[string]string{"preserved.heart.beat.interval": strconv.FormatInt(t.Interval.Milliseconds(), 10),
		"preserved.heart.beat.timeout": strconv.FormatInt(t.Timeout.Milliseconds(), 10),
		"preserved.ip.delete.timeout":  strconv.FormatInt(t.Delete.Milliseconds(), 10), "chaos": "1"}
}

type simCmd int

const (
	cmdDeregister simCmd = iota
	cmdSilent
)

// Sim is one simulated instance.
type Sim struct {
	Inst Instance
	cmd  chan simCmd
	done chan struct{}
	// heard is when the last acknowledged register or beat was sent
	// (unix nanoseconds): the node heard the instance no earlier.
	heard atomic.Int64
}

// Heard returns when the last acknowledged register or beat of s was sent.
func (s *Sim) Heard() time.Time { return time.Unix(0, s.heard.Load()) }

// Workload owns the simulated instances. It is safe for concurrent use.
type Workload struct {
	c        *agentproc.Cluster
	h        *History
	t        Timings
	metadata string // register form's metadata
	md       map[string]string
	// mu guards rng, sims and next.
	mu   sync.Mutex
	rng  *rand.Rand
	sims map[Instance]*Sim
	next int
	wg   sync.WaitGroup
}

// NewWorkload returns an empty workload of instances with timings t,
// seeded with seed.
func NewWorkload(c *agentproc.Cluster, h *History, t Timings, seed uint64) *Workload {
	t = t.withDefaults()
	md := t.metadata()
	js, _ := json.Marshal(md)
	return &Workload{c: c, h: h, t: t, metadata: string(js), md: md, rng: rand.New(rand.NewPCG(seed, 0x5eed)),
		sims: map[Instance]*Sim{}}
}

func (w *Workload) intn(n int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rng.IntN(n)
}

// pick returns a live node other than avoid, at random.
func (w *Workload) pick(avoid string) *agentproc.Proc {
	live := w.c.Live()
	var cand []*agentproc.Proc
	for _, p := range live {
		if p.Name != avoid {
			cand = append(cand, p)
		}
	}
	if len(cand) == 0 {
		cand = live
	}
	if len(cand) == 0 {
		return nil
	}
	return cand[w.intn(len(cand))]
}

// Spawn starts a new instance of service that registers through via (a
// node name, or "" for a random one). It returns once the register was
// attempted (acknowledged or not).
func (w *Workload) Spawn(ctx context.Context, service, via string) *Sim {
	w.mu.Lock()
	w.next++
	n := w.next
	w.mu.Unlock()
	s := &Sim{Inst: Instance{Service: service, IP: fmt.Sprintf("10.%d.%d.%d", 1+n/65536, (n/256)%256, n%256), Port: 8000 + n%1000},
		cmd: make(chan simCmd, 1), done: make(chan struct{})}
	w.mu.Lock()
	w.sims[s.Inst] = s
	w.mu.Unlock()
	registered := make(chan struct{})
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(s.done)
		w.run(ctx, s, via, registered)
	}()
	<-registered
	return s
}

// Sims returns the instances still beating, in a stable order.
func (w *Workload) Sims() []*Sim {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*Sim, 0, len(w.sims))
	for _, s := range w.sims {
		out = append(out, s)
	}
	sortSims(out)
	return out
}

func sortSims(ss []*Sim) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].Inst.String() < ss[j-1].Inst.String(); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// Random returns a random beating instance, or nil.
func (w *Workload) Random() *Sim {
	ss := w.Sims()
	if len(ss) == 0 {
		return nil
	}
	return ss[w.intn(len(ss))]
}

// Deregister makes s deregister and waits for it.
func (w *Workload) Deregister(s *Sim) { w.end(s, cmdDeregister) }

// Silence makes s stop beating without a word and waits for it.
func (w *Workload) Silence(s *Sim) { w.end(s, cmdSilent) }

func (w *Workload) end(s *Sim, c simCmd) {
	w.mu.Lock()
	_, ok := w.sims[s.Inst]
	delete(w.sims, s.Inst)
	w.mu.Unlock()
	if !ok {
		return
	}
	s.cmd <- c
	<-s.done
}

// Wait waits for every instance goroutine (they end with ctx).
func (w *Workload) Wait() { w.wg.Wait() }

func (w *Workload) run(ctx context.Context, s *Sim, via string, registered chan struct{}) {
	node := via
	if w.c.Get(node) == nil {
		if p := w.pick(""); p != nil {
			node = p.Name
		}
	}
	ok := false
	for attempt := 0; attempt < 6 && !ok && ctx.Err() == nil; attempt++ {
		ok, node = w.try(s, OpRegister, node, time.Time{})
	}
	close(registered)
	// Beats follow a fixed schedule; each records when it was due, so a
	// harness too busy to send it on time shows as harness lateness, not
	// as roster's fault. A harness that falls behind sends at once.
	due := time.Now().Add(w.t.Interval)
	timer := time.NewTimer(time.Until(due))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-s.cmd:
			if c == cmdSilent {
				now := time.Now()
				w.h.AddOp(Op{Kind: OpSilent, Inst: s.Inst, Node: node, Start: now, End: now, OK: true})
				return
			}
			for attempt := 0; attempt < 4; attempt++ {
				var ok bool
				if ok, node = w.try(s, OpDeregister, node, time.Time{}); ok {
					break
				}
			}
			return
		case <-timer.C:
			// A failed beat (no answer, or any status but 200, such as a
			// 429 of a node shedding load) switches node and is sent
			// again at once, once per live node and at least three times
			// in all, as nacos-sdk-go v1 does (NacosServer.ReqApi: the
			// next server at once, no pause, Retry-After unread); then
			// the instance waits for its next beat.
			tries := max(3, len(w.c.Live()))
			for attempt := 0; attempt < tries; attempt++ {
				d := due
				if attempt > 0 {
					d = time.Time{}
				}
				var ok bool
				if ok, node = w.try(s, OpBeat, node, d); ok {
					break
				}
			}
			due = due.Add(w.t.Interval)
			if now := time.Now(); due.Before(now) {
				due = now
			}
			timer.Reset(time.Until(due))
		}
	}
}

// try sends one operation through node and records it. On failure it
// returns another node to use next.
func (w *Workload) try(s *Sim, kind OpKind, node string, due time.Time) (bool, string) {
	p := w.c.Get(node)
	if p == nil {
		if p = w.pick(node); p == nil {
			return false, node
		}
		node = p.Name
	}
	in := s.Inst
	v := url.Values{"serviceName": {in.Service}, "ip": {in.IP}, "port": {strconv.Itoa(in.Port)}}
	var method, path string
	timeout := 2 * time.Second
	switch kind {
	case OpRegister:
		method, path = http.MethodPost, "/nacos/v1/ns/instance"
		v.Set("metadata", w.metadata)
		v.Set("ephemeral", "true")
	case OpBeat:
		method, path = http.MethodPut, "/nacos/v1/ns/instance/beat"
		timeout = time.Second
		beat, _ := json.Marshal(map[string]any{"serviceName": "DEFAULT_GROUP@@" + in.Service, "ip": in.IP, "port": in.Port,
			"cluster": "DEFAULT", "weight": 1, "metadata": w.md, "ephemeral": true, "scheduled": false,
			"period": w.t.Interval.Milliseconds()})
		v.Set("beat", string(beat))
	case OpDeregister:
		method, path = http.MethodDelete, "/nacos/v1/ns/instance"
		v.Set("ephemeral", "true")
	}
	start := time.Now()
	code, body, sent, err := doSent(method, p.HTTP, path, v, nil, timeout)
	op := Op{Kind: kind, Inst: in, Node: node, Due: due, Start: start, Sent: sent, End: time.Now()}
	switch {
	case err != nil:
		op.Detail = err.Error()
	case code != 200:
		op.Detail = fmt.Sprintf("%d %s", code, tail(string(body), 200))
		op.Shed = code == 429
	case kind == OpBeat:
		var r struct{ Code int }
		if json.Unmarshal(body, &r) == nil && r.Code == 10200 {
			op.OK = true
		} else {
			op.Detail = "beat answered " + tail(string(body), 200)
		}
	default:
		op.OK = string(body) == "ok"
		if !op.OK {
			op.Detail = tail(string(body), 200)
		}
	}
	w.h.AddOp(op)
	if op.OK && (kind == OpRegister || kind == OpBeat) {
		s.heard.Store(start.UnixNano())
	}
	if !op.OK {
		if q := w.pick(node); q != nil {
			node = q.Name
		}
	}
	return op.OK, node
}
