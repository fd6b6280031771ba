package store

import (
	"testing"
	"time"
)

func TestVersion_Less(t *testing.T) {
	tests := []struct {
		name string
		a, b Version
		want bool
	}{
		{"lower clock", Version{1, "z"}, Version{2, "a"}, true},
		{"higher clock", Version{2, "a"}, Version{1, "z"}, false},
		{"tie lower node", Version{5, "a"}, Version{5, "b"}, true},
		{"tie higher node", Version{5, "b"}, Version{5, "a"}, false},
		{"equal", Version{5, "a"}, Version{5, "a"}, false},
		{"zero before any", Version{}, Version{0, "a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Less(tt.b); got != tt.want {
				t.Errorf("%v.Less(%v) got %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestVersion_IsZeroAndString(t *testing.T) {
	if got := (Version{}).IsZero(); !got {
		t.Errorf("zero IsZero got %v, want true", got)
	}
	if got := (Version{Node: "a"}).IsZero(); got {
		t.Errorf("{0 a} IsZero got %v, want false", got)
	}
	if got, want := (Version{Clock: 42, Node: "n1"}).String(), "42@n1"; got != want {
		t.Errorf("String got %q, want %q", got, want)
	}
}

func TestHLC_monotonicWhenClockGoesBackwards(t *testing.T) {
	clk := newFakeClock()
	c := hlc{node: "n1", now: clk.Now}
	steps := []time.Duration{0, time.Millisecond, -time.Second, 0, 0, -time.Hour, 2 * time.Hour, -time.Nanosecond}
	var prev Version
	for i, d := range steps {
		clk.Advance(d)
		v := c.next()
		if !prev.Less(v) {
			t.Fatalf("step %d (advance %v): got %v, want newer than %v", i, d, v, prev)
		}
		if v.Node != "n1" {
			t.Fatalf("step %d: got node %q, want %q", i, v.Node, "n1")
		}
		if wall := clk.Now().UnixNano(); v.Clock < wall {
			t.Fatalf("step %d: got clock %d, want at least wall time %d", i, v.Clock, wall)
		}
		prev = v
	}
}

func TestHLC_observe(t *testing.T) {
	clk := newFakeClock()
	wall := clk.Now().UnixNano()
	tests := []struct {
		name     string
		observed int64
		want     int64 // clock of the next version
	}{
		{"past", wall - 1000, wall},
		{"far future", wall + int64(time.Hour), wall + int64(time.Hour) + 1},
		{"same as wall", wall, wall + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hlc{node: "n1", now: clk.Now}
			c.observe(Version{Clock: tt.observed, Node: "zz"})
			if got := c.next().Clock; got != tt.want {
				t.Errorf("next clock got %d, want %d", got, tt.want)
			}
		})
	}
}

// A store whose wall clock goes backwards still issues newer versions.
func TestStore_versionsMonotonicWhenClockGoesBackwards(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	var prev Version
	for i := range 20 {
		if i%3 == 1 {
			clk.Advance(-time.Duration(i) * time.Second)
		} else {
			clk.Advance(time.Millisecond)
		}
		in := mustRegister(t, s, svcA, inst("10.0.0.1", 8080+i%2))
		if !prev.Less(in.Version) {
			t.Fatalf("write %d: got version %v, want newer than %v", i, in.Version, prev)
		}
		prev = in.Version
	}
}

// After merging a record from a node whose clock runs far ahead, local
// writes still win over it.
func TestStore_localWriteAfterFarFutureMerge(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "a", clk)
	far := Version{Clock: clk.Now().Add(24 * time.Hour).UnixNano(), Node: "zzz"}

	remote := inst("10.0.0.1", 80).withDefaults()
	remote.Version = far
	if !s.Merge(svcA, remote) {
		t.Fatalf("Merge far-future record got false, want true")
	}
	tests := []struct {
		name  string
		write func() (Version, error)
	}{
		{"update same instance", func() (Version, error) {
			in, err := s.Update(svcA, remote.InstanceKey, func(in *Instance) { in.Weight = 7 })
			return in.Version, err
		}},
		{"register other instance", func() (Version, error) {
			in, err := s.Register(svcB, inst("10.0.0.2", 80))
			return in.Version, err
		}},
		{"create service", func() (Version, error) {
			info, err := s.CreateService(svcC, ServiceInfo{})
			return info.Version, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.write()
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if !far.Less(v) {
				t.Errorf("got version %v, want newer than %v", v, far)
			}
		})
	}
	if got, ok := s.Snapshot(svcA).Find(remote.InstanceKey); !ok || got.Weight != 7 {
		t.Errorf("after update got weight %v (found %v), want 7", got.Weight, ok)
	}
}

// Merged service records move the clock too.
func TestStore_mergeServiceObservesVersion(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "a", clk)
	far := Version{Clock: clk.Now().Add(time.Hour).UnixNano(), Node: "zzz"}
	if !s.MergeService(svcB, ServiceInfo{Version: far}) {
		t.Fatalf("MergeService got false, want true")
	}
	in := mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	if !far.Less(in.Version) {
		t.Errorf("got version %v, want newer than %v", in.Version, far)
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"default", func(*Config) {}, false},
		{"empty node", func(c *Config) { c.Node = "" }, true},
		{"nil clock", func(c *Config) { c.Now = nil }, true},
		{"zero ttl", func(c *Config) { c.TombstoneTTL = 0 }, true},
		{"negative ttl", func(c *Config) { c.TombstoneTTL = -time.Second }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			_, err := New(cfg)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("New error got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
