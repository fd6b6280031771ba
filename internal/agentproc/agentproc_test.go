package agentproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a fake agent: with AGENTPROC_FAKE set it
// serves /healthz, /readyz and /v1/cluster/members (itself alone) on its
// --http address (or, with AGENTPROC_FAKE=exit, prints a line and exits),
// so the launcher is tested without building roster.
func TestMain(m *testing.M) {
	switch os.Getenv("AGENTPROC_FAKE") {
	case "":
		os.Exit(m.Run())
	case "exit":
		fmt.Println("fake agent: cannot start")
		os.Exit(3)
	}
	flag := func(name string) string {
		for i, a := range os.Args {
			if a == name && i+1 < len(os.Args) {
				return os.Args[i+1]
			}
		}
		return ""
	}
	addr := flag("--http")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("fake agent serving", addr)
	// It lists itself, alone, as an alive member.
	members := fmt.Sprintf(`{"members":[{"name":%q,"httpAddr":%q,"gossipAddr":%q,"state":"alive"}]}`,
		flag("--name"), addr, flag("--gossip"))
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/cluster/members" {
			_, _ = w.Write([]byte(members))
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
}

func TestStart_servesAndStopsByPID(t *testing.T) {
	t.Setenv("AGENTPROC_FAKE", "serve")
	p, err := Start(context.Background(), Spec{Bin: os.Args[0], Name: "a1", Args: []string{"--gossip-profile", "lan"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() <= 0 || p.Exited() || !p.serves("/healthz") {
		t.Fatalf("got pid %d exited %v, want a running healthy process", p.PID(), p.Exited())
	}
	if !strings.Contains(p.Output(), "fake agent serving "+p.HTTP) {
		t.Errorf("got output %q, want the agent's own line", p.Output())
	}
	if killed := p.Stop(syscall.SIGTERM, 10*time.Second); killed {
		t.Error("got SIGKILL after SIGTERM, want exit on SIGTERM")
	}
	if !p.Exited() || p.State() == "" {
		t.Errorf("got exited %v state %q after Stop", p.Exited(), p.State())
	}
}

func TestStart_exitBeforeServing(t *testing.T) {
	t.Setenv("AGENTPROC_FAKE", "exit")
	_, err := Start(context.Background(), Spec{Bin: os.Args[0], Name: "a2"})
	if !errors.Is(err, ErrNotServing) || !strings.Contains(err.Error(), "cannot start") {
		t.Fatalf("got %v, want ErrNotServing with the output tail", err)
	}
}

func TestStart_takenFixedPortIsNotRetried(t *testing.T) {
	t.Setenv("AGENTPROC_FAKE", "serve")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The listener answers nothing, so /healthz never succeeds; the fake
	// fails to bind and exits.
	_, err = Start(context.Background(), Spec{Bin: os.Args[0], Name: "a3", HTTP: l.Addr().String(), Within: 5 * time.Second})
	if !errors.Is(err, ErrNotServing) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("got %v, want ErrNotServing naming the taken address", err)
	}
}
