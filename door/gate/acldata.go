package gate

// Users, role bindings and permissions (Nacos 1.4's auth model) are
// service records in the reserved namespace roster-system, the way door
// nacos keeps created namespaces and switches: a write replicates to
// every node like any service write, anti-entropy repairs it, a joining
// node's start-up sync copies it and the durable data directory keeps it.
//
//   - a user is the service acl-users/NAME; its metadata holds the bcrypt
//     hash of the password under "hash";
//   - a role binding is the service acl-roles/ROLE/USER;
//   - a permission is the service acl-permissions/ID, ID a hash of role,
//     resource and action (so the same permission added on two nodes at
//     once is one record), whose metadata holds all three.
//
// Every node compiles these records into an aclState, rebuilt after a
// change in the registry at most every aclRefresh, so a change made on
// one node is enforced everywhere within about that plus replication.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// SystemNamespace is the reserved namespace of cluster-wide records
// (door nacos' namespaces and switches, the ACL records). Only a global
// admin may touch it through any door.
const SystemNamespace = "roster-system"

// GlobalAdminRole is Nacos' global admin role: a user bound to it may do
// everything, the user, role and permission API included.
const GlobalAdminRole = "ROLE_ADMIN"

// Groups of the ACL records.
const (
	usersGroup = "acl-users"
	rolesGroup = "acl-roles"
	permsGroup = "acl-permissions"
	mdHash     = "hash"
	mdRole     = "role"
	mdUser     = "user"
	mdResource = "resource"
	mdAction   = "action"
)

// aclRefresh is the longest a node answers from ACL records compiled
// before the registry last changed.
const aclRefresh = 100 * time.Millisecond

// namePattern is what user and role names may hold.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,128}$`)

// checkACLName validates a user or role name.
func checkACLName(field, v string) error {
	if !namePattern.MatchString(v) {
		return &param.FieldError{Field: field, Reason: "must be 1 to 128 letters, digits, '_', '.', '@' or '-'"}
	}
	return nil
}

// permission is one compiled permission of a role.
type permission struct {
	Role, Resource, Action string
	pattern                [3]string // namespace, group, service globs
}

// aclState is the compiled ACL records of one moment.
type aclState struct {
	users map[string]string   // name → bcrypt hash
	roles map[string][]string // user → roles, sorted
	perms map[string][]permission
}

// aclCache holds the latest aclState; it is safe for concurrent use. A
// read that finds the state fresh takes no lock; a rebuild is made by one
// caller at a time, and while it runs the others answer from the state
// before it (the user API's own reads, which must see the latest, wait).
type aclCache struct {
	mu  sync.Mutex // serialises rebuilds
	cur atomic.Pointer[aclBuilt]
	gen atomic.Uint64 // counts changes made through this node
}

// aclBuilt is one compiled state and when it was built.
type aclBuilt struct {
	state   *aclState
	gen     uint64    // aclCache.gen when the build began
	index   uint64    // the registry's global index when state was built
	builtAt time.Time // when state was built
}

// aclCore is what the ACL records need of the core.
type aclCore interface {
	Index() uint64
	Services(ns, group string) []store.Summary
	Snapshot(k store.Key) *store.Snapshot
	CreateService(ctx context.Context, k store.Key, info store.ServiceInfo) error
	UpdateService(ctx context.Context, k store.Key, fn func(*store.ServiceInfo)) error
	DeleteService(ctx context.Context, k store.Key) error
}

