package peer

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// TestServer_lastBeats answers the store's beat times of a service, and
// refuses a request that names no service or is too large.
func TestServer_lastBeats(t *testing.T) {
	st, err := store.New(store.Config{Node: "n1", Now: time.Now, TombstoneTTL: time.Minute, Partitions: 7,
		Partition: func(store.Key) int { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	k := store.Key{Namespace: "public", Group: "G", Service: "s"}
	ik := store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80}
	if _, err := st.Register(k, store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Self = "n1"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s := NewServer(tr, storeReceiver{st: st})
	post := func(body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/internal/v1/lastbeats", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/json")
		s.lastBeats(w, r, Member{Name: "n0"})
		return w
	}
	b, _ := json.Marshal(lastBeatsRequest{Key: k})
	w := post(string(b))
	var reply lastBeatsReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil || w.Code != 200 || len(reply.Beats) != 1 || reply.Beats[0].Instance != ik {
		t.Fatalf("lastbeats: %d %s, want 10.0.0.1's time", w.Code, w.Body)
	}
	if age := time.Unix(0, reply.Now).Sub(time.Unix(0, reply.Beats[0].At)); age < 0 || age > time.Minute {
		t.Errorf("beat %v before the answer, want the registration just made", age)
	}
	for name, body := range map[string]string{
		"no service": `{"key":{"namespace":"public","group":"G","service":""}}`,
		"not JSON":   `{"key":`,
		"too large":  `{"key":{"service":"` + strings.Repeat("x", lastBeatsMaxBody) + `"}}`,
	} {
		if w := post(body); w.Code/100 != 4 {
			t.Errorf("%s: %d %s, want a 4xx", name, w.Code, w.Body)
		}
	}
}
