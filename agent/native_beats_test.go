package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/api"
)

// PUT /v1/beats beats several instances in one request and answers one
// result per beat in order: the interval, or 404 for an unknown instance.
// A batch with an invalid key, or too many or no beats, is refused whole
// (400 naming the field) and beats nothing.
func TestNative_batchBeats(t *testing.T) {
	a, base := startNode(t)
	for i := 1; i <= 3; i++ {
		code, body := do(t, http.MethodPost, base+"/v1/instance", "application/json",
			fmt.Sprintf(`{"service":"api","ip":"10.0.0.%d","port":9000,"beatIntervalMs":700}`, i))
		if code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	batch := `{"beats":[{"service":"api","ip":"10.0.0.1","port":9000},{"service":"api","ip":"10.0.0.9","port":9000},` +
		`{"service":"api","ip":"10.0.0.3","port":9000},{"service":"api","ip":"10.0.0.2","port":9000}]}`
	code, body := do(t, http.MethodPut, base+"/v1/beats", "application/json", batch)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, body)
	}
	var reply api.BeatsReply
	mustJSON(t, body, &reply)
	want := []int{0, 404, 0, 0}
	if len(reply.Results) != len(want) {
		t.Fatalf("got %d results, want %d: %s", len(reply.Results), len(want), body)
	}
	for i, r := range reply.Results {
		if r.Status != want[i] || (want[i] == 0 && r.BeatIntervalMs != 700) || (want[i] != 0 && r.Error == "") {
			t.Errorf("result %d: %+v, want status %d (interval 700 ms when found)", i, r, want[i])
		}
	}
	if got := a.Node().Stats().BeatsReceived; got != 4 {
		t.Fatalf("beats received %d, want 4", got)
	}
	many := `{"beats":[` + strings.Repeat(`{"service":"api","ip":"10.0.0.1","port":9000},`, api.MaxBatchBeats) + `{"service":"api","ip":"10.0.0.1","port":9000}]}`
	for _, c := range []struct{ body, field string }{
		{`{"beats":[{"service":"api","ip":"10.0.0.1","port":9000},{"service":"api","ip":"10.0.0.2","port":70000}]}`, "beats[1].port"},
		{`{"beats":[{"service":"","ip":"10.0.0.1","port":9000}]}`, "beats[0].service"},
		{`{"beats":[]}`, "beats"},
		{many, "beats"},
	} {
		code, body := do(t, http.MethodPut, base+"/v1/beats", "application/json", c.body)
		if code != 400 || !strings.Contains(body, c.field) {
			t.Errorf("%.80s: %d %s, want 400 naming %s", c.body, code, body, c.field)
		}
	}
	if got := a.Node().Stats().BeatsReceived; got != 4 {
		t.Fatalf("refused batches beat something: beats received %d, want 4", got)
	}
}

// TestNative_batchBeatsLateHeader: X-Roster-Beats-Late-Ms, optional on
// PUT /v1/beats, must be a whole number of milliseconds up to a day; any
// other value refuses the batch with a 400 naming the header and beats
// nothing. A valid report alone (the node is not overloaded) engages no
// expiry brake.
func TestNative_batchBeatsLateHeader(t *testing.T) {
	a, base := startNode(t)
	code, body := do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"api","ip":"10.0.0.1","port":9000}`)
	if code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	put := func(late string) (int, string) {
		h := http.Header{"Content-Type": {"application/json"}, api.HeaderBeatsLate: {late}}
		return doHeader(t, http.MethodPut, base+"/v1/beats", h, `{"beats":[{"service":"api","ip":"10.0.0.1","port":9000}]}`)
	}
	for _, bad := range []string{"abc", "-1", "1.5", "86400001", "99999999999999999999"} {
		if code, body := put(bad); code != 400 || !strings.Contains(body, api.HeaderBeatsLate) {
			t.Errorf("%s: %q: %d %s, want 400 naming the header", api.HeaderBeatsLate, bad, code, body)
		}
	}
	if got := a.Node().Stats().BeatsReceived; got != 0 {
		t.Errorf("refused batches beat something: beats received %d", got)
	}
	if code, body := put("5000"); code != 200 {
		t.Fatalf("a batch 5 s late: %d %s", code, body)
	}
	time.Sleep(300 * time.Millisecond) // a sweep or two
	if on, engaged := a.Node().ExpiryBrake(); on || engaged != 0 {
		t.Errorf("a client's report alone engaged the brake of an idle node (on %v, engaged %d)", on, engaged)
	}
}
