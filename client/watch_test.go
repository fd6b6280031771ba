package client

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// TestClient_watchNoPollingDelay: Watch delivers the list at once and each
// change at the instant it happens (fake clock), never an unchanged list
// when a blocking query times out, and fails over to another node.
func TestClient_watchNoPollingDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a", "b")
		a, b := fn.node("a"), fn.node("b")
		unrelated := wireKey(orders)
		unrelated.Service = "payments"
		a.put(unrelated) // a has seen a write: its blocking queries block
		c := fn.client(t, func(c *Config) { c.WatchWait = 10 * time.Second }, "a", "b")
		defer closeClient(t, c)
		ch, err := c.WatchChan(t.Context(), Query{Service: Service{Name: "orders"}})
		if err != nil {
			t.Fatal(err)
		}
		if l := <-ch; len(l) != 0 {
			t.Fatalf("first list: got %d instances, want 0", len(l))
		}
		time.Sleep(25 * time.Second) // two blocking queries time out: nothing delivered
		synctest.Wait()
		select {
		case l := <-ch:
			t.Fatalf("unchanged list delivered: %v", l)
		default:
		}
		changed := time.Now()
		a.put(wireKey(orders))
		l := <-ch
		if len(l) != 1 || l[0].Port != 8080 || time.Since(changed) != 0 {
			t.Fatalf("after a change: got %v after %v, want the instance at once", l, time.Since(changed))
		}
		other := wireKey(orders)
		other.Port = 9090
		b.put(wireKey(orders))
		b.put(other)
		a.setDown(true)
		a.put(unrelated) // wakes the blocking query on a, whose answer is lost
		if l := <-ch; len(l) != 2 {
			t.Fatalf("after failover to b: got %d instances, want 2", len(l))
		}
	})
}

// TestClient_watchEndsWithContext: Watch returns when ctx ends and
// WatchChan's channel closes when the client closes.
func TestClient_watchEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		c := fn.client(t, nil, "a")
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		calls := 0
		err := c.Watch(ctx, Query{Service: Service{Name: "orders"}}, func([]Instance) { calls++ })
		if err != context.DeadlineExceeded || calls != 1 {
			t.Fatalf("Watch: got %v after %d calls, want DeadlineExceeded after 1", err, calls)
		}
		ch, err := c.WatchChan(context.Background(), Query{Service: Service{Name: "orders"}})
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		closeClient(t, c)
		if _, ok := <-ch; ok {
			t.Fatal("channel still open after Close")
		}
	})
}

// TestClient_graceful: on the signal the instances are deregistered and
// gone from every node first, the program keeps serving for the drain,
// and only then OnShutdown runs.
func TestClient_graceful(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a", "b")
		a, b := fn.node("a"), fn.node("b")
		for _, n := range []*fakeNode{a, b} {
			n.members = []Member{{Name: "a", HTTPAddr: "a", State: "alive"}, {Name: "b", HTTPAddr: "b", State: "alive"}}
		}
		c := fn.client(t, nil, "a")
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders}); err != nil {
			t.Fatal(err)
		}
		b.put(wireKey(orders)) // replicated to b; b drops it 100ms after a
		sigs := make(chan os.Signal, 1)
		var mu sync.Mutex
		var shutdownAt time.Time
		var goneFromB time.Time
		done := make(chan error, 1)
		go func() {
			done <- c.graceful(context.Background(), sigs, GracefulConfig{Drain: 2 * time.Second,
				OnShutdown: func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					shutdownAt = time.Now()
					return nil
				}})
		}()
		time.Sleep(time.Second)
		signalled := time.Now()
		sigs <- syscall.SIGTERM
		synctest.Wait()
		if a.has(orders) {
			t.Fatal("not deregistered at once on the signal")
		}
		time.Sleep(100 * time.Millisecond)
		b.drop()
		goneFromB = time.Now()
		if err := <-done; err != nil {
			t.Fatalf("graceful: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if got := shutdownAt.Sub(signalled); got != 2*time.Second {
			t.Fatalf("OnShutdown %v after the signal, want the 2s drain", got)
		}
		if !goneFromB.Before(shutdownAt) {
			t.Fatal("shut down before every node dropped the instance")
		}
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders}); err != ErrClosed {
			t.Fatalf("client not closed after graceful: %v", err)
		}
	})
}

// TestClient_watchFreshNode: a node that never saw a write answers index
// 0, which cannot block; the watcher polls it every 200ms until it can.
func TestClient_watchFreshNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		c := fn.client(t, nil, "a")
		defer closeClient(t, c)
		ch, err := c.WatchChan(t.Context(), Query{Service: Service{Name: "orders"}})
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		time.Sleep(50 * time.Millisecond)
		changed := time.Now()
		fn.node("a").put(wireKey(orders))
		if l := <-ch; len(l) != 1 || time.Since(changed) > 200*time.Millisecond {
			t.Fatalf("got %d instances after %v, want 1 within 200ms", len(l), time.Since(changed))
		}
		_, posts, _ := fn.node("a").counts()
		if posts != 0 {
			t.Fatal("watch wrote")
		}
	})
}
