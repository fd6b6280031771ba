package cli

import (
	"net/http"
	"testing"
)

// TestAgent_metricsAndPprof starts the agent from a config file that turns
// pprof on, and finds /metrics served and /debug/pprof/ mounted.
func TestAgent_metricsAndPprof(t *testing.T) {
	path := writeConfig(t, "pprof = true\nlog-level = \"warn\"\n")
	a := startAgent(t, "--config", path, "--http", "127.0.0.1:0")
	client := &http.Client{Timeout: testDeadline}
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
		resp, err := client.Get("http://" + a.addr + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", p, resp.StatusCode)
		}
	}
}
