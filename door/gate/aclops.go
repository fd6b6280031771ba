package gate

// The user, role and permission operations behind Nacos 1.4's
// /nacos/v1/auth/users, /roles and /permissions (door nacos serves them).
// Each changes replicated records (acldata.go) and is logged as an audit
// event; the caller has checked that the actor is a global admin (or, for
// a password, the user itself).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Actor is who makes an admin change, and from where: for the audit log.
type Actor struct {
	Principal
	Source string
}

// Admin returns the principal of r when it is a global admin (ACLs on),
// or CheckAdmin's error.
func (g *Gate) Admin(r *http.Request, paramToken, what string) (Actor, error) {
	if err := g.CheckAdmin(r, paramToken, what); err != nil {
		return Actor{}, err
	}
	p, err := g.PrincipalOf(r, paramToken)
	return Actor{Principal: p, Source: sourceOf(r)}, err
}

// ACLActor returns r's principal (which must carry a valid token) for the
// operations a user may do on itself, such as its password.
func (g *Gate) ACLActor(r *http.Request, paramToken string) (Actor, error) {
	if !g.auth.acl.Enabled() {
		return Actor{}, errACLOff
	}
	p, err := g.PrincipalOf(r, paramToken)
	if err == nil && p.Anonymous() {
		err = fmt.Errorf("%w: this node requires a token: send Authorization: Bearer TOKEN or the accessToken parameter", ErrUnauthorized)
	}
	return Actor{Principal: p, Source: sourceOf(r)}, err
}

// passwordOK reports whether pass is user's password: a user of
// --acl-user or a created one.
func (g *Gate) passwordOK(user, pass string, now time.Time) bool {
	if want, ok := g.auth.users[user]; ok {
		got := sha256Sum(pass)
		return constantEqual(want[:], got[:])
	}
	hash, ok := g.acls.get(g.core, now, true).users[user]
	if !ok { // as slow as a known user's, so timing tells no names
		g.dummyOnce.Do(func() { g.dummyHash, _ = g.hash("roster-no-such-user") })
		hash = g.dummyHash
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil && ok
}

// checkPassword validates a new password.
func checkPassword(field, pass string) error {
	if pass == "" {
		return &param.FieldError{Field: field, Reason: param.ReasonMissing}
	}
	if len(pass) > 72 {
		return &param.FieldError{Field: field, Reason: "longer than 72 bytes (bcrypt's limit)"}
	}
	return nil
}

func (g *Gate) hash(pass string) (string, error) {
	cost := g.auth.acl.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pass), cost)
	if err != nil {
		return "", fmt.Errorf("gate: hash password: %w", err)
	}
	return string(h), nil
}

// CreateUser creates user name with password pass.
func (g *Gate) CreateUser(ctx context.Context, a Actor, name, pass string) error {
	if !g.auth.acl.Enabled() {
		return errACLOff
	}
	if err := checkACLName("username", name); err != nil {
		return err
	}
	if err := checkPassword("password", pass); err != nil {
		return err
	}
	if _, ok := g.auth.users[name]; ok {
		return &param.FieldError{Field: "username", Reason: "user " + quoteName(name) + " already exists (from --acl-user)"}
	}
	h, err := g.hash(pass)
	if err != nil {
		return err
	}
	err = g.core.CreateService(ctx, userKey(name), store.ServiceInfo{Metadata: map[string]string{mdHash: h}})
	if errors.Is(err, store.ErrServiceExists) {
		return &param.FieldError{Field: "username", Reason: "user " + quoteName(name) + " already exists"}
	}
	if err == nil {
		g.acls.invalidate()
		g.auditLog("acl: user created", a.Principal, a.Source, "user "+name)
	}
	return err
}

