package chaos

import "fmt"

// checkACL holds the ACL prober's attempts (aclprobe.go) to "refused and
// changed nothing": an attempt answered 2xx, or after which the guard's
// registry index had moved, is an unauthorised change. An attempt without
// an answer (the node was slow) proves nothing and is not counted as
// refused.
func (c *checker) checkACL() {
	r := &c.res.Intruders
	for _, a := range c.s.intrusions.acl {
		r.ACLAttempts++
		switch a.Code {
		case 401, 403, 405:
			r.ACLRefused++
		}
		moved := a.IndexBefore != 0 && a.IndexAfter != 0 && a.IndexAfter != a.IndexBefore
		if a.Code/100 == 2 || moved {
			r.ACLChanges++
			c.violate(Violation{Invariant: "acl", T: a.T, Node: ACLGuardName,
				Detail: fmt.Sprintf("%s with a %s token: answered %d, registry index %d -> %d; want 401 or 403 and no change",
					a.Door, a.Token, a.Code, a.IndexBefore, a.IndexAfter)})
		}
	}
}
