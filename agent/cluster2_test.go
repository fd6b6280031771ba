package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/peer"
)

func TestCluster_gracefulLeaveRehomesFast(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	leaving := tc.Agent("n2")
	start := time.Now()
	tc.Stop(leaving.Node().Name())
	el := func() time.Duration {
		await.True(t, time.Second, "peers drop the leaving node from the ring", func() bool {
			for _, n := range tc.Agents() {
				if n.Node().Ring().Len() != 2 {
					return false
				}
			}
			return true
		})
		return time.Since(start)
	}()
	t.Logf("ring re-homed %v after a graceful leave", el)
}

func TestCluster_refusesWritesWhileLeaving(t *testing.T) {
	n, _ := startNode(t)
	n.Node().SetStateForTesting(true, true)
	code, body := nacos(t, "http://"+n.Addr(), http.MethodPost, "instance", vals("serviceName", "s", "ip", "10.0.0.1", "port", "1"))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("write while leaving: got %d %s, want 503", code, body)
	}
	resp, err := http.Get("http://" + n.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while leaving: got %d, want 503", resp.StatusCode)
	}
}

func TestCluster_notReadyUntilSynced(t *testing.T) {
	n, base := startNode(t)
	n.Node().SetStateForTesting(false, false)
	code, body := do(t, http.MethodGet, base+"/nacos/v1/ns/instance/list?serviceName=s", "", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "syncing") {
		t.Fatalf("read before sync: got %d %s, want 503 with the reason", code, body)
	}
	code, body = do(t, http.MethodGet, base+"/readyz", "", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "syncing") {
		t.Fatalf("readyz before sync: got %d %s", code, body)
	}
	if code, _ := do(t, http.MethodGet, base+"/v1/cluster/members", "", ""); code != 200 {
		t.Fatalf("cluster view before sync: got %d, want 200", code)
	}
}

func TestCluster_restartedNodeSyncsBeforeServing(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	for i := 0; i < 50; i++ {
		if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPost, "instance",
			vals("serviceName", fmt.Sprintf("s%d", i%5), "ip", fmt.Sprintf("10.0.0.%d", i+1), "port", "80", "ephemeral", "false")); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	tc.Kill("n2")
	tc.WaitConverged(5 * time.Second)
	n2 := tc.Start("n2")
	await.True(t, 10*time.Second, "restarted n2 ready", n2.Ready)
	total := 0
	for i := 0; i < 5; i++ {
		total += len(list(t, base(n2), vals("serviceName", fmt.Sprintf("s%d", i))).Hosts)
	}
	if total != 50 {
		t.Fatalf("restarted node lists %d instances, want 50", total)
	}
	tc.WaitConverged(5 * time.Second)
}

func TestCluster_antiEntropyRepairsMissedDeltas(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	// n0 cannot send anything to n2: n2 misses n0's deltas and can only
	// learn of the write by pulling in an anti-entropy exchange.
	tc.Cut("n0", "n2")
	start := time.Now()
	if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPost, "instance", vals("serviceName", "ae", "ip", "10.0.0.1", "port", "80", "ephemeral", "false")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	await.True(t, 3*time.Second, "n2 repaired by anti-entropy", func() bool {
		return len(list(t, base(tc.Agent("n2")), vals("serviceName", "ae")).Hosts) == 1
	})
	t.Logf("repaired after %v (anti-entropy interval %v)", time.Since(start), agent.DefaultLocalConfig().AntiEntropyInterval)
}

