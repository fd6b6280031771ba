package dns

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/roster-io/roster/store"
)

// eligible returns the instances an answer offers: enabled, with a
// positive weight (weight 0 drains an instance) and healthy. When the
// service's protect threshold is above 0 and its healthy share is at or
// below it, unhealthy instances are offered too, as Nacos lists them.
func eligible(snap *store.Snapshot) []*store.Instance {
	healthy := snap.Healthy()
	t := snap.Info.ProtectThreshold
	protected := t > 0 && len(snap.Instances) > 0 && float64(healthy)/float64(len(snap.Instances)) <= t
	out := make([]*store.Instance, 0, len(snap.Instances))
	for _, in := range snap.Instances {
		if in.Enabled && in.Weight > 0 && (in.Healthy || protected) {
			out = append(out, in)
		}
	}
	return out
}

// srvWeight maps a Nacos weight (0–10000, any fraction) to an SRV weight:
// weight×100 rounded, at least 1 and at most 65535, so ratios hold for
// weights from 0.01 to 655.35.
func srvWeight(w float64) uint16 {
	v := math.Round(w * 100)
	switch {
	case v < 1:
		return 1
	case v > math.MaxUint16:
		return math.MaxUint16
	}
	return uint16(v)
}

// hdr is the header of a record of name and type t with the answer TTL.
func (s *Server) hdr(name string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: s.ttl}
}

// addrRR returns the A or AAAA record of a for name, if qtype asks for
// its family (ANY asks for both).
func (s *Server) addrRR(name string, a netip.Addr, qtype uint16) mdns.RR {
	switch {
	case a.Is4() && (qtype == mdns.TypeA || qtype == mdns.TypeANY):
		return &mdns.A{Hdr: s.hdr(name, mdns.TypeA), A: a.AsSlice()}
	case a.Is6() && (qtype == mdns.TypeAAAA || qtype == mdns.TypeANY):
		return &mdns.AAAA{Hdr: s.hdr(name, mdns.TypeAAAA), AAAA: a.AsSlice()}
	}
	return nil
}

// serviceAnswer fills resp with the records of qtype for the instances
// of snap, shuffled: A/AAAA (each address once) or SRV with the
// addresses in the additional section. Other types get none.
func (s *Server) serviceAnswer(resp *mdns.Msg, qname string, qtype uint16, snap *store.Snapshot) {
	ins := eligible(snap)
	seen := map[netip.Addr]bool{}
	switch qtype {
	case mdns.TypeA, mdns.TypeAAAA, mdns.TypeANY:
		for _, in := range ins {
			a, err := netip.ParseAddr(in.IP)
			if err != nil || seen[a] {
				continue // a hostname instance has no address record
			}
			if rr := s.addrRR(qname, a, qtype); rr != nil {
				seen[a] = true
				resp.Answer = append(resp.Answer, rr)
			}
		}
	case mdns.TypeSRV:
		for _, in := range ins {
			srv := &mdns.SRV{Hdr: s.hdr(qname, mdns.TypeSRV), Priority: 1, Weight: srvWeight(in.Weight), Port: uint16(in.Port)}
			a, err := netip.ParseAddr(in.IP)
			if err != nil {
				srv.Target = mdns.Fqdn(strings.ToLower(in.IP)) // a hostname instance: its name
				resp.Answer = append(resp.Answer, srv)
				continue
			}
			srv.Target = addrName(a, s.domain)
			resp.Answer = append(resp.Answer, srv)
			if !seen[a] {
				seen[a] = true
				resp.Extra = append(resp.Extra, s.addrRR(srv.Target, a, mdns.TypeANY))
			}
		}
	}
	rand.Shuffle(len(resp.Answer), func(i, j int) { resp.Answer[i], resp.Answer[j] = resp.Answer[j], resp.Answer[i] })
}

// soa is the domain's SOA record, for the apex and negative answers
// (RFC 2308: its minimum field is the negative-caching TTL). The serial
// is the low 32 bits of the registry's change index.
func (s *Server) soa() mdns.RR {
	return &mdns.SOA{Hdr: s.hdr(s.domain, mdns.TypeSOA), Ns: "ns." + s.domain, Mbox: "hostmaster." + s.domain,
		Serial: uint32(s.core.Index()), Refresh: 3600, Retry: 600, Expire: 86400, Minttl: s.ttl}
}
