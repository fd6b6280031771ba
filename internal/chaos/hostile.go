package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Hostile clients: malformed requests and oversized bodies (each must get
// a 4xx and change nothing), slow-header connections and idle connections
// held open. All are bounded in number, local, and closed when ctx ends.

// BadService is the service every malformed request names; it must never
// hold an instance.
const BadService = "chaos-bad"

type badReq struct {
	method, path string
	v            url.Values
	body         []byte
}

func badRequests() []badReq {
	big := bytes.Repeat([]byte("x"), 3<<20)
	return []badReq{
		{http.MethodPost, "/nacos/v1/ns/instance", url.Values{"serviceName": {BadService}, "ip": {"10.9.9.9"}, "port": {"99999"}}, nil},
		{http.MethodPost, "/nacos/v1/ns/instance", url.Values{"serviceName": {BadService}, "ip": {"not an ip!!"}, "port": {"80"}}, nil},
		{http.MethodPost, "/nacos/v1/ns/instance", url.Values{"serviceName": {BadService + "@@x@@y"}, "ip": {"10.9.9.9"}, "port": {"80"}}, nil},
		{http.MethodPost, "/nacos/v1/ns/instance", url.Values{"serviceName": {BadService}, "ip": {"10.9.9.9"}, "port": {"80"}, "weight": {"-5"}}, nil},
		{http.MethodPost, "/nacos/v1/ns/instance", url.Values{"serviceName": {BadService}, "ip": {"10.9.9.9"}, "port": {"80"}, "metadata": {"{broken"}}, nil},
		{http.MethodPut, "/nacos/v1/ns/instance/beat", url.Values{"serviceName": {BadService}, "beat": {`{"ip":"10.9.9.9","port":`}}, nil},
		{http.MethodPut, "/nacos/v1/ns/instance/beat", url.Values{"serviceName": {BadService}, "beat": {`{"ip":"10.9.9.9","port":70000}`}}, nil},
		{http.MethodPost, "/v1/instance", nil, []byte(`{{{{`)},
		{http.MethodPost, "/v1/instance", nil, []byte(`{"service":"` + BadService + `","ip":"10.9.9.9","port":0}`)},
		{http.MethodPost, "/v1/instance", nil, append(append([]byte(`{"service":"`+BadService+`","ip":"10.9.9.9","port":80,"metadata":{"a":"`), big...), `"}}`...)},
		{http.MethodPost, "/nacos/v1/ns/instance", url.Values{"serviceName": {BadService}, "ip": {"10.9.9.9"}, "port": {"80"}, "metadata": {string(big[:1<<20])}}, nil},
		{http.MethodGet, "/v1/instances", url.Values{"service": {"bad\x00name"}, "index": {"-1"}}, nil},
		{http.MethodGet, "/nacos/v1/ns/instance/list", url.Values{"serviceName": {strings.Repeat("s", 600)}}, nil},
	}
}

// Hostile runs the hostile clients against c's live nodes until ctx ends,
// holding up to idle idle connections and 40 slow-header ones. It reports
// how many hostile requests and connections it made.
func Hostile(ctx context.Context, c *agentproc.Cluster, h *History, seed uint64, idle int) int {
	rng := rand.New(rand.NewPCG(seed, 0x4057))
	var rmu sync.Mutex // guards rng
	intn := func(n int) int { rmu.Lock(); defer rmu.Unlock(); return rng.IntN(n) }
	pick := func() *agentproc.Proc {
		live := c.Live()
		if len(live) == 0 {
			return nil
		}
		return live[intn(len(live))]
	}
	var wg sync.WaitGroup
	var cmu sync.Mutex // guards conns and count
	var conns []net.Conn
	count := 0
	hold := func(cn net.Conn) {
		cmu.Lock()
		conns = append(conns, cn)
		count++
		cmu.Unlock()
	}
	// Malformed requests and oversized bodies.
	wg.Add(1)
	go func() {
		defer wg.Done()
		reqs := badRequests()
		for i := 0; i < 100000 && ctx.Err() == nil; i++ {
			p := pick()
			if p == nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			r := reqs[intn(len(reqs))]
			code, body, err := do(r.method, p.HTTP, r.path, r.v, r.body, 3*time.Second)
			cmu.Lock()
			count++
			cmu.Unlock()
			if err == nil && code >= 500 && code != 503 {
				h.AddFinding(Finding{T: time.Now(), Node: p.Name, What: "bad input answered 5xx",
					Detail: fmt.Sprintf("%s %s: %d %s", r.method, r.path, code, tail(string(body), 200))})
			}
			if err == nil && code < 400 {
				h.AddFinding(Finding{T: time.Now(), Node: p.Name, What: "bad input accepted",
					Detail: fmt.Sprintf("%s %s: %d %s", r.method, r.path, code, tail(string(body), 200))})
			}
			time.Sleep(time.Duration(20+intn(40)) * time.Millisecond)
		}
	}()
	// Slow-header connections: a header line every second, never finished.
	wg.Add(1)
	go func() {
		defer wg.Done()
		var slow []net.Conn
		defer func() {
			for _, cn := range slow {
				cn.Close()
			}
		}()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for i := 0; i < 10000; i++ {
			if len(slow) < 40 {
				if p := pick(); p != nil {
					if cn, err := net.DialTimeout("tcp", p.HTTP, time.Second); err == nil {
						_, _ = cn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
						slow = append(slow, cn)
						cmu.Lock()
						count++
						cmu.Unlock()
					}
				}
			}
			kept := slow[:0]
			for _, cn := range slow {
				_ = cn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := cn.Write([]byte("X-Slow: 1\r\n")); err == nil {
					kept = append(kept, cn)
				} else {
					cn.Close()
				}
			}
			slow = kept
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	// Idle connections, opened gradually and held; the nodes close those
	// that never send a header after their ReadHeaderTimeout, so every
	// few seconds the closed ones are dropped and the count topped up.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 0; round < 100000 && ctx.Err() == nil; round++ {
			// Only this goroutine adds to conns, so checking a copy
			// outside the lock loses nothing.
			cmu.Lock()
			held := slices.Clone(conns)
			cmu.Unlock()
			var kept []net.Conn
			for _, cn := range held {
				_ = cn.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, err := cn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					cn.Close()
					continue
				}
				kept = append(kept, cn)
			}
			cmu.Lock()
			conns = kept
			cmu.Unlock()
			open := len(kept)
			for i := open; i < idle && ctx.Err() == nil; i++ {
				if p := pick(); p != nil {
					if cn, err := net.DialTimeout("tcp", p.HTTP, time.Second); err == nil {
						hold(cn)
					}
				}
				if i%100 == 99 {
					time.Sleep(100 * time.Millisecond)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(3 * time.Second):
			}
		}
	}()
	<-ctx.Done()
	wg.Wait()
	cmu.Lock()
	for _, cn := range conns {
		cn.Close()
	}
	n := count
	cmu.Unlock()
	return n
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// checkBadService records a finding for every node that lists an instance
// of BadService.
func checkBadService(c *agentproc.Cluster, h *History) {
	for _, p := range c.Live() {
		o := pollList(0, p, BadService)
		if o.Status == 200 && len(o.List) > 0 {
			h.AddFinding(Finding{T: time.Now(), Node: p.Name, What: "bad input changed the registry",
				Detail: fmt.Sprintf("%s lists %s", BadService, fmtList(o.List))})
		}
	}
}
