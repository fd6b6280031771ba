package param

import (
	"errors"
	"strings"
	"testing"
)

// checkErr fails t unless err is nil when wantErr is "", or a *FieldError
// whose message is wantErr otherwise.
func checkErr(t *testing.T, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v, want a *FieldError %q", err, wantErr)
	}
	if got := err.Error(); got != wantErr {
		t.Fatalf("got error %q, want %q", got, wantErr)
	}
}

func TestFieldError_Error(t *testing.T) {
	tests := []struct {
		err  FieldError
		want string
	}{
		{FieldError{Field: "ip", Reason: ReasonMissing}, "missing ip"},
		{FieldError{Field: "port", Reason: "too big"}, "invalid port: too big"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestName(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "plain", in: "svc", want: "svc"},
		{name: "trimmed", in: "  svc \t", want: "svc"},
		{name: "unicode", in: "服务-1", want: "服务-1"},
		{name: "max length", in: long, want: long},
		{name: "empty", in: "", wantErr: "missing serviceName"},
		{name: "blank", in: "   ", wantErr: "missing serviceName"},
		{name: "too long", in: long + "a", wantErr: "invalid serviceName: longer than 512 bytes"},
		{name: "bad utf8", in: "a\xffb", wantErr: "invalid serviceName: not valid UTF-8"},
		{name: "control", in: "a\x00b", wantErr: `invalid serviceName: contains control character '\x00'`},
		{name: "DEL", in: "a\x7fb", wantErr: `invalid serviceName: contains control character '\x7f'`},
		{name: "group separator", in: "g@@s", wantErr: `invalid serviceName: must not contain "@@"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Name("serviceName", tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOptionalName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "empty gives default", in: "", want: DefaultCluster},
		{name: "blank gives default", in: "  ", want: DefaultCluster},
		{name: "given", in: " c1 ", want: "c1"},
		{name: "invalid", in: "a@@b", wantErr: `invalid clusterName: must not contain "@@"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OptionalName("clusterName", tt.in, DefaultCluster)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServiceName(t *testing.T) {
	tests := []struct {
		name        string
		service     string
		group       string
		wantGroup   string
		wantService string
		wantErr     string
	}{
		{name: "default group", service: "svc", wantGroup: DefaultGroup, wantService: "svc"},
		{name: "group param", service: "svc", group: "g1", wantGroup: "g1", wantService: "svc"},
		{name: "grouped name", service: "g2@@svc", wantGroup: "g2", wantService: "svc"},
		{name: "grouped name wins", service: "g2@@svc", group: "g1", wantGroup: "g2", wantService: "svc"},
		{name: "trimmed parts", service: " g2 @@ svc ", wantGroup: "g2", wantService: "svc"},
		{name: "missing", service: " ", group: "g1", wantErr: "missing serviceName"},
		{name: "empty group part", service: "@@svc", wantErr: `invalid serviceName: must be a name or "group@@name"`},
		{name: "empty service part", service: "g@@", wantErr: `invalid serviceName: must be a name or "group@@name"`},
		{name: "three parts", service: "a@@b@@c", wantErr: `invalid serviceName: must be a name or "group@@name"`},
		{name: "bad service", service: "s\x01", wantErr: `invalid serviceName: contains control character '\x01'`},
		{name: "bad group in name", service: "g\x01@@s", wantErr: `invalid serviceName: contains control character '\x01'`},
		{name: "bad group param", service: "svc", group: "a@@b", wantErr: `invalid groupName: must not contain "@@"`},
		{name: "bad group param ignored", service: "g@@svc", group: "a@@b", wantGroup: "g", wantService: "svc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group, service, err := ServiceName(tt.service, tt.group)
			checkErr(t, err, tt.wantErr)
			if group != tt.wantGroup || service != tt.wantService {
				t.Errorf("got %q, %q, want %q, %q", group, service, tt.wantGroup, tt.wantService)
			}
		})
	}
}
