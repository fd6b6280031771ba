package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The checks mode measures what server-side health checks cost: it
// registers persistent instances whose ports are listeners it opens (and
// a share of ports it closed), waits until the checks have turned the
// closed ones unhealthy, then lists a small service at a fixed rate for
// one window with the checks running, one with every checked cluster
// set to NONE, and a floor: NONE again, with this process burning the
// CPU the checks cost the agents (BurnCPU). It reports the agents' CPU
// per check, the targets' (this process's listeners), and the list
// latency of the three windows: what the checks cost the reads beyond
// what any activity of their CPU would is the difference between the
// first and the third.

// ChecksConfig configures the checks mode.
type ChecksConfig struct {
	Instances int // persistent instances checked
	Services  int // services they are spread over
	// ClosedPercent of each service's instances point at closed ports.
	ClosedPercent int
	// ReadRate is the list requests a second sent in each window.
	ReadRate int
	// Converge bounds the wait for the closed instances to turn
	// unhealthy. Default 60s.
	Converge time.Duration
}

// checkTargets are the listeners instances point at, and closed ports.
type checkTargets struct {
	open   []net.Listener
	closed []int
	wg     sync.WaitGroup
}

// openTargets opens n listeners on 127.0.0.1 that accept and close each
// connection, and finds k ports nothing listens on: privileged ports
// from 600 up that refuse a connection now (a port just released by a
// listener of its own could be taken by another process meanwhile, and
// an ephemeral one often is).
func openTargets(n, k int) (*checkTargets, error) {
	t := &checkTargets{}
	for p := 600; len(t.closed) < k && p < 1024; p++ {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
			c.Close()
		} else {
			t.closed = append(t.closed, p)
		}
	}
	if len(t.closed) < k {
		return nil, fmt.Errorf("bench: checks: found only %d closed ports in 600..1023, want %d", len(t.closed), k)
	}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.close()
			return nil, fmt.Errorf("bench: checks: listen: %w", err)
		}
		t.open = append(t.open, ln)
		t.wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
	}
	return t, nil
}

// port is the port of target j: the open ones first.
func (t *checkTargets) port(j int) int {
	if j < len(t.open) {
		return t.open[j].Addr().(*net.TCPAddr).Port
	}
	return t.closed[j-len(t.open)]
}

func (t *checkTargets) close() {
	for _, ln := range t.open {
		ln.Close()
	}
	t.wg.Wait()
}

// Checks runs the checks mode.
func Checks(ctx context.Context, env *Env, cfg ChecksConfig) (*Report, error) {
	started := time.Now()
	if cfg.Converge <= 0 {
		cfg.Converge = time.Minute
	}
	perSvc := (cfg.Instances + cfg.Services - 1) / cfg.Services
	closed := perSvc * cfg.ClosedPercent / 100
	targets, err := openTargets(perSvc-closed, closed)
	if err != nil {
		return nil, err
	}
	defer targets.close()
	r := &Report{Mode: "checks", Params: env.params()}
	r.Params["instances"] = strconv.Itoa(cfg.Instances)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["closed"] = strconv.Itoa(cfg.ClosedPercent) + "%"
	r.Params["read-rate"] = strconv.Itoa(cfg.ReadRate)
	r.Params["duration"] = env.Duration.String()

	prefix := "bench-checks-" + runID() + "-"
	wantHealthy, err := registerChecked(ctx, env, cfg, prefix, targets)
	defer deregisterChecked(env, cfg, prefix, targets)
	if err != nil {
		return finish(r, started), err
	}
	regDone := time.Now()
	if _, err := waitHealthy(ctx, env.Client, prefix, wantHealthy, cfg.Converge); err != nil {
		r.Notef("health did not converge: %v", err)
		return finish(r, started), fmt.Errorf("bench: checks: every node should list %d of %d instances healthy within %v: %w",
			wantHealthy, cfg.Instances, cfg.Converge, err)
	}
	r.Add("closed ports unhealthy on every node, after registration", time.Since(regDone).Seconds(), UnitSeconds)

	urls, _, err := ReadSetup(ctx, env.Client, 20)
	if err != nil {
		return finish(r, started), err
	}
	with, err := checkWindow(ctx, env, cfg, urls)
	if err != nil {
		return finish(r, started), err
	}
	if err := setCheckers(ctx, env, cfg, prefix, `{"type":"NONE"}`); err != nil {
		return finish(r, started), err
	}
	select { // the owners' next rescan (every second) drops the targets
	case <-ctx.Done():
		return finish(r, started), ctx.Err()
	case <-time.After(2 * time.Second):
	}
	without, err := checkWindow(ctx, env, cfg, urls)
	if err != nil {
		return finish(r, started), err
	}
	var burn checksWindow
	if with.cpuOK && without.cpuOK {
		stop := BurnCPU(with.cores() - without.cores())
		burn, err = checkWindow(ctx, env, cfg, urls)
		stop()
		if err != nil {
			return finish(r, started), err
		}
	}
	reportChecks(r, with, without, burn)
	return finish(r, started), nil
}

