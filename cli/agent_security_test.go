package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/testpki"
)

func TestKeygen(t *testing.T) {
	a, b := runCLI(t, "keygen"), runCLI(t, "keygen")
	for _, r := range []result{a, b} {
		if r.code != 0 {
			t.Fatalf("keygen: exit %d, stderr %s", r.code, r.errOut)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.out))
		if err != nil || len(key) != 32 {
			t.Fatalf("keygen printed %q: %d bytes, %v; want 32 base64 bytes", r.out, len(key), err)
		}
	}
	if a.out == b.out {
		t.Fatal("two keygen runs printed the same key")
	}
	cfg, _, res := parseAgentFlags(t, "--gossip-key", strings.TrimSpace(a.out))
	if res.code != 0 || len(cfg.GossipKey) != 32 {
		t.Fatalf("--gossip-key from keygen: exit %d, %d-byte key; stderr %s", res.code, len(cfg.GossipKey), res.errOut)
	}
}

func TestAgent_securityFlags(t *testing.T) {
	clearRosterEnv(t)
	dir := t.TempDir()
	tokens, users := filepath.Join(dir, "tokens"), filepath.Join(dir, "users")
	os.WriteFile(tokens, []byte("# ops\nfile-token\nci-token  deployer\n\n"), 0o600)
	os.WriteFile(users, []byte("bob:pass:with:colons\n"), 0o600)
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	f, err := pki.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))
	t.Setenv("ROSTER_CLUSTER_SECRET", "0123456789abcdef-secret")
	cfg, _, res := parseAgentFlags(t, "--gossip-key", key,
		"--acl-token", "t1", "--acl-token", "t2", "--acl-token-file", tokens,
		"--acl-user", "alice:pw", "--acl-user-file", users, "--acl-read", "--acl-token-ttl", "1h",
		"--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--tls-client-ca", f.CA,
		"--max-concurrent", "5", "--max-watchers", "9", "--max-instances-per-service", "6", "--max-instances-per-namespace", "7",
		"--max-metadata-bytes", "100", "--header-timeout", "3s", "--read-timeout", "5s", "--idle-timeout", "4s")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.errOut)
	}
	want := gate.ACLConfig{Tokens: []string{"t1", "t2", "file-token", "ci-token"}, TokenRoles: map[string]string{"ci-token": "deployer"},
		Users: map[string]string{"alice": "pw", "bob": "pass:with:colons"}, Read: true, TokenTTL: time.Hour}
	if !reflect.DeepEqual(cfg.ACL, want) {
		t.Errorf("ACL: got %+v, want %+v", cfg.ACL, want)
	}
	if !bytes.Equal(cfg.GossipKey, bytes.Repeat([]byte{1}, 16)) || string(cfg.ClusterSecret) != "0123456789abcdef-secret" {
		t.Errorf("keys: got gossip %x, secret %q", cfg.GossipKey, cfg.ClusterSecret)
	}
	if cfg.TLS == nil || cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert || cfg.PeerTLS == nil {
		t.Errorf("TLS: got %+v, want mutual TLS", cfg.TLS)
	}
	got := []any{cfg.MaxConcurrent, cfg.MaxWatchers, cfg.MaxInstancesPerService, cfg.MaxInstancesPerNamespace, cfg.MaxMetadataBytes, cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.IdleTimeout}
	exp := []any{5, 9, 6, 7, 100, 3 * time.Second, 5 * time.Second, 4 * time.Second}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("limits: got %v, want %v", got, exp)
	}
	// Defaults: ACLs and TLS off, the node's limits.
	cfg, _, res = parseAgentFlags(t)
	def := agent.DefaultConfig()
	if res.code != 0 || cfg.ACL.Enabled() || cfg.TLS != nil || cfg.MaxConcurrent != def.MaxConcurrent ||
		cfg.MaxInstancesPerService != def.MaxInstancesPerService || cfg.ACL.TokenTTL != 5*time.Hour {
		t.Errorf("defaults: got %+v", cfg)
	}
}

