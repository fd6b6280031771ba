package cli

// The agent's security and limit flags, kept apart from agent.go: gossip
// encryption, the cluster secret, client ACLs, TLS and resource limits.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
)

// securityFlags are the agent's security and limit flags, with defaults
// taken from def.
func securityFlags(def agent.Config) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "gossip-key", EnvVars: envVar("gossip-key"),
			Usage: "base64 AES key (16, 24 or 32 bytes; make one with 'roster keygen') that encrypts gossip; also keys internal request signatures unless --cluster-secret is set"},
		&cli.StringFlag{Name: "cluster-secret", EnvVars: envVar("cluster-secret"),
			Usage: "secret (at least 16 bytes) that signs internal requests and login tokens; default: derived from --gossip-key"},
		&cli.StringSliceFlag{Name: "acl-token", EnvVars: envVar("acl-token"),
			Usage: "static client `TOKEN` with full access; repeatable. Any token or user turns ACLs on"},
		&cli.StringFlag{Name: "acl-token-file", EnvVars: envVar("acl-token-file"),
			Usage: "`file` of static tokens, one a line as TOKEN (full access) or TOKEN ROLE (the permissions of ROLE; docs/security.md); # comments"},
		&cli.StringSliceFlag{Name: "acl-user", EnvVars: envVar("acl-user"),
			Usage: "`NAME:PASSWORD` of a user who may log in (POST /nacos/v1/auth/users/login); repeatable"},
		&cli.StringFlag{Name: "acl-user-file", EnvVars: envVar("acl-user-file"),
			Usage: "`file` of users, NAME:PASSWORD one a line (# comments)"},
		&cli.BoolFlag{Name: "acl-read", EnvVars: envVar("acl-read"),
			Usage: "with ACLs on, reads need a token too (writes always do)"},
		&cli.DurationFlag{Name: "acl-token-ttl", Value: def.ACL.TokenTTL, EnvVars: envVar("acl-token-ttl"),
			Usage: "lifetime of login tokens"},
		&cli.StringFlag{Name: "tls-cert", EnvVars: envVar("tls-cert"),
			Usage: "PEM certificate `file`: serve HTTPS (client and internal API; every node must use TLS)"},
		&cli.StringFlag{Name: "tls-key", EnvVars: envVar("tls-key"),
			Usage: "PEM private key `file` of --tls-cert"},
		&cli.StringFlag{Name: "tls-client-ca", EnvVars: envVar("tls-client-ca"),
			Usage: "PEM CA `file`: require client certificates signed by it (mutual TLS)"},
		&cli.StringFlag{Name: "tls-ca", EnvVars: envVar("tls-ca"),
			Usage: "PEM CA `file` that peers' certificates are verified with (default: --tls-client-ca, else the system roots)"},
		&cli.IntFlag{Name: "max-concurrent", Value: def.MaxConcurrent, EnvVars: envVar("max-concurrent"),
			Usage: "client requests handled at once before 429 (0: no limit); internal traffic, probes and blocking queries do not count"},
		&cli.IntFlag{Name: "max-watchers", Value: def.MaxWatchers, EnvVars: envVar("max-watchers"),
			Usage: "blocking queries waiting at once before 429 (0: no limit)"},
		&cli.IntFlag{Name: "max-instances-per-service", Value: def.MaxInstancesPerService, EnvVars: envVar("max-instances-per-service"),
			Usage: "live instances a service may hold before registrations get 409 (0: no limit)"},
		&cli.IntFlag{Name: "max-instances-per-namespace", Value: def.MaxInstancesPerNamespace, EnvVars: envVar("max-instances-per-namespace"),
			Usage: "live instances a namespace may hold before registrations get 409 (0: no limit)"},
		&cli.IntFlag{Name: "max-metadata-bytes", Value: def.MaxMetadataBytes, EnvVars: envVar("max-metadata-bytes"),
			Usage: fmt.Sprintf("bytes of metadata keys and values per instance or service before 400 (1..%d)", param.MaxMetadataBytes)},
		&cli.DurationFlag{Name: "header-timeout", Value: def.ReadHeaderTimeout, EnvVars: envVar("header-timeout"),
			Usage: "time a client may take to send its request headers"},
		&cli.DurationFlag{Name: "read-timeout", Value: def.ReadTimeout, EnvVars: envVar("read-timeout"),
			Usage: "time a client may take to send a whole request, body included"},
		&cli.DurationFlag{Name: "idle-timeout", Value: def.IdleTimeout, EnvVars: envVar("idle-timeout"),
			Usage: "keep-alive connections idle this long are closed"},
	}
}

