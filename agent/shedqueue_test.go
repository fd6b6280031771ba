package agent_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
)

// An agent's HTTP port times the requests pipelined on a connection
// (--shed-queue-age): beats pipelined 2,000 deep on one connection, far
// more than the node answers within twice the limit, are partly answered
// 429 with Retry-After: 1 at once, the rest 200, and none is lost. With
// the limit off (the wiring of Listener and ConnContext missing, or
// --shed-queue-age 0) every one is answered 200, late.
func TestAgent_pipelinedBeatsPastQueueAgeAreShed(t *testing.T) {
	_, base := startNode(t, func(c *agent.Config) { c.ShedQueueAge = 10 * time.Millisecond })
	inst := vals("serviceName", "piped", "ip", "10.0.0.1", "port", "80")
	if code, body := nacos(t, base, http.MethodPost, "instance", inst); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	const n = 2000
	req := "PUT /nacos/v1/ns/instance/beat?" + inst.Encode() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Length: 0\r\n\r\n"
	werr := make(chan error, 1)
	go func() { _, err := io.WriteString(c, strings.Repeat(req, n)); werr <- err }()
	br := bufio.NewReader(c)
	ok, shed := 0, 0
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d of %d: %v", i+1, n, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			ok++
		case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "1":
			shed++
		default:
			t.Fatalf("answer %d: %d (Retry-After %q), want 200 or 429 with Retry-After: 1", i+1, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d pipelined beats answered 200, %d shed", ok, n, shed)
	if shed == 0 || ok == 0 {
		t.Fatalf("%d answered 200 and %d shed of %d pipelined beats; want both", ok, shed, n)
	}
}
