package grpcdoor_test

import (
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
)

// A BatchInstanceRequest is one node write: an instance refused by a
// check the node makes (its metadata over --max-metadata-bytes) refuses
// the batch with a 400 naming it, and none of the batch's instances is
// written, those before it included; a limit refuses the request too.
func TestDoor_batchIsCheckedWholeBeforeAnyWrite(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) { c.MaxMetadataBytes, c.MaxInstancesPerService = 16, 3 })
	c := connect(t, a)
	typ, body := c.call("BatchInstanceRequest", map[string]any{"requestId": "b", "serviceName": "checked",
		"type": "batchRegisterInstance", "instances": []map[string]any{{"ip": "10.0.0.1", "port": 80},
			{"ip": "10.0.0.2", "port": 80, "metadata": map[string]string{"k": strings.Repeat("v", 32)}}}})
	if typ != "ErrorResponse" || body["errorCode"] != 400.0 || !strings.Contains(body["message"].(string), "instances[1].metadata") {
		t.Fatalf("batch with metadata over the limit: got %s %v", typ, body)
	}
	if h := httpHosts(t, a, "checked"); len(h) != 0 {
		t.Fatalf("a refused batch wrote %v", h)
	}
	typ, body = c.call("BatchInstanceRequest", map[string]any{"requestId": "b", "serviceName": "checked",
		"type": "batchRegisterInstance", "instances": []map[string]any{{"ip": "10.0.0.1", "port": 80},
			{"ip": "10.0.0.2", "port": 80}, {"ip": "10.0.0.3", "port": 80}, {"ip": "10.0.0.4", "port": 80}}})
	if typ != "ErrorResponse" || body["errorCode"] != 409.0 {
		t.Fatalf("batch past --max-instances-per-service: got %s %v", typ, body)
	}
	typ, body = c.call("BatchInstanceRequest", map[string]any{"requestId": "b", "serviceName": "checked",
		"type": "batchRegisterInstance", "instances": []map[string]any{{"ip": "10.0.0.1", "port": 80}, {"ip": "10.0.0.2", "port": 80}}})
	if typ != "BatchInstanceResponse" || body["success"] != true {
		t.Fatalf("batch within the limits: got %s %v", typ, body)
	}
	if h := httpHosts(t, a, "checked"); len(h) != 2 {
		t.Fatalf("service after the batch: %v", h)
	}
}
