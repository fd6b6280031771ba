package cli

import (
	"strings"
	"testing"
)

// TestAgent_endToEnd drives a real in-process agent with the client commands.
func TestAgent_endToEnd(t *testing.T) {
	a := startAgent(t, "--http", "127.0.0.1:0", "--log-level", "warn")
	addr := "http://" + a.addr
	svc := []string{"--addr", addr, "--service", "web", "--group", "G"}

	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // exact stdout, unless empty
		wantPart string // a part stdout must contain
		wantErr  string // substring of stderr
	}{
		{
			name: "register",
			args: append([]string{"register", "--ip", "10.0.0.1", "--port", "8080", "--weight", "2",
				"--metadata", "zone=b", "--metadata", "env=prod"}, svc...),
			wantOut: "IP        PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n" +
				"10.0.0.1  8080  DEFAULT  2       true     true     true       env=prod,zone=b\n",
		},
		{
			name: "register persistent in another cluster",
			args: append([]string{"register", "--ip", "10.0.0.2", "--port", "80", "--cluster", "AZ",
				"--ephemeral=false", "--enabled=false"}, svc...),
		},
		{
			name: "list",
			args: append([]string{"list"}, svc...),
			wantOut: "IP        PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n" +
				"10.0.0.2  80    AZ       1       true     false    false      -\n" +
				"10.0.0.1  8080  DEFAULT  2       true     true     true       env=prod,zone=b\n",
		},
		{
			name:    "services",
			args:    []string{"services", "--addr", addr},
			wantOut: "GROUP  SERVICE  INSTANCES  HEALTHY\nG      web      2          2\n",
		},
		{
			name:     "server rejects a bad ip",
			args:     append([]string{"register", "--ip", "999.1.1.1", "--port", "1"}, svc...),
			wantCode: exitFailure,
			wantErr:  "roster: register: server answered 400 Bad Request: invalid ip",
		},
		{
			name: "deregister",
			args: append([]string{"deregister", "--ip", "10.0.0.1", "--port", "8080"}, svc...),
		},
		{
			name:     "deregister again",
			args:     append([]string{"deregister", "--ip", "10.0.0.1", "--port", "8080"}, svc...),
			wantPart: "was not registered in service",
		},
		{
			name:    "list after deregister",
			args:    append([]string{"list", "--cluster", "DEFAULT"}, svc...),
			wantOut: "IP  PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n",
		},
	}
	for _, st := range steps {
		res := runCLI(t, st.args...)
		if res.code != st.wantCode {
			t.Fatalf("%s: got exit code %d, want %d; stderr: %s", st.name, res.code, st.wantCode, res.errOut)
		}
		if st.wantOut != "" && res.out != st.wantOut {
			t.Errorf("%s: got output\n%s\nwant\n%s", st.name, res.out, st.wantOut)
		}
		if !strings.Contains(res.out, st.wantPart) {
			t.Errorf("%s: got output %q, want it to contain %q", st.name, res.out, st.wantPart)
		}
		if !strings.Contains(res.errOut, st.wantErr) {
			t.Errorf("%s: got stderr %q, want it to contain %q", st.name, res.errOut, st.wantErr)
		}
	}
}
