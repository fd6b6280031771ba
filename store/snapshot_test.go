package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestStore_IndexIncreasesPerChange(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	a := inst("10.0.0.1", 80)
	sick := inst("10.0.0.2", 80)
	sick.Healthy = false
	writes := []struct {
		name    string
		write   func() error
		changes bool
	}{
		{"register", func() error { _, err := s.Register(svcA, a); return err }, true},
		{"register other service", func() error { _, err := s.Register(svcB, a); return err }, true},
		{"update", func() error {
			_, err := s.Update(svcA, a.InstanceKey, func(in *Instance) { in.Weight = 2 })
			return err
		}, true},
		{"beat healthy", func() error { _, err := s.Beat(svcA, a.InstanceKey); return err }, false},
		{"register unhealthy", func() error { _, err := s.Register(svcA, sick); return err }, true},
		{"beat unhealthy", func() error { _, err := s.Beat(svcA, sick.InstanceKey); return err }, true},
		{"create service", func() error { _, err := s.CreateService(svcC, ServiceInfo{}); return err }, true},
		{"update service", func() error {
			_, err := s.UpdateService(svcC, func(i *ServiceInfo) { i.ProtectThreshold = 0.5 })
			return err
		}, true},
		{"stale merge", func() error {
			old := a
			old.Version = Version{Clock: 1, Node: "x"}
			s.Merge(svcA, old)
			return nil
		}, false},
		{"failed update", func() error {
			s.Update(svcA, ik("9.9.9.9", 1), func(*Instance) {})
			return nil
		}, false},
		{"deregister", func() error { _, err := s.Deregister(svcA, a.InstanceKey); return err }, true},
		{"delete service", func() error { _, err := s.DeleteService(svcC); return err }, true},
		{"sweep", func() error {
			clk.Advance(time.Hour)
			if trs := s.Sweep(nil); len(trs) == 0 {
				return errors.New("no transitions")
			}
			return nil
		}, true},
	}
	prev := s.Index()
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			if err := w.write(); err != nil {
				t.Fatalf("write: %v", err)
			}
			got := s.Index()
			if w.changes && got <= prev {
				t.Errorf("index got %d, want > %d", got, prev)
			}
			if !w.changes && got != prev {
				t.Errorf("index got %d, want unchanged %d", got, prev)
			}
			prev = got
		})
	}
}

func TestSnapshot_ChangedAndIndex(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	mustRegister(t, s, svcB, inst("10.0.0.1", 80))
	snapA, snapB := s.Snapshot(svcA), s.Snapshot(svcB)
	if snapA.Index >= snapB.Index || snapB.Index != s.Index() {
		t.Errorf("indexes got a=%d b=%d global=%d, want a < b = global", snapA.Index, snapB.Index, s.Index())
	}
	if s.Snapshot(svcA) != snapA {
		t.Errorf("Snapshot without change got a new snapshot, want the same")
	}

	mustRegister(t, s, svcB, inst("10.0.0.2", 80))
	if closed(snapA.Changed()) {
		t.Errorf("a's Changed closed on a change to b, want open")
	}
	if !closed(snapB.Changed()) {
		t.Errorf("b's Changed open after a change to b, want closed")
	}
	if got := s.Snapshot(svcA).Index; got != snapA.Index {
		t.Errorf("a's index got %d, want unchanged %d", got, snapA.Index)
	}
	newB := s.Snapshot(svcB)
	if newB.Index <= snapB.Index || closed(newB.Changed()) {
		t.Errorf("new b snapshot index %d (closed %v), want > %d and open", newB.Index, closed(newB.Changed()), snapB.Index)
	}

	mustRegister(t, s, svcA, inst("10.0.0.3", 80))
	if !closed(snapA.Changed()) {
		t.Errorf("a's Changed open after a change to a, want closed")
	}
	if got := s.Snapshot(svcA).Index; got <= newB.Index {
		t.Errorf("a's index got %d, want > %d", got, newB.Index)
	}
}

