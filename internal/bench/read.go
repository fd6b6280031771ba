package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ReadConfig configures the read mode.
type ReadConfig struct {
	Instances int  // instances in the listed service
	AllNodes  bool // spread reads over every node instead of the first
}

// ReadSetup registers a service of k instances and waits until every node
// lists them. It returns the list URL path and query of each node, and the
// answer of the first node (the bytes the floor serves, so both send the
// same response).
func ReadSetup(ctx context.Context, c *Client, k int) (urls []string, body []byte, err error) {
	svc := "bench-read-" + runID()
	for i := range k {
		if err := c.Form(ctx, http.MethodPost, c.Addrs[i%len(c.Addrs)], "/nacos/v1/ns/instance", registerForm(svc, i+1, false, longLived)); err != nil {
			return nil, nil, fmt.Errorf("bench: read: register: %w", err)
		}
	}
	if _, err := waitAllList(ctx, c, svc, k, 10*time.Millisecond, 10*time.Second); err != nil {
		return nil, nil, fmt.Errorf("bench: read: not every node lists the %d instances: %w", k, err)
	}
	q := url.Values{"serviceName": {svc}, "namespaceId": {Namespace}, "healthyOnly": {"true"}}.Encode()
	for _, a := range c.Addrs {
		urls = append(urls, a+"/nacos/v1/ns/instance/list?"+q)
	}
	body, _, err = c.Do(ctx, http.MethodGet, urls[0], "", "", true)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: read: %w", err)
	}
	return urls, body, nil
}

// Read lists a service of cfg.Instances instances with GET
// /nacos/v1/ns/instance/list?healthyOnly=true for env.Duration from the
// first node, or from every node in turn with cfg.AllNodes. urls come from
// ReadSetup (nil: Read calls it).
func Read(ctx context.Context, env *Env, cfg ReadConfig, urls []string) (*Report, error) {
	started := time.Now()
	if urls == nil {
		var err error
		if urls, _, err = ReadSetup(ctx, env.Client, cfg.Instances); err != nil {
			return nil, err
		}
	}
	if !cfg.AllNodes {
		urls = urls[:1]
	}
	load := Load{Workers: env.Concurrency, Duration: env.Duration}
	cpu := startCPU(env)
	res := load.Run(ctx, func(ctx context.Context, w, i int) error {
		_, _, err := env.Client.Do(ctx, http.MethodGet, urls[(w+i)%len(urls)], "", "", false)
		return err
	})
	r := &Report{Mode: "read", Params: env.params()}
	r.Params["instances"] = strconv.Itoa(cfg.Instances)
	r.Params["nodes"] = strconv.Itoa(len(urls))
	r.Params["duration"] = env.Duration.String()
	r.AddRate("read rate", res.Rate(), UnitReqPerSec, env.getFloor())
	cpu.report(r, "read", res.Ops)
	r.Add("errors", float64(res.Errors), UnitCount)
	r.AddMs("latency p50", res.Latencies.Percentile(0.50))
	r.AddMs("latency p99", res.Latencies.Percentile(0.99))
	r.AddMs("latency p999", res.Latencies.Percentile(0.999))
	if res.Errors > 0 {
		r.Notef("%d reads failed; first: %v", res.Errors, res.FirstErr)
	}
	if res.Ops == 0 {
		return finish(r, started), fmt.Errorf("bench: read: no read succeeded: %v", res.FirstErr)
	}
	return finish(r, started), nil
}
