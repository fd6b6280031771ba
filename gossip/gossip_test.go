package gossip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestGossip_clusterConverges(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "c", 4)
	var first []Member
	for i, n := range nodes {
		if !n.Joined() {
			t.Errorf("%s: Joined() = false, want true", n.cfg.Name)
		}
		ms := n.Members()
		if i == 0 {
			first = ms
			continue
		}
		if !slices.Equal(ms, first) {
			t.Errorf("%s: members %+v, want %+v", n.cfg.Name, ms, first)
		}
	}
	// Every node saw a join for every member, itself included.
	for _, n := range nodes {
		for _, name := range names("c", 4) {
			n.rec.waitEvent(t, 5*time.Second, "join "+name, func(ev Event) bool {
				return ev.Type == EventJoin && ev.Member.Name == name
			})
		}
		if got := n.NumMembers(); got != 4 {
			t.Errorf("%s: NumMembers() = %d, want 4", n.cfg.Name, got)
		}
		if got := n.HealthScore(); got < 0 {
			t.Errorf("%s: HealthScore() = %d, want >= 0", n.cfg.Name, got)
		}
	}
}

func TestGossip_metadataRoundTrips(t *testing.T) {
	t.Parallel()
	a := testConfig(t, "a")
	a.Meta = Meta{HTTPAddr: "127.0.0.1:8848", Epoch: 42}
	na := startNode(t, a)
	nb := startNode(t, testConfig(t, "b", na.LocalMember().Addr))
	waitConverged(t, []*testNode{na, nb}, "a", "b")

	local := na.LocalMember()
	host, port, err := net.SplitHostPort(local.Addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("LocalMember().Addr = %q, want 127.0.0.1 with the bound port", local.Addr)
	}
	want := Member{Name: "a", Addr: local.Addr, Meta: Meta{HTTPAddr: "127.0.0.1:8848", Epoch: 42}}
	if local != want {
		t.Errorf("LocalMember() = %+v, want %+v", local, want)
	}
	i := slices.IndexFunc(nb.Members(), func(m Member) bool { return m.Name == "a" })
	if got := nb.Members()[i]; got != want {
		t.Errorf("b sees %+v, want %+v", got, want)
	}
}

func TestGossip_joinRetriesUntilSeedComesUp(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	seed := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	// b and c know only the seed, which is down.
	nb := startNode(t, testConfig(t, "b", seed))
	nc := startNode(t, testConfig(t, "c", seed))
	if nb.Joined() || nc.Joined() {
		t.Fatal("Joined() = true before any seed is up, want false")
	}
	if got := memberNames(nb.Members()); !slices.Equal(got, []string{"b"}) {
		t.Errorf("b alone: members %v, want [b]", got)
	}

	// The seed comes up later, on the address b and c keep trying.
	cfg := testConfig(t, "a")
	cfg.BindAddr = seed
	cfg.Join = []string{seed} // itself: skipped, so it counts as joined at once
	na := startNode(t, cfg)
	waitFor(t, 2*time.Second, func() error {
		if !na.Joined() {
			return errors.New("a node whose only seed is itself is not joined")
		}
		return nil
	})
	nodes := []*testNode{na, nb, nc}
	waitConverged(t, nodes, "a", "b", "c")
	waitFor(t, 5*time.Second, func() error {
		for _, n := range nodes {
			if !n.Joined() {
				return fmt.Errorf("%s not joined", n.cfg.Name)
			}
		}
		return nil
	})
}

func TestGossip_joinRetryMaxGivesUp(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "lonely", net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
	cfg.JoinRetryMax = 3
	n := startNode(t, cfg)
	select {
	case <-n.seedsDone:
	case <-time.After(5 * time.Second): // three attempts with waits of ≤20ms and ≤40ms
		t.Fatal("join loop still trying after 5s, want it to give up after 3 attempts")
	}
	if n.Joined() {
		t.Error("Joined() = true, want false after giving up")
	}
	if got := n.NumMembers(); got != 1 {
		t.Errorf("got %d members, want 1 (a cluster of its own)", got)
	}
}