// DeleteUser deletes user name and its role bindings.
func (g *Gate) DeleteUser(ctx context.Context, a Actor, name string) error {
	if !g.auth.acl.Enabled() {
		return errACLOff
	}
	if _, ok := g.auth.users[name]; ok {
		return &param.FieldError{Field: "username", Reason: "cannot delete " + quoteName(name) + ": it comes from --acl-user"}
	}
	st := g.acls.get(g.core, g.auth.now(), true)
	for _, role := range st.roles[name] {
		if err := deleteRecord(ctx, g.core, roleKey(role, name)); err != nil {
			return err
		}
	}
	if err := deleteRecord(ctx, g.core, userKey(name)); err != nil {
		return err
	}
	g.acls.invalidate()
	g.auditLog("acl: user deleted", a.Principal, a.Source, "user "+name)
	return nil
}

// SetPassword sets user name's password: a global admin may set anyone's,
// a user its own.
func (g *Gate) SetPassword(ctx context.Context, a Actor, name, pass string) error {
	if !a.Admin && a.Name != name {
		g.auditLog("acl: password change denied", a.Principal, a.Source, "user "+name)
		return fmt.Errorf("%w: %s may change only its own password", ErrForbidden, a.Name)
	}
	if err := checkPassword("newPassword", pass); err != nil {
		return err
	}
	if _, ok := g.auth.users[name]; ok {
		return &param.FieldError{Field: "username", Reason: "the password of " + quoteName(name) + " is set by --acl-user"}
	}
	h, err := g.hash(pass)
	if err != nil {
		return err
	}
	err = g.core.UpdateService(ctx, userKey(name), func(info *store.ServiceInfo) {
		info.Metadata = map[string]string{mdHash: h}
	})
	if errors.Is(err, store.ErrServiceNotFound) {
		return fmt.Errorf("gate: user %s: %w", quoteName(name), store.ErrNotFound)
	}
	if err == nil {
		g.acls.invalidate()
		g.auditLog("acl: password changed", a.Principal, a.Source, "user "+name)
	}
	return err
}

// BindRole gives user the role.
func (g *Gate) BindRole(ctx context.Context, a Actor, role, user string) error {
	if !g.auth.acl.Enabled() {
		return errACLOff
	}
	if err := checkACLName("role", role); err != nil {
		return err
	}
	if role == GlobalAdminRole {
		return &param.FieldError{Field: "role", Reason: "role " + GlobalAdminRole + " cannot be bound through the API: global admins come from --acl-user and static tokens"}
	}
	if _, ok := g.acls.get(g.core, g.auth.now(), true).users[user]; !ok {
		return &param.FieldError{Field: "username", Reason: "user " + quoteName(user) + " not found"}
	}
	err := g.core.CreateService(ctx, roleKey(role, user), store.ServiceInfo{Metadata: map[string]string{mdRole: role, mdUser: user}})
	if err != nil && !errors.Is(err, store.ErrServiceExists) {
		return err
	}
	g.acls.invalidate()
	g.auditLog("acl: role bound", a.Principal, a.Source, "role "+role+" to user "+user)
	return nil
}

// UnbindRole takes role from user, or from every user when user is "".
func (g *Gate) UnbindRole(ctx context.Context, a Actor, role, user string) error {
	if !g.auth.acl.Enabled() {
		return errACLOff
	}
	st := g.acls.get(g.core, g.auth.now(), true)
	for u, roles := range st.roles {
		if (user == "" || u == user) && slices.Contains(roles, role) {
			if err := deleteRecord(ctx, g.core, roleKey(role, u)); err != nil {
				return err
			}
		}
	}
	target := "every user"
	if user != "" {
		target = "user " + user
	}
	g.acls.invalidate()
	g.auditLog("acl: role unbound", a.Principal, a.Source, "role "+role+" from "+target)
	return nil
}