// registerChecked registers cfg.Instances persistent instances on
// 127.0.0.1 (instance j of a service on target port j) and returns how
// many of them are on open ports.
func registerChecked(ctx context.Context, env *Env, cfg ChecksConfig, prefix string, t *checkTargets) (int, error) {
	load := Load{Workers: env.Concurrency, Ops: cfg.Instances}
	res := load.Run(ctx, func(ctx context.Context, w, i int) error {
		c := env.Client
		v := registerForm(prefix+strconv.Itoa(i%cfg.Services), 0, true, nil)
		v.Set("ip", "127.0.0.1")
		v.Set("port", strconv.Itoa(t.port(i/cfg.Services)))
		return retryForm(ctx, c, http.MethodPost, i, "/nacos/v1/ns/instance", v)
	})
	if res.Errors > 0 {
		return 0, fmt.Errorf("bench: checks: %d of %d registrations failed; first: %w", res.Errors, cfg.Instances, res.FirstErr)
	}
	healthy := 0
	for i := range cfg.Instances {
		if i/cfg.Services < len(t.open) {
			healthy++
		}
	}
	return healthy, nil
}

// retryForm sends a form to node i (mod the nodes), and on an error
// (a node shedding load answers 429) to the next ones, as a client does:
// five tries at most.
func retryForm(ctx context.Context, c *Client, method string, i int, path string, v url.Values) error {
	var err error
	for try := range 5 {
		if err = c.Form(ctx, method, c.Addrs[(i+try)%len(c.Addrs)], path, v); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 100 * time.Millisecond):
		}
	}
	return err
}

// deregisterChecked removes the instances again (best effort).
func deregisterChecked(env *Env, cfg ChecksConfig, prefix string, t *checkTargets) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	load := Load{Workers: env.Concurrency, Ops: cfg.Instances}
	load.Run(ctx, func(ctx context.Context, w, i int) error {
		c := env.Client
		v := url.Values{"serviceName": {prefix + strconv.Itoa(i%cfg.Services)}, "namespaceId": {Namespace},
			"ip": {"127.0.0.1"}, "port": {strconv.Itoa(t.port(i / cfg.Services))}, "ephemeral": {"false"}}
		_, _, err := c.Do(ctx, http.MethodDelete, c.Addrs[i%len(c.Addrs)]+"/nacos/v1/ns/instance?"+v.Encode(), "", "", false)
		return err
	})
}

