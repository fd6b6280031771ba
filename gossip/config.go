package gossip

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a Gossip. Build one with DefaultConfig or
// DefaultLocalConfig and change what you need; every field is documented
// with its default.
type Config struct {
	// Name identifies this node in the cluster and must be unique in it.
	// Default: the host name.
	Name string

	// BindAddr is the IP:port that memberlist listens on for both UDP and
	// TCP. The host must be an IP literal. Port 0 picks a free port; the
	// chosen one is reported by LocalMember().Addr. Default: 127.0.0.1:7946.
	BindAddr string

	// AdvertiseAddr is the IP:port that other nodes use to reach this node,
	// for NAT or a wildcard BindAddr. Empty means: derived from BindAddr
	// (for 0.0.0.0, memberlist picks a private IP of this host). When
	// BindAddr has port 0, the advertised port is the bound port. Default:
	// empty.
	AdvertiseAddr string

	// Cluster names the cluster. Nodes with different cluster names drop
	// each other's packets (memberlist's label), so two clusters that
	// learn of each other's addresses, say through a reused port, never
	// merge. At most 255 bytes. Default: empty (unlabelled).
	Cluster string

	// SecretKey, if set, encrypts and authenticates all gossip with
	// AES-GCM (memberlist's keyring): 16, 24 or 32 bytes for AES-128, -192
	// or -256. A node with another key, or none, can neither join nor be
	// heard. Default: nil (gossip in the clear).
	SecretKey []byte

	// Profile chooses memberlist's failure-detection and gossip timers:
	// ProfileLAN, ProfileLocal, ProfileWAN or ProfileShared. See
	// profile.go. Default:
	// ProfileLAN.
	Profile Profile

	// Join lists seed addresses (host:port) to join through. Start keeps
	// trying them in the background until one answers. Seeds that resolve
	// to this node's own address are skipped. Empty means this node starts
	// a cluster of its own. Default: none.
	Join []string

	// JoinRetryInterval is the wait before the second join attempt. Each
	// further wait doubles, up to JoinRetryMaxInterval, and is jittered to
	// between half and all of its nominal value so that nodes started
	// together do not retry in lockstep. Default: 500ms (local: 20ms).
	JoinRetryInterval time.Duration

	// JoinRetryMaxInterval caps the wait between join attempts. Default: 30s
	// (local: 250ms).
	JoinRetryMaxInterval time.Duration

	// JoinRetryMax is the number of join attempts after which the node gives
	// up and stays a cluster of its own (Joined stays false). Zero means
	// retry forever. Default: 0.
	JoinRetryMax int

	// Meta is published to every other node. A zero Meta.Epoch is replaced
	// by the time New is called. Its encoding must fit in memberlist's 512
	// byte metadata limit, which leaves room for an HTTPAddr of about 490
	// bytes. Default: zero (HTTPAddr empty, Epoch set by New).
	Meta Meta

	// EventBuffer is the number of events that may wait for the consumer of
	// Events. When one more arrives, the waiting events are dropped and
	// replaced by one EventResync. Default: 1024 (local: 256).
	EventBuffer int

	// ReconnectInterval is how often the node tries to rejoin one member
	// that failed (was declared dead rather than leaving), so the sides of
	// a healed network partition find each other again. Default: 2s
	// (local: 200ms).
	ReconnectInterval time.Duration

	// ReconnectTimeout is how long after a failure the node keeps trying
	// to reconnect to that member. Default: 24h.
	ReconnectTimeout time.Duration

	// AllowAddr, if set, says whether this node may send to a gossip
	// address (host:port); packets to other addresses are dropped and
	// streams refused. Tests use it to cut the network between nodes.
	// Default: nil (no filtering, memberlist's own transport).
	AllowAddr func(addr string) bool

	// Logger receives this package's logs, and memberlist's at debug level.
	// Nil discards them. Default: slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the configuration for a production node on a LAN:
// the host name, 127.0.0.1:7946, the lan profile and no seeds.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "roster"
	}
	return Config{
		Name:                 host,
		BindAddr:             "127.0.0.1:7946",
		Profile:              ProfileLAN,
		JoinRetryInterval:    500 * time.Millisecond,
		JoinRetryMaxInterval: 30 * time.Second,
		EventBuffer:          1024,
		ReconnectInterval:    2 * time.Second,
		ReconnectTimeout:     24 * time.Hour,
		Logger:               slog.Default(),
	}
}

// DefaultLocalConfig returns a configuration with fast timers for tests and
// single-host clusters: a free loopback port, the local profile and quick
// join retries. Callers still set Name and usually Logger.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1:0"
	c.Profile = ProfileLocal
	c.JoinRetryInterval = 20 * time.Millisecond
	c.JoinRetryMaxInterval = 250 * time.Millisecond
	c.EventBuffer = 256
	c.ReconnectInterval = 200 * time.Millisecond
	return c
}

// Validate reports the first problem with c, wrapped in ErrInvalidConfig.
func (c Config) Validate() error {
	if c.Name == "" {
		return invalid("name is empty")
	}
	if _, err := parseIPPort(c.BindAddr); err != nil {
		return invalid("bind addr %q: %v", c.BindAddr, err)
	}
	if c.AdvertiseAddr != "" {
		ap, err := parseIPPort(c.AdvertiseAddr)
		if err != nil {
			return invalid("advertise addr %q: %v", c.AdvertiseAddr, err)
		}
		if ap.Addr().IsUnspecified() {
			return invalid("advertise addr %q: must be a routable IP", c.AdvertiseAddr)
		}
	}
	if len(c.Cluster) > memberlist.LabelMaxSize {
		return invalid("cluster name is %d bytes, limit %d", len(c.Cluster), memberlist.LabelMaxSize)
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return invalid("secret key is %d bytes; want 16, 24 or 32 (AES-128, -192 or -256)", len(c.SecretKey))
	}
	if _, err := c.Profile.memberlistConfig(); err != nil {
		return invalid("%v", err)
	}
	for _, seed := range c.Join {
		if _, _, err := net.SplitHostPort(seed); err != nil {
			return invalid("join address %q: %v", seed, err)
		}
	}
	if c.JoinRetryInterval <= 0 {
		return invalid("join retry interval %v must be positive", c.JoinRetryInterval)
	}
	if c.JoinRetryMaxInterval < c.JoinRetryInterval {
		return invalid("join retry max interval %v is below join retry interval %v",
			c.JoinRetryMaxInterval, c.JoinRetryInterval)
	}
	if c.JoinRetryMax < 0 {
		return invalid("join retry max %d is negative", c.JoinRetryMax)
	}
	if _, err := encodeMeta(c.Meta); err != nil {
		return invalid("%v", err)
	}
	if c.EventBuffer < 1 {
		return invalid("event buffer %d must be at least 1", c.EventBuffer)
	}
	if c.ReconnectInterval <= 0 || c.ReconnectTimeout <= 0 {
		return invalid("reconnect interval %v and timeout %v must be positive", c.ReconnectInterval, c.ReconnectTimeout)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// parseIPPort parses "ip:port" with an IP literal host and a port in
// [0, 65535].
func parseIPPort(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("host must be an IP address: %w", err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port: %w", err)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}
