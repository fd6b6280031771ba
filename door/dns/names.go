package dns

import (
	"encoding/hex"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/roster-io/roster/store"
)

// How a query name maps to a service (docs/dns.md states the same rules):
//
//   - The name must end in the domain (default "roster."); others are
//     refused.
//   - <service>.service.<domain> names a service of the default group in
//     the default namespace; <service>.<group>.<namespace>.<domain> names
//     any service. The label before the domain decides: "service" is the
//     short form, anything else the full form's namespace.
//   - The labels left of the form's fixed part, joined with dots, are the
//     service name, so a Nacos name with dots (com.example.Users) is asked
//     for as it is written. A group or namespace holds a single label.
//   - A label is decoded from its presentation form: \. is a dot inside
//     the label and \DDD any byte, so a name DNS cannot carry as plain
//     labels (a dot in a group, a space, a colon) is still reachable.
//   - The RFC 2782 form _<service>._tcp (or _udp) before the group part
//     names <service>, as net.LookupSRV and Consul build it.
//   - Names match ignoring ASCII case (resolvers may randomize it); a name
//     that matches exactly wins over one that matches only without case.
//   - <hex>.addr.<domain> is an instance address: 8 hex digits an IPv4
//     address, 32 an IPv6 one (the SRV targets).

// kind is what a query name asks for.
type kind int

const (
	kindNone    kind = iota // not a name of the domain's forms: NXDOMAIN
	kindApex                // the domain itself
	kindService             // a service
	kindAddr                // an instance address (<hex>.addr.<domain>)
)

// query is a parsed query name.
type query struct {
	kind kind
	key  store.Key  // kindService: as sent, defaults filled in
	addr netip.Addr // kindAddr
}

// inDomain reports whether name (presentation form, fully qualified) is
// the domain or below it, comparing without ASCII case.
func inDomain(name, domain string) bool {
	n, d := strings.ToLower(name), strings.ToLower(domain)
	return n == d || strings.HasSuffix(n, "."+d)
}

// parseName maps a fully qualified query name within domain to what it
// asks for.
func parseName(name, domain string) query {
	labels := mdns.SplitDomainName(name)
	dl := mdns.CountLabel(domain)
	if len(labels) < dl {
		return query{}
	}
	labels = labels[:len(labels)-dl]
	if len(labels) == 0 {
		return query{kind: kindApex}
	}
	for i, l := range labels {
		labels[i] = unescapeLabel(l)
	}
	last := strings.ToLower(labels[len(labels)-1])
	switch {
	case len(labels) == 2 && last == "addr":
		return parseAddr(labels[0])
	case len(labels) >= 2 && last == "service":
		svc, ok := serviceName(labels[:len(labels)-1])
		if !ok {
			return query{}
		}
		return query{kind: kindService, key: store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: svc}}
	case len(labels) >= 3:
		n := len(labels)
		svc, ok := serviceName(labels[:n-2])
		if !ok {
			return query{}
		}
		return query{kind: kindService, key: store.Key{Namespace: labels[n-1], Group: labels[n-2], Service: svc}}
	}
	return query{}
}

// serviceName joins the service's labels, reading the RFC 2782 form
// _<service>._tcp as <service>.
func serviceName(labels []string) (string, bool) {
	if len(labels) == 2 && strings.HasPrefix(labels[0], "_") && len(labels[0]) > 1 {
		switch strings.ToLower(labels[1]) {
		case "_tcp", "_udp":
			return labels[0][1:], true
		}
	}
	s := strings.Join(labels, ".")
	return s, s != ""
}

// parseAddr decodes the hex label of an address name.
func parseAddr(label string) query {
	b, err := hex.DecodeString(label)
	if err != nil {
		return query{}
	}
	a, ok := netip.AddrFromSlice(b)
	if !ok || (len(b) == 16 && a.Is4In6()) {
		return query{}
	}
	return query{kind: kindAddr, addr: a}
}

// addrName is the name an SRV record points at for an instance address.
func addrName(a netip.Addr, domain string) string {
	b := a.AsSlice()
	return hex.EncodeToString(b) + ".addr." + domain
}

// unescapeLabel turns a label's presentation form into its bytes: \DDD is
// the byte DDD, \X is X.
func unescapeLabel(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
