package agent_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestACL_loginGuessingIsBraked: password guessing meets a brake. After a
// few failed logins for one user (or from one source) the next attempts
// get 429 with Retry-After, even with the right password, until the
// back-off passes; other users from elsewhere are not affected.
func TestACL_loginGuessingIsBraked(t *testing.T) {
	_, base := startNode(t, withACL(false))
	post := func(user, pass string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.PostForm(base+"/nacos/v1/auth/users/login", url.Values{"username": {user}, "password": {pass}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		return resp.StatusCode, string(b[:n]), resp.Header
	}
	refused := 0
	for i := range 30 {
		code, body, hdr := post("alice", "guess-"+strconv.Itoa(i))
		switch code {
		case http.StatusForbidden:
		case http.StatusTooManyRequests:
			refused++
			if secs, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || secs < 1 {
				t.Fatalf("429 without a usable Retry-After: %q (%s)", hdr.Get("Retry-After"), body)
			}
		default:
			t.Fatalf("guess %d: got %d %s, want 403 or 429", i, code, body)
		}
	}
	if refused < 20 {
		t.Fatalf("%d of 30 guesses refused with 429, want the brake to hold after a few", refused)
	}
	if code, body, _ := post("alice", "pw"); code != http.StatusTooManyRequests || !strings.Contains(body, "login") {
		t.Fatalf("right password while braked: got %d %s, want 429", code, body)
	}
}