// get returns the current state, rebuilding it from core when a change
// was made through this node since (invalidate), or the registry has
// changed and the last build is older than aclRefresh (or fresh is set).
func (c *aclCache) get(core aclCore, now time.Time, fresh bool) *aclState {
	gen, idx := c.gen.Load(), core.Index()
	stale := func(b *aclBuilt) bool {
		return b == nil || b.gen != gen || (idx != b.index && (fresh || now.Sub(b.builtAt) >= aclRefresh))
	}
	b := c.cur.Load()
	if !stale(b) {
		return b.state
	}
	if b != nil && b.gen == gen && !fresh {
		if !c.mu.TryLock() {
			return b.state // another request is rebuilding: no one waits for it
		}
	} else {
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	if b := c.cur.Load(); !stale(b) {
		return b.state
	}
	nb := &aclBuilt{state: buildACL(core), gen: gen, index: idx, builtAt: now}
	c.cur.Store(nb)
	return nb.state
}

// invalidate makes the next get rebuild: after a change made here.
func (c *aclCache) invalidate() { c.gen.Add(1) }

// buildACL compiles the ACL records.
func buildACL(core aclCore) *aclState {
	s := &aclState{users: map[string]string{}, roles: map[string][]string{}, perms: map[string][]permission{}}
	for _, sum := range core.Services(SystemNamespace, "") {
		switch sum.Key.Group {
		case usersGroup, rolesGroup, permsGroup:
		default:
			continue
		}
		snap := core.Snapshot(sum.Key)
		if !snap.Exists {
			continue
		}
		md := snap.Info.Metadata
		switch sum.Key.Group {
		case usersGroup:
			s.users[sum.Key.Service] = md[mdHash]
		case rolesGroup:
			s.roles[md[mdUser]] = append(s.roles[md[mdUser]], md[mdRole])
		case permsGroup:
			if p, err := parsePermission(md[mdRole], md[mdResource], md[mdAction]); err == nil {
				s.perms[p.Role] = append(s.perms[p.Role], p)
			}
		}
	}
	for u := range s.roles {
		slices.Sort(s.roles[u])
	}
	return s
}

func userKey(name string) store.Key {
	return store.Key{Namespace: SystemNamespace, Group: usersGroup, Service: name}
}

func roleKey(role, user string) store.Key {
	return store.Key{Namespace: SystemNamespace, Group: rolesGroup, Service: role + "/" + user}
}

func permKey(role, resource, action string) store.Key {
	h := sha256.Sum256([]byte(role + "\x00" + resource + "\x00" + action))
	return store.Key{Namespace: SystemNamespace, Group: permsGroup, Service: hex.EncodeToString(h[:12])}
}

// parsePermission validates and compiles a permission. A resource is
// NAMESPACE:GROUP:SERVICE; each part is a pattern where * matches any
// run of characters. As in Nacos, a service part may carry the prefix
// "naming/", and an empty namespace part is the public namespace.
func parsePermission(role, resource, action string) (permission, error) {
	if err := checkACLName("role", role); err != nil {
		return permission{}, err
	}
	switch action {
	case "r", "w", "rw":
	default:
		return permission{}, &param.FieldError{Field: "action", Reason: `must be "r", "w" or "rw"`}
	}
	parts := strings.SplitN(resource, ":", 3)
	if len(parts) != 3 || len(resource) > 1024 {
		return permission{}, &param.FieldError{Field: "resource", Reason: "must be NAMESPACE:GROUP:SERVICE, such as team-a:*:*"}
	}
	parts[2] = strings.TrimPrefix(parts[2], "naming/")
	if parts[0] == "" {
		parts[0] = store.DefaultNamespace
	}
	for i, p := range parts {
		if p == "" {
			return permission{}, &param.FieldError{Field: "resource", Reason: "a part of " + quoteName(resource) + " is empty; use * for any"}
		}
		if strings.ContainsAny(p, "\x00\r\n") {
			return permission{}, &param.FieldError{Field: "resource", Reason: "holds a control character"}
		}
		parts[i] = p
	}
	return permission{Role: role, Resource: resource, Action: action, pattern: [3]string(parts)}, nil
}

// matches reports whether p grants act on res.
func (p permission) matches(act Action, res Resource) bool {
	if !strings.Contains(p.Action, act.String()) {
		return false
	}
	for i, v := range [3]string{res.Namespace, res.Group, res.Service} {
		if v == "" { // the request spans every value of this part
			if p.pattern[i] != "*" {
				return false
			}
			continue
		}
		if !globMatch(p.pattern[i], v) {
			return false
		}
	}
	return true
}

// globMatch reports whether s matches pattern, where * matches any run of
// characters and every other character only itself.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

func quoteName(s string) string { return fmt.Sprintf("%q", s) }

// errACLOff refuses the user, role and permission API while ACLs are off.
var errACLOff = errors.New("gate: ACLs are off on this node: start it with --acl-token or --acl-user to manage users, roles and permissions")