func TestGossip_leaveSeenQuickly(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "l", 3)
	leaver := nodes[2]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := leaver.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	for _, n := range nodes[:2] {
		n.rec.waitEvent(t, time.Second, "leave l2", func(ev Event) bool {
			return ev.Type == EventLeave && ev.Member.Name == "l2"
		})
	}
	t.Logf("leave seen by all in %v", time.Since(start))
	waitConverged(t, nodes[:2], "l0", "l1")
	stopNode(t, leaver.Gossip)
}

func TestGossip_crashDetected(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "k", 3)
	start := time.Now()
	stopNode(t, nodes[2].Gossip) // no Leave: peers see a crash
	for _, n := range nodes[:2] {
		n.rec.waitEvent(t, 6*time.Second, "leave k2", func(ev Event) bool {
			return ev.Type == EventLeave && ev.Member.Name == "k2"
		})
	}
	t.Logf("crash detected by all in %v", time.Since(start))
	waitConverged(t, nodes[:2], "k0", "k1")
}

// restart starts a new run of old's node: same name, new epoch, the given
// bind address, joining through seed.
func restart(t *testing.T, old *testNode, bind, seed string) *testNode {
	t.Helper()
	cfg := old.cfg
	cfg.BindAddr = bind
	cfg.Join = []string{seed}
	cfg.Meta.Epoch = old.cfg.Meta.Epoch + 1
	cfg.Logger = testLogger(t)
	return startNode(t, cfg)
}

// waitRestartSeen waits until every node in nodes lists name with epoch at
// addr, and has an event that flags the restart.
func waitRestartSeen(t *testing.T, nodes []*testNode, name string, epoch int64, addr string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() error {
		for _, n := range nodes {
			i := slices.IndexFunc(n.Members(), func(m Member) bool { return m.Name == name })
			if i < 0 {
				return fmt.Errorf("%s does not list %s", n.cfg.Name, name)
			}
			if m := n.Members()[i]; m.Meta.Epoch != epoch || m.Addr != addr {
				return fmt.Errorf("%s lists %+v, want epoch %d at %s", n.cfg.Name, m, epoch, addr)
			}
			if _, ok := n.rec.find(func(ev Event) bool {
				return ev.Member.Name == name && ev.Restarted && ev.Member.Meta.Epoch == epoch
			}); !ok {
				return fmt.Errorf("%s has no restart event for %s: %v", n.cfg.Name, name, n.rec.snapshot())
			}
		}
		return nil
	})
}

func TestGossip_restartOnNewPortAfterDetection(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "r", 3)
	old := nodes[2]
	stopNode(t, old.Gossip)
	for _, n := range nodes[:2] {
		n.rec.waitEvent(t, 6*time.Second, "leave r2", func(ev Event) bool {
			return ev.Type == EventLeave && ev.Member.Name == "r2"
		})
	}
	start := time.Now()
	nn := restart(t, old, "127.0.0.1:0", nodes[0].LocalMember().Addr)
	waitRestartSeen(t, nodes[:2], "r2", nn.cfg.Meta.Epoch, nn.LocalMember().Addr, 6*time.Second)
	for _, n := range nodes[:2] {
		ev, _ := n.rec.find(func(ev Event) bool { return ev.Member.Name == "r2" && ev.Restarted })
		if ev.Type != EventJoin {
			t.Errorf("%s: got %v for the restart, want join (the old run was declared dead)", n.cfg.Name, ev.Type)
		}
	}
	t.Logf("restart seen by all in %v", time.Since(start))
	waitConverged(t, append(nodes[:2:2], nn), "r0", "r1", "r2")
}

func TestGossip_restartOnNewPortBeforeDetection(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "p", 3)
	old := nodes[2]
	start := time.Now()
	stopNode(t, old.Gossip)
	// Back at once on a new port: peers still hold the old address alive and
	// refuse the new one until the old is dead and reclaimable; the rejoin
	// loop gets it accepted then.
	nn := restart(t, old, "127.0.0.1:0", nodes[0].LocalMember().Addr)
	waitRestartSeen(t, nodes[:2], "p2", nn.cfg.Meta.Epoch, nn.LocalMember().Addr, 8*time.Second)
	t.Logf("restart seen by all in %v", time.Since(start))
	waitConverged(t, append(nodes[:2:2], nn), "p0", "p1", "p2")
}

