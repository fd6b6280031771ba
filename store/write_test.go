package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestStore_RegisterDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Instance
		want Instance // Version is not compared
	}{
		{
			name: "zero fields take defaults",
			in:   Instance{InstanceKey: InstanceKey{IP: "10.0.0.1", Port: 80}, Healthy: true, Ephemeral: true},
			want: Instance{
				InstanceKey: ik("10.0.0.1", 80), Healthy: true, Ephemeral: true, Metadata: map[string]string{},
				BeatInterval: 5 * time.Second, BeatTimeout: 15 * time.Second, DeleteTimeout: 30 * time.Second,
			},
		},
		{
			name: "given fields kept",
			in: Instance{
				InstanceKey: InstanceKey{Cluster: "c1", IP: "10.0.0.2", Port: 81}, Weight: 3, Enabled: true,
				Metadata:     map[string]string{"k": "v"},
				BeatInterval: time.Second, BeatTimeout: 2 * time.Second, DeleteTimeout: 3 * time.Second,
			},
			want: Instance{
				InstanceKey: InstanceKey{Cluster: "c1", IP: "10.0.0.2", Port: 81}, Weight: 3, Enabled: true,
				Metadata:     map[string]string{"k": "v"},
				BeatInterval: time.Second, BeatTimeout: 2 * time.Second, DeleteTimeout: 3 * time.Second,
			},
		},
		{
			name: "deleted flag ignored",
			in:   Instance{InstanceKey: ik("10.0.0.3", 80), Deleted: true, Healthy: true},
			want: Instance{
				InstanceKey: ik("10.0.0.3", 80), Healthy: true, Metadata: map[string]string{},
				BeatInterval: DefaultBeatInterval, BeatTimeout: DefaultBeatTimeout, DeleteTimeout: DefaultDeleteTimeout,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, "n1", newFakeClock())
			got := mustRegister(t, s, svcA, tt.in)
			if got.Version.IsZero() || got.Version.Node != "n1" {
				t.Errorf("version got %v, want a version of n1", got.Version)
			}
			got.Version = Version{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Register got %+v, want %+v", got, tt.want)
			}
			found, ok := s.Snapshot(svcA).Find(tt.want.InstanceKey)
			found.Version = Version{}
			if !ok || !reflect.DeepEqual(found, tt.want) {
				t.Errorf("Find got %+v (found %v), want %+v", found, ok, tt.want)
			}
		})
	}
}

// The store keeps its own copy of the metadata a caller passes in.
func TestStore_RegisterCopiesMetadata(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	in := inst("10.0.0.1", 80)
	in.Metadata = map[string]string{"k": "v"}
	mustRegister(t, s, svcA, in)
	in.Metadata["k"] = "changed"
	got, _ := s.Snapshot(svcA).Find(in.InstanceKey)
	if got.Metadata["k"] != "v" {
		t.Errorf("stored metadata got %q, want %q", got.Metadata["k"], "v")
	}
}

func TestStore_RegisterReplaces(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	first := mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	clk.Advance(time.Second)
	in := inst("10.0.0.1", 80)
	in.Weight = 9
	in.Metadata = map[string]string{"v": "2"}
	second := mustRegister(t, s, svcA, in)
	if !first.Version.Less(second.Version) {
		t.Errorf("second version got %v, want newer than %v", second.Version, first.Version)
	}
	snap := s.Snapshot(svcA)
	if got := len(snap.Instances); got != 1 {
		t.Fatalf("instances got %d, want 1", got)
	}
	if got := snap.Instances[0]; got.Weight != 9 || got.Metadata["v"] != "2" || got.Version != second.Version {
		t.Errorf("instance got %+v, want weight 9, metadata v=2, version %v", *got, second.Version)
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len got %d, want 1", got)
	}
}

