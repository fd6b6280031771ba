package param

import (
	"net/netip"
	"strings"
)

// maxHostLen is the longest hostname RFC 1123 allows, in bytes.
const maxHostLen = 253

// IP validates an instance address. It accepts an IPv4 or IPv6 literal,
// returned in canonical form (IPv4-mapped IPv6 addresses become IPv4), or an
// RFC 1123 hostname, returned as sent, since Nacos 1.4 accepts hostnames.
// IPv6 zones, brackets, and dotted digits that are no IPv4 address (such as
// 1.2.3 or 1.2.3.256) are rejected.
func IP(field, v string) (string, error) {
	if v == "" {
		return "", missing(field)
	}
	if strings.Contains(v, ":") {
		addr, err := netip.ParseAddr(v)
		if err != nil {
			return "", invalid(field, "not a valid IP address")
		}
		if addr.Zone() != "" {
			return "", invalid(field, "IPv6 zone not allowed")
		}
		return addr.Unmap().String(), nil
	}
	if strings.Trim(v, "0123456789.") == "" {
		addr, err := netip.ParseAddr(v)
		if err != nil || !addr.Is4() {
			return "", invalid(field, "not a valid IPv4 address")
		}
		return addr.String(), nil
	}
	if reason := hostProblem(v); reason != "" {
		return "", invalid(field, reason)
	}
	return v, nil
}

// hostProblem returns why s is not an RFC 1123 hostname, or "" if it is.
func hostProblem(s string) string {
	if len(s) > maxHostLen {
		return "hostname longer than 253 bytes"
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return "hostname has an empty label"
		}
		if len(label) > 63 {
			return "hostname label longer than 63 bytes"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			case c == '-':
				if i == 0 || i == len(label)-1 {
					return "hostname label starts or ends with '-'"
				}
			default:
				return "not an IP address or hostname"
			}
		}
	}
	return ""
}
