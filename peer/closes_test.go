package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roster-io/roster/store"
)

// closeRecorder is a Receiver that takes connection closes.
type closeRecorder struct {
	storeReceiver
	holder string
	closes []ConnClose
}

func (r *closeRecorder) CloseConns(holder Member, closes []ConnClose) int {
	r.holder, r.closes = holder.Name, closes
	return 10 * len(closes)
}

func postCloses(t *testing.T, recv Receiver, body string) *httptest.ResponseRecorder {
	return postInternal(t, recv, (*Server).closed, "/internal/v1/closed", body)
}

func TestCloses_deleteTheSendersConnections(t *testing.T) {
	recv := &closeRecorder{}
	w := postCloses(t, recv, `{"closes":[{"conn":"1_10.0.0.1_5000","version":{"clock":5,"node":"holder"}},{"conn":"c2","version":{"clock":6,"node":"holder"}}]}`)
	var r closesReply
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusOK || r.Deleted != 20 {
		t.Fatalf("got %d %s, want 200 with 20 deleted", w.Code, w.Body)
	}
	if recv.holder != "holder" || len(recv.closes) != 2 || recv.closes[1].Version.Clock != 6 {
		t.Fatalf("core got holder %q closes %v", recv.holder, recv.closes)
	}
}

func TestCloses_invalidRequestsRefused(t *testing.T) {
	many := make([]ConnClose, closesPerItem+1)
	for i := range many {
		many[i] = ConnClose{Conn: fmt.Sprintf("c%06d", i)}
		many[i].Version.Clock, many[i].Version.Node = 1, "holder"
	}
	manyBody, _ := json.Marshal(closesRequest{Closes: many})
	ok := `"version":{"clock":5,"node":"holder"}`
	cases := []struct{ name, body, field string }{
		{"malformed json", `{"closes":[`, "malformed"},
		{"empty id", `{"closes":[{"conn":"",` + ok + `}]}`, "closes[0].conn"},
		{"id too long", `{"closes":[{"conn":"` + strings.Repeat("x", MaxConnIDBytes+1) + `",` + ok + `}]}`, "closes[0].conn"},
		{"control character", `{"closes":[{"conn":"a\u0001",` + ok + `}]}`, "closes[0].conn: not printable"},
		{"no clock", `{"closes":[{"conn":"a","version":{"node":"holder"}}]}`, "closes[0].version.clock"},
		{"another node's connection", `{"closes":[{"conn":"a","version":{"clock":5,"node":"n3"}}]}`, "closes[0].version.node"},
		{"too many", string(manyBody), "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv := &closeRecorder{}
			w := postCloses(t, recv, c.body)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), c.field) {
				t.Fatalf("got %d %s, want 400 naming %q", w.Code, w.Body, c.field)
			}
			if recv.holder != "" {
				t.Fatal("a refused request reached the core")
			}
		})
	}
}

func TestCloses_nodeWithoutClosesAnswers404(t *testing.T) {
	w := postCloses(t, storeReceiver{}, `{"closes":[]}`)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "closed") {
		t.Fatalf("got %d %s, want 404 naming closed", w.Code, w.Body)
	}
}

// A member's queue sends the records of writes and the closes between
// them in order; a peer that does not know the closes endpoint (an older
// version) refuses only the closes and still gets the records after them.
func TestCloses_sentInOrderAndAnOldPeerStillGetsTheRecords(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/internal/v1/closed" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"applied":1}`)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Self = "a"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rec := func() []store.Record {
		in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80}, Version: store.Version{Clock: 1, Node: "a"}}
		return []store.Record{{Key: store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "s"}, Instance: &in}}
	}
	batch := []outDelta{{recs: rec()}, {closes: []ConnClose{{Conn: "c1", Version: store.Version{Clock: 2, Node: "a"}}}}, {recs: rec()}}
	m := Member{Name: "b", HTTPAddr: strings.TrimPrefix(srv.URL, "http://")}
	if _, err := tr.sendDeltas(context.Background(), m, batch); err != nil {
		t.Fatalf("batch failed: %v", err)
	}
	want := []string{"/internal/v1/deltas", "/internal/v1/closed", "/internal/v1/deltas"}
	if !slices.Equal(paths, want) {
		t.Fatalf("requests %v, want %v", paths, want)
	}
}
