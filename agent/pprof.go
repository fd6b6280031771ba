package agent

import "net/http/pprof"

// routePprof mounts net/http/pprof's handlers under /debug/pprof/ on the
// agent's own mux (never http.DefaultServeMux), for --pprof.
func (a *Agent) routePprof() {
	m := a.mux
	m.HandleFunc("GET /debug/pprof/", pprof.Index)
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
