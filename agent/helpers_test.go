package agent_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/store"
)

// startNode starts one agent (agenttest.Start, logging to the test) and
// fails the test if its shutdown at the end fails.
func startNode(t testing.TB, mutate ...func(*agent.Config)) (*agent.Agent, string) {
	t.Helper()
	n := agenttest.Start(t, append([]func(*agent.Config){func(c *agent.Config) { c.Logger = agenttest.Logger(t, c.Name) }}, mutate...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return n, agenttest.URL(n)
}

// inProcess builds an agent that is never started, to drive its handler
// in-process without a socket; synced says whether it holds the registry
// (alone) or is still syncing.
func inProcess(tb testing.TB, synced bool, mutate ...func(*agent.Config)) *agent.Agent {
	tb.Helper()
	cfg := agent.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := agent.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	n.Node().SetStateForTesting(synced, false)
	return n
}

// do sends a request and returns status and body.
func do(t testing.TB, method, u, contentType, body string) (int, string) {
	t.Helper()
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return doHeader(t, method, u, h, body)
}

// doHeader sends a request with the headers h and returns the status and
// body of its answer.
func doHeader(t testing.TB, method, u string, h http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b)
}

const form = "application/x-www-form-urlencoded"

// nacos sends a Nacos API request with form-encoded params in the body
// (POST/PUT/PATCH) or the query string (GET/DELETE).
func nacos(t testing.TB, base, method, path string, v url.Values) (int, string) {
	t.Helper()
	u := base + "/nacos/v1/ns/" + path
	if method == http.MethodGet || method == http.MethodDelete {
		return do(t, method, u+"?"+v.Encode(), "", "")
	}
	return do(t, method, u, form, v.Encode())
}

// mustJSON decodes body into v.
func mustJSON(t testing.TB, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

// listResp is the part of instance/list the tests read.
type listResp struct {
	Name                     string `json:"name"`
	Clusters                 string `json:"clusters"`
	CacheMillis              int64  `json:"cacheMillis"`
	LastRefTime              int64  `json:"lastRefTime"`
	Checksum                 string `json:"checksum"`
	ReachProtectionThreshold bool   `json:"reachProtectionThreshold"`
	Hosts                    []struct {
		IP          string            `json:"ip"`
		Port        int               `json:"port"`
		Valid       bool              `json:"valid"`
		Healthy     bool              `json:"healthy"`
		Enabled     bool              `json:"enabled"`
		Ephemeral   bool              `json:"ephemeral"`
		Weight      float64           `json:"weight"`
		InstanceID  string            `json:"instanceId"`
		ClusterName string            `json:"clusterName"`
		ServiceName string            `json:"serviceName"`
		Metadata    map[string]string `json:"metadata"`
	} `json:"hosts"`
}

func list(t testing.TB, base string, v url.Values) listResp {
	t.Helper()
	code, body := nacos(t, base, http.MethodGet, "instance/list", v)
	if code != http.StatusOK {
		t.Fatalf("instance/list: got %d %s, want 200", code, body)
	}
	var l listResp
	mustJSON(t, body, &l)
	return l
}

// keyOf returns the key of a service in the default namespace and group.
func keyOf(service string) store.Key {
	return store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: service}
}

// loginReply is the answer of the Nacos login endpoint.
type loginReply struct {
	AccessToken string `json:"accessToken"`
	TokenTTL    int64  `json:"tokenTtl"`
	GlobalAdmin bool   `json:"globalAdmin"`
}

// waitingOf returns the blocking queries a waits on.
func waitingOf(a *agent.Agent) int64 { _, w := a.Gate().InFlight(); return w }

// inflightOf returns the client requests holding a MaxConcurrent slot.
func inflightOf(a *agent.Agent) int64 { c, _ := a.Gate().InFlight(); return c }

// nativeListBody is the body of GET /v1/instances.
type nativeListBody struct {
	Namespace string         `json:"namespace"`
	Group     string         `json:"group"`
	Service   string         `json:"service"`
	Index     uint64         `json:"index"`
	Instances []api.Instance `json:"instances"`
}

// pushMessage is what a Nacos client gets on its UDP port.
type pushMessage struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastRefTime int64  `json:"lastRefTime"`
}
