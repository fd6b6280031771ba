package agent

import (
	"net"
	"net/http"
	"sync"
)

// unusedConns closes, when its http.Server shuts down, the connections
// that have not yet sent a whole request header. net/http's Shutdown
// counts such a connection as busy for its first 5 s, so a client holding
// one it dialed and never used (Go's transport keeps the loser of a dial
// race that way), or one trickling its header, stalled every drain by up
// to 5 s. None of them has a request that could be acknowledged, so
// closing them loses nothing.
type unusedConns struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
}

// watchUnused hooks srv's connection states and shutdown.
func watchUnused(srv *http.Server) {
	u := &unusedConns{conns: make(map[net.Conn]struct{})}
	srv.ConnState = u.note
	srv.RegisterOnShutdown(u.closeAll)
}

// note tracks c while it is new; one accepted after the shutdown began is
// closed at once.
func (u *unusedConns) note(c net.Conn, s http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case s != http.StateNew:
		delete(u.conns, c)
	case u.closing:
		_ = c.Close()
	default:
		u.conns[c] = struct{}{}
	}
}

// closeAll closes every connection still new and those accepted later.
func (u *unusedConns) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closing = true
	for c := range u.conns {
		_ = c.Close()
	}
	clear(u.conns)
}
