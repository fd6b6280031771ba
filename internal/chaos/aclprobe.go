package chaos

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// The ACL prober, an intruder: a node of its own with ACLs on
// (--acl-read, login tokens valid 2 s, the Consul API and the gRPC door),
// a read-only user and a user who may write only namespace team-a, and,
// until the run ends, requests that change things on every door (Nacos
// and native HTTP, which the console uses too, Consul, gRPC) with a
// missing, expired, forged, foreign (signed with another key), read-only
// or other-namespace token. Each must be refused, 401 or 403 (405 from
// the read-only Consul API, error code 403 on gRPC), and change nothing:
// the node's registry index is read before and after every attempt, and
// nothing else writes to that node. DNS carries no token.

// ACL prober names.
const (
	ACLGuardName   = "acl-guard"
	ACLService     = "chaos-acl"     // refused registrations name it
	ACLGuarded     = "chaos-guarded" // the admin's instance refused requests target
	aclAdminToken  = "chaos-acl-admin"
	aclTokenTTL    = 2 * time.Second
	aclAttemptsGap = 50 * time.Millisecond
)

// aclHTTP reads the guard's index.
var aclHTTP = &http.Client{Timeout: 2 * time.Second}

// ACLAttempt is one refused-by-design request of the ACL prober: Door
// names it, Token the kind of token it carried, Code the answer (0: no
// answer), IndexBefore and IndexAfter the node's registry index around it
// (0: unread).
type ACLAttempt struct {
	T                       time.Time
	Door, Token             string
	Code                    int
	IndexBefore, IndexAfter uint64
}

// aclReq is one request that changes something.
type aclReq struct {
	door, method, path string
	v                  url.Values
	body               []byte
	consul             bool
	grpc               string // an InstanceRequest type: sent on the gRPC door
}

