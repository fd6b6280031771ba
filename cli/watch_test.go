package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/await"
)

// TestWatchPrinter: the first list as a table, then one line per added,
// changed and removed instance; JSON lines with --json.
func TestWatchPrinter(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	p := &watchPrinter{w: &buf, service: "web", now: func() time.Time { return at }}
	a := client.Instance{Service: "web", Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80, Weight: 1, Healthy: true, Enabled: true}
	b := a
	b.Port = 81
	_ = p.print([]client.Instance{a})
	if !strings.Contains(buf.String(), "IP") || !strings.Contains(buf.String(), "10.0.0.1") {
		t.Fatalf("first list: got %q, want a table", buf.String())
	}
	buf.Reset()
	a2 := a
	a2.Healthy = false
	_ = p.print([]client.Instance{a2, b})
	want := "03:04:05.006 ~ 10.0.0.1:80 healthy=false\n03:04:05.006 + 10.0.0.1:81 healthy=true enabled=true weight=1 metadata=-\n"
	if buf.String() != want {
		t.Fatalf("changes: got %q, want %q", buf.String(), want)
	}
	buf.Reset()
	_ = p.print([]client.Instance{b})
	if buf.String() != "03:04:05.006 - 10.0.0.1:80\n" {
		t.Fatalf("removal: got %q", buf.String())
	}

	buf.Reset()
	p = &watchPrinter{w: &buf, json: true, service: "web", now: func() time.Time { return at }}
	_ = p.print(nil)
	_ = p.print([]client.Instance{a})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("json: got %d lines, want 2", len(lines))
	}
	var got struct {
		Service   string            `json:"service"`
		Instances []client.Instance `json:"instances"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Service != "web" || len(got.Instances) != 1 || got.Instances[0].Port != 80 {
		t.Fatalf("json line %q: %+v %v", lines[1], got, err)
	}
	if !strings.Contains(lines[0], `"instances":[]`) {
		t.Fatalf("empty list: got %q, want an empty array", lines[0])
	}
}

// TestWatch_command: roster watch --json against a node prints the list
// and a line for a registration, and stops with its context.
func TestWatch_command(t *testing.T) {
	base := startSoloNode(t)
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, newApp(&out, &errOut, agentHooks{}),
			[]string{"roster", "watch", "--service", "web", "--json", "--addr", base})
	}()
	await.True(t, 5*time.Second, "first line", func() bool { return strings.Count(out.String(), "\n") == 1 })
	r := runCLI(t, "register", "--addr", base, "--service", "web", "--ip", "10.0.0.9", "--port", "80")
	if r.code != 0 {
		t.Fatalf("register: %d %s", r.code, r.errOut)
	}
	await.True(t, 5*time.Second, "a line for the registration", func() bool {
		return strings.Count(out.String(), "\n") == 2 && strings.Contains(out.String(), `"ip":"10.0.0.9"`)
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("watch exit: got %d (%s), want 0", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop with its context")
	}
}