// applySecurity reads the security and limit flags into cfg. Its errors
// name the flag; the caller reports them as usage errors.
func applySecurity(c *cli.Context, cfg *agent.Config) error {
	if v := strings.TrimSpace(c.String("gossip-key")); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return fmt.Errorf("--gossip-key is not base64: %v", err)
		}
		if n := len(key); n != 16 && n != 24 && n != 32 {
			return fmt.Errorf("--gossip-key is %d bytes; want 16, 24 or 32 (AES-128, -192 or -256; 'roster keygen' makes one)", n)
		}
		cfg.GossipKey = key
	}
	if v := c.String("cluster-secret"); v != "" {
		if len(v) < 16 {
			return fmt.Errorf("--cluster-secret is %d bytes; want at least 16", len(v))
		}
		cfg.ClusterSecret = []byte(v)
	}
	if err := applyACL(c, cfg); err != nil {
		return err
	}
	server, peer, err := gate.LoadTLS(gate.TLSFiles{Cert: c.String("tls-cert"), Key: c.String("tls-key"),
		ClientCA: c.String("tls-client-ca"), CA: c.String("tls-ca")})
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key/--tls-client-ca/--tls-ca: %v", err)
	}
	cfg.TLS, cfg.PeerTLS = server, peer

	cfg.MaxConcurrent = c.Int("max-concurrent")
	cfg.MaxWatchers = c.Int("max-watchers")
	cfg.MaxInstancesPerService = c.Int("max-instances-per-service")
	cfg.MaxInstancesPerNamespace = c.Int("max-instances-per-namespace")
	cfg.MaxMetadataBytes = c.Int("max-metadata-bytes")
	cfg.ReadHeaderTimeout = c.Duration("header-timeout")
	cfg.ReadTimeout = c.Duration("read-timeout")
	cfg.IdleTimeout = c.Duration("idle-timeout")
	for _, f := range []string{"max-concurrent", "max-watchers", "max-instances-per-service", "max-instances-per-namespace"} {
		if c.Int(f) < 0 {
			return fmt.Errorf("--%s %d must not be negative", f, c.Int(f))
		}
	}
	if m := cfg.MaxMetadataBytes; m < 1 || m > param.MaxMetadataBytes {
		return fmt.Errorf("--max-metadata-bytes %d must be in 1..%d", m, param.MaxMetadataBytes)
	}
	for _, f := range []string{"header-timeout", "read-timeout", "idle-timeout"} {
		if c.Duration(f) <= 0 {
			return fmt.Errorf("--%s %v must be positive", f, c.Duration(f))
		}
	}
	return nil
}

// applyACL reads the ACL flags into cfg.ACL.
func applyACL(c *cli.Context, cfg *agent.Config) error {
	tokens := c.StringSlice("acl-token")
	if f := c.String("acl-token-file"); f != "" {
		lines, err := readLines(f)
		if err != nil {
			return fmt.Errorf("--acl-token-file: %v", err)
		}
		if lines, err = scopedTokens(cfg, lines); err != nil {
			return err
		}
		tokens = append(tokens, lines...)
	}
	for _, t := range tokens {
		if strings.TrimSpace(t) == "" {
			return errors.New("--acl-token is empty")
		}
		cfg.ACL.Tokens = append(cfg.ACL.Tokens, strings.TrimSpace(t))
	}
	users := c.StringSlice("acl-user")
	if f := c.String("acl-user-file"); f != "" {
		lines, err := readLines(f)
		if err != nil {
			return fmt.Errorf("--acl-user-file: %v", err)
		}
		users = append(users, lines...)
	}
	for _, u := range users {
		name, pass, ok := strings.Cut(u, ":")
		if !ok || strings.TrimSpace(name) == "" || pass == "" {
			return fmt.Errorf("--acl-user %q is not NAME:PASSWORD", redact(u))
		}
		if cfg.ACL.Users == nil {
			cfg.ACL.Users = map[string]string{}
		}
		cfg.ACL.Users[strings.TrimSpace(name)] = pass
	}
	cfg.ACL.Read = c.Bool("acl-read")
	cfg.ACL.TokenTTL = c.Duration("acl-token-ttl")
	if cfg.ACL.TokenTTL <= 0 {
		return fmt.Errorf("--acl-token-ttl %v must be positive", cfg.ACL.TokenTTL)
	}
	if cfg.ACL.Read && !cfg.ACL.Enabled() {
		return errors.New("--acl-read needs at least one --acl-token or --acl-user")
	}
	return nil
}

// redact keeps the user name of a NAME:PASSWORD value out of sight of
// the password.
func redact(u string) string {
	if name, _, ok := strings.Cut(u, ":"); ok {
		return name + ":***"
	}
	if len(u) > 3 {
		return u[:3] + "***"
	}
	return "***"
}

// readLines returns the non-blank lines of file that do not start with #.
func readLines(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}
