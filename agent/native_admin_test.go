package agent_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
)

const jsonType = "application/json"

// TestNative_patch changes an instance's weight, enabled flag and
// metadata with PATCH /v1/instance, and refuses bad changes with a 400
// naming the field, changing nothing.
func TestNative_patch(t *testing.T) {
	_, base := startNode(t)
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"p","ip":"10.0.0.1","port":80,"metadata":{"a":"1"}}`)
	get := func() api.Instance {
		t.Helper()
		var in api.Instance
		_, body := do(t, http.MethodGet, base+"/v1/instance?service=p&ip=10.0.0.1&port=80", "", "")
		mustJSON(t, body, &in)
		return in
	}
	before := get()
	bad := []struct{ body, field string }{
		{`{"service":"p","ip":"10.0.0.1","port":80,"weight":20000}`, "weight"},
		{`{"service":"p","ip":"10.0.0.1","port":80,"weight":-1}`, "weight"},
		{`{"service":"p","ip":"10.0.0.1","port":80,"healthy":false}`, "healthy"},
		{`{"service":"p","ip":"10.0.0.1","port":80,"ephemeral":false}`, "ephemeral"},
		{`{"service":"p","ip":"10.0.0.1","port":80,"beatTimeoutMs":1000}`, "beatIntervalMs"},
		{`{"service":"p","ip":"10.0.0.1","port":80}`, "body"},
		{`{"service":"p","ip":"10.0.0.1","port":80,"metadata":{"preserved.heart.beat.timeout":"x"}}`, "preserved.heart.beat.timeout"},
		{`{"service":"p","ip":"10.0.0.1","port":0,"enabled":false}`, "port"},
		{`{"service":"","ip":"10.0.0.1","port":80,"enabled":false}`, "service"},
		{`{"service":"p","ip":"10.0.0.1","port":80,"enabled":"no"}`, "enabled"},
	}
	for _, b := range bad {
		code, body := do(t, http.MethodPatch, base+"/v1/instance", jsonType, b.body)
		if code != http.StatusBadRequest || !strings.Contains(body, b.field) {
			t.Errorf("PATCH %s: %d %s, want 400 naming %s", b.body, code, body, b.field)
		}
	}
	if after := get(); *after.Weight != *before.Weight || !*after.Enabled || after.Metadata["a"] != "1" {
		t.Fatalf("refused changes changed the instance: %+v", after)
	}
	code, body := do(t, http.MethodPatch, base+"/v1/instance", jsonType, `{"service":"p","ip":"10.0.0.9","port":80,"enabled":false}`)
	if code != http.StatusNotFound || !strings.Contains(body, "10.0.0.9:80 not found") {
		t.Errorf("PATCH of an unknown instance: %d %s, want 404 naming it", code, body)
	}
	code, body = do(t, http.MethodPatch, base+"/v1/instance", jsonType, `{"service":"p","ip":"10.0.0.1","port":80,"enabled":false,"weight":0}`)
	var ans struct {
		Instance api.Instance
		Index    uint64
	}
	mustJSON(t, body, &ans)
	if code != 200 || *ans.Instance.Enabled || *ans.Instance.Weight != 0 || ans.Instance.Metadata["a"] != "1" {
		t.Errorf("PATCH enabled false, weight 0: %d %s", code, body)
	}
	do(t, http.MethodPatch, base+"/v1/instance", jsonType, `{"service":"p","ip":"10.0.0.1","port":80,"metadata":{"preserved.heart.beat.timeout":"4000","b":"2"}}`)
	if in := get(); len(in.Metadata) != 2 || in.BeatTimeoutMs != 4000 || *in.Weight != 0 {
		t.Errorf("after a metadata PATCH: %+v, want the new map, its beat timeout and the weight kept", in)
	}
	do(t, http.MethodPatch, base+"/v1/instance", jsonType, `{"service":"p","ip":"10.0.0.1","port":80,"metadata":{}}`)
	if in := get(); len(in.Metadata) != 0 {
		t.Errorf("after PATCH metadata {}: %v, want none", in.Metadata)
	}
}

// TestNative_beats reads the last beat times of a service's instances on
// the node that owns it.
func TestNative_beats(t *testing.T) {
	_, base := startNode(t)
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"b","ip":"10.0.0.1","port":80}`)
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"b","ip":"10.0.0.2","port":80,"ephemeral":false}`)
	time.Sleep(30 * time.Millisecond)
	do(t, http.MethodPut, base+"/v1/instance/beat", jsonType, `{"service":"b","ip":"10.0.0.1","port":80}`)
	code, body := do(t, http.MethodGet, base+"/v1/instances/beats?service=b", "", "")
	var lb api.LastBeats
	mustJSON(t, body, &lb)
	if code != 200 || !lb.Owner || lb.Node == "" || len(lb.Instances) != 1 || lb.Instances[0].IP != "10.0.0.1" {
		t.Fatalf("beats: %d %s, want the owner's answer with the ephemeral instance only", code, body)
	}
	if age := lb.Now - lb.Instances[0].LastBeat; age < 0 || age > 2000 {
		t.Errorf("last beat %d ms before the node's now, want the beat just sent", age)
	}
	if code, body := do(t, http.MethodGet, base+"/v1/instances/beats?service=", "", ""); code != http.StatusBadRequest || !strings.Contains(body, "service") {
		t.Errorf("beats without a service: %d %s, want 400 naming service", code, body)
	}
	if code, body := do(t, http.MethodGet, base+"/v1/instances/beats?service=none", "", ""); code != 200 || !strings.Contains(body, `"instances":[]`) {
		t.Errorf("beats of an unknown service: %d %s, want an empty list", code, body)
	}
}

// TestNative_namespaces lists the namespaces holding services.
func TestNative_namespaces(t *testing.T) {
	_, base := startNode(t)
	if _, body := do(t, http.MethodGet, base+"/v1/namespaces", "", ""); body != `{"namespaces":[{"namespace":"public","services":0}]}` {
		t.Errorf("empty node: %s, want public alone", body)
	}
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"namespace":"staging","service":"a","ip":"10.0.0.1","port":80}`)
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"namespace":"staging","service":"b","ip":"10.0.0.1","port":80}`)
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"a","ip":"10.0.0.1","port":80}`)
	want := `{"namespaces":[{"namespace":"public","services":1},{"namespace":"staging","services":2}]}`
	if _, body := do(t, http.MethodGet, base+"/v1/namespaces", "", ""); body != want {
		t.Errorf("namespaces: %s, want %s", body, want)
	}
}

