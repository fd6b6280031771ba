package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// TestInternalBeats_staleHandoffRefused is the chaos suite's partition
// finding: a beat hand-off delivered long after it was sent (held in the
// sender's TCP buffer through a partition) must not re-register an
// instance; a fresh one still does.
func TestInternalBeats_staleHandoffRefused(t *testing.T) {
	n, _ := startNode(t)
	k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "svc"}
	ik := store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.7", Port: 80}
	reg := &store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true, Ephemeral: true,
		BeatInterval: time.Second, BeatTimeout: 3 * time.Second, DeleteTimeout: 6 * time.Second}
	post := func(sent time.Time) beatAnswer {
		t.Helper()
		body, _ := json.Marshal(beatsRequest{Beats: []beatCall{{Key: k, Instance: ik, Register: reg}}, Sent: sent.UnixNano()})
		w := httptest.NewRecorder()
		n.internalBeats(w, httptest.NewRequest(http.MethodPost, "/internal/v1/beats", bytes.NewReader(body)), member{Name: "peer"})
		var r beatsReply
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || len(r.Answers) != 1 {
			t.Fatalf("got %d %s, want one answer", w.Code, w.Body)
		}
		return r.Answers[0]
	}
	tests := []struct {
		name      string
		age       time.Duration
		wantFound bool
	}{
		{"stale hand-off does not re-register", 10 * time.Second, false},
		{"fresh hand-off re-registers", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(time.Now().Add(-tt.age))
			_, listed := n.store.Snapshot(k).Find(ik)
			if a.Found != tt.wantFound || listed != tt.wantFound {
				t.Errorf("got found %v, listed %v (answer %+v), want %v", a.Found, listed, a, tt.wantFound)
			}
			if !tt.wantFound && a.Error != errStaleHandoff {
				t.Errorf("got error %q, want %q", a.Error, errStaleHandoff)
			}
		})
	}
}