func aclRequests() []aclReq {
	inst := func(kv ...string) url.Values {
		v := url.Values{"serviceName": {ACLGuarded}, "ip": {"10.7.0.1"}, "port": {"80"}, "ephemeral": {"false"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	guarded := url.Values{"service": {ACLGuarded}, "ip": {"10.7.0.1"}, "port": {"80"}}
	return []aclReq{
		{"nacos register", http.MethodPost, "/nacos/v1/ns/instance", inst("serviceName", ACLService), nil, false, ""},
		{"nacos deregister", http.MethodDelete, "/nacos/v1/ns/instance", inst(), nil, false, ""},
		{"nacos update", http.MethodPut, "/nacos/v1/ns/instance", inst("weight", "9"), nil, false, ""},
		{"nacos service delete", http.MethodDelete, "/nacos/v1/ns/service", url.Values{"serviceName": {ACLGuarded}}, nil, false, ""},
		{"nacos switches", http.MethodPut, "/nacos/v1/ns/operator/switches", url.Values{"entry": {"pushEnabled"}, "value": {"false"}}, nil, false, ""},
		{"nacos namespace create", http.MethodPost, "/nacos/v1/console/namespaces", url.Values{"customNamespaceId": {"chaos-ns"}, "namespaceName": {"x"}}, nil, false, ""},
		{"nacos user create", http.MethodPost, "/nacos/v1/auth/users", url.Values{"username": {"intruder"}, "password": {"x"}}, nil, false, ""},
		{"nacos permission grant", http.MethodPost, "/nacos/v1/auth/permissions", url.Values{"role": {"readers"}, "resource": {"*:*:*"}, "action": {"rw"}}, nil, false, ""},
		{"nacos role unbind", http.MethodDelete, "/nacos/v1/auth/roles", url.Values{"role": {"team-a"}}, nil, false, ""},
		{"native register", http.MethodPost, "/v1/instance", nil, []byte(`{"service":"` + ACLService + `","ip":"10.7.0.2","port":80}`), false, ""},
		{"native deregister", http.MethodDelete, "/v1/instance", guarded, nil, false, ""},
		{"native register batch", http.MethodPost, "/v1/instances/batch", nil, []byte(`{"instances":[{"service":"` + ACLService + `","ip":"10.7.0.3","port":80},{"service":"` + ACLGuarded + `","ip":"10.7.0.1","port":80,"weight":9}]}`), false, ""},
		{"native update", http.MethodPatch, "/v1/instance", nil, []byte(`{"service":"` + ACLGuarded + `","ip":"10.7.0.1","port":80,"weight":9}`), false, ""},
		{"native beats", http.MethodPut, "/v1/beats", nil, []byte(`{"beats":[{"service":"` + ACLGuarded + `","ip":"10.7.0.1","port":80}]}`), false, ""},
		{"native health", http.MethodPut, "/v1/instance/health", guarded, []byte(`{"healthy":false}`), false, ""},
		{"native snapshot restore", http.MethodPost, "/v1/snapshot", nil, []byte(`{}`), false, ""},
		{"consul register", http.MethodPut, "/v1/agent/service/register", nil, []byte(`{"Name":"` + ACLService + `"}`), true, ""},
		{"consul read", http.MethodGet, "/v1/catalog/services", nil, nil, true, ""},
		{door: "grpc register", grpc: "registerInstance"},
		{door: "grpc deregister", grpc: "deregisterInstance"},
	}
}

// aclTokens are the bad tokens, by kind; each attempt picks one.
type aclTokens struct {
	readOnly, teamA, expired, forged, foreign string
}

func (t aclTokens) pick(rng *rand.Rand) (kind, tok string) {
	kinds := []struct{ k, v string }{{"missing", ""}, {"expired", t.expired}, {"forged", t.forged}, {"foreign", t.foreign},
		{"read-only", t.readOnly}, {"other-namespace", t.teamA}}
	k := kinds[rng.IntN(len(kinds))]
	return k.k, k.v
}

// aclProbe runs the ACL prober until ctx ends.
func (r *run) aclProbe(ctx context.Context, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0xac1))
	consul, err := freeLoopback()
	grpcAddr, err2 := freeLoopback()
	if err != nil || err2 != nil {
		return fmt.Sprintf("ACL prober did not start: %v %v", err, err2)
	}
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(rng.IntN(256))
	}
	args := append(agentArgs(r.cfg.LogLevel, false, false), "--acl-token", aclAdminToken, "--acl-read",
		"--acl-token-ttl", aclTokenTTL.String(), "--cluster-secret", base64.StdEncoding.EncodeToString(secret), "--consul-http", consul, "--grpc", grpcAddr)
	p, err := agentproc.Start(ctx, agentproc.Spec{Bin: r.cfg.Bin, Name: ACLGuardName, Args: args, Ready: true})
	if err != nil {
		if ctx.Err() == nil {
			r.h.AddFinding(Finding{T: time.Now(), Node: ACLGuardName, What: "harness", Detail: fmt.Sprintf("ACL guard did not start: %v", err)})
		}
		return "ACL prober did not start"
	}
	defer p.Stop(syscall.SIGKILL, 5*time.Second)
	toks, err := aclSetup(p.HTTP)
	if err != nil {
		r.h.AddFinding(Finding{T: time.Now(), Node: ACLGuardName, What: "harness", Detail: "ACL prober setup: " + err.Error()})
		return "ACL prober setup failed"
	}
	g, err := dialACLGRPC(grpcAddr)
	if err != nil {
		r.h.AddFinding(Finding{T: time.Now(), Node: ACLGuardName, What: "harness", Detail: "ACL prober gRPC: " + err.Error()})
		return "ACL prober gRPC setup failed"
	}
	defer g.close()
	r.logf("intruders: %s (ACLs on) ready, pid %d; bad-token attempts begin", ACLGuardName, p.PID())
	reqs := aclRequests()
	n, fresh := 0, time.Now()
	for sleepCtx(ctx, aclAttemptsGap) {
		if time.Since(fresh) > aclTokenTTL/2 { // keep the under-privileged tokens valid
			ro, err1 := aclLogin(p.HTTP, "viewer", "viewer-pass")
			ta, err2 := aclLogin(p.HTTP, "team-a-app", "a-pass")
			if err1 == nil && err2 == nil {
				toks.readOnly, toks.teamA, fresh = ro, ta, time.Now()
			}
		}
		q := reqs[rng.IntN(len(reqs))]
		kind, tok := toks.pick(rng)
		if q.door == "consul read" && kind == "read-only" { // a read it may make
			kind, tok = "other-namespace", toks.teamA
		}
		r.h.AddACL(aclAttempt(p.HTTP, consul, g, q, kind, tok))
		n++
	}
	if err := aclFinalState(p.HTTP); err != nil {
		r.h.AddFinding(Finding{T: time.Now(), Node: ACLGuardName, What: "acl", Detail: err.Error()})
	}
	return fmt.Sprintf("%d bad-token attempts", n)
}