// TestNative_servicesBlocking checks GET /v1/services?index=N: it waits
// for the next change of the registry, answers it with a higher index,
// answers after wait when nothing changes, and holds no concurrency slot.
func TestNative_servicesBlocking(t *testing.T) {
	a, base := startNode(t, func(c *agent.Config) { c.MaxConcurrent = 1 })
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"s1","ip":"10.0.0.1","port":80}`)
	var s api.Services
	_, body := do(t, http.MethodGet, base+"/v1/services", "", "")
	mustJSON(t, body, &s)
	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		code, body := do(t, http.MethodGet, base+"/v1/services?wait=20s&index="+strconv.FormatUint(s.Index, 10), "", "")
		done <- answer{code, body}
	}()
	await.True(t, 5*time.Second, "the services query waiting", func() bool { return waitingOf(a) == 1 })
	// The waiting query holds no slot: a write still gets the only one.
	if code, body := do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"s2","ip":"10.0.0.1","port":80}`); code != 200 {
		t.Fatalf("write beside a blocking services query: %d %s", code, body)
	}
	select {
	case r := <-done:
		var got api.Services
		mustJSON(t, r.body, &got)
		if r.code != 200 || got.Index <= s.Index || len(got.Services) != 2 {
			t.Errorf("woken services query: %d %s, want both services and an index past %d", r.code, r.body, s.Index)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking services query not woken by a registration")
	}
	start := time.Now()
	code, body := do(t, http.MethodGet, base+"/v1/services?wait=100ms&index=999999", "", "")
	if el := time.Since(start); code != 200 || el < 100*time.Millisecond || el > 3*time.Second {
		t.Errorf("elapsed wait: %d %s after %v", code, body, el)
	}
	if code, body := do(t, http.MethodGet, base+"/v1/services?index=x", "", ""); code != http.StatusBadRequest || !strings.Contains(body, "index") {
		t.Errorf("bad index: %d %s, want 400 naming index", code, body)
	}
}

// TestNative_beatsFromTheOwner asks a node that does not own a service for
// its beat times: it asks the owner, and says so; with the owner cut off
// it answers its own times and why.
func TestNative_beatsFromTheOwner(t *testing.T) {
	c := agenttest.NewCluster(t, 2)
	base := agenttest.URL(c.Agent("n0"))
	do(t, http.MethodPost, base+"/v1/instance", jsonType, `{"service":"ob","ip":"10.0.0.1","port":80}`)
	var o api.Owner
	_, body := do(t, http.MethodGet, base+"/v1/cluster/owner?service=ob", "", "")
	mustJSON(t, body, &o)
	other := map[string]string{"n0": "n1", "n1": "n0"}[o.Owner]
	ownerBase, otherBase := agenttest.URL(c.Agent(o.Owner)), agenttest.URL(c.Agent(other))
	await.True(t, 5*time.Second, "ob on both nodes", func() bool {
		_, b := do(t, http.MethodGet, otherBase+"/v1/instances?service=ob", "", "")
		return strings.Contains(b, "10.0.0.1")
	})
	time.Sleep(20 * time.Millisecond)
	do(t, http.MethodPut, ownerBase+"/v1/instance/beat", jsonType, `{"service":"ob","ip":"10.0.0.1","port":80}`)
	var atOwner, atOther api.LastBeats
	_, body = do(t, http.MethodGet, ownerBase+"/v1/instances/beats?service=ob", "", "")
	mustJSON(t, body, &atOwner)
	_, body = do(t, http.MethodGet, otherBase+"/v1/instances/beats?service=ob", "", "")
	mustJSON(t, body, &atOther)
	if !atOther.Owner || atOther.From != o.Owner || atOther.Node != other || len(atOther.Instances) != 1 ||
		atOther.Instances[0].LastBeat != atOwner.Instances[0].LastBeat {
		t.Errorf("%s's answer %s, want the owner %s's times %+v", other, body, o.Owner, atOwner.Instances)
	}
	c.Cut(other, o.Owner)
	_, body = do(t, http.MethodGet, otherBase+"/v1/instances/beats?service=ob", "", "")
	var cut api.LastBeats
	mustJSON(t, body, &cut)
	if cut.Owner || cut.From != other || cut.OwnerError == "" || len(cut.Instances) != 1 {
		t.Errorf("with the owner cut off: %s, want %s's own times and the reason", body, other)
	}
}
