package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/store"
)

// batchOf is the body of POST /v1/instances/batch holding items (JSON
// objects).
func batchOf(items ...string) string { return `{"instances":[` + strings.Join(items, ",") + `]}` }

// POST /v1/instances/batch registers instances of several services and
// namespaces in one request, one result per instance in order, each as
// the instance is stored.
func TestNative_registerBatch(t *testing.T) {
	n, base := startNode(t)
	body := batchOf(`{"service":"a","ip":"10.0.0.1","port":80,"metadata":{"v":"1"},"beatIntervalMs":700}`,
		`{"service":"b","group":"g","cluster":"east","ip":"10.0.0.2","port":81,"weight":3}`,
		`{"namespace":"team","service":"a","ip":"10.0.0.1","port":80,"ephemeral":false}`)
	code, out := do(t, http.MethodPost, base+"/v1/instances/batch", "application/json", body)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, out)
	}
	var reply api.BatchRegisterReply
	mustJSON(t, out, &reply)
	if len(reply.Results) != 3 || reply.Index == 0 {
		t.Fatalf("reply %s: want 3 results and an index", out)
	}
	want := []struct {
		k    store.Key
		ik   store.InstanceKey
		port int
	}{
		{store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "a"}, store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80}, 80},
		{store.Key{Namespace: "public", Group: "g", Service: "b"}, store.InstanceKey{Cluster: "east", IP: "10.0.0.2", Port: 81}, 81},
		{store.Key{Namespace: "team", Group: "DEFAULT_GROUP", Service: "a"}, store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80}, 80},
	}
	for i, w := range want {
		r := reply.Results[i]
		if r.Status != 0 || r.Instance == nil || r.Instance.Port != w.port || r.Instance.Service != w.k.Service || r.Instance.Namespace != w.k.Namespace {
			t.Errorf("result %d: %+v", i, r)
			continue
		}
		in, ok := n.Node().Store().Snapshot(w.k).Find(w.ik)
		if !ok {
			t.Errorf("instance %d not stored", i)
			continue
		}
		switch i {
		case 0:
			if in.Metadata["v"] != "1" || in.BeatInterval.Milliseconds() != 700 || r.Instance.BeatIntervalMs != 700 {
				t.Errorf("instance 0 stored as %+v, answered %+v", in, r.Instance)
			}
		case 1:
			if in.Weight != 3 || *r.Instance.Weight != 3 {
				t.Errorf("instance 1 stored as %+v", in)
			}
		case 2:
			if in.Ephemeral || *r.Instance.Ephemeral {
				t.Errorf("instance 2 stored as %+v, want persistent", in)
			}
		}
	}
	// The same batch again re-registers: nothing new, every result 200.
	if code, out := do(t, http.MethodPost, base+"/v1/instances/batch", "application/json", body); code != 200 || strings.Contains(out, `"status"`) {
		t.Fatalf("batch again: %d %s", code, out)
	}
}

