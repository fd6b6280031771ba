package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// The blackout scenario: a power cut of the whole cluster. Every node
// runs with a data directory; writers register and delete persistent
// instances and change the services' protect thresholds through every
// node while, again and again, every node is SIGKILLed at the same moment
// and restarted on the same data directory. After each restart every
// node must hold every acknowledged write: a persistent write is
// acknowledged (200) only once it is fsynced on the node that took it,
// so every registration acknowledged and not deleted since is listed, no
// acknowledged deletion has come back, and every service's settings are
// the last acknowledged ones. A key whose last operation got no answer
// (it may or may not have been applied) is held to nothing until a later
// operation is acknowledged.

// blackoutServices is how many services the writers spread over.
const blackoutServices = 20

// blackoutState is what the writers know was acknowledged.
type blackoutState struct {
	mu sync.Mutex // guards everything below
	// present: the last operation on the instance was acknowledged and
	// leaves it registered (true) or deleted (false); absent: unknown.
	present map[string]bool
	// threshold: the services' acknowledged protect thresholds, and
	// whether a later update is unanswered (then either may hold).
	threshold map[int]float64
	pending   map[int]float64
	acked     int
	failed    int
}

func (s *blackoutState) note(key string, ok, registered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.present[key] = registered
		s.acked++
		return
	}
	delete(s.present, key)
	s.failed++
}

// count is the writes acknowledged so far.
func (s *blackoutState) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// held counts the instances known to be registered.
func (s *blackoutState) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, present := range s.present {
		if present {
			n++
		}
	}
	return n
}

// runBlackout runs the blackout scenario.
func runBlackout(ctx context.Context, name string, cfg Config) Summary {
	sum := Summary{Scenario: name, Seed: cfg.Seed, Nodes: cfg.Nodes, Instances: cfg.Instances}
	fail := func(err error) Summary {
		sum.Result = Result{Violations: []Violation{{Invariant: "harness", T: time.Now(), Detail: err.Error()}}}
		return sum
	}
	data, err := os.MkdirTemp("", "roster-chaos-data-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(data)
	logDir := ""
	if cfg.LogDir != "" {
		logDir = filepath.Join(cfg.LogDir, name)
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return fail(err)
		}
	}
	h := NewHistory()
	c := agentproc.NewCluster(agentproc.ClusterConfig{Bin: cfg.Bin, LogDir: logDir, DataDir: data, StopWithin: 10 * time.Second,
		Args: agentArgs(cfg.LogLevel, logDir != "", false), Events: func(e agentproc.Event) { record(h, e) }})
	defer c.Shutdown(syscall.SIGKILL)
	var names []string
	for i := 1; i <= cfg.Nodes; i++ {
		names = append(names, fmt.Sprintf("n%d", i))
	}
	if err := startAll(ctx, c, names); err != nil {
		return fail(err)
	}
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "["+name+"] "+format+"\n", a...)
		}
	}
	st := &blackoutState{present: map[string]bool{}, threshold: map[int]float64{}, pending: map[int]float64{}}
	if err := blackoutSetup(c, st); err != nil {
		return fail(err)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	end := time.Now().Add(cfg.Duration)
	var res Result
	for round := 0; time.Now().Before(end) && ctx.Err() == nil && len(res.Violations) == 0; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		live := c.Live()
		for w := range 6 {
			wg.Go(func() { blackoutWriter(stop, st, live[w%len(live)].HTTP, round, w, cfg.Instances) })
		}
		seed := rng.Uint64()
		wg.Go(func() { blackoutSettings(stop, st, live, seed) })
		// Writes being acknowledged: 2–5 s, and at least 50 acknowledged
		// in the round however loaded the machine (30 s at most).
		acked0, phase := st.count(), time.Duration(2000+rng.IntN(3000))*time.Millisecond
		for t0 := time.Now(); time.Since(t0) < phase || (st.count()-acked0 < 50 && time.Since(t0) < 30*time.Second); {
			time.Sleep(50 * time.Millisecond)
		}
		c.Shutdown(syscall.SIGKILL) // every node at once
		sum.Faults += len(names)
		time.Sleep(200 * time.Millisecond) // writers meet the dead nodes
		close(stop)
		wg.Wait()
		logf("round %d: every node SIGKILLed; %d writes acknowledged so far", round, st.acked)
		if err := startAll(ctx, c, names); err != nil {
			return fail(err)
		}
		res.Checked += len(c.Live())
		res.Violations = append(res.Violations, blackoutCheck(st, c.Live())...)
	}
	sum.Acked, sum.Failed, sum.Instances = st.acked, st.failed, st.held()
	res.Violations = append(res.Violations, findingViolations(h)...)
	sum.Result = res
	return sum
}

