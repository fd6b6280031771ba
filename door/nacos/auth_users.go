package nacos

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Nacos 1.4's user, role and permission API (/nacos/v1/auth/users,
// /roles, /permissions), over the gate's replicated ACL records, and the
// authorisation of every other route of the door. Every route but the
// password change and /nacos/v1/auth/self needs a global admin.

// authRoutes registers the API.
func (d *Door) authRoutes(mux *http.ServeMux) {
	const a = "/nacos/v1/auth/"
	mux.HandleFunc("POST "+a+"users", d.admin("users", d.userCreate))
	mux.HandleFunc("DELETE "+a+"users", d.admin("users", d.userDelete))
	mux.HandleFunc("PUT "+a+"users", d.authHandler(d.userPassword))
	mux.HandleFunc("GET "+a+"users", d.admin("users", d.userList))
	mux.HandleFunc("POST "+a+"roles", d.admin("roles", d.roleBind))
	mux.HandleFunc("DELETE "+a+"roles", d.admin("roles", d.roleUnbind))
	mux.HandleFunc("GET "+a+"roles", d.admin("roles", d.roleList))
	mux.HandleFunc("POST "+a+"permissions", d.admin("permissions", d.permAdd))
	mux.HandleFunc("DELETE "+a+"permissions", d.admin("permissions", d.permDelete))
	mux.HandleFunc("GET "+a+"permissions", d.admin("permissions", d.permList))
	mux.HandleFunc("GET "+a+"self", d.self)
}

// actorHandler is a handler of an ACL route, given who acts.
type actorHandler func(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error

// admin adapts a handler that needs a global admin for what.
func (d *Door) admin(what string, fn actorHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := param.Read(r, d.cfg.MaxBodyBytes)
		var a gate.Actor
		if err == nil {
			a, err = d.gate.Admin(r, p.Get("accessToken"), what)
		}
		if err == nil {
			err = fn(w, r, p, a)
		}
		if err != nil {
			gate.NacosError(w, err)
		}
	}
}

// authHandler adapts a handler that needs any valid token.
func (d *Door) authHandler(fn actorHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := param.Read(r, d.cfg.MaxBodyBytes)
		var a gate.Actor
		if err == nil {
			a, err = d.gate.ACLActor(r, p.Get("accessToken"))
		}
		if err == nil {
			err = fn(w, r, p, a)
		}
		if err != nil {
			gate.NacosError(w, err)
		}
	}
}

func ok(w http.ResponseWriter, msg string) {
	gate.WriteJSON(w, http.StatusOK, restResult{Code: 200, Message: &msg})
}

func required(p param.Values, field string) (string, error) {
	v := strings.TrimSpace(p.Get(field))
	if v == "" {
		return "", &param.FieldError{Field: field, Reason: param.ReasonMissing}
	}
	return v, nil
}

func (d *Door) userCreate(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	name, err := required(p, "username")
	if err == nil {
		err = d.gate.CreateUser(r.Context(), a, name, p.Get("password"))
	}
	if err == nil {
		ok(w, "create user ok!")
	}
	return err
}

func (d *Door) userDelete(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	name, err := required(p, "username")
	if err == nil {
		err = d.gate.DeleteUser(r.Context(), a, name)
	}
	if err == nil {
		ok(w, "delete user ok!")
	}
	return err
}

func (d *Door) userPassword(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	name, err := required(p, "username")
	if err == nil {
		err = d.gate.SetPassword(r.Context(), a, name, p.Get("newPassword"))
	}
	if err == nil {
		ok(w, "update user ok!")
	}
	return err
}

// authPage is Nacos' Page.
type authPage[T any] struct {
	TotalCount     int `json:"totalCount"`
	PageNumber     int `json:"pageNumber"`
	PagesAvailable int `json:"pagesAvailable"`
	PageItems      []T `json:"pageItems"`
}

