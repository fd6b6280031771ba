package gate

import "fmt"

// Doors that are not HTTP (the Nacos 2.x gRPC door) hold their requests
// to the same limit and the same tokens through these.

// AuthorizeToken checks tok, a token a door read from its own protocol
// (the accessToken header of a gRPC request). write says whether the
// request changes the registry: reads pass unless ACLConfig.Read. It
// returns nil when ACLs are off.
func (g *Gate) AuthorizeToken(tok string, write bool) error {
	if !g.auth.acl.Enabled() || (!write && !g.auth.acl.Read) {
		return nil
	}
	if tok == "" {
		return fmt.Errorf("%w: this node requires a token: send the accessToken header", ErrUnauthorized)
	}
	_, err := g.principalOf(tok)
	return err
}

// Acquire takes a MaxConcurrent slot for one request of a door that is
// not HTTP, returning the function that releases it, or the error of a
// request beyond the limit.
func (g *Gate) Acquire() (release func(), err error) {
	if g.cfg.MaxConcurrent <= 0 {
		return func() {}, nil
	}
	if !g.acquire() {
		return nil, g.tooBusy()
	}
	return func() { g.inflight.Add(-1) }, nil
}