// startAll starts the named nodes (again) and waits until they are ready.
func startAll(ctx context.Context, c *agentproc.Cluster, names []string) error {
	for _, n := range names {
		if _, err := c.Start(ctx, n, "", ""); err != nil {
			return err
		}
	}
	return c.WaitReady(ctx, 60*time.Second)
}

func blackoutService(s int) string { return fmt.Sprintf("blackout-%02d", s) }

// blackoutSetup creates the services with metadata, a protect threshold
// and health-check settings (TCP for even services, HTTP on a check port
// for odd ones).
func blackoutSetup(c *agentproc.Cluster, st *blackoutState) error {
	live := c.Live()
	for s := range blackoutServices {
		addr := live[s%len(live)].HTTP
		th := float64(s+1) / 100
		v := url.Values{"serviceName": {blackoutService(s)}, "protectThreshold": {strconv.FormatFloat(th, 'f', 2, 64)},
			"metadata": {fmt.Sprintf(`{"owner":"team-%d"}`, s)}}
		if code, body, err := do(http.MethodPost, addr, "/nacos/v1/ns/service", v, nil, 5*time.Second); code != 200 {
			return fmt.Errorf("chaos: blackout: create %s: %d %s %v", blackoutService(s), code, body, err)
		}
		hc := url.Values{"serviceName": {blackoutService(s)}, "clusterName": {"DEFAULT"}, "checkPort": {"0"},
			"useInstancePort4Check": {"true"}, "healthChecker": {`{"type":"TCP"}`}}
		if s%2 == 1 {
			hc.Set("checkPort", "9")
			hc.Set("useInstancePort4Check", "false")
			hc.Set("healthChecker", fmt.Sprintf(`{"type":"HTTP","path":"/health/%d","headers":"X-Check:%d","expectedResponseCode":200}`, s, s))
		}
		if code, body, err := do(http.MethodPut, addr, "/nacos/v1/ns/cluster", hc, nil, 5*time.Second); code != 200 {
			return fmt.Errorf("chaos: blackout: cluster settings of %s: %d %s %v", blackoutService(s), code, body, err)
		}
		st.threshold[s] = th
	}
	return nil
}

// blackoutWriter registers persistent instances (127.1.W.x, port 9: a
// closed port, so the TCP checks fail quickly) and deletes every third,
// through addr, until stop.
func blackoutWriter(stop chan struct{}, st *blackoutState, addr string, round, w, perRound int) {
	key := func(i int) (int, string) {
		return i % blackoutServices, fmt.Sprintf("127.%d.%d.%d", 1+round%200, w, i%250)
	}
	op := func(method string, i int) {
		s, ip := key(i)
		v := url.Values{"serviceName": {blackoutService(s)}, "ip": {ip}, "port": {"9"}, "ephemeral": {"false"}}
		code, _, _ := do(method, addr, "/nacos/v1/ns/instance", v, nil, 3*time.Second)
		st.note(blackoutService(s)+" "+ip, code == 200, method == http.MethodPost)
		if code != 200 {
			time.Sleep(20 * time.Millisecond) // a dead node refuses at once: do not spin through the keys
		}
	}
	for i := 0; i < min(perRound, 250); i++ {
		select {
		case <-stop:
			return
		default:
		}
		op(http.MethodPost, i)
		if i%3 == 2 {
			op(http.MethodDelete, i-1)
		}
	}
	<-stop
}

