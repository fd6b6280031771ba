package cli

import (
	"strings"
	"testing"
)

func TestApp_usage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{name: "no command shows help", args: nil, wantCode: exitOK, wantOut: "COMMANDS:"},
		{name: "--help", args: []string{"--help"}, wantCode: exitOK, wantOut: "services"},
		{name: "command help", args: []string{"list", "--help"}, wantCode: exitOK, wantOut: "--healthy-only"},
		{name: "agent help names the env vars", args: []string{"agent", "--help"}, wantCode: exitOK, wantOut: "$ROSTER_GOSSIP_PROFILE"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `roster: unknown command "frobnicate"`},
		{name: "unknown global flag", args: []string{"--frob"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, tt.args...)
			if res.code != tt.wantCode {
				t.Errorf("got exit code %d, want %d; stderr: %s", res.code, tt.wantCode, res.errOut)
			}
			if !strings.Contains(res.out, tt.wantOut) {
				t.Errorf("got stdout %q, want it to contain %q", res.out, tt.wantOut)
			}
			if !strings.Contains(res.errOut, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", res.errOut, tt.wantStderr)
			}
		})
	}
}

func TestFormatMetadata(t *testing.T) {
	tests := []struct {
		md   map[string]string
		want string
	}{
		{nil, "-"},
		{map[string]string{}, "-"},
		{map[string]string{"b": "2", "a": "1", "c": ""}, "a=1,b=2,c="},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatMetadata(tt.md); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
