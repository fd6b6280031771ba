package cli

import (
	"fmt"
	"strings"

	"github.com/roster-io/roster/agent"
)

// scopedTokens reads the lines of --acl-token-file: TOKEN (full access)
// or TOKEN ROLE (the permissions of ROLE). It records the roles in
// cfg.ACL.TokenRoles and returns the tokens. Errors name the line, never
// the token.
func scopedTokens(cfg *agent.Config, lines []string) ([]string, error) {
	out := make([]string, 0, len(lines))
	for i, line := range lines {
		f := strings.Fields(line)
		switch len(f) {
		case 1:
		case 2:
			if cfg.ACL.TokenRoles == nil {
				cfg.ACL.TokenRoles = map[string]string{}
			}
			cfg.ACL.TokenRoles[f[0]] = f[1]
		default:
			return nil, fmt.Errorf("--acl-token-file: token %d of the file has %d fields; want TOKEN or TOKEN ROLE", i+1, len(f))
		}
		out = append(out, f[0])
	}
	return out, nil
}