// A missed write in a partition of many records is repaired too: the
// exchange then compares only the sub-digest buckets that differ
// (store/subdigest.go), and the record missed is in one of them.
func TestCluster_antiEntropyRepairsAMissedDeltaAmongMany(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	for i := range 100 {
		ip := fmt.Sprintf("10.0.1.%d", i)
		if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPost, "instance", vals("serviceName", "many", "ip", ip, "port", "80", "ephemeral", "false")); code != 200 {
			t.Fatalf("register %s: %d %s", ip, code, body)
		}
	}
	await.True(t, 5*time.Second, "n2 lists all 100", func() bool {
		return len(list(t, base(tc.Agent("n2")), vals("serviceName", "many")).Hosts) == 100
	})
	compared := func() (parts, entries uint64) {
		for _, a := range tc.Agents() {
			st := a.Node().Stats()
			parts, entries = parts+st.AECompared, entries+st.AESummarized
		}
		return parts, entries
	}
	parts0, entries0 := compared()
	tc.Cut("n0", "n2")
	if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPost, "instance", vals("serviceName", "many", "ip", "10.0.2.1", "port", "80", "ephemeral", "false")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	await.True(t, 3*time.Second, "n2 repaired by anti-entropy", func() bool {
		return len(list(t, base(tc.Agent("n2")), vals("serviceName", "many")).Hosts) == 101
	})
	// Whole summaries of the partition would be 201 entries a comparison;
	// one bucket of 64 holds a few records on each side.
	parts, entries := compared()
	parts, entries = parts-parts0, entries-entries0
	if parts == 0 || entries/parts > 20 {
		t.Fatalf("%d summary entries in %d partition comparisons; want a bucket's few each", entries, parts)
	}
	t.Logf("%d summary entries in %d partition comparisons", entries, parts)
}

