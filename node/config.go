package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/roster-io/roster/internal/param"
)

// Config holds the settings of a node's core. Every field is documented
// with its meaning, unit and default; DefaultConfig fills them all. The
// settings of the HTTP port, the front doors and the transport are
// agent.Config's.
type Config struct {
	// Name is the node's unique name in the cluster. Default: the hostname.
	Name string
	// GossipAddr is the memberlist bind address. Default
	// "127.0.0.1:7946". Empty: no gossip, a cluster of one.
	GossipAddr string
	// Advertise is the gossip address peers use, if different from GossipAddr.
	Advertise string
	// Join lists seed gossip addresses. Empty means a new cluster.
	Join []string
	// GossipProfile is lan, local, wan or shared. Default "lan".
	GossipProfile string
	// GossipKey encrypts gossip with AES-GCM (memberlist's keyring): 16,
	// 24 or 32 bytes. Nodes with another key cannot join. Default nil
	// (gossip in the clear).
	GossipKey []byte
	// TombstoneTTL is how long deletions are remembered so that late,
	// older writes cannot resurrect them. Default 10m.
	TombstoneTTL time.Duration
	// ReapInterval is how often expired tombstones are removed. Default 30s.
	ReapInterval time.Duration
	// MaxWait caps the wait of a blocking query. Default 5m.
	MaxWait time.Duration
	// ReplicationTimeout bounds how long a client write waits for a peer
	// to confirm it before answering 503. Default 2s.
	ReplicationTimeout time.Duration
	// SyncTimeout bounds pulling the registry (or one anti-entropy
	// exchange) from a peer. Default 30s.
	SyncTimeout time.Duration
	// SyncRetry is the pause between sync attempts. Default 100ms.
	SyncRetry time.Duration
	// SyncGrace is how long a starting node that has joined waits for a
	// synced peer before it starts on its own. Default 5s.
	SyncGrace time.Duration
	// JoinTimeout is how long a node given seeds waits for one of them to
	// answer before it starts a new cluster on its own. Seeds that refuse
	// it (another gossip key) never let it start. Default 30s.
	JoinTimeout time.Duration
	// AntiEntropyInterval is the mean time between digest exchanges.
	// Default 2s.
	AntiEntropyInterval time.Duration
	// HeardInterval is how often an owner reports to every member which
	// of its instances have gone quiet, so that whoever takes a partition
	// over counts their expiry from their last beat. Default 1s.
	HeardInterval time.Duration
	// StuckAfter is how long the registry may stay locked, or an expiry
	// overdue, before /healthz reports the node stuck (watchdog.go).
	// Default 30s.
	StuckAfter time.Duration
	// MaxClockSkew is how far ahead of this node's clock a peer's record
	// may be stamped; a record further ahead is refused, counted and
	// logged, and accepted once it is no longer that far ahead. Nodes'
	// clocks must agree within it. Default 5s.
	MaxClockSkew time.Duration
	// LeaveTimeout bounds how long a graceful leave waits for the
	// cluster to hear that this node leaves. Default 2s.
	LeaveTimeout time.Duration
	// PeerTimeout bounds one request to a peer that the core makes itself
	// (the ready hint). Default 5s.
	PeerTimeout time.Duration
	// AllowGossipAddr, if set, says whether this node may send gossip to
	// an address; tests use it to partition a cluster. Default nil (all).
	AllowGossipAddr func(addr string) bool
	// DebugFaults lets SetFaults cut this node's traffic to chosen
	// members, for chaos tests. Never enable it in production. Default
	// false.
	DebugFaults bool
	// MaxInstancesPerService bounds the live instances of one service a
	// client may register through this node (409 beyond). Replicated
	// writes are never refused. Zero means no limit. Default 10000.
	MaxInstancesPerService int
	// MaxInstancesPerNamespace bounds the live instances of one namespace
	// (409 beyond), like MaxInstancesPerService. Default 200000.
	MaxInstancesPerNamespace int
	// MaxMetadataBytes bounds the keys and values of one instance's or
	// service's metadata, in bytes (400 beyond); at most
	// param.MaxMetadataBytes (16384), the default.
	MaxMetadataBytes int
	// ExpiryBrakeLag engages the expiry brake (brake.go) when a beat has
	// waited longer than this to be applied, or a front door reports
	// overload; it releases after twice this without either. Zero turns
	// the brake off. Default 1s.
	ExpiryBrakeLag time.Duration
	// Logger receives the node's logs. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now. Tests inject their own.
	Now func() time.Time
}