// blackoutSettings changes the services' protect thresholds until stop.
func blackoutSettings(stop chan struct{}, st *blackoutState, live []*agentproc.Proc, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 8))
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		s := rng.IntN(blackoutServices)
		th := float64(rng.IntN(99)+1) / 100
		st.mu.Lock()
		if _, unsure := st.pending[s]; unsure {
			st.mu.Unlock()
			continue // an unanswered update may still land: leave the service be
		}
		st.mu.Unlock()
		v := url.Values{"serviceName": {blackoutService(s)}, "protectThreshold": {strconv.FormatFloat(th, 'f', 2, 64)}}
		code, _, _ := do(http.MethodPut, live[i%len(live)].HTTP, "/nacos/v1/ns/service", v, nil, 3*time.Second)
		st.mu.Lock()
		if code == 200 {
			st.threshold[s] = th
			st.acked++
		} else {
			st.pending[s] = th
			st.failed++
		}
		st.mu.Unlock()
	}
}

// blackoutCheck waits (10 s at most) until every node of live holds
// every acknowledged write and the nodes agree on the instances and on
// the thresholds whose last write got no answer (it may have reached some nodes' disks and
// not others', and spreads after the restart), and returns a violation
// for each node that never does.
func blackoutCheck(st *blackoutState, live []*agentproc.Proc) []Violation {
	st.mu.Lock()
	defer st.mu.Unlock()
	problems := map[string][]string{}
	_, err := await.Until(context.Background(), 200*time.Millisecond, 10*time.Second, func() bool {
		clear(problems)
		seen := map[int]float64{} // pending thresholds, as the first node shows them
		var first map[string]bool // the first node's instances
		for _, p := range live {
			held, err := blackoutList(p.HTTP)
			if err != nil {
				problems[p.Name] = []string{err.Error()}
				continue
			}
			problems[p.Name] = blackoutNodeProblems(st, p.HTTP, held, seen)
			if first == nil {
				first = held
			} else if d := differ(first, held); d != "" {
				problems[p.Name] = append(problems[p.Name], d)
			}
		}
		for _, pr := range problems {
			if len(pr) > 0 {
				return false
			}
		}
		return true
	})
	if err == nil {
		for s, th := range blackoutPendingSeen(st, live[0].HTTP) {
			st.threshold[s] = th // settled the same way on every node
			delete(st.pending, s)
		}
		return nil
	}
	var out []Violation
	for node, pr := range problems {
		if len(pr) > 0 {
			out = append(out, Violation{Invariant: "durable", T: time.Now(), Node: node,
				Detail: fmt.Sprintf("after a restart of the whole cluster: %d problems: %v", len(pr), head(pr, 8))})
		}
	}
	return out
}

// blackoutNodeProblems lists what the node at addr does not hold: an
// acknowledged registration missing, an acknowledged deletion back, a
// setting not the acknowledged one, or a pending threshold other than
// the one the nodes before it showed (recorded in seen).
func blackoutNodeProblems(st *blackoutState, addr string, held map[string]bool, seen map[int]float64) []string {
	var out []string
	for k, present := range st.present {
		switch {
		case present && !held[k]:
			out = append(out, "acknowledged registration missing: "+k)
		case !present && held[k]:
			out = append(out, "acknowledged deletion back: "+k)
		}
	}
	slices.Sort(out)
	out = append(out, blackoutSettingsDiffer(st, addr)...)
	for s := range st.pending {
		th, ok := blackoutThreshold(addr, s)
		if first, was := seen[s]; ok && was && th != first {
			out = append(out, fmt.Sprintf("%s: protect threshold %v here, %v on another node", blackoutService(s), th, first))
		} else if ok && !was {
			seen[s] = th
		}
	}
	return out
}

