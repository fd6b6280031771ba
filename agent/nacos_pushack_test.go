package agent_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// listAs lists a service subscribing udpPort, as a client with this
// User-Agent does, and returns the answer's cacheMillis.
func listAs(t *testing.T, base, agentName, svc string, udpPort int) int64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/nacos/v1/ns/instance/list?"+vals("serviceName", svc, "udpPort", strconv.Itoa(udpPort), "app", "orders-app").Encode(), nil)
	req.Header.Set("User-Agent", agentName)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var l listResp
	mustJSON(t, string(b), &l)
	return l.CacheMillis
}

// readPush reads one push datagram within d: its raw size and message.
func readPush(t *testing.T, udp *net.UDPConn, d time.Duration) (int, pushMessage, *net.UDPAddr, bool) {
	t.Helper()
	_ = udp.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 70000)
	n, from, err := udp.ReadFromUDP(buf)
	if err != nil {
		return 0, pushMessage{}, nil, false
	}
	data := buf[:n]
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var msg pushMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		t.Fatalf("push: %v", err)
	}
	return n, msg, from, true
}

// TestNacosPush_ackRetryAndSize checks UDP push as Nacos does it: the
// subscriber shows in service/subscribers and is told the push
// cacheMillis; a Java client gets a 500-instance list (over the 4 KB a
// Go client reads) in one datagram; a push not acknowledged is sent once
// more with the same lastRefTime, and an acknowledged one is not; a
// client with a small buffer is not sent a list too large for it.
func TestNacosPush_ackRetryAndSize(t *testing.T) {
	const ackTimeout = time.Second
	_, base := startNode(t, func(c *agent.Config) { c.PushAckTimeout = ackTimeout })
	const svc = "big-pushed"
	for i := range 499 {
		if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", svc, "ip", fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256), "port", "8080",
			"metadata", fmt.Sprintf(`{"token":"%x"}`, sha256.Sum256([]byte(strconv.Itoa(i)))))); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	java, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer java.Close()
	small, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	javaPort, smallPort := java.LocalAddr().(*net.UDPAddr).Port, small.LocalAddr().(*net.UDPAddr).Port
	if cm := listAs(t, base, "Nacos-Java-Client:v1.4.2", svc, javaPort); cm != 10000 {
		t.Errorf("cacheMillis told a pushed client: %d, want Nacos' 10000", cm)
	}
	listAs(t, base, "Nacos-Go-Client:v1.1.4", svc, smallPort)

	code, body := nacos(t, base, http.MethodGet, "service/subscribers", vals("serviceName", svc))
	var subs struct {
		Count       int
		Subscribers []map[string]string
	}
	mustJSON(t, body, &subs)
	want := map[string]string{"addrStr": "127.0.0.1:" + strconv.Itoa(javaPort), "agent": "Nacos-Java-Client:v1.4.2", "app": "orders-app",
		"ip": "127.0.0.1", "namespaceId": "public", "serviceName": "DEFAULT_GROUP@@" + svc}
	if code != 200 || subs.Count != 2 || len(subs.Subscribers) != 2 || !sameMap(subs.Subscribers[0], want) && !sameMap(subs.Subscribers[1], want) {
		t.Fatalf("service/subscribers: %d %s, want both subscribers, one of them %v", code, body, want)
	}

	nacos(t, base, http.MethodPost, "instance", vals("serviceName", svc, "ip", "10.9.9.9", "port", "8080"))
	size, first, _, ok := readPush(t, java, 3*time.Second)
	if !ok {
		t.Fatal("no push received")
	}
	if n := strings.Count(first.Data, `"instanceId"`); n != 500 || size <= 4024 {
		t.Fatalf("push: %d hosts in %d bytes, want 500 hosts in more than 4024 bytes", n, size)
	}
	// Not acknowledged: it comes once more, the same push.
	_, again, from, ok := readPush(t, java, 10*ackTimeout)
	if !ok || again.LastRefTime != first.LastRefTime || again.Data != first.Data {
		t.Fatalf("retry: got %v (lastRefTime %d), want the same push again (%d)", ok, again.LastRefTime, first.LastRefTime)
	}
	ack := fmt.Sprintf(`{"type":"push-ack","lastRefTime":"%d","data":""}`, again.LastRefTime)
	if _, err := java.WriteToUDP([]byte(ack), from); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := readPush(t, java, 3*ackTimeout/2); ok {
		t.Error("a push was sent again after it was acknowledged and retried")
	}
	state := func() map[string]any {
		_, body := nacos(t, base, http.MethodGet, "operator/push/state", nil)
		var m map[string]any
		mustJSON(t, body, &m)
		return m
	}
	await.Explain(t, 2*time.Second, "ack and size counted", func() (bool, string) {
		s := state()
		return s["acked"] == 1.0 && s["tooLarge"] == 1.0, fmt.Sprint(s)
	})
	if s := state(); s["total"] != 1.0 || s["retried"] != 1.0 || s["failed"] != 0.0 || s["succeed"] != 1.0 {
		t.Errorf("push/state: %v, want total 1, retried 1, failed 0", s)
	}
	if _, _, _, ok := readPush(t, small, 50*time.Millisecond); ok {
		t.Error("a Go client was pushed a list larger than its 4 KB buffer")
	}
}

// sameMap reports whether a and b hold the same entries.
func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
