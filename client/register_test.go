package client

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

var orders = InstanceKey{Service: Service{Name: "orders"}, IP: "10.0.0.7", Port: 8080}

// closeClient closes c at the end of a bubble.
func closeClient(t *testing.T, c *Client) {
	t.Helper()
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestClient_beatsAtServerInterval: beats follow the interval the node
// answers with, on the fake clock, and change when the answer changes.
func TestClient_beatsAtServerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		c := fn.client(t, func(c *Config) { c.DisableRing = true }, "a")
		defer closeClient(t, c)
		in, err := c.Register(t.Context(), Registration{InstanceKey: orders, BeatInterval: 2 * time.Second})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		if in.BeatInterval != 2*time.Second {
			t.Fatalf("registered interval: got %v, want 2s", in.BeatInterval)
		}
		time.Sleep(10*time.Second + 10*time.Millisecond)
		synctest.Wait()
		if beats, _, _ := fn.node("a").counts(); beats != 5 {
			t.Fatalf("beats after 10s at 2s: got %d, want 5", beats)
		}
		fn.node("a").mu.Lock()
		fn.node("a").interval = 500
		fn.node("a").mu.Unlock()
		time.Sleep(3 * time.Second) // the beat at 12s learns 500ms: then 12.5s, 13s
		synctest.Wait()
		if beats, _, _ := fn.node("a").counts(); beats != 8 {
			t.Fatalf("beats 3s later: got %d, want 8", beats)
		}
		if got, _ := c.Beats(orders); got != 8 {
			t.Fatalf("Beats: got %d, want 8", got)
		}
	})
}

// TestClient_failover: with one node down the client registers and beats
// through the other, and follows when they swap, without a gap.
func TestClient_failover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a", "b")
		a, b := fn.node("a"), fn.node("b")
		a.setDown(true)
		c := fn.client(t, func(c *Config) { c.DisableRing = true }, "a", "b")
		defer closeClient(t, c)
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders, BeatInterval: time.Second}); err != nil {
			t.Fatalf("Register with a down: %v", err)
		}
		time.Sleep(3*time.Second + 10*time.Millisecond)
		synctest.Wait()
		if beats, posts, _ := b.counts(); beats != 3 || posts != 1 {
			t.Fatalf("b: got %d beats %d posts, want 3 and 1", beats, posts)
		}
		a.put(b.insts[orders.normal()]) // a holds the registry too
		a.setDown(false)
		b.setDown(true)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if beats, _, _ := a.counts(); beats != 3 {
			t.Fatalf("a after b went down: got %d beats, want 3 (one per second, no gap)", beats)
		}
	})
}

// TestClient_allNodesDown: a call fails after Attempts tries with backoff,
// and beats resume when a node comes back.
func TestClient_allNodesDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a", "b")
		fn.node("a").setDown(true)
		fn.node("b").setDown(true)
		c := fn.client(t, func(c *Config) { c.DisableRing = true; c.Attempts = 4 }, "a", "b")
		defer closeClient(t, c)
		start := time.Now()
		_, err := c.List(t.Context(), Query{Service: Service{Name: "orders"}})
		if err == nil {
			t.Fatal("List with every node down: got nil error")
		}
		// 4 attempts over 2 nodes: one backoff round of 25-50ms.
		if el := time.Since(start); el < 25*time.Millisecond || el > 50*time.Millisecond {
			t.Fatalf("List gave up after %v, want one backoff of 25-50ms", el)
		}
	})
}

// TestClient_reregistersWhenLost: a beat answered 404 registers the
// instance again at once.
func TestClient_reregistersWhenLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		a := fn.node("a")
		c := fn.client(t, func(c *Config) { c.DisableRing = true }, "a")
		defer closeClient(t, c)
		reg := Registration{InstanceKey: orders, BeatInterval: time.Second, Metadata: map[string]string{"v": "1"}}
		if _, err := c.Register(t.Context(), reg); err != nil {
			t.Fatalf("Register: %v", err)
		}
		a.drop()
		time.Sleep(time.Second + 10*time.Millisecond)
		synctest.Wait()
		if _, posts, _ := a.counts(); posts != 2 || !a.has(orders) {
			t.Fatalf("after a lost beat: %d posts, held %v; want 2 posts and the instance back", posts, a.has(orders))
		}
		if got := a.insts[orders.normal()].Metadata["v"]; got != "1" {
			t.Fatalf("re-registered metadata v: got %q, want 1", got)
		}
	})
}

