package agent_test

import (
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/gate"
)

func TestConfig_validateSecurityAndLimits(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*agent.Config)
		wantErr string
	}{
		{"gossip key length", func(c *agent.Config) { c.GossipKey = make([]byte, 20) }, "gossip key is 20 bytes"},
		{"short cluster secret", func(c *agent.Config) { c.ClusterSecret = []byte("short") }, "cluster secret is 5 bytes"},
		{"empty acl token", func(c *agent.Config) { c.ACL.Tokens = []string{""} }, "acl token is empty"},
		{"acl user without password", func(c *agent.Config) { c.ACL.Users = map[string]string{"a": ""} }, "acl user"},
		{"acl ttl", func(c *agent.Config) { c.ACL = gate.ACLConfig{Tokens: []string{"t"}} }, "acl token ttl"},
		{"negative max concurrent", func(c *agent.Config) { c.MaxConcurrent = -1 }, "must not be negative"},
		{"negative max instances", func(c *agent.Config) { c.MaxInstancesPerNamespace = -1 }, "must not be negative"},
		{"metadata zero", func(c *agent.Config) { c.MaxMetadataBytes = 0 }, "max metadata bytes 0"},
		{"metadata over the parser's cap", func(c *agent.Config) { c.MaxMetadataBytes = 20000 }, "max metadata bytes 20000"},
		{"idle timeout", func(c *agent.Config) { c.IdleTimeout = 0 }, "idle timeouts must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := agent.DefaultLocalConfig()
			tt.mutate(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	c := agent.DefaultLocalConfig()
	c.GossipKey, c.ClusterSecret = make([]byte, 24), []byte("0123456789abcdef")
	c.ACL = gate.ACLConfig{Tokens: []string{"t"}, Users: map[string]string{"u": "p"}, Read: true, TokenTTL: gate.DefaultTokenTTL}
	c.MaxConcurrent, c.MaxInstancesPerService, c.MaxInstancesPerNamespace = 0, 0, 0
	if err := c.Validate(); err != nil {
		t.Fatalf("valid security config: %v", err)
	}
}
