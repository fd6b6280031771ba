package agent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// logLines collects JSON log records; it is safe for concurrent use.
type logLines struct {
	// mu guards buf.
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the records logged so far at info level or above.
func (l *logLines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] != "DEBUG" {
			out = append(out, rec)
		}
	}
	return out
}

// count returns how many records have message msg.
func count(recs []map[string]any, msg string) int {
	n := 0
	for _, r := range recs {
		if r["msg"] == msg {
			n++
		}
	}
	return n
}

func TestLogging_noLinePerRequestOneSummaryPerSweep(t *testing.T) {
	logs := &logLines{}
	// A clock that stands still until the test moves it, so every
	// instance falls due in the same sweep.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	_, u := startNode(t, func(c *agent.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	await.True(t, 10*time.Second, "start-up logged", func() bool {
		recs := logs.records(t)
		return count(recs, "node ready") == 1 && count(recs, "partitions moved") == 1
	})
	startup := len(logs.records(t))

	// A burst of requests of every kind logs nothing at info level.
	md := `{"preserved.heart.beat.timeout":"300","preserved.ip.delete.timeout":"600"}`
	const instances = 40
	for i := range instances {
		ip := fmt.Sprintf("10.0.1.%d", i+1)
		if code, body := nacos(t, u, http.MethodPost, "instance", vals("serviceName", "burst", "ip", ip, "port", "80", "metadata", md)); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
		nacos(t, u, http.MethodPut, "instance/beat", vals("serviceName", "burst", "ip", ip, "port", "80"))
		nacos(t, u, http.MethodGet, "instance/list", vals("serviceName", "burst"))
		do(t, http.MethodGet, u+"/v1/instances?service=burst", "", "")
		do(t, http.MethodGet, u+"/nope", "", "")
	}
	if recs := logs.records(t); len(recs) != startup {
		t.Fatalf("requests logged at info level: %v", recs[startup:])
	}

	// The mass expiry: per instance at debug only, a summary per sweep at
	// info whose counts add up to every instance.
	sum := func(key string) int {
		total := 0
		for _, r := range logs.records(t) {
			if r["msg"] == "instances expired" {
				total += int(r[key].(float64))
			}
		}
		return total
	}
	clock.Add(int64(400 * time.Millisecond)) // past the beat timeout
	await.True(t, 10*time.Second, "all instances unhealthy", func() bool { return sum("unhealthy") == instances })
	clock.Add(int64(400 * time.Millisecond)) // past the delete timeout
	await.True(t, 10*time.Second, "all instances removed", func() bool { return sum("removed") == instances })
	recs := logs.records(t)
	sweeps, unhealthy := 0, 0
	for _, r := range recs[startup:] {
		if r["msg"] != "instances expired" {
			t.Errorf("unexpected info line during expiry: %v", r)
			continue
		}
		sweeps++
		unhealthy += int(r["unhealthy"].(float64))
	}
	if unhealthy != instances {
		t.Errorf("instances reported unhealthy: got %d, want %d", unhealthy, instances)
	}
	if sweeps < 2 || sweeps > 4 {
		t.Errorf("got %d summary lines for 2 sweeps of %d instances each, want 2 to 4", sweeps, instances)
	}
	logs.mu.Lock()
	debugLines := strings.Count(logs.buf.String(), `"msg":"instance expired"`)
	logs.mu.Unlock()
	if debugLines != instances {
		t.Errorf("debug lines per removed instance: got %d, want %d", debugLines, instances)
	}
}

func TestLogging_oneLinePerMembershipChange(t *testing.T) {
	logs := &logLines{}
	tc := agenttest.NewCluster(t, 3, func(c *agent.Config) {
		if c.Name == "n0" {
			c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
	})
	tc.Kill("n2")
	await.True(t, 10*time.Second, "n0 sees n2 leave", func() bool {
		return count(logs.records(t), "member left") == 1
	})
	recs := logs.records(t)
	for _, c := range []struct {
		msg  string
		want int
	}{{"member joined", 2}, {"member left", 1}} {
		if got := count(recs, c.msg); got != c.want {
			t.Errorf("%q lines: got %d, want %d", c.msg, got, c.want)
		}
	}
	// Every ring change that moved partitions gave one summary line, never
	// one per partition.
	moves := count(recs, "partitions moved")
	if moves == 0 || moves > 6 {
		t.Errorf("\"partitions moved\" lines: got %d, want 1 to 6 for 4 ring changes", moves)
	}
}
