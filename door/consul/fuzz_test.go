package consul_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/consul"
	"github.com/roster-io/roster/store"
)

// FuzzConsulAPI sends arbitrary paths, queries and methods to the
// Consul-compatible API in process: no panic, no 5xx, nothing changes the
// registry, and every read answers within its (short) wait.
func FuzzConsulAPI(f *testing.F) {
	cfg := agent.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.MaxWait = 50 * time.Millisecond // blocking queries end quickly
	a, err := agent.New(cfg)            // never started: driven in process
	if err != nil {
		f.Fatal(err)
	}
	a.Node().SetStateForTesting(true, false)
	for i, k := range []store.Key{{Namespace: "public", Group: "DEFAULT_GROUP", Service: "web"}, {Namespace: "dev", Group: "g", Service: "api"}} {
		in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80 + i}, Weight: 1,
			Healthy: i == 0, Enabled: true, Metadata: map[string]string{"tags": "a,b"}}
		if _, err := a.Node().Register(context.Background(), k, in); err != nil {
			f.Fatal(err)
		}
	}
	h := consul.New(consul.Config{MaxWait: cfg.MaxWait}, a.Node(), a.Gate()).Handler()
	f.Add("GET", "/v1/health/service/web", "passing=1&tag=a&index=1&wait=10ms")
	f.Add("GET", "/v1/catalog/service/DEFAULT_GROUP@@web", "partition=public&ns=default&dc=dc1")
	f.Add("GET", "/v1/catalog/services", "index=99999999999&wait=1ms&tag=b")
	f.Add("GET", "/v1/health/state/any", "ns=g&partition=dev&index=2")
	f.Add("PUT", "/v1/agent/service/register", "")
	f.Add("GET", "/v1/health/checks/%2e%2e", "filter=x&node-meta=a")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		req, err := http.NewRequest(method, "http://consul"+path, nil)
		if err != nil {
			return // not a request a client could send
		}
		req.URL.RawQuery = query
		before := a.Node().Index()
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s: %d %s", method, path, query, rec.Code, rec.Body.String())
		}
		if a.Node().Index() != before {
			t.Fatalf("%s %s?%s changed the registry", method, path, query)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("%s %s?%s took %v", method, path, query, el)
		}
	})
}
