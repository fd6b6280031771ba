package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestCluster_sigkill is the cluster issue's acceptance run with real
// processes: three agents joined with --join agree on members; an
// instance registered on one is listed on all within 1 s; SIGKILL of that
// node loses nothing; an instance that keeps beating stays healthy; one
// whose beats stop is gone from both survivors within its delete timeout
// + failure detection + 1 s; a restarted node answers 503 until synced
// and then lists the whole registry.
func TestCluster_sigkill(t *testing.T) {
	agents := startCluster3(t)
	a, b, c := agents[0], agents[1], agents[2]
	md := `{"preserved.heart.beat.interval":"300","preserved.heart.beat.timeout":"1000","preserved.ip.delete.timeout":"2000"}`
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if code, body := call(http.MethodPost, a.http, "/nacos/v1/ns/instance", vals("serviceName", "e2e", "ip", ip, "port", "80", "metadata", md)); code != 200 {
			t.Fatalf("register %s on a: %d %s", ip, code, body)
		}
	}
	for _, x := range agents {
		el := await.True(t, time.Second, "both instances listed on "+x.name, func() bool {
			_, body := call(http.MethodGet, x.http, "/nacos/v1/ns/instance/list", vals("serviceName", "e2e"))
			return strings.Contains(body, "10.0.0.1") && strings.Contains(body, "10.0.0.2")
		})
		t.Logf("listed on %s after %v", x.name, el)
	}

	a.sigkill(t)
	killed := time.Now()
	survivors := []*agent{b, c}
	var gone time.Time
	// Beat and look every 150 ms for 8 s at most, and at least 4 s.
	_, _ = await.Until(context.Background(), 150*time.Millisecond, 8*time.Second, func() bool {
		code, body := call(http.MethodPut, b.http, "/nacos/v1/ns/instance/beat", vals("serviceName", "e2e", "ip", "10.0.0.1", "port", "80"))
		if code != 200 || !strings.Contains(body, `"code":10200`) {
			t.Fatalf("beat through b after a's death: %d %s", code, body)
		}
		allGone := true
		for _, x := range survivors {
			_, body := call(http.MethodGet, x.http, "/nacos/v1/ns/instance", vals("serviceName", "e2e", "ip", "10.0.0.1", "port", "80"))
			if !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("beating instance on %s after a's death: %s", x.name, body)
			}
			if code, _ := call(http.MethodGet, x.http, "/nacos/v1/ns/instance", vals("serviceName", "e2e", "ip", "10.0.0.2", "port", "80")); code != http.StatusNotFound {
				allGone = false
			}
		}
		if allGone && gone.IsZero() {
			gone = time.Now()
			t.Logf("silent instance gone from both survivors %v after the kill", gone.Sub(killed))
		}
		return !gone.IsZero() && time.Since(killed) > 4*time.Second
	})
	// Delete timeout 2 s + failure detection (lan profile, under 3 s) + 1 s.
	if gone.IsZero() || gone.Sub(killed) > 6*time.Second {
		t.Fatalf("silent instance not gone within 6 s of the kill (gone at %v)", gone.Sub(killed))
	}

	// Restart a under the same name: 503 until synced, then the registry.
	a2 := startAgent(t, "a", []string{b.gossip})
	saw503 := false
	await.True(t, 15*time.Second, "restarted a ready", func() bool {
		code, _ := call(http.MethodGet, a2.http, "/nacos/v1/ns/instance/list", vals("serviceName", "e2e"))
		if code == http.StatusServiceUnavailable {
			saw503 = true
		}
		rc, _ := call(http.MethodGet, a2.http, "/readyz", nil)
		return rc == 200
	})
	_, body := call(http.MethodGet, a2.http, "/nacos/v1/ns/instance/list", vals("serviceName", "e2e"))
	if !strings.Contains(body, "10.0.0.1") {
		t.Fatalf("restarted node lists %s, want the beating instance", body)
	}
	t.Logf("restarted node saw 503 while syncing: %v", saw503)
}
