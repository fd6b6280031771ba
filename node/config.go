package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/roster-io/roster/internal/param"
)

// Config holds the settings of one roster node. Every field is documented
// with its meaning, unit and default; DefaultConfig fills them all.
type Config struct {
	// Name is the node's unique name in the cluster. Default: the hostname.
	Name string
	// HTTPAddr is the client API listen address (host:port; port 0 picks a
	// free one). Default "127.0.0.1:8848".
	HTTPAddr string
	// GossipAddr is the memberlist bind address. Default "127.0.0.1:7946".
	// Accepted now; gossip starts with the cluster issue.
	GossipAddr string
	// Advertise is the gossip address peers use, if different from GossipAddr.
	Advertise string
	// Join lists seed gossip addresses. Empty means a cluster of one.
	Join []string
	// GossipProfile is lan, local or wan. Default "lan".
	GossipProfile string
	// TombstoneTTL is how long deletions are remembered so that late,
	// older writes cannot resurrect them. Default 10m.
	TombstoneTTL time.Duration
	// ReapInterval is how often expired tombstones are removed. Default 30s.
	ReapInterval time.Duration
	// MaxBodyBytes limits request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// MaxWait caps the wait of a blocking query. Default 5m.
	MaxWait time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	// Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included. Default
	// 30s.
	ReadTimeout time.Duration
	// MaxHeaderBytes limits request headers. Default 64 KiB.
	MaxHeaderBytes int
	// IdleTimeout closes keep-alive connections idle this long. Default 2m.
	IdleTimeout time.Duration
	// CacheMillis is what the Nacos list API tells clients to cache for, in
	// milliseconds: how often nacos-sdk-go re-polls a subscribed service.
	// Default 3000, what Nacos 1.4 answers clients it does not push to.
	CacheMillis int64
	// AdvertiseHTTP is the HTTP address peers use to reach this node.
	// Default: the bound HTTP address.
	AdvertiseHTTP string
	// ReplicationTimeout bounds how long a client write waits for a peer
	// to confirm it before answering 503. Default 2s.
	ReplicationTimeout time.Duration
	// HandoffTimeout bounds how long a beat waits for its owner before it
	// is handled locally. Default 1s.
	HandoffTimeout time.Duration
	// PeerTimeout bounds one internal request. Default 5s.
	PeerTimeout time.Duration
	// SyncTimeout bounds pulling the registry (or one anti-entropy
	// exchange) from a peer. Default 30s.
	SyncTimeout time.Duration
	// SyncRetry is the pause between sync attempts. Default 100ms.
	SyncRetry time.Duration
	// SyncGrace is how long a starting node waits for a synced peer before
	// it starts on its own. Default 5s.
	SyncGrace time.Duration
	// AntiEntropyInterval is the mean time between digest exchanges.
	// Default 2s.
	AntiEntropyInterval time.Duration
	// LeaveTimeout bounds how long a graceful shutdown waits for the
	// cluster to hear that this node leaves. Default 2s.
	LeaveTimeout time.Duration
	// AllowPeer, if set, says whether this node may send to a peer; tests
	// use it to cut the network between nodes. Default nil (all).
	AllowPeer func(peer string) bool
	// AllowGossipAddr, if set, says whether this node may send gossip to
	// an address; tests use it with AllowPeer to partition a cluster.
	// Default nil (all).
	AllowGossipAddr func(addr string) bool
	// DebugFaults enables PUT /debug/faults (loopback clients only), which
	// cuts this node's traffic to chosen members, for chaos tests. Never
	// enable it in production. Default false.
	DebugFaults bool
	// Pprof mounts net/http/pprof's handlers under /debug/pprof/ on the
	// HTTP port (on this node's own mux). Default false.
	Pprof bool
	// GossipKey encrypts gossip with AES-GCM (memberlist's keyring): 16,
	// 24 or 32 bytes. Nodes with another key cannot join. Default nil
	// (gossip in the clear).
	GossipKey []byte
	// ClusterSecret keys the HMAC that authenticates internal requests and
	// the signature of login tokens (see hmac.go, auth.go). Nil means: use
	// GossipKey. When both are nil, internal requests are checked only by
	// member name and source host, and login tokens are signed with a
	// random key of this node, so only it accepts them. Default nil.
	ClusterSecret []byte
	// ACL configures client authentication. The zero value is off.
	ACL ACLConfig
	// TLS, if set, serves the client API (and the internal API) over
	// HTTPS with it; set ClientAuth and ClientCAs in it for mutual TLS.
	// Every node of a cluster must then use TLS. Default nil (plain HTTP).
	TLS *tls.Config
	// PeerTLS is what this node's internal requests use when TLS is set:
	// RootCAs must trust the peers' certificates, and Certificates must
	// hold this node's certificate when peers require client
	// certificates. Nil with TLS set: the system roots, no certificate.
	PeerTLS *tls.Config
	// MaxConcurrent bounds client API requests being handled at once;
	// beyond it a request gets 429 at once. Internal and probe requests
	// do not count, nor do blocking queries. Zero means no limit. Default
	// 1024.
	MaxConcurrent int
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
		Name:                name,
		HTTPAddr:            "127.0.0.1:8848",
		GossipAddr:          "127.0.0.1:7946",
		GossipProfile:       "lan",
		TombstoneTTL:        10 * time.Minute,
		ReapInterval:        30 * time.Second,
		MaxBodyBytes:        1 << 20,
		MaxWait:             5 * time.Minute,
		ReadHeaderTimeout:   10 * time.Second,
		ReadTimeout:         30 * time.Second,
		MaxHeaderBytes:      64 << 10,
		IdleTimeout:         2 * time.Minute,
		CacheMillis:         3000,
		ReplicationTimeout:  2 * time.Second,
		HandoffTimeout:      time.Second,
		PeerTimeout:         5 * time.Second,
		SyncTimeout:         30 * time.Second,
		SyncRetry:           100 * time.Millisecond,
		SyncGrace:           5 * time.Second,
		AntiEntropyInterval: 2 * time.Second,
		LeaveTimeout:        2 * time.Second,
		ACL:                 ACLConfig{TokenTTL: DefaultTokenTTL},

		MaxConcurrent:            1024,
		MaxInstancesPerService:   10000,
		MaxInstancesPerNamespace: 200000,
		MaxMetadataBytes:         param.MaxMetadataBytes,
		Logger:                   slog.Default(),
		Now:                      time.Now,
	}
}

