package grpcdoor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// Connections closing at once (a load balancer resetting them, a fleet of
// clients restarting) take all their instances off every node at once.
// Each node learns of each close as one message, not as one delta per
// instance, so even a small replication queue does not overflow; with
// leases and anti-entropy too slow to stand in, only the closes can
// remove the instances from the other nodes in time. The holder sends one
// close per connection and peer, not a record per instance.
func TestDoor_massCloseGoneOnEveryNode(t *testing.T) {
	cl := agenttest.NewCluster(t, 3, fast, func(c *agent.Config) {
		c.GRPC.LeaseInterval = 20 * time.Second // leases lapse after a minute
		c.AntiEntropyInterval = time.Minute
		c.TombstoneTTL = time.Minute // no tombstone reaped while a peer may still hold its record
		c.PeerQueue = 16             // far less than the instances closed at once
	})
	holder := cl.Agent("n0")
	l := holder.GRPC().Leases()
	const conns, per, services, workers = 50, 20, 10, 16
	ctx := context.Background()
	regStart := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c := w; c < conns; c += workers {
				id := fmt.Sprintf("mass-%03d", c)
				l.Open(id)
				for i := range per {
					k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: fmt.Sprintf("mass-%d", (c+i)%services)}
					in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.4.%d.%d", c, i+1), Port: 80},
						Weight: 1, Healthy: true, Enabled: true}
					if _, err := l.Register(ctx, id, k, in); err != nil {
						t.Errorf("register %s on %s: %v", in.IP, id, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	const total = conns * per
	listed := func(want int) func() (bool, string) {
		return func() (bool, string) {
			ok, saw := true, ""
			for _, a := range cl.Agents() {
				n := a.Node().Store().Len()
				ok = ok && n == want
				saw += fmt.Sprintf(" %s lists %d;", a.Node().Name(), n)
			}
			return ok, saw
		}
	}
	await.Explain(t, 20*time.Second, "every registration on every node", listed(total))
	t.Logf("%d registrations on every node after %v", total, time.Since(regStart))
	before := holder.Node().Stats()
	start := time.Now()
	for c := range conns {
		wg.Go(func() { l.Release(ctx, fmt.Sprintf("mass-%03d", c)) })
	}
	wg.Wait()
	released := time.Since(start)
	t.Logf("released in %v", released)
	defer func() {
		if t.Failed() {
			st := holder.Node().Store()
			shown := 0
			for _, k := range st.AllServices() {
				for _, in := range st.Snapshot(k).Instances {
					if shown < 5 {
						t.Logf("left: %s %s:%d holder %s conn %s version %v healthy %v", k, in.IP, in.Port, in.Holder, in.Conn, in.Version, in.Healthy)
						shown++
					}
				}
			}
			t.Logf("lease stats %+v", l.Stats())
		}
	}()
	el := await.Explain(t, 10*time.Second, "every instance gone from every node", listed(0))
	after := holder.Node().Stats()
	records, closes := after.DeltaRecords-before.DeltaRecords, after.ClosesSent-before.ClosesSent
	t.Logf("%d connections holding %d instances closed at once: released in %v, gone from every node after %v; the holder sent %d records and %d closes",
		conns, total, released, el, records, closes)
	if records > total/10 || closes != 2*conns {
		t.Fatalf("the holder sent %d records and %d closes to its 2 peers, want one close per connection and peer", records, closes)
	}
}

// A holder started again under the same name faster than failure
// detection notices (a service manager restarting it on the same
// addresses) is not seen gone, so nobody brings its earlier connections'
// instances forward: the new incarnation closes the connections bound to
// it that it does not hold once it has synced, and at each renewal. Here
// the earlier incarnation's records are planted on every node, and the
// holder's renewal must take them off every node, long before their
// lease (a minute) lapses.
func TestDoor_holderClosesConnectionsItDoesNotHold(t *testing.T) {
	slow := func(c *agent.Config) { fast(c); c.GRPC.LeaseInterval = 20 * time.Second }
	cl := agenttest.NewCluster(t, 3, slow)
	live := connect(t, cl.Agent("n2"))
	live.register("reborn", "10.5.0.9", 80)
	k := heldKey("reborn")
	// n2 looks for an earlier incarnation's connections once it has
	// synced: the records below must arrive after that look, or it
	// closes them before they are listed.
	l := cl.Agent("n2").GRPC().Leases()
	await.Explain(t, 10*time.Second, "n2's first look for stale connections", func() (bool, string) {
		s := l.Stats()
		return s.StaleChecks > 0, fmt.Sprintf("%+v", s)
	})
	var recs []store.Record
	for i := range 3 {
		in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.5.0.%d", i+1), Port: 80},
			Weight: 1, Healthy: true, Enabled: true, Ephemeral: true, Holder: "n2", Conn: "1700000000000_10.0.0.9_5000",
			BeatInterval: 20 * time.Second, BeatTimeout: time.Minute, DeleteTimeout: time.Minute,
			Version: store.Version{Clock: time.Now().UnixNano(), Node: "n2"}}
		recs = append(recs, store.Record{Key: k, Instance: &in})
	}
	for _, a := range cl.Agents() {
		a.Node().Merge(recs, false)
	}
	listed := func(want int) func() (bool, string) {
		return func() (bool, string) {
			ok, saw := true, ""
			for _, a := range cl.Agents() {
				n := len(httpHosts(t, a, "reborn"))
				ok = ok && n == want
				saw += fmt.Sprintf(" %s lists %d;", a.Node().Name(), n)
			}
			return ok, saw
		}
	}
	await.Explain(t, 10*time.Second, "the earlier incarnation's instances and the live one on every node", listed(4))
	l.Renew(context.Background())
	el := await.Explain(t, 10*time.Second, "only the live connection's instance left on every node", listed(1))
	if s := l.Stats(); s.StaleClosed != 1 {
		t.Fatalf("stale connections closed: %d, want 1", s.StaleClosed)
	}
	t.Logf("the earlier incarnation's instances gone from every node %v after the renewal", el)
}
