package agent_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNacosPush_sendsChangesToSubscriber checks a client that lists with a
// udpPort gets the new list pushed when the service changes.
func TestNacosPush_sendsChangesToSubscriber(t *testing.T) {
	_, base := startNode(t)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	port := udp.LocalAddr().(*net.UDPAddr).Port
	// clientIP points elsewhere on purpose: pushes go to the caller only.
	code, _ := nacos(t, base, http.MethodGet, "instance/list", vals("serviceName", "pushed", "udpPort", strconv.Itoa(port), "clientIP", "192.0.2.1"))
	if code != 200 {
		t.Fatalf("list: %d", code)
	}
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "pushed", "ip", "10.0.0.9", "port", "80"))
	_ = udp.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 8192)
	n, _, err := udp.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no push received: %v", err)
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
		t.Fatalf("push %q: %v", data, err)
	}
	if msg.Type != "dom" || !strings.Contains(msg.Data, `"ip":"10.0.0.9"`) || !strings.Contains(msg.Data, `"name":"DEFAULT_GROUP@@pushed"`) {
		t.Fatalf("push: got %+v", msg)
	}
}

func TestNacosPush_badUDPPort(t *testing.T) {
	_, base := startNode(t)
	if code, body := nacos(t, base, http.MethodGet, "instance/list", vals("serviceName", "s", "udpPort", "70000")); code != 400 || !strings.Contains(body, "udpPort") {
		t.Fatalf("got %d %s, want 400 naming udpPort", code, body)
	}
}
