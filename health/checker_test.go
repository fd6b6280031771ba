package health

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// fakeCore is a node with a real store whose ownership the test decides.
type fakeCore struct {
	st    *store.Store
	owned atomic.Bool
}

func (f *fakeCore) Owns(store.Key) bool { return f.owned.Load() }
func (f *fakeCore) Ownership() any      { return f.owned.Load() }
func (f *fakeCore) Store() *store.Store { return f.st }
func (f *fakeCore) CheckedHealth(k store.Key, ik store.InstanceKey, healthy bool) (bool, error) {
	_, err := f.st.Update(k, ik, func(in *store.Instance) { in.Healthy = healthy })
	return err == nil, err
}

var svc = store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "db"}

// setup registers a persistent instance at addr (host:port) with cluster
// settings ci and starts a fast checker; the counter counts its checks.
func setup(t *testing.T, addr string, ci *store.ClusterInfo, mutate func(*Config)) (*fakeCore, *Checker, store.InstanceKey, *checkCount) {
	t.Helper()
	st, err := store.New(store.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	host, portS, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portS)
	ik := store.InstanceKey{Cluster: "DEFAULT", IP: host, Port: port}
	if _, err := st.Register(svc, store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if ci != nil {
		if _, err := st.UpdateService(svc, func(s *store.ServiceInfo) { s.Clusters = map[string]store.ClusterInfo{"DEFAULT": *ci} }); err != nil {
			t.Fatal(err)
		}
	}
	core := &fakeCore{st: st}
	core.owned.Store(true)
	cfg := DefaultConfig()
	cfg.Interval, cfg.Timeout, cfg.Rescan, cfg.Workers = 40*time.Millisecond, 30*time.Millisecond, 20*time.Millisecond, 4
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg, core)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Stop)
	return core, c, ik, &checkCount{c}
}

// checkCount counts the checks a checker has run (roster_health_checks_total).
type checkCount struct{ c *Checker }

func (n *checkCount) Load() int64 {
	total := 0.0
	for _, typ := range []string{store.CheckTCP, store.CheckHTTP} {
		for _, res := range []string{"ok", "fail"} {
			var m dto.Metric
			_ = n.c.metrics.checks.WithLabelValues(typ, res).Write(&m)
			total += m.GetCounter().GetValue()
		}
	}
	return int64(total)
}

func healthy(core *fakeCore, ik store.InstanceKey) bool {
	in, ok := core.st.Snapshot(svc).Find(ik)
	return ok && in.Healthy
}

func TestChecker_tcpPortClosedAndReopened(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	core, _, ik, dials := setup(t, addr, nil, nil) // no settings: TCP on the instance's port
	await.True(t, 2*time.Second, "checks run", func() bool { return dials.Load() >= 3 })
	if !healthy(core, ik) {
		t.Fatal("an instance whose port is open turned unhealthy")
	}
	ln.Close()
	closed := time.Now()
	// Failures (3) × interval (40 ms ± 20%) plus slack.
	await.True(t, time.Second, "unhealthy after the port closed", func() bool { return !healthy(core, ik) })
	t.Logf("unhealthy %v after the port closed", time.Since(closed).Round(time.Millisecond))
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer ln2.Close()
	await.True(t, time.Second, "healthy after the port reopened", func() bool { return healthy(core, ik) })
}

func TestChecker_httpExpectsTheStatusAndSendsHeaders(t *testing.T) {
	var status atomic.Int64
	status.Store(200)
	var gotHeader atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			w.WriteHeader(404)
			return
		}
		gotHeader.Store(r.Header.Get("X-Probe"))
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	_, p, _ := net.SplitHostPort(host)
	port, _ := strconv.Atoi(p)
	ci := &store.ClusterInfo{HealthChecker: store.HealthChecker{Type: store.CheckHTTP, Path: "/health", Headers: "X-Probe:yes|Bad",
		ExpectedCode: 200}, CheckPort: port}
	core, _, ik, _ := setup(t, "127.0.0.1:1", ci, nil) // the instance's own port is not the one checked
	await.True(t, 2*time.Second, "the check sent its header", func() bool { v, _ := gotHeader.Load().(string); return v == "yes" })
	if !healthy(core, ik) {
		t.Fatal("unhealthy while the check answers 200")
	}
	status.Store(503)
	await.True(t, time.Second, "unhealthy on 503", func() bool { return !healthy(core, ik) })
	status.Store(200)
	await.True(t, time.Second, "healthy again on 200", func() bool { return healthy(core, ik) })
}

func TestChecker_stopsAtOnceWhenOwnershipMoves(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	core, c, _, dials := setup(t, ln.Addr().String(), nil, nil)
	await.True(t, 2*time.Second, "checks run", func() bool { return dials.Load() >= 2 })
	core.owned.Store(false)
	time.Sleep(60 * time.Millisecond) // a check already handed to a worker may finish
	after := dials.Load()
	time.Sleep(200 * time.Millisecond) // five intervals
	if n := dials.Load(); n != after {
		t.Fatalf("%d checks after ownership moved away", n-after)
	}
	core.owned.Store(true)
	await.True(t, time.Second, "a new owner checks within one rescan and one interval", func() bool { return dials.Load() > after })
	_ = c
}

func TestChecker_noneAndDeniedAddressesAreNotChecked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	none := &store.ClusterInfo{HealthChecker: store.HealthChecker{Type: store.CheckNone}, UseInstancePort: true}
	_, _, _, dials := setup(t, ln.Addr().String(), none, nil)
	allow := func(c *Config) { c.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }
	_, c2, _, dials2 := setup(t, ln.Addr().String(), nil, allow)
	time.Sleep(200 * time.Millisecond)
	if dials.Load() != 0 || dials2.Load() != 0 {
		t.Fatalf("checks ran: %d with NONE, %d outside --health-check-allow", dials.Load(), dials2.Load())
	}
	await.True(t, time.Second, "denied checks counted", func() bool { var m dto.Metric; _ = c2.metrics.denied.Write(&m); return m.GetCounter().GetValue() > 0 })
}

// TestChecker_stopEndsChecksInFlight: a check stuck connecting ends the
// moment the checker stops, not at its timeout.
func TestChecker_stopEndsChecksInFlight(t *testing.T) {
	started := make(chan struct{}, 64)
	_, c, _, _ := setup(t, "127.0.0.1:9", nil, func(cfg *Config) {
		cfg.Timeout, cfg.Interval = time.Second, time.Second
		cfg.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
			started <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		}
	})
	select {
	case <-started:
	case <-time.After(15 * time.Second):
		t.Fatal("no check started")
	}
	begin := time.Now()
	c.Stop()
	if el := time.Since(begin); el > 400*time.Millisecond {
		t.Fatalf("Stop took %v with a check in flight (its timeout is 1 s)", el)
	}
}

// TestChecker_checksEveryIntervalBetweenRescans: a lone target's next
// check is due an interval after its last, whatever the rescan period
// (the scheduler's wake-up follows the heap, not the rescans).
func TestChecker_checksEveryIntervalBetweenRescans(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, _, _, dials := setup(t, ln.Addr().String(), nil, func(c *Config) { c.Rescan = time.Hour })
	// 40 ms interval: about 25 checks a second; a scheduler that waited
	// for the next rescan would make one.
	await.True(t, 10*time.Second, "five checks without a rescan", func() bool { return dials.Load() >= 5 })
}