// TestClient_deregister: Deregister stops the beats and deletes; Close
// deregisters the rest; calls after Close fail.
func TestClient_deregister(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		a := fn.node("a")
		c := fn.client(t, func(c *Config) { c.DisableRing = true }, "a")
		defer closeClient(t, c)
		other := orders
		other.Port = 9090
		for _, k := range []InstanceKey{orders, other} {
			if _, err := c.Register(t.Context(), Registration{InstanceKey: k, BeatInterval: time.Second}); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
		if err := c.Deregister(t.Context(), orders); err != nil {
			t.Fatalf("Deregister: %v", err)
		}
		beats, _, deletes := a.counts()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if a.has(orders) || deletes != 1 {
			t.Fatalf("after Deregister: held %v, %d deletes", a.has(orders), deletes)
		}
		if got, _, _ := a.counts(); got != beats+5 {
			t.Fatalf("beats in 5s after deregistering one of two: got %d, want %d (the other's only)", got-beats, 5)
		}
		if _, ok := c.Beats(orders); ok {
			t.Fatal("Beats still knows the deregistered instance")
		}
		closeClient(t, c)
		if a.has(other) {
			t.Fatal("Close left an instance registered")
		}
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Register after Close: got %v, want ErrClosed", err)
		}
	})
}

// TestClient_ringAwareBeats: beats go straight to the service's owner as
// the nodes' ring table names it; when the owner is down they go through
// another node and the instance never misses a beat.
func TestClient_ringAwareBeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hosts := []string{"n1:1", "n2:1", "n3:1"}
		fn := newFakeNet(hosts...)
		fn.setRing(1, 7, 0, hosts...)
		owner := ringOwner(orders, 7, 0, hosts...)
		// Register through a node that is not the owner.
		entry := hosts[0]
		if entry == owner {
			entry = hosts[1]
		}
		c := fn.client(t, nil, entry)
		defer closeClient(t, c)
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders, BeatInterval: time.Second}); err != nil {
			t.Fatalf("Register: %v", err)
		}
		for _, h := range hosts {
			if h != entry {
				fn.node(h).put(fn.node(entry).insts[orders.normal()]) // replicated
			}
		}
		time.Sleep(4*time.Second + 60*time.Millisecond)
		synctest.Wait()
		for _, h := range hosts {
			beats, _, _ := fn.node(h).counts()
			if want := map[bool]int{true: 4, false: 0}[h == owner]; beats != want {
				t.Fatalf("beats at %s (owner %s): got %d, want %d", h, owner, beats, want)
			}
		}
		fn.node(owner).setDown(true)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if beats, _, _ := fn.node(entry).counts(); beats != 3 {
			t.Fatalf("beats through %s with the owner down: got %d, want 3", entry, beats)
		}
	})
}

// TestClient_learnedMembers: a client given one address keeps beating
// through the members it learned when that node and the owner are down.
func TestClient_learnedMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hosts := []string{"n1:1", "n2:1", "n3:1"}
		fn := newFakeNet(hosts...)
		fn.setRing(1, 7, 0, hosts...)
		owner := ringOwner(orders, 7, 0, hosts...)
		var entry, third string
		for _, h := range hosts {
			switch {
			case h == owner:
			case entry == "":
				entry = h
			default:
				third = h
			}
		}
		c := fn.client(t, nil, entry)
		defer closeClient(t, c)
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders, BeatInterval: time.Second}); err != nil {
			t.Fatalf("Register: %v", err)
		}
		for _, h := range hosts {
			if h != entry {
				fn.node(h).put(fn.node(entry).insts[orders.normal()])
			}
		}
		time.Sleep(time.Second + 10*time.Millisecond)
		synctest.Wait()
		fn.node(entry).setDown(true)
		fn.node(owner).setDown(true)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if beats, _, _ := fn.node(third).counts(); beats != 3 {
			t.Fatalf("beats through the learned member %s: got %d, want 3", third, beats)
		}
		if l, err := c.List(t.Context(), Query{Service: orders.Service}); err != nil || len(l) != 1 {
			t.Fatalf("List through the learned member: %v, %v", l, err)
		}
	})
}

// TestClient_registerValidates: bad registrations fail before any request.
func TestClient_registerValidates(t *testing.T) {
	fn := newFakeNet("a")
	c := fn.client(t, nil, "a")
	defer closeClient(t, c)
	for name, reg := range map[string]Registration{
		"no service": {InstanceKey: InstanceKey{IP: "1.2.3.4", Port: 1}},
		"no ip":      {InstanceKey: InstanceKey{Service: Service{Name: "s"}, Port: 1}},
		"port 0":     {InstanceKey: InstanceKey{Service: Service{Name: "s"}, IP: "1.2.3.4"}},
		"port 70000": {InstanceKey: InstanceKey{Service: Service{Name: "s"}, IP: "1.2.3.4", Port: 70000}},
		"weight":     {InstanceKey: orders, Weight: -1},
		"interval":   {InstanceKey: orders, BeatInterval: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Register(t.Context(), reg); err == nil {
				t.Fatal("got nil error")
			}
		})
	}
	if _, posts, _ := fn.node("a").counts(); posts != 0 {
		t.Fatalf("posts: got %d, want 0", posts)
	}
}