func TestGossip_restartOnSameAddress(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "s", 3)
	old := nodes[2]
	addr := old.LocalMember().Addr
	stopNode(t, old.Gossip)
	var nn *testNode
	// The port was just released; retry briefly in case the kernel has not
	// let go of it yet.
	waitFor(t, 2*time.Second, func() error {
		cfg := old.cfg
		cfg.BindAddr = addr
		cfg.Join = []string{nodes[0].LocalMember().Addr}
		cfg.Meta.Epoch = old.cfg.Meta.Epoch + 1
		cfg.Logger = testLogger(t)
		g, err := New(cfg)
		if err != nil {
			return err
		}
		rec := record(t, g)
		if err := g.Start(); err != nil {
			return err
		}
		nn = &testNode{Gossip: g, rec: rec}
		return nil
	})
	// Usually an update (back before anyone noticed); a join if the
	// crash was detected first. Either way the event says restarted.
	waitRestartSeen(t, nodes[:2], "s2", nn.cfg.Meta.Epoch, addr, 6*time.Second)
	waitConverged(t, append(nodes[:2:2], nn), "s0", "s1", "s2")
}

func TestGossip_slowConsumerGetsResync(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "o0")
	cfg.EventBuffer = 2
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopNode(t, g) })
	slow := &testNode{Gossip: g}

	// Nobody reads slow's events while four nodes join it.
	nodes := []*testNode{slow}
	for i := 1; i <= 4; i++ {
		nodes = append(nodes, startNode(t, testConfig(t, "o"+strconv.Itoa(i), g.LocalMember().Addr)))
	}
	want := names("o", 5)
	waitConverged(t, nodes, want...)
	if g.DroppedEvents() == 0 {
		t.Fatal("DroppedEvents() = 0, want some after 5 joins into a buffer of 2")
	}

	// The consumer finally reads: a resync comes first (plus at most one
	// event the pump already held), and Members is complete.
	view := map[string]Member{}
	sawResync := false
	for len(view) < 5 || !sawResync {
		select {
		case ev := <-g.Events():
			switch ev.Type {
			case EventResync:
				sawResync = true
				clear(view)
				for _, m := range g.Members() {
					view[m.Name] = m
				}
			case EventJoin, EventUpdate:
				view[ev.Member.Name] = ev.Member
			case EventLeave:
				delete(view, ev.Member.Name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("consumer view %v, resync %v; want 5 members after a resync", view, sawResync)
		}
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for name := range view {
			if !yield(name) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("consumer view %v, want %v", got, want)
	}
}

func TestGossip_lifecycle(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	g, err := New(testConfig(t, "life"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Leave(ctx); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Leave before Start: got %v, want ErrNotStarted", err)
	}
	if got := g.NumMembers(); got != 0 {
		t.Errorf("NumMembers before Start: got %d, want 0", got)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: got %v, want ErrStarted", err)
	}
	if !g.Joined() {
		t.Error("Joined() with no seeds: got false, want true")
	}
	ev := <-g.Events()
	if ev.Type != EventJoin || ev.Member.Name != "life" {
		t.Errorf("first event: got %+v, want our own join", ev)
	}
	if err := g.Leave(ctx); err != nil { // alone: returns at once
		t.Errorf("Leave alone: %v", err)
	}
	for range 2 {
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	for range g.Events() { // drains, then ends: Events is closed
	}
	if err := g.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Shutdown: got %v, want ErrClosed", err)
	}
	if err := g.Leave(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Shutdown: got %v, want ErrClosed", err)
	}
}

func TestGossip_shutdownBeforeStart(t *testing.T) {
	t.Parallel()
	g, err := New(testConfig(t, "never"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := g.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	if _, ok := <-g.Events(); ok {
		t.Error("Events open after Shutdown, want closed")
	}
}

func TestGossip_startFailsOnTakenPort(t *testing.T) {
	t.Parallel()
	a := startNode(t, testConfig(t, "a"))
	cfg := testConfig(t, "b")
	cfg.BindAddr = a.LocalMember().Addr
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = g.Start()
	if err == nil {
		t.Fatal("Start on a taken port: got nil, want an error")
	}
	if got := err.Error(); len(got) < 8 || got[:8] != "gossip: " {
		t.Errorf("got %q, want a gossip: prefix", got)
	}
	if err := g.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after failed Start: %v", err)
	}
}

func TestIsSelfAddr(t *testing.T) {
	self := mustAddrPort(t, "127.0.0.1:7000")
	tests := []struct {
		seed string
		bind string
		want bool
	}{
		{"127.0.0.1:7000", "127.0.0.1", true},
		{"localhost:7000", "127.0.0.1", true},
		{"127.0.0.1:7001", "127.0.0.1", false},
		{"127.0.0.2:7000", "127.0.0.1", false},
		{"127.0.0.2:7000", "0.0.0.0", true},
		{"garbage", "127.0.0.1", false},
	}
	for _, tt := range tests {
		bind := mustAddrPort(t, tt.bind+":0").Addr()
		if got := isSelfAddr(tt.seed, self, bind); got != tt.want {
			t.Errorf("isSelfAddr(%q, bind %s): got %v, want %v", tt.seed, tt.bind, got, tt.want)
		}
	}
}

func TestGossip_SetReady(t *testing.T) {
	t.Parallel()
	na := startNode(t, testConfig(t, "a"))

	// Set before Start: published with the first alive message.
	early, err := New(testConfig(t, "early", na.LocalMember().Addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := early.SetReady(true); err != nil {
		t.Fatalf("SetReady before Start: %v", err)
	}
	if !early.LocalMember().Meta.Ready {
		t.Error("LocalMember().Meta.Ready before Start: got false, want true")
	}
	record(t, early)
	if err := early.Start(); err != nil {
		t.Fatal(err)
	}

	nb := startNode(t, testConfig(t, "b", na.LocalMember().Addr))
	waitConverged(t, []*testNode{na, nb}, "a", "b", "early")
	if err := nb.SetReady(true); err != nil {
		t.Fatalf("SetReady: %v", err)
	}
	ev := na.rec.waitEvent(t, 5*time.Second, "update b ready", func(ev Event) bool {
		return ev.Type == EventUpdate && ev.Member.Name == "b" && ev.Member.Meta.Ready
	})
	if ev.Restarted {
		t.Errorf("got %+v, want Restarted false for a readiness change", ev)
	}
	if !nb.LocalMember().Meta.Ready {
		t.Error("b's LocalMember().Meta.Ready: got false, want true")
	}
	waitFor(t, 5*time.Second, func() error {
		for _, m := range na.Members() {
			if want := m.Name != "a"; m.Meta.Ready != want {
				return fmt.Errorf("a sees %s ready=%v, want %v", m.Name, m.Meta.Ready, want)
			}
		}
		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := nb.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := nb.SetReady(false); !errors.Is(err, ErrClosed) {
		t.Errorf("SetReady after Leave: got %v, want ErrClosed", err)
	}
}

// TestGossip_compressingAndPlainNodesGossip: a node that compresses its
// packets (wan) and one that does not (local) join, and each sees the
// other's metadata change: both decode either kind, so a cluster of
// builds before and after compression was turned off keeps working.
func TestGossip_compressingAndPlainNodesGossip(t *testing.T) {
	t.Parallel()
	plain := startNode(t, testConfig(t, "plain"))
	wcfg := testConfig(t, "wan", plain.LocalMember().Addr)
	wcfg.Profile = ProfileWAN
	wan := startNode(t, wcfg)
	waitConverged(t, []*testNode{plain, wan}, "plain", "wan")
	if err := wan.SetReady(true); err != nil {
		t.Fatal(err)
	}
	plain.rec.waitEvent(t, 10*time.Second, "wan ready", func(ev Event) bool {
		return ev.Type == EventUpdate && ev.Member.Name == "wan" && ev.Member.Meta.Ready
	})
	if err := plain.SetReady(true); err != nil {
		t.Fatal(err)
	}
	wan.rec.waitEvent(t, 10*time.Second, "plain ready", func(ev Event) bool {
		return ev.Type == EventUpdate && ev.Member.Name == "plain" && ev.Member.Meta.Ready
	})
}