// DefaultLocalConfig returns a Config for tests: a random loopback port and
// short timers.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.Name = "local"
	c.HTTPAddr = "127.0.0.1:0"
	c.GossipAddr = "127.0.0.1:0"
	c.GossipProfile = "local"
	c.TombstoneTTL = 2 * time.Second
	c.ReapInterval = 200 * time.Millisecond
	c.MaxWait = 10 * time.Second
	c.SyncGrace = 300 * time.Millisecond
	c.SyncRetry = 20 * time.Millisecond
	c.AntiEntropyInterval = 200 * time.Millisecond
	return c
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("node: config: name is empty")
	case c.HTTPAddr == "":
		return errors.New("node: config: http address is empty")
	case c.TombstoneTTL <= 0:
		return fmt.Errorf("node: config: tombstone ttl %v must be positive", c.TombstoneTTL)
	case c.ReapInterval <= 0:
		return fmt.Errorf("node: config: reap interval %v must be positive", c.ReapInterval)
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("node: config: max body %d must be positive", c.MaxBodyBytes)
	case c.MaxWait <= 0:
		return fmt.Errorf("node: config: max wait %v must be positive", c.MaxWait)
	case c.ReplicationTimeout <= 0 || c.HandoffTimeout <= 0 || c.PeerTimeout <= 0 || c.SyncTimeout <= 0:
		return errors.New("node: config: replication, hand-off, peer and sync timeouts must be positive")
	case c.SyncRetry <= 0 || c.SyncGrace < 0 || c.AntiEntropyInterval <= 0 || c.LeaveTimeout <= 0:
		return errors.New("node: config: sync retry and anti-entropy interval must be positive")
	}
	switch c.GossipProfile {
	case "lan", "local", "wan":
	default:
		return fmt.Errorf("node: config: gossip profile %q is not lan, local or wan", c.GossipProfile)
	}
	return c.validateSecurity()
}