// paged answers one page of all, by pageNo (default 1) and pageSize
// (default 100, at most 1000).
func paged[T any](w http.ResponseWriter, p param.Values, all []T) error {
	no, size := 1, 100
	for _, f := range []struct {
		name string
		v    *int
		max  int
	}{{"pageNo", &no, 1 << 30}, {"pageSize", &size, 1000}} {
		s := strings.TrimSpace(p.Get(f.name))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > f.max {
			return &param.FieldError{Field: f.name, Reason: "must be an integer from 1 to " + strconv.Itoa(f.max)}
		}
		*f.v = n
	}
	out := authPage[T]{TotalCount: len(all), PageNumber: no, PagesAvailable: (len(all) + size - 1) / size, PageItems: []T{}}
	if lo := (no - 1) * size; lo < len(all) {
		out.PageItems = all[lo:min(lo+size, len(all))]
	}
	gate.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (d *Door) userList(w http.ResponseWriter, _ *http.Request, p param.Values, _ gate.Actor) error {
	return paged(w, p, d.gate.Users())
}

func (d *Door) roleBind(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	role, err := required(p, "role")
	var user string
	if err == nil {
		user, err = required(p, "username")
	}
	if err == nil {
		err = d.gate.BindRole(r.Context(), a, role, user)
	}
	if err == nil {
		ok(w, "add role ok!")
	}
	return err
}

func (d *Door) roleUnbind(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	role, err := required(p, "role")
	user := strings.TrimSpace(p.Get("username"))
	if err == nil {
		err = d.gate.UnbindRole(r.Context(), a, role, user)
	}
	if err == nil {
		ok(w, "delete role of user "+user+" ok!")
	}
	return err
}

func (d *Door) roleList(w http.ResponseWriter, _ *http.Request, p param.Values, _ gate.Actor) error {
	return paged(w, p, d.gate.Roles(strings.TrimSpace(p.Get("username"))))
}

// permFields reads role, resource and action.
func permFields(p param.Values) (role, resource, action string, err error) {
	if role, err = required(p, "role"); err != nil {
		return
	}
	if resource, err = required(p, "resource"); err != nil {
		return
	}
	action, err = required(p, "action")
	return
}

func (d *Door) permAdd(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	role, resource, action, err := permFields(p)
	if err == nil {
		err = d.gate.AddPermission(r.Context(), a, role, resource, action)
	}
	if err == nil {
		ok(w, "add permission ok!")
	}
	return err
}

func (d *Door) permDelete(w http.ResponseWriter, r *http.Request, p param.Values, a gate.Actor) error {
	role, resource, action, err := permFields(p)
	if err == nil {
		err = d.gate.DeletePermission(r.Context(), a, role, resource, action)
	}
	if err == nil {
		ok(w, "delete permission ok!")
	}
	return err
}

func (d *Door) permList(w http.ResponseWriter, _ *http.Request, p param.Values, _ gate.Actor) error {
	return paged(w, p, d.gate.Permissions(strings.TrimSpace(p.Get("role"))))
}

// selfView is the answer of GET /nacos/v1/auth/self (roster's own): who
// the token is and what it may do, for the console and `roster acl
// whoami`. CanRead and CanWrite answer for the resource the query names
// (namespaceId, groupName, serviceName, as the naming API reads them).
type selfView struct {
	ACLEnabled  bool                  `json:"aclEnabled"`
	Username    string                `json:"username"`
	GlobalAdmin bool                  `json:"globalAdmin"`
	Roles       []string              `json:"roles"`
	Permissions []gate.PermissionInfo `json:"permissions"`
	Resource    string                `json:"resource"`
	CanRead     bool                  `json:"canRead"`
	CanWrite    bool                  `json:"canWrite"`
}

// self handles GET /nacos/v1/auth/self. With ACLs off everyone may do
// everything; with them on it needs a valid token.
func (d *Door) self(w http.ResponseWriter, r *http.Request) {
	p, err := param.Read(r, d.cfg.MaxBodyBytes)
	if err != nil {
		gate.NacosError(w, err)
		return
	}
	res := resourceOf(p)
	v := selfView{Roles: []string{}, Permissions: []gate.PermissionInfo{}, Resource: res.String()}
	if !d.gate.ACLEnabled() {
		v.GlobalAdmin, v.CanRead, v.CanWrite = true, true, true
		gate.WriteJSON(w, http.StatusOK, v)
		return
	}
	a, err := d.gate.ACLActor(r, p.Get("accessToken"))
	if err != nil {
		gate.NacosError(w, err)
		return
	}
	v.ACLEnabled, v.Username, v.GlobalAdmin = true, a.Name, a.Admin
	v.Roles = append(v.Roles, a.Roles...)
	for _, role := range a.Roles {
		v.Permissions = append(v.Permissions, d.gate.Permissions(role)...)
	}
	v.CanRead, v.CanWrite = d.gate.Allowed(a.Principal, gate.Read, res), d.gate.Allowed(a.Principal, gate.Write, res)
	gate.WriteJSON(w, http.StatusOK, v)
}

// resourceOf is the resource a naming request touches: namespaceId
// (default public), and groupName and serviceName (a grouped
// group@@name too) when given; a list without them spans every group or
// service.
func resourceOf(p param.Values) gate.Resource {
	res := gate.Resource{Namespace: strings.TrimSpace(p.Get("namespaceId")), Group: strings.TrimSpace(p.Get("groupName"))}
	if res.Namespace == "" {
		res.Namespace = store.DefaultNamespace
	}
	if svc := strings.TrimSpace(p.Get("serviceName")); svc != "" {
		if g, s, err := param.ServiceName(svc, res.Group); err == nil {
			res.Group, res.Service = g, s
		} else {
			res.Service = svc
		}
	}
	return res
}
