package gate

// The one authorisation decision of every door. A request's principal is
// who its token names: a static token (full access, or the role its
// --acl-token-file line gives it), a user of --acl-user (a global admin)
// or a user created through the user API (the roles bound to it). The
// principal may do action A (read or write) on resource R
// (namespace:group:service) when it is a global admin or one of its
// roles holds a permission whose resource pattern matches R and whose
// action includes A. Admin actions (users, roles, permissions, switches,
// namespaces, snapshots, debugging) need a global admin. No token where
// one is needed is a 401; a valid token without the permission a 403
// naming the permission it lacks.

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Action is what a request does to a resource.
type Action uint8

// The actions of Nacos' permissions.
const (
	Read  Action = 1
	Write Action = 2
)

func (a Action) String() string {
	if a == Write {
		return "w"
	}
	return "r"
}

// Resource is what a request touches. An empty Group or Service means
// the request spans all of them (a list of a namespace), which only a
// permission with * in that part grants.
type Resource struct {
	Namespace, Group, Service string
}

func (r Resource) String() string {
	part := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	return part(r.Namespace) + ":" + part(r.Group) + ":" + part(r.Service)
}

// Principal is who a request acts as.
type Principal struct {
	// Name is the user name, or "token#N" for the Nth static token; empty
	// for a request without a token.
	Name string
	// Admin is a global admin: may do everything.
	Admin bool
	// Roles are the principal's roles.
	Roles []string
}

// Anonymous reports whether the request carried no token.
func (p Principal) Anonymous() bool { return p.Name == "" }

// principalOf resolves token tok (non-empty) to its principal.
func (g *Gate) principalOf(tok string) (Principal, error) {
	s := g.auth
	match := -1
	for i, t := range s.acl.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			match = i
		}
	}
	if match >= 0 {
		p := Principal{Name: fmt.Sprintf("token#%d", match+1), Admin: true}
		if role, ok := s.acl.TokenRoles[tok]; ok && role != GlobalAdminRole {
			p.Admin, p.Roles = false, []string{role}
		}
		return p, nil
	}
	c, err := s.verifyToken(tok, s.now())
	if err != nil {
		return Principal{}, err
	}
	if _, ok := s.users[c.User]; ok {
		return Principal{Name: c.User, Admin: true}, nil
	}
	st := g.acls.get(g.core, s.now(), false)
	if _, ok := st.users[c.User]; !ok {
		return Principal{}, fmt.Errorf("%w: token of unknown user %q", ErrUnauthorized, c.User)
	}
	p := Principal{Name: c.User, Roles: st.roles[c.User]}
	for _, r := range p.Roles {
		if r == GlobalAdminRole {
			p.Admin = true
		}
	}
	return p, nil
}

// tokenPrincipal resolves tok, which must be present.
func (g *Gate) tokenPrincipal(tok string) (Principal, error) {
	if tok == "" {
		return Principal{}, fmt.Errorf("%w: this node requires a token: send Authorization: Bearer TOKEN or the accessToken parameter", ErrUnauthorized)
	}
	return g.principalOf(tok)
}

// allowed is the decision: may p do act on res?
func (g *Gate) allowed(p Principal, act Action, res Resource) bool {
	if p.Admin {
		return true
	}
	if res.Namespace == SystemNamespace || len(p.Roles) == 0 {
		return false
	}
	st := g.acls.get(g.core, g.auth.now(), false)
	for _, role := range p.Roles {
		for _, perm := range st.perms[role] {
			if perm.matches(act, res) {
				return true
			}
		}
	}
	return false
}

// Allowed is the decision for a principal a door has resolved: may p do
// act on res? True when ACLs are off.
func (g *Gate) Allowed(p Principal, act Action, res Resource) bool {
	return !g.auth.acl.Enabled() || g.allowed(p, act, res)
}

