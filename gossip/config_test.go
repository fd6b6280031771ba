package gossip

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfig_defaultsValid(t *testing.T) {
	for name, cfg := range map[string]Config{
		"DefaultConfig":      DefaultConfig(),
		"DefaultLocalConfig": DefaultLocalConfig(),
	} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s().Validate() = %v, want nil", name, err)
		}
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; empty means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"port zero", func(c *Config) { c.BindAddr = "127.0.0.1:0" }, ""},
		{"ipv6 bind", func(c *Config) { c.BindAddr = "[::1]:7946" }, ""},
		{"advertise", func(c *Config) { c.AdvertiseAddr = "10.0.0.1:7946" }, ""},
		{"wan", func(c *Config) { c.Profile = ProfileWAN }, ""},
		{"seeds", func(c *Config) { c.Join = []string{"10.0.0.1:7946", "seed.example:7946"} }, ""},
		{"no name", func(c *Config) { c.Name = "" }, "name is empty"},
		{"bind hostname", func(c *Config) { c.BindAddr = "localhost:7946" }, "must be an IP"},
		{"bind no port", func(c *Config) { c.BindAddr = "127.0.0.1" }, "bind addr"},
		{"bind bad port", func(c *Config) { c.BindAddr = "127.0.0.1:70000" }, "port"},
		{"advertise wildcard", func(c *Config) { c.AdvertiseAddr = "0.0.0.0:7946" }, "routable"},
		{"advertise hostname", func(c *Config) { c.AdvertiseAddr = "node1:7946" }, "must be an IP"},
		{"profile", func(c *Config) { c.Profile = "fast" }, `profile "fast"`},
		{"empty profile", func(c *Config) { c.Profile = "" }, "profile"},
		{"seed without port", func(c *Config) { c.Join = []string{"10.0.0.1"} }, "join address"},
		{"retry interval", func(c *Config) { c.JoinRetryInterval = 0 }, "join retry interval"},
		{"retry max interval", func(c *Config) { c.JoinRetryMaxInterval = time.Millisecond }, "max interval"},
		{"retry max", func(c *Config) { c.JoinRetryMax = -1 }, "join retry max"},
		{"meta too big", func(c *Config) { c.Meta.HTTPAddr = strings.Repeat("x", 600) }, "meta is"},
		{"event buffer", func(c *Config) { c.EventBuffer = 0 }, "event buffer"},
		{"cluster too long", func(c *Config) { c.Cluster = strings.Repeat("c", 256) }, "cluster name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil, want error containing %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want ErrInvalidConfig containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "gossip: ") {
				t.Errorf("got %q, want a gossip: prefix", err)
			}
		})
	}
}

func TestNew_invalidConfig(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("got %v, want ErrInvalidConfig", err)
	}
}

func TestNew_fillsEpoch(t *testing.T) {
	cfg := DefaultLocalConfig()
	cfg.Name = "n"
	before := time.Now().UnixNano()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.LocalMember().Meta.Epoch; got < before {
		t.Errorf("got epoch %d, want at least %d", got, before)
	}
}

// detectEstimate is the mean detection time that profile.go's arithmetic
// predicts for n nodes with confirmations arriving in time.
func detectEstimate(p Profile, n int) time.Duration {
	c, _ := p.memberlistConfig()
	scale := math.Max(1, math.Log10(float64(n)))
	firstProbe := time.Duration(float64(n-1) / float64(n) * float64(c.ProbeInterval))
	suspicion := time.Duration(float64(c.SuspicionMult) * scale * float64(c.ProbeInterval))
	return firstProbe + c.ProbeInterval + suspicion + c.GossipInterval
}

func TestProfile_detectionBudget(t *testing.T) {
	tests := []struct {
		profile Profile
		n       int
		max     time.Duration
	}{
		{ProfileLAN, 3, 2 * time.Second},
		{ProfileLAN, 5, 2 * time.Second},
		{ProfileLocal, 3, 1200 * time.Millisecond},
		{ProfileShared, 10, 7 * time.Second},
		{ProfileShared, 100, 11 * time.Second},
	}
	for _, tt := range tests {
		got := detectEstimate(tt.profile, tt.n)
		if got > tt.max {
			t.Errorf("%s with %d nodes: got estimate %v, want at most %v", tt.profile, tt.n, got, tt.max)
		}
	}
}

func TestProfile_lifeguardOn(t *testing.T) {
	for _, p := range []Profile{ProfileLAN, ProfileLocal, ProfileWAN, ProfileShared} {
		c, err := p.memberlistConfig()
		if err != nil {
			t.Fatal(err)
		}
		if c.AwarenessMaxMultiplier < 2 {
			t.Errorf("%s: got AwarenessMaxMultiplier %d, want Lifeguard on (>= 2)", p, c.AwarenessMaxMultiplier)
		}
		if c.SuspicionMaxTimeoutMult < 2 {
			t.Errorf("%s: got SuspicionMaxTimeoutMult %d, want >= 2", p, c.SuspicionMaxTimeoutMult)
		}
		if p != ProfileWAN && 2*c.ProbeTimeout >= c.ProbeInterval { // wan keeps memberlist's stock 3s/5s
			t.Errorf("%s: got ProbeTimeout %v, want below ProbeInterval/2 (%v) so nacks beat the deadline",
				p, c.ProbeTimeout, c.ProbeInterval/2)
		}
		if c.DeadNodeReclaimTime <= 0 {
			t.Errorf("%s: got DeadNodeReclaimTime %v, want positive", p, c.DeadNodeReclaimTime)
		}
	}
}

// TestProfile_compressesOnlyOverWAN: on a LAN (and loopback, and a shared
// host) memberlist's per-packet LZW compression costs a 16 KiB table and
// most of a packet's CPU for datagrams already sized to fit.
func TestProfile_compressesOnlyOverWAN(t *testing.T) {
	for _, p := range []Profile{ProfileLAN, ProfileLocal, ProfileWAN, ProfileShared} {
		c, err := p.memberlistConfig()
		if err != nil {
			t.Fatal(err)
		}
		if want := p == ProfileWAN; c.EnableCompression != want {
			t.Errorf("%s: got EnableCompression %v, want %v", p, c.EnableCompression, want)
		}
	}
}
