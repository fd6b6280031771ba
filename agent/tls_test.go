package agent_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/internal/testpki"
)

// httpsClient trusts pki's CA and presents cert, if any.
func httpsClient(pki *testpki.PKI, cert *tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: pki.Pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second}
}

// TestTLS_mutualTLSCluster runs a 3-node cluster that serves only mutual
// TLS: peers replicate to each other over https with their own
// certificates, and clients need a certificate signed by the CA.
func TestTLS_mutualTLSCluster(t *testing.T) {
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	tc := agenttest.NewCluster(t, 3, func(c *agent.Config) {
		c.GossipKey = testSecret
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.Server},
			ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
		c.PeerTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.Pool, Certificates: []tls.Certificate{pki.Server}}
	})
	client := httpsClient(pki, &pki.Client)
	owner, other := ownerAndOther(tc, "secure")
	resp, err := client.PostForm("https://"+other.Addr()+"/nacos/v1/ns/instance",
		url.Values{"serviceName": {"secure"}, "ip": {"10.0.0.1"}, "port": {"80"}})
	if err != nil {
		t.Fatalf("register over mutual TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("register over mutual TLS: %s", resp.Status)
	}
	for _, n := range tc.Agents() {
		await.True(t, 5*time.Second, "replicated over https to "+n.Node().Name(), func() bool {
			resp, err := client.Get("https://" + n.Addr() + "/v1/instances?service=secure")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == 200 && strings.Contains(string(b), `"10.0.0.1"`)
		})
	}
	// A beat through a non-owner is handed off over https.
	req, _ := http.NewRequest(http.MethodPut, "https://"+other.Addr()+"/nacos/v1/ns/instance/beat?serviceName=secure&ip=10.0.0.1&port=80", nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "10200") || other.Node().Stats().HandoffBeats == 0 {
		t.Fatalf("beat via %s (owner %s): %s %s, handed off %d", other.Node().Name(), owner.Node().Name(), resp.Status, b, other.Node().Stats().HandoffBeats)
	}

	// No client certificate, or a CA the client does not trust: refused.
	if _, err := httpsClient(pki, nil).Get("https://" + other.Addr() + "/v1/services"); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get("https://" + other.Addr() + "/healthz"); err == nil {
		t.Fatal("a client that does not trust the CA was served")
	}
	if resp, err := http.Get("http://" + other.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP was served on the TLS port")
		}
	}
}

// TestTLS_LoadTLS checks the files the agent's flags name.
func TestTLS_LoadTLS(t *testing.T) {
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	f, err := pki.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, peer, err := gate.LoadTLS(gate.TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA})
	if err != nil {
		t.Fatal(err)
	}
	if srv.ClientAuth != tls.RequireAndVerifyClientCert || srv.ClientCAs == nil || peer.RootCAs == nil || len(peer.Certificates) != 1 {
		t.Fatalf("mutual TLS config: server %+v, peer %+v", srv, peer)
	}
	if s, p, err := gate.LoadTLS(gate.TLSFiles{}); s != nil || p != nil || err != nil {
		t.Fatalf("no files: got %v %v %v, want nothing", s, p, err)
	}
	for _, bad := range []gate.TLSFiles{
		{Cert: f.ServerCert},
		{ClientCA: f.CA},
		{Cert: f.ServerCert, Key: f.ClientKey},
		{Cert: f.ServerCert, Key: f.ServerKey, CA: f.ServerKey},
		{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: "/nonexistent"},
	} {
		if _, _, err := gate.LoadTLS(bad); err == nil {
			t.Errorf("gate.LoadTLS(%+v): got nil error", bad)
		}
	}
}