// waitHealthy polls every node until it lists exactly want healthy
// instances in the services named prefix*.
func waitHealthy(ctx context.Context, c *Client, prefix string, want int, within time.Duration) (time.Time, error) {
	deadline := time.Now().Add(within)
	for _, a := range c.Addrs {
		n, err := c.node(a)
		if err != nil {
			return time.Time{}, err
		}
		for {
			svcs, err := n.Services(ctx, Namespace, "")
			if _, h := hasPrefixCount(svcs, prefix); err == nil && h == want {
				break
			} else if time.Now().After(deadline) {
				return time.Time{}, fmt.Errorf("bench: checks: %s lists %d healthy (err %v)", a, h, err)
			}
			select {
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return time.Now(), nil
}

// setCheckers sets the checker of cluster DEFAULT of every service.
func setCheckers(ctx context.Context, env *Env, cfg ChecksConfig, prefix, checker string) error {
	c := env.Client
	for s := range cfg.Services {
		v := url.Values{"serviceName": {prefix + strconv.Itoa(s)}, "namespaceId": {Namespace}, "clusterName": {"DEFAULT"},
			"checkPort": {"0"}, "useInstancePort4Check": {"true"}, "healthChecker": {checker}}
		if err := retryForm(ctx, c, http.MethodPut, s, "/nacos/v1/ns/cluster", v); err != nil {
			return fmt.Errorf("bench: checks: set checker: %w", err)
		}
	}
	return nil
}

// checksWindow is what one measured window saw.
type checksWindow struct {
	reads   Result
	cpu     time.Duration // the agents' CPU over the window (0: unknown)
	cpuOK   bool
	self    time.Duration // this process's CPU (the targets, the reads)
	checks  float64       // checks the nodes ran in the window
	elapsed time.Duration
}

// cores is the agents' CPU over the window, in cores.
func (w checksWindow) cores() float64 { return w.cpu.Seconds() / w.elapsed.Seconds() }

// selfCores is this process's CPU over the window, in cores.
func (w checksWindow) selfCores() float64 { return w.self.Seconds() / w.elapsed.Seconds() }

// checkWindow lists urls at cfg.ReadRate for env.Duration, measuring the
// agents' CPU and the checks run meanwhile.
func checkWindow(ctx context.Context, env *Env, cfg ChecksConfig, urls []string) (checksWindow, error) {
	var w checksWindow
	checks0, err := scrapeChecks(ctx, env.Client)
	if err != nil {
		return w, err
	}
	var pids []int
	var cpu0 time.Duration
	if env.PIDs != nil {
		pids = env.PIDs()
		cpu0, w.cpuOK = sumCPU(pids)
	}
	start, self0 := time.Now(), selfCPU()
	w.reads = pacedReads(ctx, env, cfg.ReadRate, urls)
	w.elapsed, w.self = time.Since(start), selfCPU()-self0
	if w.cpuOK {
		cpu1, ok := sumCPU(pids)
		w.cpu, w.cpuOK = cpu1-cpu0, ok
	}
	checks1, err := scrapeChecks(ctx, env.Client)
	if err != nil {
		return w, err
	}
	w.checks = checks1 - checks0
	return w, nil
}

// pacedReads lists urls (in turn) at rate requests a second over
// env.Concurrency workers for env.Duration: an open-loop load light
// enough that latency, not throughput, is measured.
func pacedReads(ctx context.Context, env *Env, rate int, urls []string) Result {
	workers := max(min(env.Concurrency, rate), 1)
	every := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	ctx, cancel := context.WithTimeout(ctx, env.Duration)
	defer cancel()
	var mu sync.Mutex
	var res Result
	lats := make([]Latencies, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			var mine Latencies
			bad := 0
			var first error
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					mu.Lock()
					lats[w], res.Ops, res.Errors = mine, res.Ops+len(mine), res.Errors+bad
					if res.FirstErr == nil {
						res.FirstErr = first
					}
					mu.Unlock()
					return
				case <-tick.C:
				}
				t0 := time.Now()
				if _, _, err := env.Client.Do(ctx, http.MethodGet, urls[(w+i)%len(urls)], "", "", false); err != nil {
					if ctx.Err() == nil {
						bad++
						first = err
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Latencies = NewLatencies(lats...)
	return res
}

// scrapeChecks sums roster_health_checks_total over every node.
func scrapeChecks(ctx context.Context, c *Client) (float64, error) {
	total := 0.0
	for _, a := range c.Addrs {
		body, _, err := c.Do(ctx, http.MethodGet, a+"/metrics", "", "", true)
		if err != nil {
			return 0, fmt.Errorf("bench: checks: metrics: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "roster_health_checks_total{") {
				continue
			}
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				total += v
			}
		}
	}
	return total, nil
}

// reportChecks adds the figures of the windows (burn: none when the
// agents' CPU is unknown).
func reportChecks(r *Report, with, without, burn checksWindow) {
	rate := with.checks / with.elapsed.Seconds()
	r.Add("checks rate", rate, "checks/s")
	if with.cpuOK && without.cpuOK && with.checks > 0 {
		r.Add("agent CPU per check", (with.cores()-without.cores())*1e6/rate, UnitMicros)
		r.Add("agent CPU, cores, with checks", with.cores(), "cores")
		r.Add("agent CPU, cores, without checks", without.cores(), "cores")
	}
	if with.checks > 0 {
		// On loopback the kernel's work for both ends of a handshake
		// runs mostly in the context of the process that sends, so
		// each side's figure holds some of the other's.
		r.Add("targets' CPU per check (this process)", (with.selfCores()-without.selfCores())*1e6/rate, UnitMicros)
	}
	if burn.elapsed > 0 {
		r.Add("floor: this process's extra CPU, burning", burn.selfCores()-without.selfCores(), "cores")
	}
	if without.checks > 0 {
		r.Notef("%.0f checks ran in the window without checks", without.checks)
	}
	windows := []struct {
		name string
		w    checksWindow
	}{{"with checks", with}, {"without checks", without}}
	if burn.elapsed > 0 {
		windows = append(windows, struct {
			name string
			w    checksWindow
		}{"floor (no checks, their CPU burnt)", burn})
	}
	for _, p := range windows {
		r.AddMs("read p50, "+p.name, p.w.reads.Latencies.Percentile(0.50))
		r.AddMs("read p99, "+p.name, p.w.reads.Latencies.Percentile(0.99))
		r.Add("read errors, "+p.name, float64(p.w.reads.Errors), UnitCount)
		if p.w.reads.Errors > 0 {
			r.Notef("%d reads failed %s; first: %v", p.w.reads.Errors, p.name, p.w.reads.FirstErr)
		}
	}
}
