package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// beatRecorder is a Receiver that counts the beats it is handed.
type beatRecorder struct {
	storeReceiver
	beats int
}

func (r *beatRecorder) HandleBeat(context.Context, BeatCall) (time.Duration, bool, error) {
	r.beats++
	return time.Second, true, nil
}

// TestServer_staleHandoffRefused is the chaos suite's partition finding:
// a beat hand-off delivered long after it was sent (held in the sender's
// TCP buffer through a partition) must not reach the core, where its
// re-registration would revive an instance; a fresh one does.
func TestServer_staleHandoffRefused(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Self = "owner"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	recv := &beatRecorder{}
	s := NewServer(tr, recv)
	post := func(sent time.Time) BeatAnswer {
		t.Helper()
		body, _ := json.Marshal(beatsRequest{Beats: []BeatCall{validBeat()}, Sent: sent.UnixNano()})
		w := httptest.NewRecorder()
		s.beats(w, httptest.NewRequest(http.MethodPost, "/internal/v1/beats", bytes.NewReader(body)), Member{Name: "peer"})
		var r beatsReply
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || len(r.Answers) != 1 {
			t.Fatalf("got %d %s, want one answer", w.Code, w.Body)
		}
		return r.Answers[0]
	}
	tests := []struct {
		name      string
		age       time.Duration
		wantStale bool
	}{
		{"stale hand-off is refused", 10 * time.Second, true},
		{"fresh hand-off reaches the core", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := recv.beats
			a := post(time.Now().Add(-tt.age))
			handled := recv.beats > before
			if a.Stale != tt.wantStale || handled == tt.wantStale || a.Found == tt.wantStale {
				t.Errorf("got %+v (handled %v), want stale %v", a, handled, tt.wantStale)
			}
		})
	}
}
