package gate

// Doors that are not HTTP (the Nacos 2.x gRPC door) hold their requests
// to the same limit through Acquire, and to the same authorisation
// through CheckToken (authz.go).

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
