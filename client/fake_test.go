package client

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/api"
)

// fakeNet is an in-memory network of fake nodes, so tests can run in a
// synctest bubble with a fake clock. Requests go to the node named by the
// URL's host.
type fakeNet struct {
	mu    sync.Mutex // guards nodes
	nodes map[string]*fakeNode
}

// fakeNode answers the parts of the native API the client uses.
type fakeNode struct {
	host string

	mu       sync.Mutex // guards the fields below
	down     bool
	members  []Member
	ring     *api.Ring // nil: GET /v1/cluster/ring answers 404, as an older node
	insts    map[InstanceKey]wireInstance
	index    uint64
	changed  chan struct{}
	interval int64 // beatIntervalMs answered; 0: the instance's own
	beats    int
	posts    int
	deletes  int
	rings    int // ring tables served
	beatLog  []time.Time
	batches  int           // PUT /v1/beats served
	noBatch  bool          // PUT /v1/beats answers 404, as an older node
	shed     int           // the next this many PUT /v1/beats answer 429, Retry-After: 1
	beatWait time.Duration // how long a PUT /v1/beats takes; one whose caller gave up applies nothing
	singles  int           // PUT /v1/instance/beat served
	// Registrations (register_batch_test.go).
	regSingles   int             // POST /v1/instance served
	regBatches   int             // POST /v1/instances/batch served
	noRegBatch   bool            // POST /v1/instances/batch answers 404, as an older node
	regDelay     time.Duration   // how long a registration request takes
	regCancelled int             // registration requests whose context ended during regDelay
	full         map[string]bool // services whose new instances a limit refuses (409)
}

func newFakeNet(hosts ...string) *fakeNet {
	fn := &fakeNet{nodes: map[string]*fakeNode{}}
	for _, h := range hosts {
		fn.nodes[h] = &fakeNode{host: h, insts: map[InstanceKey]wireInstance{}, changed: make(chan struct{})}
	}
	return fn
}

func (fn *fakeNet) node(host string) *fakeNode {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.nodes[host]
}

// client returns a Client on fn with short timers.
func (fn *fakeNet) client(t *testing.T, mutate func(*Config), hosts ...string) *Client {
	t.Helper()
	cfg := Config{HTTPClient: &http.Client{Transport: fn}, RequestTimeout: time.Second}
	for _, h := range hosts {
		cfg.Addrs = append(cfg.Addrs, "http://"+h)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// RoundTrip serves req from the node it names, or fails as a refused
// connection when that node is down.
func (fn *fakeNet) RoundTrip(req *http.Request) (*http.Response, error) {
	n := fn.node(req.URL.Host)
	if n == nil || n.isDown() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	rec := httptest.NewRecorder()
	n.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err // as a real transport does
	}
	if n.isDown() { // went down while it served: the connection broke
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return rec.Result(), nil
}

func (n *fakeNode) isDown() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.down
}

func (n *fakeNode) setDown(down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = down
}

// changeLocked bumps the index and wakes blocking queries.
func (n *fakeNode) changeLocked() {
	n.index++
	close(n.changed)
	n.changed = make(chan struct{})
}

// put stores an instance as if another client registered it.
func (n *fakeNode) put(w wireInstance) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.insts[instanceKeyOf(w)] = w
	n.changeLocked()
}

// drop removes every instance, as a registry that lost them.
func (n *fakeNode) drop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.insts)
	n.changeLocked()
}

func (n *fakeNode) has(k InstanceKey) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.insts[k.normal()]
	return ok
}

func (n *fakeNode) counts() (beats, posts, deletes int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.beats, n.posts, n.deletes
}

