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
	const beatInterval, deleteTimeout = 500 * time.Millisecond, 5 * time.Second
	tc := agenttest.NewCluster(t, 4)
	md := `{"preserved.heart.beat.interval":"500","preserved.heart.beat.timeout":"1000","preserved.ip.delete.timeout":"5000"}`
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
	// check beats 10.0.0.2 through every survivor, checking that it is
	// healthy on each, and records when 10.0.0.1 is first gone from all.
	var gone time.Time
	check := func() {
		all := true
		for _, n := range live() {
			beat(n, "10.0.0.2")
			if _, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", "10.0.0.2", "port", "80")); !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("beating instance not healthy on %s: %s", n.Node().Name(), body)
			}
			if code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80")); code != http.StatusNotFound {
				all = false
			}
		}
		if all && gone.IsZero() {
			gone = time.Now()
		}
	}
	keepChecking := func(until time.Time) {
		for time.Now().Before(until) {
			check()
			time.Sleep(100 * time.Millisecond)
		}
	}
	// killOwner kills the service's owner and returns when every
	// survivor names the same new owner (each detects the death on its
	// own, up to a couple of seconds apart on a loaded machine), with the
	// time the new owner itself first named itself: its takeover.
	killOwner := func() time.Time {
		owner, _ := ownerAndOther(tc, svc)
		name := owner.Node().Name()
		tc.Kill(name)
		selfNamed := map[string]time.Time{}
		var took time.Time
		await.True(t, 10*time.Second, "every survivor naming a new owner of "+svc, func() bool {
			check()
			named, agree := "", true
			for _, n := range live() {
				m, ok := n.Node().Owner(keyOf(svc))
				if ok && m.Name == n.Node().Name() && selfNamed[m.Name].IsZero() {
					selfNamed[m.Name] = time.Now()
				}
				if !ok || m.Name == name || !m.Ready || (named != "" && m.Name != named) {
					agree = false
				}
				named = m.Name
			}
			took = selfNamed[named]
			return agree && !took.IsZero()
		})
		return took
	}
	// Before the first kill, the owner has had time to list the silent
	// instance as quiet (store.QuietAfter, 750 ms) and report it (a
	// HeardInterval tick and the heirs' pace); after a takeover, the new
	// owner has too, even had it not had that report.
	keepChecking(lastBeat.Add(1500 * time.Millisecond))
	first := killOwner()
	keepChecking(first.Add(time.Second))
	second := killOwner()

	limit := lastBeat.Add(deleteTimeout)
	if t2 := second.Add(max(beatInterval, store.MinTakeoverGrace)); t2.After(limit) {
		limit = t2
	}
	limit = limit.Add(700 * time.Millisecond) // polling, replication and the sweeper
	for time.Now().Before(lastBeat.Add(15*time.Second)) && gone.IsZero() {
		keepChecking(time.Now().Add(100 * time.Millisecond))
	}
	t.Logf("takeovers at %v and %v after the last beat; gone everywhere after %v (limit %v)",
		first.Sub(lastBeat).Round(time.Millisecond), second.Sub(lastBeat).Round(time.Millisecond),
		gone.Sub(lastBeat).Round(time.Millisecond), limit.Sub(lastBeat).Round(time.Millisecond))
	if gone.IsZero() || gone.After(limit) {
		t.Fatalf("silent instance gone from every survivor %v after its last beat, want by %v",
			gone.Sub(lastBeat).Round(time.Millisecond), limit.Sub(lastBeat).Round(time.Millisecond))
	}
}