func TestStore_Update(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	reg := mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	dead := mustRegister(t, s, svcA, inst("10.0.0.2", 80))
	if _, err := s.Deregister(svcA, dead.InstanceKey); err != nil {
		t.Fatalf("Deregister: %v", err)
	}

	tests := []struct {
		name    string
		k       Key
		ik      InstanceKey
		fn      func(*Instance)
		wantErr error
		check   func(t *testing.T, got Instance)
	}{
		{
			name: "changes fields",
			k:    svcA, ik: reg.InstanceKey,
			fn: func(in *Instance) { in.Weight = 5; in.Metadata["a"] = "b" },
			check: func(t *testing.T, got Instance) {
				if got.Weight != 5 || got.Metadata["a"] != "b" {
					t.Errorf("got %+v, want weight 5 and metadata a=b", got)
				}
			},
		},
		{
			name: "key change ignored and defaults refilled",
			k:    svcA, ik: reg.InstanceKey,
			fn: func(in *Instance) { in.IP = "1.1.1.1"; in.BeatTimeout = 0 },
			check: func(t *testing.T, got Instance) {
				if got.InstanceKey != reg.InstanceKey || got.BeatTimeout != DefaultBeatTimeout {
					t.Errorf("got key %v timeout %v, want %v %v", got.InstanceKey, got.BeatTimeout, reg.InstanceKey, DefaultBeatTimeout)
				}
			},
		},
		{name: "missing instance", k: svcA, ik: ik("10.9.9.9", 1), fn: func(*Instance) {}, wantErr: ErrNotFound},
		{name: "missing service", k: svcB, ik: reg.InstanceKey, fn: func(*Instance) {}, wantErr: ErrNotFound},
		{name: "deregistered instance", k: svcA, ik: dead.InstanceKey, fn: func(*Instance) {}, wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Snapshot(tt.k).Index
			got, err := s.Update(tt.k, tt.ik, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Update error got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if after := s.Snapshot(tt.k).Index; after != before {
					t.Errorf("failed update moved index from %d to %d", before, after)
				}
				return
			}
			if !reg.Version.Less(got.Version) {
				t.Errorf("version got %v, want newer than %v", got.Version, reg.Version)
			}
			found, _ := s.Snapshot(tt.k).Find(tt.ik)
			if !reflect.DeepEqual(found, got) {
				t.Errorf("stored got %+v, want %+v", found, got)
			}
			tt.check(t, got)
		})
	}
}

func TestStore_DeregisterLeavesTombstone(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	in := inst("10.0.0.1", 80)
	in.Metadata = map[string]string{"k": "v"}
	reg := mustRegister(t, s, svcA, in)
	other := mustRegister(t, s, svcA, inst("10.0.0.2", 80))

	tomb, err := s.Deregister(svcA, reg.InstanceKey)
	if err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if !tomb.Deleted || tomb.Healthy || !reg.Version.Less(tomb.Version) {
		t.Errorf("tombstone got %+v, want deleted, unhealthy, newer than %v", tomb, reg.Version)
	}
	snap := s.Snapshot(svcA)
	if _, ok := snap.Find(reg.InstanceKey); ok {
		t.Errorf("Find deregistered got found, want not found")
	}
	if got := len(snap.Instances); got != 1 || snap.Instances[0].InstanceKey != other.InstanceKey {
		t.Errorf("snapshot instances got %d, want only %v", got, other.InstanceKey)
	}
	var found *Instance
	for _, r := range s.Records() {
		if r.Instance != nil && r.Instance.InstanceKey == reg.InstanceKey {
			found = r.Instance
		}
	}
	if found == nil || !found.Deleted || found.Version != tomb.Version {
		t.Errorf("Records tombstone got %+v, want deleted at %v", found, tomb.Version)
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len got %d, want 1", got)
	}

	t.Run("twice is not found", func(t *testing.T) {
		if _, err := s.Deregister(svcA, reg.InstanceKey); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Deregister got %v, want %v", err, ErrNotFound)
		}
	})
	t.Run("missing is not found", func(t *testing.T) {
		if _, err := s.Deregister(svcB, reg.InstanceKey); !errors.Is(err, ErrNotFound) {
			t.Errorf("Deregister missing got %v, want %v", err, ErrNotFound)
		}
	})
	t.Run("stale merge does not resurrect", func(t *testing.T) {
		for _, v := range []Version{reg.Version, {Clock: tomb.Version.Clock, Node: "a"}, tomb.Version} {
			stale := reg
			stale.Version = v
			if s.Merge(svcA, stale) {
				t.Errorf("Merge at %v got applied, want rejected (tombstone %v)", v, tomb.Version)
			}
		}
		if _, ok := s.Snapshot(svcA).Find(reg.InstanceKey); ok {
			t.Errorf("Find after stale merge got found, want not found")
		}
	})
	t.Run("newer merge re-adds", func(t *testing.T) {
		fresh := reg
		// Newer than both tombstones (the second Deregister wrote one too).
		fresh.Version = Version{Clock: tomb.Version.Clock + int64(time.Second), Node: "zz"}
		if !s.Merge(svcA, fresh) {
			t.Errorf("Merge newer got rejected, want applied")
		}
		if _, ok := s.Snapshot(svcA).Find(reg.InstanceKey); !ok {
			t.Errorf("Find after newer merge got not found, want found")
		}
	})
	checkSnapshots(t, s)
}

