package peer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// leaseRecorder is a Receiver that takes connection leases.
type leaseRecorder struct {
	storeReceiver
	holder string
	conns  []string
}

func (r *leaseRecorder) HandleLeases(holder Member, conns []string) int {
	r.holder, r.conns = holder.Name, conns
	return 10 * len(conns)
}

func postLeases(t *testing.T, recv Receiver, body string) *httptest.ResponseRecorder {
	return postInternal(t, recv, (*Server).leases, "/internal/v1/leases", body)
}

// postInternal runs the internal handler of a server on recv with a POST
// of body to path from member "holder".
func postInternal(t *testing.T, recv Receiver, handler func(*Server, http.ResponseWriter, *http.Request, Member), path, body string) *httptest.ResponseRecorder {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Self = "owner"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	w := httptest.NewRecorder()
	handler(NewServer(tr, recv), w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)), Member{Name: "holder"})
	return w
}

func TestLeases_renewsTheSendersConnections(t *testing.T) {
	recv := &leaseRecorder{}
	w := postLeases(t, recv, `{"conns":["1_10.0.0.1_5000","1_10.0.0.2_5000"]}`)
	var r leasesReply
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusOK || r.Renewed != 20 {
		t.Fatalf("got %d %s, want 200 with 20 renewed", w.Code, w.Body)
	}
	if recv.holder != "holder" || len(recv.conns) != 2 {
		t.Fatalf("core got holder %q conns %v, want the sender and both ids", recv.holder, recv.conns)
	}
}

func TestLeases_invalidRequestsRefused(t *testing.T) {
	many := make([]string, MaxLeaseConns+1)
	for i := range many {
		many[i] = fmt.Sprintf("c%06d", i)
	}
	manyBody, _ := json.Marshal(leasesRequest{Conns: many})
	cases := []struct{ name, body, field string }{
		{"malformed json", `{"conns":[`, "malformed"},
		{"not a list", `{"conns":"c1"}`, "malformed"},
		{"empty id", `{"conns":[""]}`, "conns[0]"},
		{"id too long", `{"conns":["` + strings.Repeat("x", MaxConnIDBytes+1) + `"]}`, "conns[0]"},
		{"control character", `{"conns":["a\u0001"]}`, "conns[0]: not printable"},
		{"duplicate", `{"conns":["a","a"]}`, "conns[1]: ids not strictly ascending"},
		{"unsorted", `{"conns":["b","a"]}`, "conns[1]"},
		{"too many", string(manyBody), "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv := &leaseRecorder{}
			w := postLeases(t, recv, c.body)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), c.field) {
				t.Fatalf("got %d %s, want 400 naming %q", w.Code, w.Body, c.field)
			}
			if recv.holder != "" {
				t.Fatal("a refused request reached the core")
			}
		})
	}
}

func TestLeases_nodeWithoutLeasesAnswers404(t *testing.T) {
	w := postLeases(t, storeReceiver{}, `{"conns":["a"]}`)
	if w.Code != http.StatusNotFound {
		t.Fatalf("got %d %s, want 404", w.Code, w.Body)
	}
	if !bytes.Contains(w.Body.Bytes(), []byte("leases")) {
		t.Fatalf("body %s does not name leases", w.Body)
	}
}
