package client

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/roster-io/roster/api"
)

// registerReplicated registers orders through entry with 1s beats and
// puts it on every other host, as replication would.
func registerReplicated(t *testing.T, fn *fakeNet, c *Client, entry string, hosts ...string) {
	t.Helper()
	if _, err := c.Register(t.Context(), Registration{InstanceKey: orders, BeatInterval: time.Second}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	for _, h := range hosts {
		if h != entry {
			fn.node(h).put(fn.node(entry).insts[orders.normal()])
		}
	}
}

// beatsAt returns the beats each host received.
func beatsAt(fn *fakeNet, hosts ...string) map[string]int {
	out := map[string]int{}
	for _, h := range hosts {
		out[h], _, _ = fn.node(h).counts()
	}
	return out
}

// TestClient_ringRefresh: the client reads the ring table once and keeps
// it while the members report the same ring version; when the version
// changes it reads the table again and beats follow the new owner; a
// failed beat to the owner makes it read the table again at once.
func TestClient_ringRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hosts := []string{"n1:1", "n2:1", "n3:1"}
		fn := newFakeNet(hosts...)
		fn.setRing(1, 7, 0, hosts...)
		first, second := ringOwner(orders, 7, 0, hosts...), ringOwner(orders, 7, 1, hosts...)
		c := fn.client(t, func(c *Config) { c.MembersRefresh = 2 * time.Second }, hosts[0])
		defer closeClient(t, c)
		registerReplicated(t, fn, c, hosts[0], hosts...)
		time.Sleep(4*time.Second + 60*time.Millisecond) // members read at 0, 2s and 4s
		synctest.Wait()
		if got := fn.ringReads(); got != 1 {
			t.Fatalf("ring tables read in 4s of an unchanged ring: got %d, want 1", got)
		}
		if b := beatsAt(fn, hosts...); b[first] != 4 {
			t.Fatalf("beats at the owner %s: got %v, want 4 there", first, b)
		}

		fn.setRing(2, 7, 1, hosts...) // the owner moves: read at the refresh at 6s
		time.Sleep(3 * time.Second)
		synctest.Wait()
		before := beatsAt(fn, hosts...)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		after := beatsAt(fn, hosts...)
		if got := fn.ringReads(); got != 2 {
			t.Fatalf("ring tables read after a version change: got %d, want 2", got)
		}
		for _, h := range hosts {
			if want := map[bool]int{true: 3, false: 0}[h == second]; after[h]-before[h] != want {
				t.Fatalf("beats at %s in 3s after the owner moved to %s: got %d, want %d", h, second, after[h]-before[h], want)
			}
		}

		fn.node(second).setDown(true)
		time.Sleep(time.Second) // the beat at 11s fails at the owner
		synctest.Wait()
		if got := fn.ringReads(); got != 3 {
			t.Fatalf("ring tables read after a failed beat to the owner: got %d, want 3", got)
		}
	})
}

// TestClient_ringUnknown: without a ring table the client can read (a
// node that serves none, or one with an unknown hash) every beat goes
// through the node it was given, which hands it on.
func TestClient_ringUnknown(t *testing.T) {
	for name, mutate := range map[string]func(fn *fakeNet, hosts []string){
		"no table": func(fn *fakeNet, hosts []string) {
			for _, h := range hosts {
				fn.node(h).ring = nil
			}
		},
		"unknown hash": func(fn *fakeNet, hosts []string) {
			for _, h := range hosts {
				r := *fn.node(h).ring
				r.Hash = "md5"
				fn.node(h).ring = &r
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hosts := []string{"n1:1", "n2:1", "n3:1"}
				fn := newFakeNet(hosts...)
				fn.setRing(1, 7, 0, hosts...)
				mutate(fn, hosts)
				entry := hosts[0]
				if entry == ringOwner(orders, 7, 0, hosts...) {
					entry = hosts[1]
				}
				c := fn.client(t, nil, entry)
				defer closeClient(t, c)
				registerReplicated(t, fn, c, entry, hosts...)
				time.Sleep(3*time.Second + 60*time.Millisecond)
				synctest.Wait()
				for h, n := range beatsAt(fn, hosts...) {
					if want := map[bool]int{true: 3, false: 0}[h == entry]; n != want {
						t.Fatalf("beats at %s (entry %s): got %d, want %d", h, entry, n, want)
					}
				}
				if _, ok := c.ownerURL(orders.Service); ok {
					t.Fatal("the client claims to know the owner")
				}
			})
		})
	}
}

// TestService_String: the client's service key is the contract's, with
// the defaults applied.
func TestService_String(t *testing.T) {
	if got, want := (Service{Name: "orders"}).String(), api.ServiceKey(api.DefaultNamespace, api.DefaultGroup, "orders"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := (Service{Namespace: "ns", Group: "g", Name: "s"}).String(); got != "ns##g@@s" {
		t.Fatalf("got %q", got)
	}
}
