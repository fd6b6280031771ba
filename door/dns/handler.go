package dns

import (
	"net"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// ServeDNS answers one query. Every answer is authoritative and offers no
// recursion: names outside the domain are REFUSED, other opcodes get
// NOTIMP, a query without exactly one question FORMERR, an EDNS version
// other than 0 BADVERS, and a node that has not synced the registry
// SERVFAIL (a resolver then asks another server). A service that does
// not exist is NXDOMAIN; one that exists with nothing of the type asked
// is NOERROR with an empty answer and the SOA (NODATA). Over UDP an
// answer that does not fit the client's buffer (512 bytes, or its EDNS0
// size up to 4096) is cut and marked TC, and TCP carries it whole.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	resp := s.answer(req)
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	size := mdns.MaxMsgSize
	if udp {
		size = mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(mdns.MinMsgSize, min(int(opt.UDPSize()), maxUDPSize))
		}
	}
	resp.Truncate(size)
	if resp.Truncated {
		s.metrics.truncated.Inc()
	}
	s.metrics.count(resp.Rcode)
	_ = w.WriteMsg(resp)
}

// answer builds the response to req, before truncation.
func (s *Server) answer(req *mdns.Msg) *mdns.Msg {
	resp := new(mdns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = false
	opt := req.IsEdns0()
	if opt != nil {
		resp.SetEdns0(maxUDPSize, false)
	}
	switch {
	case req.Response:
		return refuse(resp, mdns.RcodeFormatError)
	case req.Opcode != mdns.OpcodeQuery:
		return refuse(resp, mdns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return refuse(resp, mdns.RcodeFormatError)
	case opt != nil && opt.Version() != 0:
		if resp.IsEdns0() == nil {
			resp.SetEdns0(maxUDPSize, false)
		}
		return refuse(resp, mdns.RcodeBadVers)
	}
	q := req.Question[0]
	switch {
	case q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY, !inDomain(q.Name, s.domain):
		resp.Authoritative = false
		return refuse(resp, mdns.RcodeRefused)
	case !s.core.Synced():
		resp.Authoritative = false
		return refuse(resp, mdns.RcodeServerFailure)
	}
	s.lookup(resp, q)
	if len(resp.Answer) == 0 {
		resp.Ns = append(resp.Ns, s.soa())
	}
	return resp
}

// lookup fills resp for question q of the domain.
func (s *Server) lookup(resp *mdns.Msg, q mdns.Question) {
	p := parseName(q.Name, s.domain)
	switch p.kind {
	case kindApex:
		if q.Qtype == mdns.TypeSOA || q.Qtype == mdns.TypeANY {
			resp.Answer = append(resp.Answer, s.soa())
		}
	case kindAddr:
		if rr := s.addrRR(q.Name, p.addr, q.Qtype); rr != nil {
			resp.Answer = append(resp.Answer, rr)
		}
	case kindService:
		snap, ok := s.res.resolve(p.key)
		if !ok {
			resp.Rcode = mdns.RcodeNameError
			return
		}
		s.serviceAnswer(resp, q.Name, q.Qtype, snap)
	default:
		resp.Rcode = mdns.RcodeNameError
	}
}

// refuse sets rcode on resp with no records.
func refuse(resp *mdns.Msg, rcode int) *mdns.Msg {
	resp.Rcode = rcode
	return resp
}

// metrics are the door's series.
type metrics struct {
	queries   *prometheus.CounterVec // rcode
	truncated prometheus.Counter
	byRcode   map[int]prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_dns_queries_total",
			Help: "DNS queries answered, by response code.",
		}, []string{"rcode"}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_dns_truncated_total",
			Help: "DNS answers cut to fit the client's UDP buffer and marked TC (the client asks again over TCP).",
		}),
		byRcode: map[int]prometheus.Counter{},
	}
	for _, rc := range []int{mdns.RcodeSuccess, mdns.RcodeFormatError, mdns.RcodeServerFailure, mdns.RcodeNameError,
		mdns.RcodeNotImplemented, mdns.RcodeRefused, mdns.RcodeBadVers} {
		m.byRcode[rc] = m.queries.WithLabelValues(mdns.RcodeToString[rc])
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.queries, m.truncated} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// count counts one answer with rcode (one of the codes ServeDNS answers,
// so the map is only read).
func (m *metrics) count(rcode int) {
	if c, ok := m.byRcode[rcode]; ok {
		c.Inc()
	}
}
