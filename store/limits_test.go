package store

import (
	"errors"
	"testing"
)

func TestStore_RegisterWithin(t *testing.T) {
	s := newTestStore(t, "a", newFakeClock())
	lim := Limits{PerService: 2, PerNamespace: 3}
	svc1 := Key{Namespace: "ns", Group: "g", Service: "one"}
	svc2 := Key{Namespace: "ns", Group: "g", Service: "two"}
	inst := func(port int) Instance {
		return Instance{InstanceKey: InstanceKey{Cluster: DefaultCluster, IP: "10.0.0.1", Port: port}}
	}
	for _, p := range []int{1, 2} {
		if _, err := s.RegisterWithin(svc1, inst(p), lim); err != nil {
			t.Fatalf("register %d: %v", p, err)
		}
	}
	before := s.Index()
	if _, err := s.RegisterWithin(svc1, inst(3), lim); !errors.Is(err, ErrServiceFull) {
		t.Fatalf("third instance of a 2-instance service: got %v, want ErrServiceFull", err)
	}
	if s.Index() != before {
		t.Fatal("a refused registration changed the store")
	}
	if _, err := s.RegisterWithin(svc1, inst(2), lim); err != nil {
		t.Fatalf("re-registering a live instance at the limit: got %v, want nil", err)
	}
	if _, err := s.RegisterWithin(svc2, inst(1), lim); err != nil {
		t.Fatalf("third instance of the namespace: %v", err)
	}
	if _, err := s.RegisterWithin(svc2, inst(2), lim); !errors.Is(err, ErrNamespaceFull) {
		t.Fatalf("fourth instance of a 3-instance namespace: got %v, want ErrNamespaceFull", err)
	}
	if got := s.NamespaceLen("ns"); got != 3 {
		t.Fatalf("NamespaceLen = %d, want 3", got)
	}
	// A deregistration makes room; other namespaces are not counted.
	if _, err := s.Deregister(svc1, inst(1).InstanceKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterWithin(svc2, inst(2), lim); err != nil {
		t.Fatalf("after a deregistration: %v", err)
	}
	other := Key{Namespace: "other", Group: "g", Service: "one"}
	if _, err := s.RegisterWithin(other, inst(1), lim); err != nil {
		t.Fatalf("another namespace: %v", err)
	}
	// Replicated records are never refused.
	peer := newTestStore(t, "b", newFakeClock())
	for _, p := range []int{5, 6, 7} {
		in, err := peer.Register(svc1, inst(p))
		if err != nil {
			t.Fatal(err)
		}
		if !s.Merge(svc1, in) {
			t.Fatalf("merge of a peer's instance %d refused", p)
		}
	}
	if got := s.NamespaceLen("ns"); got != 6 {
		t.Fatalf("NamespaceLen after merges = %d, want 6", got)
	}
}
