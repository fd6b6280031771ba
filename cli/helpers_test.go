package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/roster-io/roster/internal/freeport"
)

// result is what one run of the command line produced.
type result struct {
	code   int
	out    string
	errOut string
}

// runCLI runs the app in-process with args (without the program name).
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp(&out, &errOut, agentHooks{})
	code := execute(context.Background(), app, append([]string{"roster"}, args...))
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// recordedRequest is one request the fake API received.
type recordedRequest struct {
	method      string
	path        string
	query       url.Values
	contentType string
	body        []byte
}

// fakeAPI fakes a node's native API: it records every request and answers
// each with the same status and body.
type fakeAPI struct {
	srv *httptest.Server

	// mu guards reqs.
	mu   sync.Mutex
	reqs []recordedRequest
}

// newFakeAPI starts a fake API on 127.0.0.1 answering status and body.
func newFakeAPI(t *testing.T, status int, body string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake api: read body: %v", err)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, recordedRequest{
			method:      r.Method,
			path:        r.URL.Path,
			query:       r.URL.Query(),
			contentType: r.Header.Get("Content-Type"),
			body:        b,
		})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// only returns the single request the fake received, failing otherwise.
func (f *fakeAPI) only(t *testing.T) recordedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("fake api got %d requests, want 1", len(f.reqs))
	}
	return f.reqs[0]
}

// closedAddr returns a loopback address nothing listens on (a port
// internal/freeport found free a moment ago).
func closedAddr(t *testing.T) string {
	t.Helper()
	port, err := freeport.TCPUDP()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers and readers.
type lockedBuffer struct {
	// mu guards buf.
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
