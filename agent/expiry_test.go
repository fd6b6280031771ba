package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// TestExpiry_doneWhen is the acceptance check on a real clock: an
// instance registered with a 1.5 s timeout and 3 s delete timeout is
// unhealthy (as GET instance reports it) within 1.55 s and gone within
// 3.05 s of its last beat.
func TestExpiry_doneWhen(t *testing.T) {
	_, base := startNode(t)
	md := `{"preserved.heart.beat.interval":"500","preserved.heart.beat.timeout":"1500","preserved.ip.delete.timeout":"3000"}`
	code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "exp", "ip", "10.0.0.1", "port", "80", "metadata", md))
	if code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	// Beat a few times, then stop: the last beat starts the clock.
	var lastBeat time.Time
	for i := 0; i < 3; i++ {
		// The server's beat time lies between sending and the answer; the
		// send time is the earliest it can be, so no transition can be
		// seen before lastBeat + timeout.
		lastBeat = time.Now()
		code, body = nacos(t, base, http.MethodPut, "instance/beat", vals("serviceName", "exp", "ip", "10.0.0.1", "port", "80"))
		if code != 200 || !strings.Contains(body, `"clientBeatInterval":500`) {
			t.Fatalf("beat: %d %s", code, body)
		}
	}
	get := vals("serviceName", "exp", "ip", "10.0.0.1", "port", "80")
	var unhealthyAt, goneAt time.Time
	deadline := lastBeat.Add(5 * time.Second)
	for time.Now().Before(deadline) && goneAt.IsZero() {
		code, body := nacos(t, base, http.MethodGet, "instance", get)
		now := time.Now()
		switch {
		case code == http.StatusNotFound:
			goneAt = now
		case code == 200 && strings.Contains(body, `"healthy":false`) && unhealthyAt.IsZero():
			unhealthyAt = now
		}
	}
	if unhealthyAt.IsZero() || goneAt.IsZero() {
		t.Fatalf("transitions not seen: unhealthy at %v, gone at %v", unhealthyAt, goneAt)
	}
	if d := unhealthyAt.Sub(lastBeat); d < 1500*time.Millisecond || d > 1550*time.Millisecond {
		t.Errorf("unhealthy %v after the last beat, want within [1.5s, 1.55s]", d)
	}
	if d := goneAt.Sub(lastBeat); d < 3000*time.Millisecond || d > 3050*time.Millisecond {
		t.Errorf("gone %v after the last beat, want within [3s, 3.05s]", d)
	}
	t.Logf("unhealthy after %v, gone after %v", unhealthyAt.Sub(lastBeat), goneAt.Sub(lastBeat))
}

// TestExpiry_beatsKeepAliveAndHeal checks that beats keep an instance
// healthy past its timeout and that a beat heals an unhealthy one.
func TestExpiry_beatsKeepAliveAndHeal(t *testing.T) {
	_, base := startNode(t)
	md := `{"preserved.heart.beat.timeout":"300","preserved.ip.delete.timeout":"10000"}`
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "live", "ip", "10.0.0.1", "port", "80", "metadata", md))
	beat := vals("serviceName", "live", "ip", "10.0.0.1", "port", "80")
	get := vals("serviceName", "live", "ip", "10.0.0.1", "port", "80")
	end := time.Now().Add(900 * time.Millisecond)
	for time.Now().Before(end) {
		nacos(t, base, http.MethodPut, "instance/beat", beat)
		if _, body := nacos(t, base, http.MethodGet, "instance", get); !strings.Contains(body, `"healthy":true`) {
			t.Fatalf("beating instance reported %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	await.True(t, 2*time.Second, "instance turns unhealthy", func() bool {
		_, body := nacos(t, base, http.MethodGet, "instance", get)
		return strings.Contains(body, `"healthy":false`)
	})
	nacos(t, base, http.MethodPut, "instance/beat", beat)
	if _, body := nacos(t, base, http.MethodGet, "instance", get); !strings.Contains(body, `"healthy":true`) {
		t.Fatalf("beat did not heal: %s", body)
	}
}

// TestExpiry_persistentNeverExpires checks ephemeral=false instances stay.
func TestExpiry_persistentNeverExpires(t *testing.T) {
	n, base := startNode(t)
	md := `{"preserved.heart.beat.timeout":"50","preserved.ip.delete.timeout":"100"}`
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "p", "ip", "10.0.0.1", "port", "80", "metadata", md, "ephemeral", "false"))
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "p", "ip", "10.0.0.2", "port", "80", "metadata", md))
	await.True(t, 2*time.Second, "ephemeral instance removed", func() bool {
		return len(n.Node().Store().Snapshot(keyOf("p")).Instances) == 1
	})
	l := list(t, base, vals("serviceName", "p"))
	if len(l.Hosts) != 1 || l.Hosts[0].IP != "10.0.0.1" || !l.Hosts[0].Healthy || l.Hosts[0].Ephemeral {
		t.Fatalf("persistent instance: got %+v", l.Hosts)
	}
}

// TestProtectThreshold checks Nacos' rule: when the healthy share is at or
// below the threshold, every instance is returned marked healthy.
func TestProtectThreshold(t *testing.T) {
	_, base := startNode(t)
	nacos(t, base, http.MethodPost, "service", vals("serviceName", "pt", "protectThreshold", "0.5"))
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "pt", "ip", "10.0.0.1", "port", "1", "healthy", "false", "ephemeral", "false"))
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "pt", "ip", "10.0.0.2", "port", "1", "healthy", "false", "ephemeral", "false"))
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "pt", "ip", "10.0.0.3", "port", "1", "ephemeral", "false"))
	// Threshold 0 (the default) still protects a service with no healthy
	// instance at all, as Nacos 1.4 does (0/1 <= 0).
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "zero", "ip", "10.0.0.1", "port", "1", "healthy", "false", "ephemeral", "false"))
	if l := list(t, base, vals("serviceName", "zero", "healthyOnly", "true")); len(l.Hosts) != 1 || !l.Hosts[0].Healthy || !l.ReachProtectionThreshold {
		t.Fatalf("threshold 0 with no healthy instance: got %+v", l)
	}
	// 1 of 3 healthy, 0.33 <= 0.5: all returned, marked healthy.
	l := list(t, base, vals("serviceName", "pt", "healthyOnly", "true"))
	if len(l.Hosts) != 3 || !l.ReachProtectionThreshold {
		t.Fatalf("below threshold: got %d hosts (protect %v), want 3", len(l.Hosts), l.ReachProtectionThreshold)
	}
	for _, h := range l.Hosts {
		if !h.Healthy {
			t.Fatalf("below threshold host not marked healthy: %+v", h)
		}
	}
	nacos(t, base, http.MethodPut, "service", vals("serviceName", "pt", "protectThreshold", "0.2"))
	l = list(t, base, vals("serviceName", "pt"))
	healthy := 0
	for _, h := range l.Hosts {
		if h.Healthy {
			healthy++
		}
	}
	if len(l.Hosts) != 3 || healthy != 1 || l.ReachProtectionThreshold {
		t.Fatalf("above threshold: got %d hosts, %d healthy, want 3 and 1", len(l.Hosts), healthy)
	}
	if l := list(t, base, vals("serviceName", "pt", "healthyOnly", "true")); len(l.Hosts) != 1 {
		t.Fatalf("healthyOnly above threshold: got %d hosts, want 1", len(l.Hosts))
	}
}