// AddPermission grants role action on resource.
func (g *Gate) AddPermission(ctx context.Context, a Actor, role, resource, action string) error {
	if !g.auth.acl.Enabled() {
		return errACLOff
	}
	p, err := parsePermission(role, resource, action)
	if err != nil {
		return err
	}
	if !g.roleExists(role) {
		return &param.FieldError{Field: "role", Reason: "role " + quoteName(role) + " not found: bind it to a user (or a static token) first"}
	}
	err = g.core.CreateService(ctx, permKey(role, resource, action),
		store.ServiceInfo{Metadata: map[string]string{mdRole: p.Role, mdResource: p.Resource, mdAction: p.Action}})
	if err != nil && !errors.Is(err, store.ErrServiceExists) {
		return err
	}
	g.acls.invalidate()
	g.auditLog("acl: permission added", a.Principal, a.Source, action+" on "+resource+" to role "+role)
	return nil
}

// DeletePermission revokes a permission.
func (g *Gate) DeletePermission(ctx context.Context, a Actor, role, resource, action string) error {
	if !g.auth.acl.Enabled() {
		return errACLOff
	}
	if err := deleteRecord(ctx, g.core, permKey(role, resource, action)); err != nil {
		return err
	}
	g.acls.invalidate()
	g.auditLog("acl: permission deleted", a.Principal, a.Source, action+" on "+resource+" from role "+role)
	return nil
}

// roleExists reports whether role is bound to a user or scopes a static
// token.
func (g *Gate) roleExists(role string) bool {
	for _, r := range g.auth.acl.TokenRoles {
		if r == role {
			return true
		}
	}
	for _, roles := range g.acls.get(g.core, g.auth.now(), true).roles {
		if slices.Contains(roles, role) {
			return true
		}
	}
	return false
}

// deleteRecord deletes record k; one already gone is no error.
func deleteRecord(ctx context.Context, core aclCore, k store.Key) error {
	if err := core.DeleteService(ctx, k); err != nil && !errors.Is(err, store.ErrServiceNotFound) {
		return err
	}
	return nil
}

// UserInfo is one user of the list: never its password or hash.
type UserInfo struct {
	Username string `json:"username"`
	Source   string `json:"source"` // "api" or "flag"
}

// RoleInfo is one role binding.
type RoleInfo struct {
	Role     string `json:"role"`
	Username string `json:"username"`
}

// PermissionInfo is one permission.
type PermissionInfo struct {
	Role     string `json:"role"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// Users lists the users, sorted by name: created ones and --acl-user's.
func (g *Gate) Users() []UserInfo {
	var out []UserInfo
	for u := range g.auth.users {
		out = append(out, UserInfo{Username: u, Source: "flag"})
	}
	for u := range g.acls.get(g.core, g.auth.now(), true).users {
		out = append(out, UserInfo{Username: u, Source: "api"})
	}
	slices.SortFunc(out, func(a, b UserInfo) int { return strings.Compare(a.Username, b.Username) })
	return out
}

// Roles lists the role bindings of user (every user when ""), sorted.
func (g *Gate) Roles(user string) []RoleInfo {
	var out []RoleInfo
	for u, roles := range g.acls.get(g.core, g.auth.now(), true).roles {
		if user != "" && u != user {
			continue
		}
		for _, r := range roles {
			out = append(out, RoleInfo{Role: r, Username: u})
		}
	}
	slices.SortFunc(out, func(a, b RoleInfo) int {
		return strings.Compare(a.Role+"\x00"+a.Username, b.Role+"\x00"+b.Username)
	})
	return out
}

// Permissions lists the permissions of role (every role when ""), sorted.
func (g *Gate) Permissions(role string) []PermissionInfo {
	var out []PermissionInfo
	for r, perms := range g.acls.get(g.core, g.auth.now(), true).perms {
		if role != "" && r != role {
			continue
		}
		for _, p := range perms {
			out = append(out, PermissionInfo{Role: p.Role, Resource: p.Resource, Action: p.Action})
		}
	}
	slices.SortFunc(out, func(a, b PermissionInfo) int {
		return strings.Compare(a.Role+"\x00"+a.Resource+"\x00"+a.Action, b.Role+"\x00"+b.Resource+"\x00"+b.Action)
	})
	return out
}
