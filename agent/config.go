package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/door/grpcdoor"
	"github.com/roster-io/roster/health"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/peer"
)

// Config holds the settings of one roster agent: its core (node.Config,
// embedded, so cfg.Name and the rest read as the agent's own), its HTTP
// port and front doors, and its transport to peers. Every field is
// documented with its meaning, unit and default; DefaultConfig fills them
// all.
type Config struct {
	node.Config
	// Doors configures the doors on listeners of their own (DNS, the
	// Consul-compatible API); all off by default.
	Doors

	// HTTPAddr is the client API listen address (host:port; port 0 picks a
	// free one). Default "127.0.0.1:8848".
	HTTPAddr string
	// AdvertiseHTTP is the HTTP address peers use to reach this node.
	// Default: the bound HTTP address (a wildcard host replaced by the
	// gossip address's host).
	AdvertiseHTTP string
	// MaxBodyBytes limits request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
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
	// PushToClientIP sends Nacos UDP pushes to the list request's clientIP
	// parameter instead of its source address, for clients behind NAT.
	// Default false.
	PushToClientIP bool
	// PushAckTimeout is how long a Nacos UDP push waits for its
	// acknowledgement before it is sent once more. Default 10s, as Nacos.
	PushAckTimeout time.Duration
	// HandoffTimeout bounds how long a beat waits for its owner before it
	// is handled locally. Default 1s.
	HandoffTimeout time.Duration
	// PeerStream carries internal requests to each peer over one
	// persistent connection on its HTTP port instead of one HTTP request
	// each (peer.Config.Stream); a peer that does not accept the stream
	// still gets HTTP requests. Default true.
	PeerStream bool
	// PeerBatchPace spaces the batches of deltas to a busy peer
	// (peer.Config.BatchPace): under load the next batch leaves no
	// sooner than this after the last, so fewer, larger frames carry the
	// same writes; 0: no pacing; at most MaxPeerBatchPace. Default 3ms.
	PeerBatchPace time.Duration
	// HandoffPace spaces the batches of beats handed off to a busy owner
	// alike (peer.Config.HandoffPace); 0: no pacing; at most
	// MaxPeerBatchPace. Default 0.
	HandoffPace time.Duration
	// PeerQueue bounds the writes waiting for each peer
	// (peer.Config.DeltaQueue); zero means the transport's default, 8192.
	PeerQueue int
	// AllowPeer, if set, says whether this node may send to a peer; tests
	// use it to cut the network between nodes. Default nil (all).
	AllowPeer func(peer string) bool
	// Pprof mounts net/http/pprof's handlers under /debug/pprof/ on the
	// HTTP port (on this agent's own mux). Default false.
	Pprof bool
	// NoUI turns the web console (/ui/, door/console) off. Default false:
	// the console is served.
	NoUI bool
	// ClusterSecret keys the HMAC that authenticates internal requests
	// (package peer) and the signature of login tokens (package
	// door/gate). Nil means: use GossipKey. When both are nil, internal
	// requests are checked only by member name and source host, and login
	// tokens are signed with a random key of this node, so only it accepts
	// them. Default nil.
	ClusterSecret []byte
	// ACL configures client authentication. The zero value is off.
	ACL gate.ACLConfig
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
	// MaxWatchers bounds the blocking queries waiting at once; one more
	// gets 429. Zero means no limit. Default 4096.
	MaxWatchers int
	// ShedLatency turns on the gate's admission control: while goroutines
	// wait longer than this for a CPU, a share of client requests is shed
	// with 429 (see gate.Config). Zero: never shed. Default 50ms.
	ShedLatency time.Duration
	// ShedQueueAge turns on the gate's shedding by queue age: a client read
	// that waited longer than this on its connection before it could
	// start, or a write that waited twice this, gets 429 (see
	// gate.Config). Zero: off. Default 4s (writes 8s), under the 10 s
	// nacos-sdk-go waits for an answer.
	ShedQueueAge time.Duration
	// GRPCAddr is the listen address of the Nacos 2.x gRPC door: "auto"
	// (the default) is the HTTP host and port + 1000, "off" disables it.
	GRPCAddr string
	// GRPC configures the gRPC door; its TLS, metrics, logger and clock
	// are the agent's. Default grpcdoor.DefaultConfig().
	GRPC grpcdoor.Config
	// DataDir is the data directory that keeps persistent instances,
	// services and their tombstones across restarts (package durable).
	// Empty keeps everything in memory. Default "" (the roster command
	// defaults it to data/<name>).
	DataDir string
	// HealthCheck configures the server-side health checks of persistent
	// instances (package health); its Logger is the agent's. Default
	// health.DefaultConfig().
	HealthCheck health.Config
}

