package agent_test

import (
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/gate"
)

// TestConfig_aclNeedsASecretWhenClustering: with ACLs on, a node that
// gossips must share a secret with its peers, or any host could forge
// node-to-node requests around the ACLs. A node without gossip needs
// none.
func TestConfig_aclNeedsASecretWhenClustering(t *testing.T) {
	acl := gate.ACLConfig{Tokens: []string{"t"}, TokenTTL: gate.DefaultTokenTTL}
	c := agent.DefaultLocalConfig()
	c.ACL = acl
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--cluster-secret") {
		t.Fatalf("ACLs, gossip, no secret: got %v, want a refusal naming --cluster-secret", err)
	}
	if _, err := agent.New(c); err == nil {
		t.Fatal("New accepted ACLs in a cluster without a secret")
	}
	for name, mutate := range map[string]func(*agent.Config){
		"gossip key":     func(c *agent.Config) { c.GossipKey = make([]byte, 32) },
		"cluster secret": func(c *agent.Config) { c.ClusterSecret = []byte("0123456789abcdef") },
		"no gossip":      func(c *agent.Config) { c.GossipAddr = "" },
	} {
		c := agent.DefaultLocalConfig()
		c.ACL = acl
		mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("ACLs with %s: %v", name, err)
		}
	}
}

// TestConfig_wildcardHTTPNeedsAnAdvertisedAddress: peers must be told an
// address they can dial. A wildcard HTTP bind takes its host from a
// specific gossip address; when that is a wildcard too, the node refuses
// to start unless --advertise-http says what to advertise.
func TestConfig_wildcardHTTPNeedsAnAdvertisedAddress(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		http, gossip, adv, adH string
		wantErr                bool
	}{
		{"both wildcard", "0.0.0.0:0", "0.0.0.0:0", "", "", true},
		{"both IPv6 wildcard", "[::]:0", "[::]:0", "", "", true},
		{"empty host", ":0", "0.0.0.0:0", "", "", true},
		{"specific gossip host", "0.0.0.0:0", "127.0.0.1:0", "", "", false},
		{"gossip advertise", "0.0.0.0:0", "0.0.0.0:0", "127.0.0.1:7946", "", false},
		{"advertise-http", "0.0.0.0:0", "0.0.0.0:0", "", "127.0.0.1:8848", false},
		{"no gossip", "0.0.0.0:0", "", "", "", false},
		{"specific http", "127.0.0.1:0", "0.0.0.0:0", "", "", false},
	} {
		c := agent.DefaultLocalConfig()
		c.HTTPAddr, c.GossipAddr, c.Advertise, c.AdvertiseHTTP = tt.http, tt.gossip, tt.adv, tt.adH
		err := c.Validate()
		if got := err != nil; got != tt.wantErr {
			t.Errorf("%s: got %v, want error %v", tt.name, err, tt.wantErr)
		} else if err != nil && !strings.Contains(err.Error(), "--advertise-http") {
			t.Errorf("%s: %v does not name --advertise-http", tt.name, err)
		}
	}
}