// aclAttempt sends q with tok and reads the registry index around it.
func aclAttempt(addr, consul string, g *aclGRPC, q aclReq, kind, tok string) ACLAttempt {
	a := ACLAttempt{T: time.Now(), Door: q.door, Token: kind, IndexBefore: aclIndex(addr)}
	if q.grpc != "" {
		service := ACLGuarded
		if q.grpc == "registerInstance" {
			service = ACLService
		}
		a.Code = g.attempt(q.grpc, service, tok)
		a.IndexAfter = aclIndex(addr)
		return a
	}
	v := url.Values{}
	for k, vs := range q.v {
		v[k] = vs
	}
	if tok != "" {
		v.Set("accessToken", tok)
	}
	target := addr
	if q.consul {
		target = consul
	}
	code, _, err := do(q.method, target, q.path, v, q.body, 2*time.Second)
	if err == nil {
		a.Code = code
	}
	a.IndexAfter = aclIndex(addr)
	return a
}

// aclIndex reads the node's registry index as the admin (0: no answer).
func aclIndex(addr string) uint64 {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/services?accessToken="+aclAdminToken, nil)
	if err != nil {
		return 0
	}
	resp, err := aclHTTP.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	i, _ := strconv.ParseUint(resp.Header.Get("X-Roster-Index"), 10, 64)
	return i
}

// aclSetup creates the users and the guarded instance and returns the
// bad tokens; it checks that the team-a user may write team-a (so the
// refusals are the permissions' doing, not a door that refuses all).
func aclSetup(addr string) (aclTokens, error) {
	admin := func(path string, v url.Values) error {
		v.Set("accessToken", aclAdminToken)
		code, body, err := do(http.MethodPost, addr, path, v, nil, 5*time.Second)
		if err == nil && code != 200 {
			err = fmt.Errorf("POST %s: %d %s", path, code, body)
		}
		return err
	}
	steps := []struct {
		path string
		v    url.Values
	}{
		{"/nacos/v1/auth/users", url.Values{"username": {"viewer"}, "password": {"viewer-pass"}}},
		{"/nacos/v1/auth/roles", url.Values{"role": {"readers"}, "username": {"viewer"}}},
		{"/nacos/v1/auth/permissions", url.Values{"role": {"readers"}, "resource": {"*:*:*"}, "action": {"r"}}},
		{"/nacos/v1/auth/users", url.Values{"username": {"team-a-app"}, "password": {"a-pass"}}},
		{"/nacos/v1/auth/roles", url.Values{"role": {"team-a"}, "username": {"team-a-app"}}},
		{"/nacos/v1/auth/permissions", url.Values{"role": {"team-a"}, "resource": {"team-a:*:*"}, "action": {"rw"}}},
		{"/nacos/v1/ns/instance", url.Values{"serviceName": {ACLGuarded}, "ip": {"10.7.0.1"}, "port": {"80"}, "ephemeral": {"false"}}},
	}
	for _, s := range steps {
		if err := admin(s.path, s.v); err != nil {
			return aclTokens{}, err
		}
	}
	// No server-side checks of the guarded instance: its health changes
	// only if a refused request changes it.
	q := url.Values{"service": {ACLGuarded}, "cluster": {"DEFAULT"}, "accessToken": {aclAdminToken}}
	if code, body, err := do(http.MethodPut, addr, "/v1/service/cluster", q, []byte(`{"healthChecker":{"type":"NONE"},"useInstancePort4Check":true}`), 5*time.Second); err != nil || code != 200 {
		return aclTokens{}, fmt.Errorf("set the guarded cluster's checker to NONE: %d %s %v", code, body, err)
	}
	var t aclTokens
	var err error
	if t.expired, err = aclLogin(addr, "viewer", "viewer-pass"); err != nil {
		return t, err
	}
	if t.teamA, err = aclLogin(addr, "team-a-app", "a-pass"); err != nil {
		return t, err
	}
	v := url.Values{"namespaceId": {"team-a"}, "serviceName": {ACLGuarded}, "ip": {"10.7.0.1"}, "port": {"80"}, "ephemeral": {"false"}, "accessToken": {t.teamA}}
	if code, body, err := do(http.MethodPost, addr, "/nacos/v1/ns/instance", v, nil, 5*time.Second); err != nil || code != 200 {
		return t, fmt.Errorf("the team-a user cannot register in team-a: %d %s %v", code, body, err)
	}
	t.forged = forgeToken(t.expired, "admin", []byte(nil))
	t.foreign = forgeToken("", "viewer", []byte("another cluster's secret, 32 b!"))
	time.Sleep(aclTokenTTL + 100*time.Millisecond) // t.expired expires
	t.readOnly, err = aclLogin(addr, "viewer", "viewer-pass")
	return t, err
}

