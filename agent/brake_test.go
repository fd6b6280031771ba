package agent_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// beatWhileDelayed registers an instance with a 400 ms beat timeout on a
// node whose owner-side beat processing is delayed by 700 ms (each beat
// waits that long before it reaches the store, as beats queued behind an
// overload would), beats it every 100 ms for 1.5 s, and reports whether
// the node marked it unhealthy meanwhile.
func beatWhileDelayed(t *testing.T, base string, a *agent.Agent) (sawUnhealthy bool) {
	t.Helper()
	md := `{"preserved.heart.beat.interval":"100","preserved.heart.beat.timeout":"400","preserved.ip.delete.timeout":"20000"}`
	inst := vals("serviceName", "braked", "ip", "10.0.0.1", "port", "80")
	if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "braked", "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	a.Node().SetBeatDelay(700 * time.Millisecond)
	var wg sync.WaitGroup
	stop := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(stop) {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPut, base+"/nacos/v1/ns/instance/beat?"+inst.Encode(), nil)
			if err != nil {
				return
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
		if _, body := nacos(t, base, http.MethodGet, "instance", inst); strings.Contains(body, `"healthy":false`) {
			sawUnhealthy = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.Node().SetBeatDelay(0)
	wg.Wait()
	// A GET may miss a short unhealthy spell on a loaded machine; the
	// owner's expiry count does not.
	return sawUnhealthy || a.Node().Stats().ExpiredUnhealthy > 0
}

// TestBrake_delayedBeatsDoNotExpire: an owner whose beat processing falls
// behind by more than the instance's timeout holds its expiries instead of
// expiring an instance whose beats are waiting; once the beats stop and
// the backlog is gone, the brake releases and the instance expires one
// timeout later. Without the brake (lag 0) the same run marks it
// unhealthy, so the scenario is a real one.
func TestBrake_delayedBeatsDoNotExpire(t *testing.T) {
	t.Run("without the brake", func(t *testing.T) {
		a, base := startNode(t, func(c *agent.Config) { c.DebugFaults = true; c.ExpiryBrakeLag = 0 })
		if !beatWhileDelayed(t, base, a) {
			t.Fatal("the beating instance stayed healthy without the brake; the scenario proves nothing")
		}
	})
	t.Run("with the brake", func(t *testing.T) {
		a, base := startNode(t, func(c *agent.Config) { c.DebugFaults = true; c.ExpiryBrakeLag = 100 * time.Millisecond })
		if beatWhileDelayed(t, base, a) {
			t.Fatal("an instance whose beats were waiting was marked unhealthy")
		}
		if _, engaged := a.Node().ExpiryBrake(); engaged == 0 {
			t.Fatal("the brake never engaged")
		}
		// The beats stopped: the brake releases within two lags and the
		// instance expires one timeout (400 ms) after that.
		stopped := time.Now()
		inst := vals("serviceName", "braked", "ip", "10.0.0.1", "port", "80")
		await.True(t, 3*time.Second, "the instance expires once the brake released", func() bool {
			_, body := nacos(t, base, http.MethodGet, "instance", inst)
			return strings.Contains(body, `"healthy":false`)
		})
		if on, _ := a.Node().ExpiryBrake(); on {
			t.Error("the brake still holds after the backlog is gone")
		}
		t.Logf("unhealthy %v after the last beat was sent", time.Since(stopped).Round(time.Millisecond))
		code, body := do(t, http.MethodGet, base+"/metrics", "", "")
		if code != 200 || !strings.Contains(body, "roster_expiry_brake_engaged_total 1") || !strings.Contains(body, "roster_expiry_brake 0") {
			t.Errorf("metrics: %d; want roster_expiry_brake_engaged_total 1 and roster_expiry_brake 0", code)
		}
	})
}