// tokenOf returns the token r carries: paramToken (a door's own
// spelling), else Authorization: Bearer, else the accessToken parameter
// of the query.
func tokenOf(r *http.Request, paramToken string) string {
	tok := strings.TrimSpace(paramToken)
	if h := r.Header.Get("Authorization"); tok == "" && h != "" {
		scheme, v, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(v)
		}
	}
	if tok == "" {
		tok = strings.TrimSpace(r.URL.Query().Get("accessToken"))
	}
	return tok
}

// PrincipalOf returns who r acts as: its token's principal, or the
// anonymous principal when it carries none (or ACLs are off). A token
// that is invalid, expired or of an unknown user is a 401.
func (g *Gate) PrincipalOf(r *http.Request, paramToken string) (Principal, error) {
	if !g.auth.acl.Enabled() {
		return Principal{}, nil
	}
	tok := tokenOf(r, paramToken)
	if tok == "" {
		return Principal{}, nil
	}
	return g.principalOf(tok)
}

// Check is the authorisation of one request of an HTTP door: may the
// principal of r (its token paramToken, or found in r) do act on res?
// Nil when ACLs are off, or act is a read and reads are open (no
// --acl-read) and res is not in the reserved namespace. Denied writes are
// logged.
func (g *Gate) Check(r *http.Request, paramToken string, act Action, res Resource) error {
	if !g.auth.acl.Enabled() || (act == Read && !g.auth.acl.Read && res.Namespace != SystemNamespace) {
		return nil // before reading the token: the path of every request with ACLs off
	}
	return g.CheckToken(tokenOf(r, paramToken), sourceOf(r), act, res)
}

// CheckToken is Check for a door that is not HTTP: tok is the request's
// token ("" for none), source its client address.
func (g *Gate) CheckToken(tok, source string, act Action, res Resource) error {
	if !g.auth.acl.Enabled() || (act == Read && !g.auth.acl.Read && res.Namespace != SystemNamespace) {
		return nil
	}
	p, err := g.tokenPrincipal(tok)
	if err != nil {
		if act == Write {
			g.auditUnauthenticated(source, res.String(), err)
		}
		return err
	}
	if g.allowed(p, act, res) {
		return nil
	}
	if act == Write {
		g.auditLog("acl: write denied", p, source, res.String())
	}
	if res.Namespace == SystemNamespace {
		return fmt.Errorf("%w: %s may not touch the reserved namespace %s (global admins only)", ErrForbidden, p.Name, SystemNamespace)
	}
	return fmt.Errorf("%w: %s lacks permission %s on %s", ErrForbidden, p.Name, act, res)
}

// CheckAdmin is the authorisation of an admin action what (such as
// "switches"): nil when ACLs are off or r's principal is a global admin.
func (g *Gate) CheckAdmin(r *http.Request, paramToken, what string) error {
	if !g.auth.acl.Enabled() {
		return nil
	}
	p, err := g.tokenPrincipal(tokenOf(r, paramToken))
	if err != nil {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			g.auditUnauthenticated(sourceOf(r), what, err)
		}
		return err
	}
	if p.Admin {
		return nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		g.auditLog("acl: admin action denied", p, sourceOf(r), what)
	}
	return fmt.Errorf("%w: %s lacks the global admin role %s needed for %s", ErrForbidden, p.Name, GlobalAdminRole, what)
}

// auditLog logs one audited event at INFO: never a token or password.
func (g *Gate) auditLog(msg string, p Principal, source, resource string) {
	if g.cfg.Logger == nil {
		return
	}
	user := p.Name
	if user == "" {
		user = "anonymous"
	}
	g.cfg.Logger.Info(msg, "audit", true, "user", user, "source", source, "resource", resource)
}

// sourceOf is r's client host.
func sourceOf(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Audit logs an admin change what made by p through r.
func (g *Gate) Audit(msg string, p Principal, r *http.Request, what string) {
	g.auditLog("acl: "+msg, p, sourceOf(r), what)
}