// MaxPeerBatchPace bounds Config.PeerBatchPace.
const MaxPeerBatchPace = peer.MaxBatchPace

// DefaultConfig returns a Config with every field set to its default.
func DefaultConfig() Config {
	return Config{
		Config:            node.DefaultConfig(),
		Doors:             DefaultDoors(),
		HTTPAddr:          "127.0.0.1:8848",
		MaxBodyBytes:      1 << 20,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
		CacheMillis:       3000,
		HandoffTimeout:    time.Second,
		PeerStream:        true,
		PeerBatchPace:     3 * time.Millisecond,
		ACL:               gate.ACLConfig{TokenTTL: gate.DefaultTokenTTL},
		MaxConcurrent:     1024,
		MaxWatchers:       4096,
		ShedLatency:       50 * time.Millisecond,
		ShedQueueAge:      4 * time.Second,
		GRPCAddr:          GRPCAuto,
		GRPC:              grpcdoor.DefaultConfig(),
		HealthCheck:       health.DefaultConfig(),
	}
}

// DefaultLocalConfig returns a Config for tests: random loopback ports and
// short timers.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.Config = node.DefaultLocalConfig()
	c.HTTPAddr = "127.0.0.1:0"
	// Tests share loaded cores with many agents in one process; their
	// scheduler delays say nothing about a node's load. Tests of the
	// admission control turn it on themselves.
	c.ShedLatency = 0
	c.ShedQueueAge = 0
	return c
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := c.ACL.Validate(); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	switch {
	case c.HTTPAddr == "":
		return errors.New("agent: config: http address is empty")
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("agent: config: max body %d must be positive", c.MaxBodyBytes)
	case c.HandoffTimeout <= 0:
		return errors.New("agent: config: hand-off timeout must be positive")
	case c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.IdleTimeout <= 0:
		return errors.New("agent: config: read header, read and idle timeouts must be positive")
	case c.MaxConcurrent < 0 || c.MaxWatchers < 0:
		return errors.New("agent: config: max concurrent and max watchers must not be negative")
	case c.ClusterSecret != nil && len(c.ClusterSecret) < 16:
		return fmt.Errorf("agent: config: cluster secret is %d bytes; want at least 16", len(c.ClusterSecret))
	case c.ACL.Enabled() && c.GossipAddr != "" && c.secret() == nil:
		return errors.New("agent: config: ACLs are on in a cluster without a shared secret, so any host could send node-to-node requests around them: " +
			"set --cluster-secret or --gossip-key on every node (or --gossip \"\" for a node that never clusters)")
	}
	if err := c.validateDoors(); err != nil {
		return err
	}
	if c.GRPCAddr == "" {
		return errors.New("agent: config: grpc address is empty: set an address, auto or off")
	}
	return c.checkAdvertise()
}

// checkAdvertise refuses an HTTP address peers could not dial: a wildcard
// bind whose host cannot be taken from a specific gossip address either
// (see advertisedHTTP), with gossip on and no AdvertiseHTTP.
func (c *Config) checkAdvertise() error {
	if c.GossipAddr == "" || c.AdvertiseHTTP != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("agent: config: http address %q: %w", c.HTTPAddr, err)
	}
	if !wildcard(host) {
		return nil
	}
	for _, a := range []string{c.Advertise, c.GossipAddr} {
		if h, _, err := net.SplitHostPort(a); err == nil && !wildcard(h) {
			return nil
		}
	}
	return fmt.Errorf("agent: config: --http %s binds every interface and the gossip address names none, so peers would be told an address they cannot dial: "+
		"set --advertise-http HOST:PORT (or a specific --gossip or --advertise host)", c.HTTPAddr)
}

// wildcard reports whether host binds every interface.
func wildcard(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

// secret is the cluster's shared secret: ClusterSecret, else GossipKey.
func (c *Config) secret() []byte {
	if c.ClusterSecret != nil {
		return c.ClusterSecret
	}
	return c.GossipKey
}
