package consul_test

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/testpki"
)

// TestConsul_TLS checks that with TLS on the HTTP port, the Consul API's
// listener serves HTTPS with the same certificate, and no plain HTTP.
func TestConsul_TLS(t *testing.T) {
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := start(t, func(c *agent.Config) {
		c.GossipAddr = ""
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.Server}}
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki.Pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Get("https://" + a.ConsulAddr() + "/v1/catalog/services")
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("https: %s", resp.Status)
	}
	if resp, err := http.Get("http://" + a.ConsulAddr() + "/v1/catalog/services"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP was served on the TLS listener")
		}
	}
}
