package grpcdoor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

var heldKey = func(service string) store.Key {
	return store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: service}
}

// One connection's many instances, spread over services of every owner,
// cost one lease request per remote owner per renewal, and every owner
// renews all of them; their records name the holder and the connection.
func TestDoor_oneLeasePerConnectionPerOwner(t *testing.T) {
	slow := func(c *agent.Config) { fast(c); c.GRPC.LeaseInterval = time.Hour } // renewals only when called
	cl := agenttest.NewCluster(t, 3, slow)
	holder := cl.Agent("n0")
	c := connect(t, holder)
	const services, per = 12, 20
	for s := range services {
		var ins []map[string]any
		for i := range per {
			ins = append(ins, map[string]any{"ip": fmt.Sprintf("10.1.%d.%d", s, i+1), "port": 80, "healthy": true, "enabled": true, "ephemeral": true})
		}
		typ, body := c.call("BatchInstanceRequest", map[string]any{"requestId": "b", "namespace": "public",
			"serviceName": fmt.Sprint("svc", s), "groupName": "DEFAULT_GROUP", "type": "batchRegisterInstance", "instances": ins})
		if typ != "BatchInstanceResponse" || body["success"] != true {
			t.Fatalf("batch: got %s %v", typ, body)
		}
	}
	await.True(t, 10*time.Second, "every instance on every node", func() bool {
		for _, a := range cl.Agents() {
			if a.Node().Store().Len() != services*per {
				return false
			}
		}
		return true
	})
	for i, a := range cl.Agents() {
		in, ok := a.Node().Store().Current(heldKey("svc0"), store.InstanceKey{Cluster: "DEFAULT", IP: "10.1.0.1", Port: 80})
		if !ok || in.Holder != "n0" || in.Conn != c.connID {
			t.Fatalf("agent %d holds %+v, want it bound to n0 and %s", i, in, c.connID)
		}
	}
	var members struct {
		Members []struct {
			Name                       string
			Connections, ConnInstances int
		}
	}
	getJSON(t, agenttest.URL(cl.Agent("n1"))+"/v1/cluster/members", &members)
	for _, m := range members.Members {
		want := map[bool][2]int{true: {1, services * per}, false: {0, 0}}[m.Name == "n0"]
		if m.Connections != want[0] || m.ConnInstances != want[1] {
			t.Fatalf("n1's /v1/cluster/members: %s holds %d connections %d instances, want %v", m.Name, m.Connections, m.ConnInstances, want)
		}
	}
	l := holder.GRPC().Leases()
	before := l.Stats()
	l.Renew(context.Background())
	after := l.Stats()
	sent, renewed := after.Renewals-before.Renewals, after.Renewed-before.Renewed
	owners := map[string]bool{}
	for s := range services {
		o, _ := holder.Node().Owner(heldKey(fmt.Sprint("svc", s)))
		owners[o.Name] = true
	}
	remote := len(owners)
	if owners["n0"] {
		remote--
	}
	// Each owner renews every instance of the connection (its own
	// services' and the others').
	if sent != uint64(remote) || after.RenewFailures != before.RenewFailures {
		t.Fatalf("one renewal sent %d lease requests (%d failed), want one per remote owner: %d", sent, after.RenewFailures-before.RenewFailures, remote)
	}
	if renewed != uint64(len(owners)*services*per) {
		t.Fatalf("owners renewed %d instances, want %d (all of the connection's, at each of %d owners)", renewed, len(owners)*services*per, len(owners))
	}
}

