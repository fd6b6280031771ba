package agent_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/internal/testpki"
)

// TestPeerStream_mixedCluster runs a mutual-TLS, keyed cluster in which
// n2 does not open streams (as during a rolling change of
// --peer-stream): writes through every node replicate to all, beats
// through non-owners reach their owners, the nodes with the stream on
// send over it, and a restarted node is streamed to again.
func TestPeerStream_mixedCluster(t *testing.T) {
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	secure := func(c *agent.Config) {
		c.GossipKey = testSecret
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.Server},
			ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
		c.PeerTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.Pool, Certificates: []tls.Certificate{pki.Server}}
		c.PeerStream = c.Name != "n2"
	}
	tc := agenttest.NewCluster(t, 3, secure)
	client := httpsClient(pki, &pki.Client)
	do := func(method, addr, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+addr+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// register adds an instance through every node, checks that every
	// node lists all of them, and beats each through every non-owner.
	register := func(round int) {
		ips := map[string]string{}
		for i, a := range tc.Agents() {
			svc, ip := "mixed-"+a.Node().Name(), fmt.Sprintf("10.0.%d.%d", round, i+1)
			ips[svc] = ip
			if code, body := do(http.MethodPost, a.Addr(), "/nacos/v1/ns/instance?serviceName="+svc+"&ip="+ip+"&port=80"); code != 200 {
				t.Fatalf("register via %s: %d %s", a.Node().Name(), code, body)
			}
		}
		for _, a := range tc.Agents() {
			for svc, ip := range ips {
				await.True(t, 10*time.Second, svc+" replicated to "+a.Node().Name(), func() bool {
					code, body := do(http.MethodGet, a.Addr(), "/v1/instances?service="+svc)
					return code == 200 && strings.Contains(body, `"`+ip+`"`)
				})
			}
		}
		for _, a := range tc.Agents() {
			for svc, ip := range ips {
				owner, ok := a.Node().Owner(keyOf(svc))
				if !ok || owner.Name == a.Node().Name() {
					continue
				}
				// Under load a hand-off may time out (1 s) and be handled
				// locally; one of a few tries reaches the owner.
				await.True(t, 10*time.Second, fmt.Sprintf("round %d: a beat of %s via %s handed off to %s", round, svc, a.Node().Name(), owner.Name), func() bool {
					before := a.Node().Stats()
					code, body := do(http.MethodPut, a.Addr(), "/nacos/v1/ns/instance/beat?serviceName="+svc+"&ip="+ip+"&port=80")
					after := a.Node().Stats()
					return code == 200 && strings.Contains(body, "10200") && after.HandoffBeats > before.HandoffBeats && after.HandoffFailures == before.HandoffFailures
				})
			}
		}
	}
	register(1)
	for _, name := range []string{"n0", "n1"} {
		if st := tc.Agent(name).Node().Stats(); st.StreamConnects == 0 || st.StreamCalls == 0 {
			t.Errorf("%s: %d streams opened, %d requests over them; want both above 0", name, st.StreamConnects, st.StreamCalls)
		}
	}
	if st := tc.Agent("n2").Node().Stats(); st.StreamConnects != 0 || st.StreamCalls != 0 {
		t.Errorf("n2 has the stream off but opened %d streams", st.StreamConnects)
	}
	before := tc.Agent("n0").Node().Stats().StreamConnects
	tc.Kill("n1")
	tc.Start("n1", secure)
	tc.WaitConverged(20 * time.Second)
	await.True(t, 20*time.Second, "n0 streams to the restarted n1", func() bool {
		return tc.Agent("n0").Node().Stats().StreamConnects > before
	})
	register(2)
}