func TestStore_Beat(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	healthy := mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	sick := inst("10.0.0.2", 80)
	sick.Healthy = false
	sick = mustRegister(t, s, svcA, sick)
	persistent := inst("10.0.0.3", 80)
	persistent.Ephemeral, persistent.Healthy = false, false
	persistent = mustRegister(t, s, svcA, persistent)
	gone := mustRegister(t, s, svcA, inst("10.0.0.4", 80))
	if _, err := s.Deregister(svcA, gone.InstanceKey); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)

	tests := []struct {
		name        string
		k           Key
		ik          InstanceKey
		wantErr     error
		wantChanged bool
		wantHealthy bool
		prev        Version
	}{
		{name: "healthy", k: svcA, ik: healthy.InstanceKey, wantHealthy: true, prev: healthy.Version},
		{name: "unhealthy heals", k: svcA, ik: sick.InstanceKey, wantChanged: true, wantHealthy: true, prev: sick.Version},
		{name: "persistent unhealthy unchanged", k: svcA, ik: persistent.InstanceKey, prev: persistent.Version},
		{name: "missing", k: svcA, ik: ik("10.9.9.9", 1), wantErr: ErrNotFound},
		{name: "missing service", k: svcB, ik: healthy.InstanceKey, wantErr: ErrNotFound},
		{name: "deregistered", k: svcA, ik: gone.InstanceKey, wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := s.Index()
			res, err := s.Beat(tt.k, tt.ik)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Beat error got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if res.Changed != tt.wantChanged || res.Instance.Healthy != tt.wantHealthy {
				t.Errorf("Beat got changed=%v healthy=%v, want %v %v", res.Changed, res.Instance.Healthy, tt.wantChanged, tt.wantHealthy)
			}
			if tt.wantChanged {
				if !tt.prev.Less(res.Instance.Version) {
					t.Errorf("version got %v, want newer than %v", res.Instance.Version, tt.prev)
				}
				if s.Index() <= idx {
					t.Errorf("index got %d, want > %d", s.Index(), idx)
				}
			} else {
				if res.Instance.Version != tt.prev {
					t.Errorf("version got %v, want unchanged %v", res.Instance.Version, tt.prev)
				}
				if s.Index() != idx {
					t.Errorf("index got %d, want unchanged %d", s.Index(), idx)
				}
			}
			found, _ := s.Snapshot(tt.k).Find(tt.ik)
			if !reflect.DeepEqual(found, res.Instance) {
				t.Errorf("stored got %+v, want %+v", found, res.Instance)
			}
		})
	}
}

func TestStore_MergeReportsFreshness(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	rec := inst("10.0.0.1", 80).withDefaults()
	tests := []struct {
		name    string
		version Version
		deleted bool
		want    bool
	}{
		{"first", Version{ev(10), "b"}, false, true},
		{"same again", Version{ev(10), "b"}, false, false},
		{"tie lower node", Version{ev(10), "a"}, false, false},
		{"tie higher node", Version{ev(10), "c"}, false, true},
		{"older clock", Version{ev(9), "z"}, false, false},
		{"newer tombstone", Version{ev(11), "a"}, true, true},
		{"older live", Version{ev(10), "z"}, false, false},
		{"newer live", Version{ev(12), "a"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rec
			r.Version, r.Deleted = tt.version, tt.deleted
			if got := s.Merge(svcA, r); got != tt.want {
				t.Errorf("Merge(%v) got %v, want %v", tt.version, got, tt.want)
			}
		})
	}
	checkSnapshots(t, s)
	if got, ok := s.Snapshot(svcA).Find(rec.InstanceKey); !ok || got.Version != (Version{ev(12), "a"}) {
		t.Errorf("Find got %v (found %v), want version 12@a", got.Version, ok)
	}
}