// A dead holder's instances go at failure detection plus the grace, not
// at their lease: with a lease of 18 s they must be gone well before.
func TestDoor_deadHoldersInstancesGoAfterTheGraceNotTheLease(t *testing.T) {
	long := func(c *agent.Config) { fast(c); c.GRPC.LeaseInterval = 6 * time.Second }
	cl := agenttest.NewCluster(t, 3, long)
	c := connect(t, cl.Agent("n2"))
	for i := range 20 {
		c.register(fmt.Sprint("dead", i%4), fmt.Sprintf("10.2.0.%d", i+1), 80)
	}
	await.True(t, 10*time.Second, "registered everywhere", func() bool {
		return cl.Agent("n0").Node().Store().Len() == 20 && cl.Agent("n1").Node().Store().Len() == 20
	})
	killed := time.Now()
	cl.Kill("n2")
	el := await.True(t, 10*time.Second, "the dead holder's instances gone from n0 and n1", func() bool {
		return cl.Agent("n0").Node().Store().Len() == 0 && cl.Agent("n1").Node().Store().Len() == 0
	})
	t.Logf("gone %v after the kill (lease 18 s, grace 1 s)", el)
	if since := time.Since(killed); since >= 12*time.Second {
		t.Fatalf("gone after %v: the lease, not the grace", since)
	}
}

// Clients of a dead holder re-register through another node at staggered
// times around the end of the grace, racing the expiry of their old
// records: every re-registered instance stays, on every node; the others
// go.
func TestDoor_reRegistrationRacingTheDeadHoldersExpiryWins(t *testing.T) {
	// A lease of 3 s: renewals keep up on a loaded machine, and the dead
	// holder's instances go at the grace, well before.
	steady := func(c *agent.Config) { fast(c); c.GRPC.LeaseInterval = time.Second }
	cl := agenttest.NewCluster(t, 3, steady)
	old := connect(t, cl.Agent("n2"))
	const n = 24
	for i := range n {
		old.register(fmt.Sprint("race", i%3), fmt.Sprintf("10.3.0.%d", i+1), 80)
	}
	await.True(t, 10*time.Second, "registered everywhere", func() bool {
		return cl.Agent("n0").Node().Store().Len() == n && cl.Agent("n1").Node().Store().Len() == n
	})
	cl.Kill("n2")
	// The even ones come back, through n0 or n1, from 0 to 1.5 s after the
	// kill: before, around and after the grace's end.
	var wg sync.WaitGroup
	for i := 0; i < n; i += 2 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 1500 * time.Millisecond / n)
			c := connect(t, cl.Agent(fmt.Sprint("n", i/2%2)))
			c.register(fmt.Sprint("race", i%3), fmt.Sprintf("10.3.0.%d", i+1), 80)
			t.Cleanup(func() { c.cc.Close() })
		})
	}
	wg.Wait()
	want := func(a *agent.Agent) bool {
		if a.Node().Store().Len() != n/2 {
			return false
		}
		for i := 0; i < n; i += 2 {
			if _, ok := a.Node().Snapshot(heldKey(fmt.Sprint("race", i%3))).Find(store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.3.0.%d", i+1), Port: 80}); !ok {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(15 * time.Second)
	for !want(cl.Agent("n0")) || !want(cl.Agent("n1")) {
		if time.Now().After(deadline) {
			for _, name := range []string{"n0", "n1"} {
				var names []string
				for _, m := range cl.Agent(name).Node().Members() {
					names = append(names, m.Name)
				}
				o, _ := cl.Agent(name).Node().Owner(heldKey("race1"))
				t.Logf("%s: members %v, race1 owned by %s", name, names, o.Name)
				for s := range 3 {
					for _, in := range cl.Agent(name).Node().Snapshot(heldKey(fmt.Sprint("race", s))).Instances {
						t.Logf("%s race%d: %s holder %s conn %s v%v", name, s, in.IP, in.Holder, in.Conn, in.Version)
					}
				}
			}
			t.Fatal("the re-registered half not listed, or the rest not gone, within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And they stay, through two renewals.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, name := range []string{"n0", "n1"} {
			if !want(cl.Agent(name)) {
				t.Fatalf("%s: the re-registered instances did not stay (%d listed)", name, cl.Agent(name).Node().Store().Len())
			}
		}
	}
}

// getJSON decodes the JSON answer of GET url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
}
