package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// TestCluster_silentInstanceExpiresDespiteOwnerMoves kills the owner of a
// silent instance's service twice in a row. Each new owner counts the
// instance's expiry from its last beat, as its former owner reported it,
// not from the takeover: it is gone from every survivor by its delete
// timeout after its last beat, or one beat interval after the last
// takeover if that is later (a fresh timeout per takeover would keep it a
// whole delete timeout past the last one); a takeover's grace is at least
// store.MinTakeoverGrace (1 s). A second instance beating all
// along through the survivors stays healthy everywhere.
func TestCluster_silentInstanceExpiresDespiteOwnerMoves(t *testing.T) {
	const svc = "moving"
	const beatInterval, deleteTimeout = 500 * time.Millisecond, 3 * time.Second
	tc := agenttest.NewCluster(t, 4)
	md := `{"preserved.heart.beat.interval":"500","preserved.heart.beat.timeout":"1000","preserved.ip.delete.timeout":"3000"}`
	any := tc.Agents()[0]
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if code, body := nacos(t, base(any), http.MethodPost, "instance", vals("serviceName", svc, "ip", ip, "port", "80", "metadata", md)); code != 200 {
			t.Fatalf("register %s: %d %s", ip, code, body)
		}
		waitListed(t, tc, svc, ip)
	}
	beat := func(via *agent.Agent, ip string) {
		if code, body := nacos(t, base(via), http.MethodPut, "instance/beat", vals("serviceName", svc, "ip", ip, "port", "80")); code != 200 {
			t.Fatalf("beat %s: %d %s", ip, code, body)
		}
	}
	beat(any, "10.0.0.1")
	lastBeat := time.Now() // 10.0.0.1 falls silent from here (the answer came after the beat)

	live := func() []*agent.Agent { return tc.Agents() }
	// keepBeating beats 10.0.0.2 through the survivors every 200 ms until
	// until, checking that it is healthy on each of them.
	keepBeating := func(until time.Time) {
		for time.Now().Before(until) {
			for _, n := range live() {
				beat(n, "10.0.0.2")
				if _, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", "10.0.0.2", "port", "80")); !strings.Contains(body, `"healthy":true`) {
					t.Fatalf("beating instance not healthy on %s: %s", n.Node().Name(), body)
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// killOwner kills the service's owner and returns when a survivor
	// names another owner.
	killOwner := func() time.Time {
		owner, _ := ownerAndOther(tc, svc)
		name := owner.Node().Name()
		tc.Kill(name)
		var took time.Time
		await.True(t, 10*time.Second, "a new owner of "+svc, func() bool {
			keepBeating(time.Now().Add(50 * time.Millisecond))
			m, ok := live()[0].Node().Owner(keyOf(svc))
			if ok && m.Name != name && m.Ready {
				took = time.Now()
				return true
			}
			return false
		})
		return took
	}
	keepBeating(lastBeat.Add(time.Second))
	first := killOwner()
	keepBeating(first.Add(600 * time.Millisecond)) // the new owner reports at least once
	second := killOwner()

	limit := lastBeat.Add(deleteTimeout)
	if t2 := second.Add(max(beatInterval, store.MinTakeoverGrace)); t2.After(limit) {
		limit = t2
	}
	limit = limit.Add(700 * time.Millisecond) // polling, replication and the sweeper
	var gone time.Time
	for time.Now().Before(lastBeat.Add(15*time.Second)) && gone.IsZero() {
		keepBeating(time.Now().Add(100 * time.Millisecond))
		all := true
		for _, n := range live() {
			if code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80")); code != http.StatusNotFound {
				all = false
			}
		}
		if all {
			gone = time.Now()
		}
	}
	t.Logf("takeovers at %v and %v after the last beat; gone everywhere after %v (limit %v)",
		first.Sub(lastBeat).Round(time.Millisecond), second.Sub(lastBeat).Round(time.Millisecond),
		gone.Sub(lastBeat).Round(time.Millisecond), limit.Sub(lastBeat).Round(time.Millisecond))
	if gone.IsZero() || gone.After(limit) {
		t.Fatalf("silent instance gone from every survivor %v after its last beat, want by %v",
			gone.Sub(lastBeat).Round(time.Millisecond), limit.Sub(lastBeat).Round(time.Millisecond))
	}
}
