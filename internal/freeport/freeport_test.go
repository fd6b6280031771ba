package freeport

import (
	"fmt"
	"net"
	"testing"
)

func TestTCPUDP_bindable(t *testing.T) {
	port, err := TCPUDP()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("tcp on %d: %v", port, err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("udp on %d: %v", port, err)
	}
	u.Close()
}