// differ says how the instances a node lists differ from the first
// node's ("" if they do not): instances whose last write got no answer
// may be on either side after the restart, but the nodes must agree.
func differ(first, held map[string]bool) string {
	var more, fewer []string
	for k := range held {
		if !first[k] {
			more = append(more, k)
		}
	}
	for k := range first {
		if !held[k] {
			fewer = append(fewer, k)
		}
	}
	if len(more)+len(fewer) == 0 {
		return ""
	}
	slices.Sort(more)
	slices.Sort(fewer)
	return fmt.Sprintf("lists %d instances the first node does not %v and not %d it does %v", len(more), head(more, 3), len(fewer), head(fewer, 3))
}

// blackoutPendingSeen reads the pending thresholds on addr.
func blackoutPendingSeen(st *blackoutState, addr string) map[int]float64 {
	out := map[int]float64{}
	for s := range st.pending {
		if th, ok := blackoutThreshold(addr, s); ok {
			out[s] = th
		}
	}
	return out
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// blackoutList returns "service ip" of every instance addr lists.
func blackoutList(addr string) (map[string]bool, error) {
	held := map[string]bool{}
	for s := range blackoutServices {
		v := url.Values{"serviceName": {blackoutService(s)}}
		code, body, err := do(http.MethodGet, addr, "/nacos/v1/ns/instance/list", v, nil, 5*time.Second)
		var l struct {
			Hosts []struct {
				IP string `json:"ip"`
			} `json:"hosts"`
		}
		if code != 200 || err != nil || json.Unmarshal(body, &l) != nil {
			return nil, fmt.Errorf("list %s: %d %v", blackoutService(s), code, err)
		}
		for _, h := range l.Hosts {
			held[blackoutService(s)+" "+h.IP] = true
		}
	}
	return held, nil
}

// blackoutThreshold reads service s's protect threshold on addr.
func blackoutThreshold(addr string, s int) (float64, bool) {
	d, ok := blackoutDetail(addr, s)
	return d.ProtectThreshold, ok
}

// serviceDetail is the part of GET service the scenario checks.
type serviceDetail struct {
	ProtectThreshold float64           `json:"protectThreshold"`
	Metadata         map[string]string `json:"metadata"`
	Clusters         []struct {
		Name          string         `json:"name"`
		HealthChecker map[string]any `json:"healthChecker"`
		CheckPort     int            `json:"defaultCheckPort"`
		UseIPPort     bool           `json:"useIPPort4Check"`
	} `json:"clusters"`
}

func blackoutDetail(addr string, s int) (serviceDetail, bool) {
	var d serviceDetail
	code, body, err := do(http.MethodGet, addr, "/nacos/v1/ns/service", url.Values{"serviceName": {blackoutService(s)}}, nil, 5*time.Second)
	if code != 200 || err != nil || json.Unmarshal(body, &d) != nil {
		return d, false
	}
	return d, true
}

// blackoutSettingsDiffer lists the services whose settings on addr are
// not the acknowledged ones.
func blackoutSettingsDiffer(st *blackoutState, addr string) []string {
	var out []string
	for s := range blackoutServices {
		d, ok := blackoutDetail(addr, s)
		if !ok {
			out = append(out, blackoutService(s)+": unreadable")
			continue
		}
		th := st.threshold[s]
		if p, unsure := st.pending[s]; !(d.ProtectThreshold == th || unsure && d.ProtectThreshold == p) {
			out = append(out, fmt.Sprintf("%s: protect threshold %v, want %v", blackoutService(s), d.ProtectThreshold, th))
		}
		if d.Metadata["owner"] != fmt.Sprintf("team-%d", s) {
			out = append(out, fmt.Sprintf("%s: metadata %v", blackoutService(s), d.Metadata))
		}
		want, port := "TCP", 0
		if s%2 == 1 {
			want, port = "HTTP", 9
		}
		ok = false
		for _, cl := range d.Clusters {
			if cl.Name == "DEFAULT" && cl.HealthChecker["type"] == want && (s%2 == 0 || cl.CheckPort == port &&
				cl.HealthChecker["path"] == fmt.Sprintf("/health/%d", s)) {
				ok = true
			}
		}
		if !ok {
			out = append(out, fmt.Sprintf("%s: cluster settings %+v", blackoutService(s), d.Clusters))
		}
	}
	return out
}