// A batch holding one bad instance (or none, too many, one named twice)
// is refused whole with a 400 naming the field, and writes nothing.
func TestNative_registerBatchRefusesBadItemsWhole(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxMetadataBytes = 32 })
	good := `{"service":"a","ip":"10.0.0.1","port":80}`
	many := make([]string, api.MaxBatchInstances+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"service":"a","ip":"10.0.%d.%d","port":80}`, i/250, i%250+1)
	}
	before := n.Node().Store().Index()
	for _, c := range []struct{ name, body, field string }{
		{"port", batchOf(good, `{"service":"a","ip":"10.0.0.2","port":70000}`), "instances[1].port"},
		{"no port", batchOf(good, `{"service":"a","ip":"10.0.0.2"}`), "instances[1].port"},
		{"service", batchOf(good, `{"service":"","ip":"10.0.0.2","port":80}`), "instances[1].service"},
		{"ip", batchOf(`{"service":"a","ip":"10.0.0.256","port":80}`, good), "instances[0].ip"},
		{"weight", batchOf(good, `{"service":"a","ip":"10.0.0.3","port":80}`, `{"service":"a","ip":"10.0.0.4","port":80,"weight":-1}`), "instances[2].weight"},
		{"group", batchOf(good, `{"service":"a","group":"g@@x","ip":"10.0.0.2","port":80}`), "instances[1].group"},
		{"cluster", batchOf(good, `{"service":"a","cluster":"a@@b","ip":"10.0.0.2","port":80}`), "instances[1].cluster"},
		{"timing", batchOf(good, `{"service":"a","ip":"10.0.0.2","port":80,"beatIntervalMs":-5}`), "instances[1].beatIntervalMs"},
		{"metadata timing", batchOf(good, `{"service":"a","ip":"10.0.0.2","port":80,"metadata":{"preserved.heart.beat.interval":"x"}}`), "instances[1].metadata"},
		{"metadata size", batchOf(good, `{"service":"a","ip":"10.0.0.2","port":80,"metadata":{"k":"`+strings.Repeat("v", 40)+`"}}`), "instances[1].metadata"},
		{"reserved namespace", batchOf(good, `{"namespace":"roster-system","service":"a","ip":"10.0.0.2","port":80}`), "instances[1].namespace"},
		{"twice", batchOf(good, `{"service":"b","ip":"10.0.0.1","port":80}`, `{"service":"a","ip":"10.0.0.1","port":80,"cluster":"DEFAULT"}`), "instances[2]"},
		{"empty", batchOf(), "instances"},
		{"none", `{}`, "instances"},
		{"too many", batchOf(many...), "instances"},
	} {
		code, out := do(t, http.MethodPost, base+"/v1/instances/batch", "application/json", c.body)
		if code != http.StatusBadRequest || !strings.Contains(out, c.field) {
			t.Errorf("%s: got %d %s, want 400 naming %s", c.name, code, out, c.field)
		}
	}
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"bad JSON", `{"instances":[{`, http.StatusBadRequest},
		{"wrong type", `{"instances":{"service":"a"}}`, http.StatusBadRequest},
		{"too large", batchOf(good, `{"service":"a","ip":"10.0.0.2","port":80,"metadata":{"k":"`+strings.Repeat("v", 2<<20)+`"}}`), http.StatusRequestEntityTooLarge},
	} {
		if code, out := do(t, http.MethodPost, base+"/v1/instances/batch", "application/json", c.body); code != c.code {
			t.Errorf("%s: got %d %.200s, want %d", c.name, code, out, c.code)
		}
	}
	if after := n.Node().Store().Index(); after != before {
		t.Fatalf("refused batches changed the registry (index %d → %d)", before, after)
	}
}

// A limit refuses the instances past it with the 409 a single
// registration gets, in their results; the others are written.
func TestNative_registerBatchLimitsPerItem(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxInstancesPerService = 2 })
	if code, out := do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"a","ip":"10.0.0.1","port":80}`); code != 200 {
		t.Fatalf("register: %d %s", code, out)
	}
	body := batchOf(`{"service":"a","ip":"10.0.0.2","port":80}`, `{"service":"a","ip":"10.0.0.3","port":80}`,
		`{"service":"b","ip":"10.0.0.3","port":80}`, `{"service":"a","ip":"10.0.0.1","port":80,"weight":2}`)
	code, out := do(t, http.MethodPost, base+"/v1/instances/batch", "application/json", body)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, out)
	}
	var reply api.BatchRegisterReply
	mustJSON(t, out, &reply)
	wantStatus := []int{0, http.StatusConflict, 0, 0}
	if len(reply.Results) != len(wantStatus) {
		t.Fatalf("%d results: %s", len(reply.Results), out)
	}
	for i, w := range wantStatus {
		r := reply.Results[i]
		if r.Status != w || (w != 0) != (r.Instance == nil) || (w != 0 && !strings.Contains(r.Error, "--max-instances-per-service")) {
			t.Errorf("result %d: %+v, want status %d", i, r, w)
		}
	}
	if got := len(n.Node().Store().Snapshot(keyOf("a")).Instances); got != 2 {
		t.Errorf("service a holds %d instances, want 2", got)
	}
	if in, ok := n.Node().Store().Snapshot(keyOf("a")).Find(store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80}); !ok || in.Weight != 2 {
		t.Errorf("the re-registration at the limit: %+v %v", in, ok)
	}
}

// Each instance of a batch is authorised as its own registration would
// be: one outside the token's namespace refuses the whole batch (403),
// and nothing is written.
func TestNative_registerBatchACLPerItem(t *testing.T) {
	n, base := startNode(t, withRoles(false, nil), func(c *agent.Config) {
		c.ACL.Tokens = append(c.ACL.Tokens, "ci-token")
		c.ACL.TokenRoles = map[string]string{"ci-token": "deployer"}
	})
	mustAuth(t, base, http.MethodPost, "permissions", "role", "deployer", "resource", "ci:*:*", "action", "w")
	in := func(ns string, port int) string {
		return fmt.Sprintf(`{"namespace":%q,"service":"s","ip":"10.0.0.1","port":%d}`, ns, port)
	}
	before := n.Node().Store().Index()
	code, out, _ := doAuth(t, http.MethodPost, base+"/v1/instances/batch", "application/json", batchOf(in("ci", 80), in("public", 81)), "ci-token")
	if code != http.StatusForbidden || !strings.Contains(out, "instances[1]") {
		t.Fatalf("batch reaching outside the token's namespace: %d %s, want 403 naming instances[1]", code, out)
	}
	if code, out, _ := doAuth(t, http.MethodPost, base+"/v1/instances/batch", "application/json", batchOf(in("ci", 80)), ""); code != http.StatusUnauthorized {
		t.Fatalf("batch without a token: %d %s, want 401", code, out)
	}
	if after := n.Node().Store().Index(); after != before {
		t.Fatal("a refused batch changed the registry")
	}
	if code, out, _ := doAuth(t, http.MethodPost, base+"/v1/instances/batch", "application/json", batchOf(in("ci", 80), in("ci", 81)), "ci-token"); code != 200 {
		t.Fatalf("batch within the token's namespace: %d %s", code, out)
	}
	if got := len(n.Node().Store().Snapshot(store.Key{Namespace: "ci", Group: "DEFAULT_GROUP", Service: "s"}).Instances); got != 2 {
		t.Fatalf("namespace ci holds %d instances of s, want 2", got)
	}
}
