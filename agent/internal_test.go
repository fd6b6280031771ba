package agent_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// TestInternal_summaryAndPullCheckPartitions checks the summary and pull
// endpoints answer a member's request for partitions outside the ring
// with 400, a non-member with 403, and a good request with the records.
func TestInternal_summaryAndPullCheckPartitions(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	n0 := tc.Agent("n0")
	if code, body := nacos(t, base(n0), http.MethodPost, "instance", vals("serviceName", "sum", "ip", "10.0.0.1", "port", "80", "ephemeral", "false")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	part := n0.Node().Ring().Partition(store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "sum"}.String())
	post := func(path, from, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base(n0)+path, strings.NewReader(body))
		req.Header.Set(peer.NodeHeader, from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/internal/v1/summary", "/internal/v1/pull"} {
		for _, bad := range []string{`{"partitions":[-1]}`, `{"partitions":[4093]}`} {
			if code, body := post(path, "n1", bad); code != http.StatusBadRequest || !strings.Contains(body, "partition") {
				t.Errorf("%s %s: got %d %s, want 400 naming the partition", path, bad, code, body)
			}
		}
		if code, _ := post(path, "nobody", fmt.Sprintf(`{"partitions":[%d]}`, part)); code != http.StatusForbidden {
			t.Errorf("%s from a non-member: got %d, want 403", path, code)
		}
	}
	code, body := post("/internal/v1/summary", "n1", fmt.Sprintf(`{"partitions":[%d]}`, part))
	var sum struct {
		Summaries [][]byte `json:"summaries"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &sum) != nil || len(sum.Summaries) != 1 || len(sum.Summaries[0]) != store.SummaryEntryBytes {
		t.Fatalf("summary: got %d %s, want one partition with one entry", code, body)
	}
	es, _ := store.ParseSummary(sum.Summaries[0])
	code, body = post("/internal/v1/pull", "n1", fmt.Sprintf(`{"partitions":[%d],"ids":%q}`, part, base64.StdEncoding.EncodeToString(binary.LittleEndian.AppendUint64(nil, es[0].ID))))
	if code != 200 || !strings.Contains(body, `"10.0.0.1"`) {
		t.Fatalf("pull by id: got %d %s, want the one record", code, body)
	}
}
