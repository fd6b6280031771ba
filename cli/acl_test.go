package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/gate"
)

// TestACL_cliManagesUsersRolesAndPermissions drives roster acl against a
// real agent: the admin creates a user, binds a role and grants it
// team-a; the user's whoami shows it; lists never show a password; a
// user token cannot create users; bad input is a usage error.
func TestACL_cliManagesUsersRolesAndPermissions(t *testing.T) {
	a := agenttest.Start(t, func(c *agent.Config) {
		c.GossipAddr = ""
		c.ACL = gate.ACLConfig{Tokens: []string{"adm"}, TokenTTL: gate.DefaultTokenTTL, BcryptCost: 4}
	})
	addr := agenttest.URL(a)
	admin := []string{"--addr", addr, "--token", "adm"}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("alice-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		append(append([]string{"acl", "user", "add", "--password-file", pwFile}, admin...), "alice"),
		append(append([]string{"acl", "role", "add"}, admin...), "team-a", "alice"),
		append(append([]string{"acl", "perm", "add"}, admin...), "team-a", "team-a:*:*", "rw"),
	} {
		if r := runCLI(t, args...); r.code != 0 {
			t.Fatalf("%v: exit %d, %s %s", args, r.code, r.out, r.errOut)
		}
	}
	r := runCLI(t, append([]string{"acl", "user", "list"}, admin...)...)
	if r.code != 0 || !strings.Contains(r.out, "alice") || strings.Contains(r.out, "alice-pass") || strings.Contains(r.out, "$2a$") {
		t.Fatalf("user list: exit %d %q %s", r.code, r.out, r.errOut)
	}
	r = runCLI(t, append(append([]string{"acl", "perm", "list"}, admin...), "team-a")...)
	if r.code != 0 || !strings.Contains(r.out, "team-a:*:*") || !strings.Contains(r.out, "rw") {
		t.Fatalf("perm list: exit %d %q %s", r.code, r.out, r.errOut)
	}
	tok, _, err := a.Gate().Login("127.0.0.1", "alice", "alice-pass")
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "acl", "whoami", "--addr", addr, "--token", tok)
	if r.code != 0 || !strings.Contains(r.out, "user alice, global admin false, roles team-a") || !strings.Contains(r.out, "rw team-a:*:*") {
		t.Fatalf("whoami: exit %d %q %s", r.code, r.out, r.errOut)
	}
	r = runCLI(t, "acl", "user", "add", "--password", "x", "--addr", addr, "--token", tok, "mallory")
	if r.code == 0 || !strings.Contains(r.errOut, "403") {
		t.Fatalf("user add with a user's token: exit %d %q %q", r.code, r.out, r.errOut)
	}
	r = runCLI(t, append(append([]string{"acl", "perm", "add"}, admin...), "team-a", "team-a")...)
	if r.code == 0 {
		t.Fatalf("perm add with two arguments: exit 0 %q", r.out)
	}
	r = runCLI(t, append(append([]string{"acl", "perm", "add"}, admin...), "team-a", "team-a", "rw")...)
	if r.code == 0 || !strings.Contains(r.errOut, "resource") {
		t.Fatalf("perm add with a bad resource: exit %d %q", r.code, r.errOut)
	}
	r = runCLI(t, append(append([]string{"acl", "user", "delete"}, admin...), "alice")...)
	if r.code != 0 {
		t.Fatalf("user delete: exit %d %s", r.code, r.errOut)
	}
	if r = runCLI(t, "acl", "whoami", "--addr", addr, "--token", tok); r.code == 0 || !strings.Contains(r.errOut, "401") {
		t.Fatalf("whoami of a deleted user: exit %d %q %q", r.code, r.out, r.errOut)
	}
}