func instanceKeyOf(w wireInstance) InstanceKey {
	return InstanceKey{Service: Service{Namespace: w.Namespace, Group: w.Group, Name: w.Service},
		Cluster: w.Cluster, IP: w.IP, Port: w.Port}.normal()
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	q := r.URL.Query()
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/instance":
		n.mu.Lock()
		n.regSingles++
		n.mu.Unlock()
		n.slowRegister(r)
		var in wireInstance
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Service == "" || in.Service == "bad" {
			reply(400, map[string]string{"error": "bad body"})
			return
		}
		if n.isFull(in) {
			reply(409, map[string]string{"error": "limit reached"})
			return
		}
		if in.BeatIntervalMs == 0 {
			in.BeatIntervalMs = 5000
		}
		n.mu.Lock()
		n.posts++
		n.insts[instanceKeyOf(in)] = in
		n.changeLocked()
		n.mu.Unlock()
		reply(200, map[string]any{"instance": in})
	case "POST /v1/instances/batch":
		n.serveRegBatch(w, r, reply)
	case "PUT /v1/instance/beat":
		var b wireInstance
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			reply(400, map[string]string{"error": "bad body"})
			return
		}
		n.mu.Lock()
		n.singles++
		in, ok := n.insts[instanceKeyOf(b)]
		if ok {
			n.beats++
			n.beatLog = append(n.beatLog, time.Now())
		}
		iv := n.interval
		n.mu.Unlock()
		if !ok {
			reply(404, map[string]string{"error": "instance not found"})
			return
		}
		if iv == 0 {
			iv = in.BeatIntervalMs
		}
		reply(200, map[string]any{"beatIntervalMs": iv})
	case "PUT /v1/beats":
		if n.noBatch {
			http.NotFound(w, r)
			return
		}
		var req api.BeatsRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(400, map[string]string{"error": "bad body"})
			return
		}
		out := api.BeatsReply{Results: make([]api.BeatResult, len(req.Beats))}
		if !n.slowBeats(r) {
			return
		}
		n.mu.Lock()
		if n.shed > 0 {
			n.shed--
			n.mu.Unlock()
			w.Header().Set("Retry-After", "1")
			reply(429, map[string]string{"error": "overloaded"})
			return
		}
		n.batches++
		for i, b := range req.Beats {
			in, ok := n.insts[instanceKeyOf(b)]
			if !ok {
				out.Results[i] = api.BeatResult{Status: 404, Error: "instance not found"}
				continue
			}
			n.beats++
			n.beatLog = append(n.beatLog, time.Now())
			iv := n.interval
			if iv == 0 {
				iv = in.BeatIntervalMs
			}
			out.Results[i] = api.BeatResult{BeatIntervalMs: iv}
		}
		n.mu.Unlock()
		reply(200, out)
	case "DELETE /v1/instance":
		port, _ := strconv.Atoi(q.Get("port"))
		k := InstanceKey{Service: Service{Namespace: q.Get("namespace"), Group: q.Get("group"), Name: q.Get("service")},
			Cluster: q.Get("cluster"), IP: q.Get("ip"), Port: port}.normal()
		n.mu.Lock()
		n.deletes++
		_, found := n.insts[k]
		delete(n.insts, k)
		n.changeLocked()
		n.mu.Unlock()
		reply(200, map[string]any{"found": found})
	case "GET /v1/instances":
		index, _ := strconv.ParseUint(q.Get("index"), 10, 64)
		wait, _ := time.ParseDuration(q.Get("wait"))
		n.mu.Lock()
		if index > 0 {
			expire := time.After(wait)
			for n.index <= index {
				ch := n.changed
				n.mu.Unlock()
				done := false
				select {
				case <-ch:
				case <-expire:
					done = true
				case <-r.Context().Done():
					done = true
				}
				n.mu.Lock()
				if done {
					break
				}
			}
		}
		body := listBody{Index: n.index, Instances: []wireInstance{}}
		for k, in := range n.insts {
			if k.Name == q.Get("service") {
				h := true
				in.Healthy = &h
				body.Instances = append(body.Instances, in)
			}
		}
		n.mu.Unlock()
		w.Header().Set(api.IndexHeader, strconv.FormatUint(body.Index, 10))
		reply(200, body)
	case "GET /v1/cluster/members":
		n.mu.Lock()
		ms, rg := n.members, n.ring
		n.mu.Unlock()
		body := map[string]any{"self": n.host, "members": ms}
		if rg != nil {
			body["ring"] = api.RingInfo{Partitions: rg.Partitions, Hash: rg.Hash, Version: rg.Version}
		}
		reply(200, body)
	case "GET /v1/cluster/ring":
		n.mu.Lock()
		rg := n.ring
		if rg != nil {
			n.rings++
		}
		n.mu.Unlock()
		if rg == nil {
			reply(404, map[string]string{"error": "no such path"})
			return
		}
		reply(200, rg)
	default:
		reply(404, map[string]string{"error": "no such path"})
	}
}

// setRing gives every node of fn the members hosts (named node1, node2,
// ...; all alive) and the same ring table at version: partitions
// partitions, partition p owned by hosts[(p+shift) % len(hosts)].
func (fn *fakeNet) setRing(version uint64, partitions, shift int, hosts ...string) {
	var members []Member
	rg := &api.Ring{Version: version, Partitions: partitions, Hash: api.HashXXHash64, Owners: make([]int, partitions)}
	for i, h := range hosts {
		name := "node" + strconv.Itoa(i+1)
		members = append(members, Member{Name: name, HTTPAddr: h, State: "alive"})
		rg.Members = append(rg.Members, api.RingMember{Name: name, HTTPAddr: h})
	}
	for p := range rg.Owners {
		rg.Owners[p] = (p + shift) % len(hosts)
	}
	for _, h := range hosts {
		n := fn.node(h)
		n.mu.Lock()
		n.members, n.ring = members, rg
		n.mu.Unlock()
	}
}

// ringOwner returns the host that owns k's service in the tables setRing
// makes.
func ringOwner(k InstanceKey, partitions, shift int, hosts ...string) string {
	return hosts[(api.Partition(k.normal().String(), partitions)+shift)%len(hosts)]
}

// ringReads returns how many ring tables the nodes of fn served.
func (fn *fakeNet) ringReads() int {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	total := 0
	for _, n := range fn.nodes {
		n.mu.Lock()
		total += n.rings
		n.mu.Unlock()
	}
	return total
}
