package agent_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// TestLimits_maxWatchers: blocking queries hold no concurrency slot, but
// their number is capped: one more than --max-watchers gets 429 naming the
// flag at once, and both figures are in the metrics.
func TestLimits_maxWatchers(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxWatchers = 2 })
	var wg sync.WaitGroup
	defer wg.Wait()
	for range 2 {
		wg.Go(func() {
			if resp, err := http.Get(base + "/v1/instances?service=watched&index=999999&wait=2s"); err == nil {
				resp.Body.Close()
			}
		})
	}
	await.True(t, 10*time.Second, "2 blocking queries waiting", func() bool { return waitingOf(n) == 2 })
	start := time.Now()
	code, body := do(t, http.MethodGet, base+"/v1/instances?service=watched&index=999999&wait=2s", "", "")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "--max-watchers") || time.Since(start) > time.Second {
		t.Fatalf("a third watcher: got %d %s after %v, want 429 naming --max-watchers at once", code, body, time.Since(start))
	}
	metricEquals(t, base, 2, "roster_blocking_queries")
	metricEquals(t, base, 1, "roster_blocking_queries_refused_total")
}

// TestLimits_indexWithoutWaitIsOrdinary: a list with index= but wait=0
// answers at once, so it is an ordinary request and holds a concurrency
// slot like one; only a query that may wait escapes the limit.
func TestLimits_indexWithoutWaitIsOrdinary(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxConcurrent = 1 })
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/nacos/v1/ns/instance", pr)
	req.Header.Set("Content-Type", form)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := pw.Write([]byte("serviceName=s")); err != nil {
		t.Fatal(err)
	}
	await.True(t, 10*time.Second, "slow request holds the slot", func() bool { return inflightOf(n) == 1 })
	for _, q := range []string{"index=5&wait=0", "index=5&wait=0s", "index=5&wait=0ms"} {
		if code, body := do(t, http.MethodGet, base+"/v1/instances?service=x&"+q, "", ""); code != http.StatusTooManyRequests {
			t.Errorf("%s beyond the limit: got %d %s, want 429", q, code, body)
		}
	}
}
