package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// SupportsDebugFaults reports whether the binary has the --debug-faults
// agent flag.
func SupportsDebugFaults(bin string) bool {
	out, _ := exec.Command(bin, "agent", "--help").CombinedOutput()
	return bytes.Contains(out, []byte("--debug-faults"))
}

// newCluster returns the run's cluster of bin's agents (internal/agentproc)
// on loopback or, with net non-nil, each in a network namespace of its
// own. Every start, signal and readiness goes into h, and so does, as a
// finding, a hung graceful stop or an exit the harness did not cause. With
// logDir set each agent's output, at logLevel, also goes to a file there.
func newCluster(bin string, h *History, debugFaults bool, net *Netns, logDir, logLevel string) *agentproc.Cluster {
	cfg := agentproc.ClusterConfig{Bin: bin, LogDir: logDir, StopWithin: 10 * time.Second,
		Args:   agentArgs(logLevel, logDir != "", debugFaults),
		Events: func(e agentproc.Event) { record(h, e) }}
	if net != nil {
		var seq atomic.Int64
		cfg.Place = func(name string) (string, string, string, error) {
			ns, ip, err := net.Node(name)
			if err != nil {
				return "", "", "", err
			}
			s := seq.Add(1)
			return ns, fmt.Sprintf("%s:%d", ip, 10000+s), fmt.Sprintf("%s:%d", ip, 20000+s), nil
		}
	}
	return agentproc.NewCluster(cfg)
}

// agentArgs are the flags every agent of a run gets: logging at
// logLevel when the output is kept (else warn), and --debug-faults.
func agentArgs(logLevel string, kept, debugFaults bool) []string {
	if logLevel == "" || !kept {
		logLevel = "warn"
	}
	args := []string{"--gossip-profile", "lan", "--log-level", logLevel, "--shutdown-timeout", "5s"}
	if debugFaults {
		args = append(args, "--debug-faults")
	}
	return args
}

// record puts a cluster event into the history.
func record(h *History, e agentproc.Event) {
	switch e.Kind {
	case agentproc.EventStart:
		h.AddEvent(Event{Kind: EvStart, Node: e.Node, T: e.T, Detail: e.Detail})
	case agentproc.EventReady:
		h.AddEvent(Event{Kind: EvReady, Node: e.Node, T: e.T})
	case agentproc.EventSignal:
		kind := EvKill
		if e.Signal == syscall.SIGTERM {
			kind = EvTerm
		}
		h.AddEvent(Event{Kind: kind, Node: e.Node, T: e.T, Detail: e.Detail})
	case agentproc.EventStopHung:
		h.AddFinding(Finding{T: e.T, Node: e.Node, What: "graceful shutdown hung", Detail: e.Detail})
	case agentproc.EventExit:
		h.AddFinding(Finding{T: e.T, Node: e.Node, What: "node exited on its own", Detail: e.Detail})
	}
}

// faults cuts the cluster's nodes apart: through network namespaces when
// the cluster runs in them, else through every node's PUT /debug/faults.
type faults struct {
	c   *agentproc.Cluster
	net *Netns // nil: everything on 127.0.0.1
}

// block sets, through /debug/faults, the members node drops traffic to.
// It returns the HTTP status (404 when the agent lacks --debug-faults).
func (f faults) block(name string, block []string) (int, error) {
	p := f.c.Get(name)
	if p == nil {
		return 0, fmt.Errorf("chaos: no running node %s", name)
	}
	if block == nil {
		block = []string{}
	}
	body, _ := json.Marshal(map[string][]string{"block": block})
	code, out, err := do(http.MethodPut, p.HTTP, "/debug/faults", nil, body, 2*time.Second)
	if err == nil && code != 200 {
		err = fmt.Errorf("chaos: PUT /debug/faults on %s: %d %s", name, code, out)
	}
	return code, err
}

// partition cuts a from b both ways.
func (f faults) partition(a, b []string) error {
	if f.net != nil {
		return f.net.Cut(a, b)
	}
	for _, n := range a {
		if _, err := f.block(n, b); err != nil {
			return err
		}
	}
	for _, n := range b {
		if _, err := f.block(n, a); err != nil {
			return err
		}
	}
	return nil
}

// heal undoes every partition.
func (f faults) heal() error {
	if f.net != nil {
		return f.net.Heal()
	}
	var errs []error
	for _, p := range f.c.Live() {
		if _, err := f.block(p.Name, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TempDir makes a directory for the binary.
func TempDir() (string, error) { return os.MkdirTemp("", "roster-chaos-") }
