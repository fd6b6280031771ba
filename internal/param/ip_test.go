package param

import (
	"strings"
	"testing"
)

func TestIP(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	host253 := strings.Repeat(label63+".", 3) + strings.Repeat("b", 61)
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "ipv4", in: "10.0.0.1", want: "10.0.0.1"},
		{name: "ipv4 zeros", in: "0.0.0.0", want: "0.0.0.0"},
		{name: "ipv6", in: "2001:DB8:0:0::1", want: "2001:db8::1"},
		{name: "ipv6 loopback", in: "::1", want: "::1"},
		{name: "ipv4-mapped ipv6", in: "::ffff:10.0.0.1", want: "10.0.0.1"},
		{name: "hostname", in: "web-1.Example.com", want: "web-1.Example.com"},
		{name: "single label", in: "localhost", want: "localhost"},
		{name: "numeric labels with letters", in: "1.2.3.a", want: "1.2.3.a"},
		{name: "max hostname", in: host253, want: host253},
		{name: "empty", in: "", wantErr: "missing ip"},
		{name: "octet too big", in: "1.2.3.256", wantErr: "invalid ip: not a valid IPv4 address"},
		{name: "three octets", in: "1.2.3", wantErr: "invalid ip: not a valid IPv4 address"},
		{name: "five octets", in: "1.2.3.4.5", wantErr: "invalid ip: not a valid IPv4 address"},
		{name: "leading zero", in: "01.2.3.4", wantErr: "invalid ip: not a valid IPv4 address"},
		{name: "digits only", in: "123", wantErr: "invalid ip: not a valid IPv4 address"},
		{name: "trailing dot ipv4", in: "1.2.3.4.", wantErr: "invalid ip: not a valid IPv4 address"},
		{name: "zone", in: "fe80::1%eth0", wantErr: "invalid ip: IPv6 zone not allowed"},
		{name: "brackets", in: "[::1]", wantErr: "invalid ip: not a valid IP address"},
		{name: "host and port", in: "1.2.3.4:80", wantErr: "invalid ip: not a valid IP address"},
		{name: "bad ipv6", in: "1::2::3", wantErr: "invalid ip: not a valid IP address"},
		{name: "space", in: " 1.2.3.4", wantErr: "invalid ip: not an IP address or hostname"},
		{name: "inner space", in: "my host", wantErr: "invalid ip: not an IP address or hostname"},
		{name: "slash", in: "10.0.0.0/8", wantErr: "invalid ip: not an IP address or hostname"},
		{name: "control", in: "host\n", wantErr: "invalid ip: not an IP address or hostname"},
		{name: "underscore", in: "my_host", wantErr: "invalid ip: not an IP address or hostname"},
		{name: "unicode", in: "hôte", wantErr: "invalid ip: not an IP address or hostname"},
		{name: "empty label", in: "a..b", wantErr: "invalid ip: hostname has an empty label"},
		{name: "trailing dot", in: "example.com.", wantErr: "invalid ip: hostname has an empty label"},
		{name: "leading hyphen", in: "-a.com", wantErr: "invalid ip: hostname label starts or ends with '-'"},
		{name: "trailing hyphen", in: "a-.com", wantErr: "invalid ip: hostname label starts or ends with '-'"},
		{name: "long label", in: label63 + "a.com", wantErr: "invalid ip: hostname label longer than 63 bytes"},
		{name: "long hostname", in: host253 + "b", wantErr: "invalid ip: hostname longer than 253 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IP("ip", tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