// DefaultConfig returns a Config with every field set to its default.
func DefaultConfig() Config {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "roster"
	}
	return Config{
		Name:                     name,
		GossipAddr:               "127.0.0.1:7946",
		GossipProfile:            "lan",
		TombstoneTTL:             10 * time.Minute,
		ReapInterval:             30 * time.Second,
		MaxWait:                  5 * time.Minute,
		ReplicationTimeout:       2 * time.Second,
		SyncTimeout:              30 * time.Second,
		SyncRetry:                100 * time.Millisecond,
		SyncGrace:                5 * time.Second,
		JoinTimeout:              30 * time.Second,
		AntiEntropyInterval:      2 * time.Second,
		HeardInterval:            time.Second,
		StuckAfter:               30 * time.Second,
		LeaveTimeout:             2 * time.Second,
		MaxClockSkew:             5 * time.Second,
		PeerTimeout:              5 * time.Second,
		MaxInstancesPerService:   10000,
		MaxInstancesPerNamespace: 200000,
		MaxMetadataBytes:         param.MaxMetadataBytes,
		ExpiryBrakeLag:           time.Second,
		Logger:                   slog.Default(),
		Now:                      time.Now,
	}
}

// DefaultLocalConfig returns a Config for tests: a random loopback gossip
// port and short timers.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.Name = "local"
	c.GossipAddr = "127.0.0.1:0"
	c.GossipProfile = "local"
	c.TombstoneTTL = 2 * time.Second
	c.ReapInterval = 200 * time.Millisecond
	c.MaxWait = 10 * time.Second
	c.SyncGrace = 300 * time.Millisecond
	c.JoinTimeout = time.Second
	c.SyncRetry = 20 * time.Millisecond
	c.AntiEntropyInterval = 200 * time.Millisecond
	c.HeardInterval = 200 * time.Millisecond
	c.StuckAfter = 10 * time.Second
	return c
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("node: config: name is empty")
	case c.TombstoneTTL <= 0:
		return fmt.Errorf("node: config: tombstone ttl %v must be positive", c.TombstoneTTL)
	case c.ReapInterval <= 0:
		return fmt.Errorf("node: config: reap interval %v must be positive", c.ReapInterval)
	case c.MaxWait <= 0:
		return fmt.Errorf("node: config: max wait %v must be positive", c.MaxWait)
	case c.StuckAfter <= 0:
		return fmt.Errorf("node: config: stuck-after %v must be positive", c.StuckAfter)
	case c.MaxClockSkew <= 0:
		return fmt.Errorf("node: config: max clock skew %v must be positive", c.MaxClockSkew)
	case c.ReplicationTimeout <= 0 || c.SyncTimeout <= 0 || c.PeerTimeout <= 0:
		return errors.New("node: config: replication, peer and sync timeouts must be positive")
	case c.SyncRetry <= 0 || c.SyncGrace < 0 || c.JoinTimeout < 0 || c.AntiEntropyInterval <= 0 || c.LeaveTimeout <= 0 || c.HeardInterval <= 0:
		return errors.New("node: config: sync retry, anti-entropy and heard intervals and leave timeout must be positive")
	case c.ExpiryBrakeLag < 0:
		return fmt.Errorf("node: config: expiry brake lag %v must not be negative", c.ExpiryBrakeLag)
	case c.MaxInstancesPerService < 0 || c.MaxInstancesPerNamespace < 0:
		return errors.New("node: config: max instances must not be negative")
	case c.MaxMetadataBytes < 1 || c.MaxMetadataBytes > param.MaxMetadataBytes:
		return fmt.Errorf("node: config: max metadata bytes %d must be in 1..%d", c.MaxMetadataBytes, param.MaxMetadataBytes)
	case len(c.GossipKey) != 0 && len(c.GossipKey) != 16 && len(c.GossipKey) != 24 && len(c.GossipKey) != 32:
		return fmt.Errorf("node: config: gossip key is %d bytes; want 16, 24 or 32", len(c.GossipKey))
	case c.Logger == nil || c.Now == nil:
		return errors.New("node: config: logger and clock must be set")
	}
	switch c.GossipProfile {
	case "lan", "local", "wan", "shared":
	default:
		return fmt.Errorf("node: config: gossip profile %q is not lan, local, wan or shared", c.GossipProfile)
	}
	return nil
}
