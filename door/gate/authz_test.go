package gate

import (
	"testing"
	"time"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"team-a", "team-a", true}, {"team-a", "team-ab", false},
		{"team-*", "team-a", true}, {"team-*", "team", false}, {"*-prod", "orders-prod", true}, {"*-prod", "orders-prod2", false},
		{"a*b*c", "abc", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false}, {"a.b", "aXb", false}, {"a?", "ab", false},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestPermissionMatches(t *testing.T) {
	perm := func(res, act string) permission {
		p, err := parsePermission("r1", res, act)
		if err != nil {
			t.Fatalf("parsePermission(%q, %q): %v", res, act, err)
		}
		return p
	}
	teamA := perm("team-a:*:*", "rw")
	nacosStyle := perm(":DEFAULT_GROUP:naming/orders*", "r")
	for _, c := range []struct {
		p    permission
		act  Action
		res  Resource
		want bool
	}{
		{teamA, Write, Resource{"team-a", "g", "s"}, true},
		{teamA, Read, Resource{"team-a", "", ""}, true}, // a list of the namespace
		{teamA, Write, Resource{"public", "g", "s"}, false},
		{teamA, Read, Resource{"", "", ""}, false}, // every namespace
		{nacosStyle, Read, Resource{"public", "DEFAULT_GROUP", "orders-v2"}, true},
		{nacosStyle, Write, Resource{"public", "DEFAULT_GROUP", "orders-v2"}, false},
		{nacosStyle, Read, Resource{"public", "DEFAULT_GROUP", ""}, false}, // a list needs * on the service
		{nacosStyle, Read, Resource{"public", "other", "orders"}, false},
	} {
		if got := c.p.matches(c.act, c.res); got != c.want {
			t.Errorf("%s %s on %s: got %v, want %v", c.p.Resource, c.act, c.res, got, c.want)
		}
	}
	for _, bad := range [][2]string{{"team-a", "r"}, {"team-a:*", "r"}, {"a::b", "r"}, {"a:*:*", "x"}, {"a:*:*", "wr"}} {
		if _, err := parsePermission("r1", bad[0], bad[1]); err == nil {
			t.Errorf("parsePermission(%q, %q): no error", bad[0], bad[1])
		}
	}
	if _, err := parsePermission("bad role", "a:*:*", "r"); err == nil {
		t.Error("a role name with a space was accepted")
	}
}

func TestAuditLimiter(t *testing.T) {
	var l auditLimiter
	t0 := time.Unix(1000, 0)
	if ok, _ := l.allow("10.0.0.1", t0); !ok {
		t.Fatal("first line of a source refused")
	}
	for i := range 5 {
		if ok, _ := l.allow("10.0.0.1", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatal("a repeat within auditEvery was allowed")
		}
	}
	if ok, _ := l.allow("10.0.0.2", t0); !ok {
		t.Fatal("another source was limited by the first")
	}
	if ok, dropped := l.allow("10.0.0.1", t0.Add(auditEvery)); !ok || dropped != 5 {
		t.Fatalf("after auditEvery: allowed %v with %d dropped, want true and 5", ok, dropped)
	}
}