// TestCluster_partitionHeal splits four nodes two and two for longer than
// failure detection while a client keeps beating on one side, then heals:
// the beating instance is never lost on its side and holds everywhere
// after healing, a deregistration made on the other side holds, and a
// registration made on either side spreads.
func TestCluster_partitionHeal(t *testing.T) {
	// Tombstones must outlive the partition (see docs/design.md: the tombstone TTL
	// bounds how long a partition may last and still heal cleanly).
	tc := agenttest.NewCluster(t, 4, func(c *agent.Config) { c.TombstoneTTL = time.Minute })
	// A beat timeout well above a background beat round (at most one 1 s
	// request) plus a 1 s hand-off on a loaded machine under -race; the
	// far side removes the beating instance a delete timeout after it
	// notices the partition.
	md := `{"preserved.heart.beat.timeout":"4000","preserved.ip.delete.timeout":"5000"}`
	reg := func(n *agent.Agent, svc, ip string) {
		t.Helper()
		if code, body := nacos(t, base(n), http.MethodPost, "instance", vals("serviceName", svc, "ip", ip, "port", "80", "metadata", md)); code != 200 {
			t.Fatalf("register %s on %s: %d %s", ip, n.Node().Name(), code, body)
		}
	}
	beat := func(n *agent.Agent, svc, ip string) {
		t.Helper()
		if code, body := nacos(t, base(n), http.MethodPut, "instance/beat", vals("serviceName", svc, "ip", ip, "port", "80")); code != 200 {
			t.Fatalf("beat %s on %s: %d %s", ip, n.Node().Name(), code, body)
		}
	}
	healthyOn := func(n *agent.Agent, svc, ip string) bool {
		_, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", ip, "port", "80"))
		return strings.Contains(body, `"healthy":true`)
	}
	a, b := []string{"n0", "n1"}, []string{"n2", "n3"}
	reg(tc.Agent("n2"), "split", "10.0.0.1") // beats on side b throughout
	reg(tc.Agent("n0"), "split", "10.0.0.2") // deregistered on side a
	var sideB atomic.Bool                    // 10.0.0.3 registered on side b
	beatInBackground(t, 100*time.Millisecond, func() []beatTarget {
		ts := []beatTarget{{tc.Agent("n2"), "split", "10.0.0.1"}, {tc.Agent("n1"), "split", "10.0.0.2"}}
		if sideB.Load() {
			ts = append(ts, beatTarget{tc.Agent("n3"), "split", "10.0.0.3"})
		}
		return ts
	})
	waitListed(t, tc, "split", "10.0.0.1")
	waitListed(t, tc, "split", "10.0.0.2")
	tc.Partition(a, b)
	start := time.Now()
	deregistered := false
	// goneOnA: side a, which hears none of 10.0.0.1's beats, has removed
	// it; healing must then bring it back there.
	goneOnA := func() bool {
		for _, name := range a {
			if code, _ := nacos(t, base(tc.Agent(name)), http.MethodGet, "instance", vals("serviceName", "split", "ip", "10.0.0.1", "port", "80")); code != http.StatusNotFound {
				return false
			}
		}
		return true
	}
	// The partition lasts longer than failure detection, and until side a
	// removed the beating instance: detection plus its delete timeout,
	// which on a loaded machine can take several seconds more.
	for time.Since(start) < 4500*time.Millisecond || !goneOnA() {
		if time.Since(start) > 40*time.Second {
			t.Fatalf("side a still lists 10.0.0.1 %v into the partition", time.Since(start).Round(time.Millisecond))
		}
		beat(tc.Agent("n2"), "split", "10.0.0.1")
		beat(tc.Agent("n1"), "split", "10.0.0.2")
		if deregistered {
			beat(tc.Agent("n3"), "split", "10.0.0.3")
		}
		for _, name := range b {
			if !healthyOn(tc.Agent(name), "split", "10.0.0.1") {
				t.Fatalf("beating instance unhealthy or missing on %s during the partition", name)
			}
		}
		if !deregistered && time.Since(start) > time.Second {
			if code, body := nacos(t, base(tc.Agent("n0")), http.MethodDelete, "instance", vals("serviceName", "split", "ip", "10.0.0.2", "port", "80")); code != 200 {
				t.Fatalf("deregister on side a: %d %s", code, body)
			}
			deregistered = true
			reg(tc.Agent("n3"), "split", "10.0.0.3") // a registration on side b
			sideB.Store(true)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("side a removed the beating instance within %v of the partition", time.Since(start).Round(time.Millisecond))
	tc.Heal()
	healed := time.Now()
	// The sides exchange what they wrote: the far side's expiry of the
	// beating instance meets the re-assertion of the node that heard its
	// beats. Within a bound every node lists it healthy, and it stays so.
	// (Rejoining takes a gossip reconnect and the reconciliation an
	// anti-entropy round, 200 ms each here; but memberlist's suspicions
	// from the partition make members flap for seconds after healing:
	// up to 11.6 s on a loaded machine, hence the margins.)
	tc.WaitConverged(30 * time.Second)
	for _, n := range tc.Agents() {
		await.True(t, 30*time.Second, "beating instance healthy on "+n.Node().Name()+" after healing", func() bool {
			beat(tc.Agent("n2"), "split", "10.0.0.1")
			beat(tc.Agent("n3"), "split", "10.0.0.3")
			return healthyOn(n, "split", "10.0.0.1")
		})
	}
	t.Logf("beating instance healthy everywhere %v after healing", time.Since(healed))
	settled := time.Now()
	for time.Since(settled) < 2*time.Second {
		beat(tc.Agent("n2"), "split", "10.0.0.1")
		beat(tc.Agent("n3"), "split", "10.0.0.3")
		for _, n := range tc.Agents() {
			if !healthyOn(n, "split", "10.0.0.1") {
				t.Fatalf("beating instance lost on %s after the cluster settled", n.Node().Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tc.WaitConverged(20 * time.Second)
	for _, n := range tc.Agents() {
		await.True(t, 10*time.Second, "registry agrees on "+n.Node().Name(), func() bool {
			beat(tc.Agent("n2"), "split", "10.0.0.1")
			beat(tc.Agent("n3"), "split", "10.0.0.3")
			code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "split", "ip", "10.0.0.2", "port", "80"))
			return healthyOn(n, "split", "10.0.0.1") && healthyOn(n, "split", "10.0.0.3") && code == http.StatusNotFound
		})
	}
}

// TestCluster_newOwnerGivesFreshTimeout is Nacos issue #1873: a node that
// takes a service over must not expire its instances by the stale
// last-beat times it holds (it never saw their beats).
func TestCluster_newOwnerGivesFreshTimeout(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	owner, other := ownerAndOther(tc, "grace")
	// The delete timeout outlasts a graceful stop of the owner under -race
	// on a loaded machine (3.7 s seen), during which nothing beats.
	md := `{"preserved.heart.beat.timeout":"600","preserved.ip.delete.timeout":"10000"}`
	if code, body := nacos(t, base(owner), http.MethodPost, "instance", vals("serviceName", "grace", "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	waitListed(t, tc, "grace", "10.0.0.1")
	beatAndCheck := func(d time.Duration, via func() *agent.Agent) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			if code, body := nacos(t, base(via()), http.MethodPut, "instance/beat", vals("serviceName", "grace", "ip", "10.0.0.1", "port", "80")); code != 200 || !strings.Contains(body, "10200") {
				t.Fatalf("beat: %d %s", code, body)
			}
			for _, n := range tc.Agents() {
				if !strings.Contains(func() string {
					_, b := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "grace", "ip", "10.0.0.1", "port", "80"))
					return b
				}(), `"healthy":true`) {
					t.Fatalf("beating instance not healthy on %s", n.Node().Name())
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Beats reach the owner only, for longer than the timeout: the other
	// nodes' last-beat times are now stale.
	beatAndCheck(1500*time.Millisecond, func() *agent.Agent { return other })
	// The owner leaves; a node with stale times takes over.
	tc.Stop(owner.Node().Name())
	beatAndCheck(1500*time.Millisecond, func() *agent.Agent { return other })
}

// TestInternal_rejectsNonMembers checks a client cannot post to the
// internal API.
func TestInternal_rejectsNonMembers(t *testing.T) {
	n, base := startNode(t)
	before := n.Node().Store().Index()
	rec := `{"records":[{"key":{"namespace":"public","group":"g","service":"s"},"instance":{"cluster":"DEFAULT","ip":"10.0.0.1","port":1,"version":{"clock":9999999999999999999,"node":"evil"}}}]}`
	for _, hdr := range []string{"", "nobody", n.Node().Name()} {
		req, _ := http.NewRequest(http.MethodPost, base+"/internal/v1/deltas", strings.NewReader(rec))
		if hdr != "" {
			req.Header.Set(peer.NodeHeader, hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("internal request naming %q: got %d, want 403", hdr, resp.StatusCode)
		}
	}
	if n.Node().Store().Index() != before {
		t.Fatal("a rejected internal request changed the registry")
	}
}

// TestCluster_beatFloodIsBatched checks that a flood of beats through a
// node that does not own their service costs far fewer hand-off requests
// than beats.
func TestCluster_beatFloodIsBatched(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	owner, other := ownerAndOther(tc, "flood")
	const instances, rounds = 50, 10
	for i := 0; i < instances; i++ {
		if code, body := nacos(t, base(owner), http.MethodPost, "instance", vals("serviceName", "flood", "ip", fmt.Sprintf("10.0.1.%d", i+1), "port", "80")); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	before := other.Node().Stats().HandoffBatches
	var wg sync.WaitGroup
	errs := make(chan string, instances)
	for i := 0; i < instances; i++ {
		wg.Add(1)
		go func(ip string) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "flood", "ip", ip, "port", "80"))
				if code != 200 || !strings.Contains(body, "10200") {
					errs <- fmt.Sprintf("beat %s: %d %s", ip, code, body)
					return
				}
			}
		}(fmt.Sprintf("10.0.1.%d", i+1))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	batches := other.Node().Stats().HandoffBatches - before
	t.Logf("%d beats handed off in %d requests", instances*rounds, batches)
	if batches == 0 || batches > instances*rounds/2 {
		t.Fatalf("hand-off requests: got %d for %d beats, want at most half as many", batches, instances*rounds)
	}
}

// TestCluster_deregisterBeforeRegistrationArrives checks a deregistration
// through a node that has not yet received the registration still holds:
// the tombstone is written and replicated, and the late registration
// cannot bring the instance back.
func TestCluster_deregisterBeforeRegistrationArrives(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	tc.Cut("n0", "n2") // n2 misses n0's deltas for now
	if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPost, "instance", vals("serviceName", "race", "ip", "10.0.0.1", "port", "80", "ephemeral", "false")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, body := nacos(t, base(tc.Agent("n2")), http.MethodDelete, "instance", vals("serviceName", "race", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("deregister through n2: %d %s", code, body)
	}
	tc.Heal()
	for _, n := range tc.Agents() {
		await.True(t, 2*time.Second, "deregistration holds on "+n.Node().Name(), func() bool {
			code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "race", "ip", "10.0.0.1", "port", "80"))
			return code == http.StatusNotFound
		})
	}
	time.Sleep(600 * time.Millisecond) // a few anti-entropy rounds; nothing may bring it back
	for _, n := range tc.Agents() {
		if code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "race", "ip", "10.0.0.1", "port", "80")); code != http.StatusNotFound {
			t.Fatalf("deregistered instance came back on %s", n.Node().Name())
		}
	}
}

// TestCluster_fastRestartOnNewPorts restarts a node under the same name on
// new ports before its peers noticed it died. It must not serve or own
// anything until the cluster accepts its new address, and then it must
// hold every write and see every beat.
func TestCluster_fastRestartOnNewPorts(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	// The beats go through n0, which hands them to each service's owner.
	// Until the survivors declare the old n2 dead, the old n2 stays the
	// owner of its share: its beats reach no owner, and the new owner
	// counts them from that death (docs/design.md, takeover from the last
	// beat). The restarted n2 rejoining under the same name slows that
	// detection: 6 s on a loaded machine. These beats carry no instance,
	// so they cannot re-register an instance removed meanwhile (a Nacos
	// client's would): the delete timeout outlasts the detection three
	// times over. The beat timeout is well above a background beat round
	// (at most one 1 s request) plus a 1 s hand-off, and the checks below
	// last longer than it, so a restarted n2 that owned services without
	// seeing their beats would list them unhealthy.
	const beatTimeout = 4 * time.Second
	md := `{"preserved.heart.beat.timeout":"4000","preserved.ip.delete.timeout":"20000"}`
	tc.Kill("n2")
	n2 := tc.Start("n2") // new ports (port 0), same name, at once
	for i := 0; i < 40; i++ {
		svc := fmt.Sprintf("fast-%d", i)
		if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPost, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	// The instances beat while n2 comes back: their delete timeout counts
	// from their last beat, however their owners change meanwhile.
	beatInBackground(t, 100*time.Millisecond, func() []beatTarget {
		ts := make([]beatTarget, 40)
		for i := range ts {
			ts[i] = beatTarget{tc.Agent("n0"), fmt.Sprintf("fast-%d", i), "10.0.0.1"}
		}
		return ts
	})
	await.True(t, 30*time.Second, "restarted n2 ready", n2.Ready)
	tc.WaitConverged(20 * time.Second)
	end := time.Now().Add(beatTimeout + time.Second)
	for time.Now().Before(end) {
		for i := 0; i < 40; i++ {
			svc := fmt.Sprintf("fast-%d", i)
			if code, body := nacos(t, base(tc.Agent("n0")), http.MethodPut, "instance/beat", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80")); code != 200 || !strings.Contains(body, "10200") {
				t.Fatalf("beat %s: %d %s", svc, code, body)
			}
		}
		for i := 0; i < 40; i++ {
			svc := fmt.Sprintf("fast-%d", i)
			code, body := nacos(t, base(n2), http.MethodGet, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80"))
			if code != 200 || !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("restarted n2 on %s: %d %s", svc, code, body)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}