func TestSnapshot_missingService(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	missing := s.Snapshot(svcC)
	if missing == nil || missing.Exists || missing.Explicit || len(missing.Instances) != 0 || missing.Key != svcC {
		t.Fatalf("missing snapshot got %+v, want empty, not existing, for %v", missing, svcC)
	}
	if missing.Index != s.Index() {
		t.Errorf("missing index got %d, want global %d", missing.Index, s.Index())
	}
	if _, ok := missing.Find(ik("10.0.0.1", 80)); ok {
		t.Errorf("Find in missing got found, want not found")
	}
	if closed(missing.Changed()) {
		t.Fatalf("missing Changed closed before any change")
	}
	mustRegister(t, s, svcB, inst("10.0.0.1", 80)) // any change
	if !closed(missing.Changed()) {
		t.Errorf("missing Changed open after a change elsewhere, want closed")
	}
	again := s.Snapshot(svcC)
	if again.Index <= missing.Index || closed(again.Changed()) {
		t.Errorf("second missing snapshot index %d (closed %v), want > %d and open", again.Index, closed(again.Changed()), missing.Index)
	}
	mustRegister(t, s, svcC, inst("10.0.0.1", 80))
	if !closed(again.Changed()) {
		t.Errorf("missing Changed open after the service was created, want closed")
	}
	if got := s.Snapshot(svcC); !got.Exists || len(got.Instances) != 1 {
		t.Errorf("created snapshot got %+v, want one instance", got)
	}
}

