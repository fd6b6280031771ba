package peer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// meshReceiver is a streamReceiver whose members are the mesh's nodes.
type meshReceiver struct {
	*streamReceiver
	mu      sync.Mutex
	members map[string]Member
	// slow, when positive, is how long each merge takes.
	slow atomic.Int64
}

func (r *meshReceiver) Member(name string) (Member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[name]
	return m, ok
}

func (r *meshReceiver) Merge(recs []store.Record, fresh bool) int {
	time.Sleep(time.Duration(r.slow.Load()))
	return r.streamReceiver.Merge(recs, fresh)
}

// meshNode is one node of an in-process mesh: a transport with the
// stream on and its server on a loopback port.
type meshNode struct {
	name     string
	tr       *Transport
	srv      *Server
	recv     *meshReceiver
	http     *httptest.Server
	m        Member
	httpReqs atomic.Int64 // HTTP requests served other than upgrades
	cut      atomic.Bool  // while set, this node sends nothing to its peers
}

// meshOptions shape a mesh: old names the nodes that behave as builds
// before duplex connections (they neither ask for nor grant one), late
// the nodes whose members the test sets itself (newMesh does not), and
// tune adjusts a node's transport before it starts.
type meshOptions struct {
	old  map[string]bool
	late map[string]bool
	tune func(n *meshNode)
}

// newMesh starts nodes with the given names, each knowing all the others.
func newMesh(t testing.TB, names []string, o meshOptions) map[string]*meshNode {
	t.Helper()
	nodes := map[string]*meshNode{}
	for _, name := range names {
		n := &meshNode{name: name}
		st, err := store.New(store.Config{Node: name, Now: time.Now, TombstoneTTL: time.Minute, Partitions: 4093,
			Partition: func(k store.Key) int { return len(k.Service) % 4093 }})
		if err != nil {
			t.Fatal(err)
		}
		n.recv = &meshReceiver{streamReceiver: &streamReceiver{storeReceiver: storeReceiver{st: st, unsynced: new(atomic.Bool)}}}
		cfg := DefaultConfig()
		cfg.Self, cfg.Secret, cfg.Stream, cfg.Timeout = name, []byte("mesh-secret"), true, 3*time.Second
		cfg.Allow = func(string) bool { return !n.cut.Load() }
		if n.tr, err = New(cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.tr.Close)
		n.srv = NewServer(n.tr, n.recv)
		mux := http.NewServeMux()
		n.srv.Routes(mux)
		old := o.old[name]
		if old {
			n.tr.srv.Store(nil) // dials one-way connections, as before duplex ones
		}
		n.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == streamPath && old {
				r.Header.Del(streamDuplexHeader) // grants none
			}
			if r.URL.Path != streamPath {
				n.httpReqs.Add(1)
			}
			mux.ServeHTTP(w, r)
		}))
		t.Cleanup(n.srv.Close)
		t.Cleanup(n.http.Close)
		n.m = Member{Name: name, HTTPAddr: n.http.Listener.Addr().String(), Epoch: 1}
		if o.tune != nil {
			o.tune(n)
		}
		nodes[name] = n
	}
	all := members(nodes)
	for _, n := range nodes {
		n.recv.mu.Lock()
		n.recv.members = map[string]Member{}
		for _, m := range all {
			if m.Name != n.name {
				n.recv.members[m.Name] = m
			}
		}
		n.recv.mu.Unlock()
	}
	for _, n := range nodes {
		if !o.late[n.name] {
			n.tr.SetMembers(all)
		}
	}
	return nodes
}

// members returns the members of the mesh.
func members(nodes map[string]*meshNode) []Member {
	all := make([]Member, 0, len(nodes))
	for _, n := range nodes {
		all = append(all, n.m)
	}
	return all
}

// sessionTo returns the connection a sends to b on, or nil.
func (a *meshNode) sessionTo(b *meshNode) *session {
	l := a.tr.linkOf(b.m)
	if l == nil {
		return nil
	}
	return l.session()
}

// live returns the live connections of a's link to b.
func (a *meshNode) live(b *meshNode) []*session {
	l := a.tr.linkOf(b.m)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*session
	for _, ls := range l.sess {
		if ls.s.ctx.Err() == nil {
			out = append(out, ls.s)
		}
	}
	return out
}

// shared reports whether a and b send on the two ends of one connection.
func shared(a, b *meshNode) bool {
	sa, sb := a.sessionTo(b), b.sessionTo(a)
	return sa != nil && sb != nil && sa.duplex && sb.duplex &&
		sa.conn.LocalAddr().String() == sb.conn.RemoteAddr().String() &&
		sa.conn.RemoteAddr().String() == sb.conn.LocalAddr().String()
}

// send makes a send one request of each queued kind to b and checks that
// b got them.
func send(t *testing.T, a, b *meshNode) {
	t.Helper()
	before, beats, _ := b.recv.counts()
	if !a.tr.BroadcastWait(context.Background(), 10*time.Second, sampleRecords(3)).First(context.Background(), 10*time.Second) {
		t.Fatalf("%s: deltas not acknowledged", a.name)
	}
	if ans, err := a.tr.HandOff(context.Background(), b.name, validBeat()); err != nil || !ans.Found {
		t.Fatalf("%s: hand-off to %s: %+v, %v", a.name, b.name, ans, err)
	}
	if _, _, err := a.tr.Digests(context.Background(), b.m, []uint64{1}); err != nil {
		t.Fatalf("%s: digests from %s: %v", a.name, b.name, err)
	}
	await.True(t, 10*time.Second, b.name+" got the records and the beat", func() bool {
		merged, got, _ := b.recv.counts()
		return merged >= before+len(sampleRecords(3)) && got > beats
	})
}

// establishedTo counts the established TCP connections whose remote end
// is port (the dialing ends of connections to that port), from
// /proc/net/tcp; -1 when it cannot be read.
func establishedTo(port int) int {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return -1
	}
	n, want := 0, fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(data), "\n") {
		// sl local_address rem_address st ...; 01 is ESTABLISHED
		if f := strings.Fields(line); len(f) > 3 && f[3] == "01" && strings.HasSuffix(f[2], want) {
			n++
		}
	}
	return n
}

func portOf(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	fmt.Sscan(p, &port)
	return port
}
