package peer

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"
)

// Connection leases. A node holding Nacos 2.x clients' connections tells
// each owner of their services, once per lease interval, which of those
// connections are alive: POST /internal/v1/leases with the connection ids,
// one small request per owner whatever the number of instances. The
// owner renews every instance bound to the sender and one of those
// connections (store.RenewBound); the sender is the holder the request
// is signed and checked as, so a node renews only its own connections.

// Limits of one lease request. A holder with more connections sends
// several requests.
const (
	MaxLeaseConns  = 50000
	MaxConnIDBytes = 128
	leasesMaxBody  = MaxLeaseConns*(MaxConnIDBytes+3) + 1024
)

// LeaseReceiver is what a node's core implements to take connection
// leases: HandleLeases renews the instances bound to connections conns of
// holder and returns how many it renewed.
type LeaseReceiver interface {
	HandleLeases(holder Member, conns []string) int
}

// leasesRequest is the body of POST /internal/v1/leases: connection ids,
// strictly ascending.
type leasesRequest struct {
	Conns []string `json:"conns"`
}

// leasesReply says how many instances the owner renewed.
type leasesReply struct {
	Renewed int `json:"renewed"`
}

// checkLeases validates a lease request's connection ids: at most
// MaxLeaseConns, each 1 to MaxConnIDBytes bytes of printable UTF-8,
// strictly ascending (so no id twice).
func checkLeases(conns []string) error {
	if len(conns) > MaxLeaseConns {
		return fmt.Errorf("%w: leases: conns: %d ids, at most %d", errBadJSON, len(conns), MaxLeaseConns)
	}
	for i, c := range conns {
		switch {
		case c == "" || len(c) > MaxConnIDBytes:
			return fmt.Errorf("%w: leases: conns[%d]: %d bytes, want 1 to %d", errBadJSON, i, len(c), MaxConnIDBytes)
		case !utf8.ValidString(c) || !printable(c):
			return fmt.Errorf("%w: leases: conns[%d]: not printable UTF-8", errBadJSON, i)
		case i > 0 && c <= conns[i-1]:
			return fmt.Errorf("%w: leases: conns[%d]: ids not strictly ascending", errBadJSON, i)
		}
	}
	return nil
}

// printable reports whether s holds no control character.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// RenewLeases tells owner m that connections conns, held by this node, are
// alive, in requests of at most MaxLeaseConns ids, and returns how many
// instances m renewed.
func (t *Transport) RenewLeases(ctx context.Context, m Member, conns []string) (int, error) {
	conns = slices.Clone(conns)
	slices.Sort(conns)
	conns = slices.Compact(conns)
	renewed := 0
	for chunk := range slices.Chunk(conns, MaxLeaseConns) {
		var reply leasesReply
		if err := t.call(ctx, KindLeases, m, http.MethodPost, "/internal/v1/leases", &leasesRequest{Conns: chunk}, &reply); err != nil {
			return renewed, err
		}
		renewed += reply.Renewed
	}
	return renewed, nil
}

// leases handles POST /internal/v1/leases.
func (s *Server) leases(w http.ResponseWriter, r *http.Request, from Member) {
	lr, ok := s.recv.(LeaseReceiver)
	if !ok {
		writeError(w, &RemoteError{Status: http.StatusNotFound, Msg: "peer: leases: this node takes no connection leases"})
		return
	}
	var req leasesRequest
	err := readBody(r, &req, leasesMaxBody, s.stats)
	if err == nil {
		err = checkLeases(req.Conns)
	}
	if err != nil {
		s.cfg.Logger.Warn("refused a peer's connection leases", "from", from.Name, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, leasesReply{Renewed: lr.HandleLeases(from, req.Conns)})
}