func TestAgent_badSecurityFlags(t *testing.T) {
	badTokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(badTokens, []byte("tok role extra\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--gossip-key", "not base64!"}, "--gossip-key is not base64"},
		{[]string{"--gossip-key", base64.StdEncoding.EncodeToString(make([]byte, 20))}, "--gossip-key is 20 bytes"},
		{[]string{"--cluster-secret", "short"}, "--cluster-secret is 5 bytes"},
		{[]string{"--acl-user", "alice"}, `--acl-user "ali***" is not NAME:PASSWORD`},
		{[]string{"--acl-user", "alice:"}, `--acl-user "alice:***"`},
		{[]string{"--acl-read"}, "--acl-read needs"},
		{[]string{"--acl-token", "t", "--acl-token-ttl", "0s"}, "--acl-token-ttl 0s must be positive"},
		{[]string{"--acl-token-file", "/nonexistent/tokens"}, "--acl-token-file"},
		{[]string{"--acl-token-file", badTokens}, "token 1 of the file has 3 fields"},
		{[]string{"--tls-cert", "/nonexistent/cert.pem"}, "--tls-cert"},
		{[]string{"--max-concurrent", "-1"}, "--max-concurrent -1 must not be negative"},
		{[]string{"--max-watchers", "-1"}, "--max-watchers -1 must not be negative"},
		{[]string{"--max-metadata-bytes", "0"}, "--max-metadata-bytes 0 must be in 1..16384"},
		{[]string{"--max-metadata-bytes", "20000"}, "--max-metadata-bytes 20000"},
		{[]string{"--header-timeout", "0s"}, "--header-timeout 0s must be positive"},
		{[]string{"--peer-batch-pace", "-1ms"}, "--peer-batch-pace -1ms must not be negative"},
		{[]string{"--peer-batch-pace", "1s"}, "--peer-batch-pace 1s must be at most 100ms"},
		{[]string{"--handoff-pace", "-1ms"}, "--handoff-pace -1ms must not be negative"},
		{[]string{"--handoff-pace", "101ms"}, "--handoff-pace 101ms must be at most 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			clearRosterEnv(t)
			_, _, res := parseAgentFlags(t, tt.args...)
			if res.code != exitUsage || !strings.Contains(res.errOut, tt.wantErr) {
				t.Errorf("%v: got exit %d, stderr %q; want %d and %q", tt.args, res.code, res.errOut, exitUsage, tt.wantErr)
			}
		})
	}
}

// TestClient_token checks the client commands against an agent with ACLs.
func TestClient_token(t *testing.T) {
	a := startAgent(t, "--http", "127.0.0.1:0", "--gossip", "", "--acl-token", "sekret")
	addr := "http://" + a.addr
	reg := []string{"register", "--addr", addr, "--service", "s", "--ip", "10.0.0.1", "--port", "80"}
	r := runCLI(t, reg...)
	if r.code != exitFailure || !strings.Contains(r.errOut, "401") || !strings.Contains(r.errOut, "token") {
		t.Fatalf("register without token: exit %d, stderr %q; want 1 and a 401 about the token", r.code, r.errOut)
	}
	if r := runCLI(t, append(reg, "--token", "wrong")...); r.code != exitFailure || !strings.Contains(r.errOut, "401") {
		t.Fatalf("register with a wrong token: exit %d, stderr %q", r.code, r.errOut)
	}
	if r := runCLI(t, append(reg, "--token", "sekret")...); r.code != 0 {
		t.Fatalf("register with --token: exit %d, stderr %q", r.code, r.errOut)
	}
	t.Setenv("ROSTER_TOKEN", "sekret")
	if r := runCLI(t, "deregister", "--addr", addr, "--service", "s", "--ip", "10.0.0.1", "--port", "80"); r.code != 0 {
		t.Fatalf("deregister with ROSTER_TOKEN: exit %d, stderr %q", r.code, r.errOut)
	}
}

// TestClient_https checks the client commands against a node that serves
// mutual TLS.
func TestClient_https(t *testing.T) {
	clearRosterEnv(t)
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	f, err := pki.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.DefaultLocalConfig()
	cfg.GossipAddr = ""
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.TLS, cfg.PeerTLS, err = gate.LoadTLS(gate.TLSFiles{Cert: f.ServerCert, Key: f.ServerKey, ClientCA: f.CA})
	if err != nil {
		t.Fatal(err)
	}
	n, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	addr := "https://" + n.Addr()
	ok := runCLI(t, "services", "--addr", addr, "--ca-file", f.CA, "--cert-file", f.ClientCert, "--key-file", f.ClientKey)
	if ok.code != 0 {
		t.Fatalf("services over mutual TLS: exit %d, stderr %q", ok.code, ok.errOut)
	}
	if r := runCLI(t, "services", "--addr", addr, "--cert-file", f.ClientCert, "--key-file", f.ClientKey); r.code != exitFailure || !strings.Contains(r.errOut, "certificate") {
		t.Fatalf("without --ca-file: exit %d, stderr %q; want 1 and a certificate error", r.code, r.errOut)
	}
	if r := runCLI(t, "services", "--addr", addr, "--ca-file", f.CA); r.code != exitFailure {
		t.Fatalf("without a client certificate: exit %d, stderr %q; want 1", r.code, r.errOut)
	}
	if r := runCLI(t, "services", "--addr", addr, "--ca-file", f.ClientKey); r.code != exitUsage || !strings.Contains(r.errOut, "--ca-file") {
		t.Fatalf("--ca-file without a certificate: exit %d, stderr %q; want 2", r.code, r.errOut)
	}
}
