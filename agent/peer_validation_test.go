package agent_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// TestInternal_invalidPeerRecordRefused posts to a running node, as its
// member n1 does (loopback, n1's name, no secret), a delta whose record
// has a beat timeout of MaxInt64 ns, which no client could register and
// which would freeze the node's expiry. Sent as JSON and as MessagePack,
// replicated and repair, it gets a 400 naming the record and the field and
// changes nothing; the refusals are counted, and the node then registers
// and answers promptly.
func TestInternal_invalidPeerRecordRefused(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	n0 := tc.Agent("n0")
	rec := store.Record{Key: keyOf("frozen"), Instance: &store.Instance{
		InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: "10.0.0.9", Port: 80},
		Weight:      1, Healthy: true, Enabled: true, Ephemeral: true,
		BeatInterval: 5 * time.Second, BeatTimeout: math.MaxInt64, DeleteTimeout: 30 * time.Second,
		Version: store.Version{Clock: time.Now().UnixNano(), Node: "n1"}}}
	before := n0.Node().Store().Index()
	bodies := map[string][]byte{}
	for _, repair := range []bool{false, true} {
		js, err := json.Marshal(map[string]any{"records": []store.Record{rec}, "repair": repair})
		if err != nil {
			t.Fatal(err)
		}
		mp := msgp.AppendBool(msgp.AppendArrayHeader(nil, 2), repair)
		if mp, err = rec.MarshalMsg(msgp.AppendArrayHeader(mp, 1)); err != nil {
			t.Fatal(err)
		}
		kind := map[bool]string{false: "replicated", true: "repair"}[repair]
		bodies["application/json "+kind] = js
		bodies["application/msgpack "+kind] = mp
	}
	for name, body := range bodies {
		code, msg := postDelta(t, base(n0), strings.Fields(name)[0], body)
		if code != http.StatusBadRequest || !strings.Contains(msg, "record 0") || !strings.Contains(msg, "instance.beatTimeout") {
			t.Errorf("%s: got %d %s, want 400 naming record 0 and instance.beatTimeout", name, code, msg)
		}
	}
	if got := n0.Node().Store().Index(); got != before {
		t.Fatalf("store index moved from %d to %d: a refused delta changed the registry", before, got)
	}
	if len(n0.Node().Store().Snapshot(keyOf("frozen")).Instances) != 0 {
		t.Fatal("the invalid record was merged")
	}
	metricEquals(t, base(n0), float64(len(bodies)), "roster_peer_records_refused_total")

	// The node still serves writes and reads promptly.
	start := time.Now()
	if code, body := nacos(t, base(n0), http.MethodPost, "instance", vals("serviceName", "after", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("register after the refused deltas: %d %s", code, body)
	}
	if code, body := nacos(t, base(n0), http.MethodGet, "instance/list", vals("serviceName", "after")); code != 200 || !strings.Contains(body, "10.0.0.1") {
		t.Fatalf("list after the refused deltas: %d %s", code, body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("register and list took %v, want under 2s", took)
	}
}

// postDelta sends body to /internal/v1/deltas as member n1 does and
// returns the status and answer.
func postDelta(t *testing.T, base, ctype string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/internal/v1/deltas", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(peer.NodeHeader, "n1")
	req.Header.Set("Content-Type", ctype)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