func TestSnapshot_sortedAndFind(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	keys := []InstanceKey{
		{Cluster: "B", IP: "10.0.0.1", Port: 1},
		{Cluster: "A", IP: "10.0.0.2", Port: 2},
		{Cluster: "A", IP: "10.0.0.1", Port: 9},
		{Cluster: "A", IP: "10.0.0.1", Port: 10},
		{Cluster: "A", IP: "10.0.0.10", Port: 1},
		{Cluster: "B", IP: "10.0.0.0", Port: 5},
	}
	for _, k := range keys {
		in := inst(k.IP, k.Port)
		in.Cluster = k.Cluster
		mustRegister(t, s, svcA, in)
	}
	if _, err := s.Deregister(svcA, keys[3]); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot(svcA)
	var got []InstanceKey
	for _, in := range snap.Instances {
		got = append(got, in.InstanceKey)
	}
	want := []InstanceKey{
		{Cluster: "A", IP: "10.0.0.1", Port: 9},
		{Cluster: "A", IP: "10.0.0.10", Port: 1},
		{Cluster: "A", IP: "10.0.0.2", Port: 2},
		{Cluster: "B", IP: "10.0.0.0", Port: 5},
		{Cluster: "B", IP: "10.0.0.1", Port: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("instances got %v, want %v", got, want)
	}
	tests := []struct {
		ik   InstanceKey
		want bool
	}{
		{keys[0], true}, {keys[1], true}, {keys[3], false}, {keys[5], true},
		{InstanceKey{Cluster: "A", IP: "10.0.0.1", Port: 8}, false},
		{InstanceKey{Cluster: "C", IP: "10.0.0.1", Port: 1}, false},
		{InstanceKey{}, false},
	}
	for _, tt := range tests {
		got, ok := snap.Find(tt.ik)
		if ok != tt.want || (ok && got.InstanceKey != tt.ik) {
			t.Errorf("Find(%v) got %v %v, want found=%v", tt.ik, got.InstanceKey, ok, tt.want)
		}
	}
	checkSnapshots(t, s)
}

func TestSnapshot_Cached(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	builds := 0
	build := func() []byte { builds++; return []byte{byte(builds)} }

	snap := s.Snapshot(svcA)
	for range 3 {
		if got := snap.Cached("k", build); string(got) != "\x01" {
			t.Errorf("Cached got %q, want %q", got, "\x01")
		}
	}
	if s.Snapshot(svcA).Cached("k", build)[0] != 1 || builds != 1 {
		t.Errorf("builds got %d, want 1 for one snapshot", builds)
	}
	if got := snap.Cached("other", build); got[0] != 2 {
		t.Errorf("second key got %v, want built anew", got)
	}
	mustRegister(t, s, svcA, inst("10.0.0.2", 80))
	if got := s.Snapshot(svcA).Cached("k", build); got[0] != 3 || builds != 3 {
		t.Errorf("after change got %v (builds %d), want a rebuild", got, builds)
	}
	if got := snap.Cached("k", build); got[0] != 1 {
		t.Errorf("old snapshot got %v, want its own cached bytes", got)
	}
}

func TestStore_Services(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	explicit := Key{Namespace: DefaultNamespace, Group: "g1", Service: "explicit"}
	implicit := Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "implicit"}
	emptied := Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "emptied"}
	deleted := Key{Namespace: DefaultNamespace, Group: "g1", Service: "deleted"}
	zeta := Key{Namespace: DefaultNamespace, Group: "a", Service: "zeta"}
	other := Key{Namespace: "dev", Group: "g1", Service: "other"}
	if _, err := s.CreateService(explicit, ServiceInfo{ProtectThreshold: 0.3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateService(deleted, ServiceInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteService(deleted); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, s, implicit, inst("10.0.0.1", 80))
	sick := inst("10.0.0.2", 80)
	sick.Healthy = false
	mustRegister(t, s, implicit, sick)
	mustRegister(t, s, emptied, inst("10.0.0.1", 80))
	if _, err := s.Deregister(emptied, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, s, zeta, inst("10.0.0.1", 80))
	mustRegister(t, s, other, inst("10.0.0.1", 80))

	tests := []struct {
		ns, group string
		want      []Summary
	}{
		{DefaultNamespace, "", []Summary{
			{Key: implicit, Instances: 2, Healthy: 1}, // "DEFAULT_GROUP" < "a"
			{Key: zeta, Instances: 1, Healthy: 1},
			{Key: explicit},
		}},
		{DefaultNamespace, "g1", []Summary{{Key: explicit}}},
		{DefaultNamespace, DefaultGroup, []Summary{{Key: implicit, Instances: 2, Healthy: 1}}},
		{"dev", "", []Summary{{Key: other, Instances: 1, Healthy: 1}}},
		{"nope", "", nil},
		{DefaultNamespace, "nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.group, func(t *testing.T) {
			if got := s.Services(tt.ns, tt.group); !slices.Equal(got, tt.want) {
				t.Errorf("Services got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStore_ServiceRecords(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	implicit := svcB
	mustRegister(t, s, implicit, inst("10.0.0.1", 80))

	info, err := s.CreateService(svcA, ServiceInfo{ProtectThreshold: 0.5, Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	if snap := s.Snapshot(svcA); !snap.Exists || !snap.Explicit || snap.Info.ProtectThreshold != 0.5 || snap.Info.Version != info.Version {
		t.Errorf("snapshot got %+v, want explicit with threshold 0.5 at %v", snap, info.Version)
	}

	tests := []struct {
		name    string
		op      func() error
		wantErr error
	}{
		{"create twice", func() error { _, err := s.CreateService(svcA, ServiceInfo{}); return err }, ErrServiceExists},
		{"update", func() error {
			got, err := s.UpdateService(svcA, func(i *ServiceInfo) { i.ProtectThreshold = 0.7 })
			if err == nil && (got.ProtectThreshold != 0.7 || got.Metadata["k"] != "v" || !info.Version.Less(got.Version)) {
				t.Errorf("UpdateService got %+v, want threshold 0.7, metadata kept, newer version", got)
			}
			return err
		}, nil},
		{"update missing", func() error { _, err := s.UpdateService(svcC, func(*ServiceInfo) {}); return err }, ErrServiceNotFound},
		{"update implicit", func() error {
			got, err := s.UpdateService(implicit, func(i *ServiceInfo) { i.ProtectThreshold = 0.1 })
			if err == nil && (got.ProtectThreshold != 0.1 || got.Metadata == nil) {
				t.Errorf("UpdateService implicit got %+v, want threshold 0.1 and a metadata map", got)
			}
			return err
		}, nil},
		{"delete with instances", func() error { _, err := s.DeleteService(implicit); return err }, ErrServiceHasInstances},
		{"delete missing", func() error { _, err := s.DeleteService(svcC); return err }, ErrServiceNotFound},
		{"delete", func() error {
			got, err := s.DeleteService(svcA)
			if err == nil && !got.Deleted {
				t.Errorf("DeleteService got %+v, want a tombstone", got)
			}
			return err
		}, nil},
		{"delete twice", func() error { _, err := s.DeleteService(svcA); return err }, ErrServiceNotFound},
		{"update deleted", func() error { _, err := s.UpdateService(svcA, func(*ServiceInfo) {}); return err }, ErrServiceNotFound},
		{"create after delete", func() error { _, err := s.CreateService(svcA, ServiceInfo{}); return err }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			checkSnapshots(t, s)
		})
	}
	if snap := s.Snapshot(svcA); !snap.Explicit || snap.Info.ProtectThreshold != 0 {
		t.Errorf("recreated service got %+v, want a fresh explicit record", snap.Info)
	}
}

// An explicit service outlives its instances; an implicit one does not.
func TestSnapshot_existsFollowsRecords(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	if _, err := s.CreateService(svcA, ServiceInfo{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{svcA, svcB} {
		mustRegister(t, s, k, inst("10.0.0.1", 80))
		if _, err := s.Deregister(k, ik("10.0.0.1", 80)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Snapshot(svcA); !got.Exists {
		t.Errorf("explicit service without instances got Exists=false, want true")
	}
	if got := s.Snapshot(svcB); got.Exists {
		t.Errorf("implicit service without instances got Exists=true, want false")
	}
	checkSnapshots(t, s)
}

func TestStore_Reap(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk) // TombstoneTTL 1m
	mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	mustRegister(t, s, svcA, inst("10.0.0.2", 80))
	mustRegister(t, s, svcB, inst("10.0.0.1", 80))
	if _, err := s.CreateService(svcC, ServiceInfo{}); err != nil {
		t.Fatal(err)
	}
	t0 := clk.Now()
	if _, err := s.Deregister(svcA, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deregister(svcB, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	if _, err := s.DeleteService(svcC); err != nil {
		t.Fatal(err)
	}
	snapB := s.Snapshot(svcB)

	steps := []struct {
		name         string
		at           time.Time
		wantDropped  int
		wantRecords  int
		wantServices []Key // keys present in Records
	}{
		{"before ttl", t0.Add(time.Minute - time.Nanosecond), 0, 4, []Key{svcC, svcA, svcB}},
		{"at ttl", t0.Add(time.Minute), 2, 2, []Key{svcC, svcA}},
		{"service tombstone before ttl", t0.Add(70*time.Second - time.Nanosecond), 0, 2, []Key{svcC, svcA}},
		{"service tombstone at ttl", t0.Add(70 * time.Second), 1, 1, []Key{svcA}},
		{"nothing left", t0.Add(time.Hour), 0, 1, []Key{svcA}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clk.Set(st.at)
			if got := s.Reap(); got != st.wantDropped {
				t.Errorf("Reap got %d, want %d", got, st.wantDropped)
			}
			recs := s.Records()
			var keys []Key
			for _, r := range recs {
				if len(keys) == 0 || keys[len(keys)-1] != r.Key {
					keys = append(keys, r.Key)
				}
			}
			if len(recs) != st.wantRecords || !slices.Equal(keys, st.wantServices) {
				t.Errorf("records got %d of %v, want %d of %v", len(recs), keys, st.wantRecords, st.wantServices)
			}
			checkSnapshots(t, s)
		})
	}
	if !closed(snapB.Changed()) {
		t.Errorf("reaped service's snapshot Changed open, want closed")
	}
	if got := s.Snapshot(svcB); got.Exists || got.Index != s.Index() {
		t.Errorf("reaped service snapshot got Exists=%v Index=%d, want false %d", got.Exists, got.Index, s.Index())
	}
	// The service can be used again after reaping.
	mustRegister(t, s, svcB, inst("10.0.0.1", 80))
	checkSnapshots(t, s)
}
