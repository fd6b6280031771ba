package gossip

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// filterTransport wraps memberlist's network transport and drops every
// packet, and refuses every stream, to an address that allow rejects. When
// two nodes each reject the other, the network between them is cut both
// ways; tests use it to partition a cluster on one host. Production
// configs leave Config.AllowAddr nil and get memberlist's own transport.
type filterTransport struct {
	*memberlist.NetTransport
	allow func(addr string) bool
}

var _ memberlist.NodeAwareTransport = (*filterTransport)(nil)

// newFilterTransport binds a network transport on bind (port 0 picks one).
func newFilterTransport(conf *memberlist.Config, allow func(string) bool) (*filterTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{conf.BindAddr},
		BindPort:  conf.BindPort,
		Logger:    conf.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: transport: %w", err)
	}
	return &filterTransport{NetTransport: nt, allow: allow}, nil
}

// WriteTo drops the packet, as a cut network would, when addr is blocked.
func (t *filterTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if !t.allow(addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}

// WriteToAddress is WriteTo for memberlist's node-aware path.
func (t *filterTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

// DialTimeout fails when addr is blocked.
func (t *filterTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if !t.allow(addr) {
		return nil, fmt.Errorf("gossip: dial %s: blocked by the address filter", addr)
	}
	return t.NetTransport.DialTimeout(addr, timeout)
}

// DialAddressTimeout is DialTimeout for memberlist's node-aware path.
func (t *filterTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}