// aclLogin logs user in and returns the token.
func aclLogin(addr, user, pass string) (string, error) {
	code, body, err := do(http.MethodPost, addr, "/nacos/v1/auth/users/login", url.Values{"username": {user}, "password": {pass}}, nil, 5*time.Second)
	if err != nil || code != 200 {
		return "", fmt.Errorf("login %s: %d %s %v", user, code, body, err)
	}
	var lr struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(body, &lr); err != nil || lr.AccessToken == "" {
		return "", fmt.Errorf("login %s: %s", user, body)
	}
	return lr.AccessToken, nil
}

// forgeToken makes a login token for user valid for an hour: with key,
// signed with it (a foreign cluster's token); without, carrying the
// signature of real (a real token whose claims were changed).
func forgeToken(real, user string, key []byte) string {
	payload := fmt.Appendf(nil, `{"u":%q,"exp":%d}`, user, time.Now().Add(time.Hour).Unix())
	enc := base64.RawURLEncoding
	if key != nil {
		m := hmac.New(sha256.New, key)
		m.Write(payload)
		return "r1." + enc.EncodeToString(payload) + "." + enc.EncodeToString(m.Sum(nil))
	}
	sig := real[strings.LastIndexByte(real, '.')+1:]
	return "r1." + enc.EncodeToString(payload) + "." + sig
}

// aclFinalState checks the guarded instance is as the admin left it and
// nothing refused was made.
func aclFinalState(addr string) error {
	q := url.Values{"service": {ACLGuarded}, "ip": {"10.7.0.1"}, "port": {"80"}, "accessToken": {aclAdminToken}}
	code, body, err := do(http.MethodGet, addr, "/v1/instance", q, nil, 5*time.Second)
	if err != nil {
		return nil // the node did not answer: the attempts' indexes decide
	}
	if code != 200 || !strings.Contains(string(body), `"weight":1,`) || !strings.Contains(string(body), `"healthy":true`) {
		return fmt.Errorf("the guarded instance changed under refused requests: %d %s", code, body)
	}
	code, body, err = do(http.MethodGet, addr, "/v1/services", url.Values{"accessToken": {aclAdminToken}}, nil, 5*time.Second)
	if err == nil && (code != 200 || strings.Contains(string(body), ACLService+`"`)) {
		return fmt.Errorf("a refused registration exists: %d %s", code, body)
	}
	return nil
}

// freeLoopback returns a free 127.0.0.1 address.
func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
