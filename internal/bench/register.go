package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// RegisterConfig configures the register mode.
type RegisterConfig struct {
	Instances int // total instances to register
	Services  int // spread over this many services
	// Persistent registers persistent instances (fsynced on the node that
	// takes each before it answers) instead of ephemeral ones.
	Persistent bool
	// ConvergeWithin caps the wait for every node to list them all.
	ConvergeWithin time.Duration
	// Clients is how many Go client objects register the instances in
	// RegisterGo.
	Clients int
}

// registerForm is the Nacos register form of instance i of service. The
// instance is ephemeral; md sets its metadata (heartbeat timings).
func registerForm(service string, i int, persistent bool, md map[string]string) url.Values {
	v := url.Values{
		"serviceName": {service},
		"namespaceId": {Namespace},
		"ip":          {instanceIP(i)},
		"port":        {"8080"},
		"ephemeral":   {strconv.FormatBool(!persistent)},
	}
	if len(md) > 0 {
		b, _ := json.Marshal(md)
		v.Set("metadata", string(b))
	}
	return v
}

// beatMetadata is the metadata that sets an instance's heartbeat timings.
func beatMetadata(interval, timeout, deleteAfter time.Duration) map[string]string {
	return map[string]string{
		"preserved.heart.beat.interval": strconv.FormatInt(interval.Milliseconds(), 10),
		"preserved.heart.beat.timeout":  strconv.FormatInt(timeout.Milliseconds(), 10),
		"preserved.ip.delete.timeout":   strconv.FormatInt(deleteAfter.Milliseconds(), 10),
	}
}

// longLived is the metadata of instances that must not expire during a run
// but should clean themselves up after it: no beats needed for 2 min,
// removed after 3.
var longLived = beatMetadata(time.Minute, 2*time.Minute, 3*time.Minute)

// Register registers cfg.Instances instances over cfg.Services services
// through POST /nacos/v1/ns/instance, spreading them over every node, and
// then times how long after the last acknowledgement every node lists
// them all.
func Register(ctx context.Context, env *Env, cfg RegisterConfig) (*Report, error) {
	if cfg.Instances <= 0 || cfg.Services <= 0 || cfg.Services > cfg.Instances {
		return nil, fmt.Errorf("bench: register: need 0 < services (%d) ≤ instances (%d)", cfg.Services, cfg.Instances)
	}
	prefix := "bench-reg-" + runID() + "-"
	addrs := env.Client.Addrs
	r := &Report{Mode: "register", Params: env.params()}
	r.Params["persistent"] = strconv.FormatBool(cfg.Persistent)
	return registerRun(ctx, env, cfg, r, prefix, false, func(ctx context.Context, i int) error {
		svc := prefix + strconv.Itoa(i%cfg.Services)
		return env.Client.Form(ctx, http.MethodPost, addrs[i%len(addrs)], "/nacos/v1/ns/instance", registerForm(svc, i, cfg.Persistent, longLived))
	})
}

// registerRun registers cfg.Instances instances of services named prefix
// and a number with reg (instance i), reporting in r what both register
// modes report; native says the registrations are native requests, whose
// number per registration it reports too.
func registerRun(ctx context.Context, env *Env, cfg RegisterConfig, r *Report, prefix string, native bool, reg func(ctx context.Context, i int) error) (*Report, error) {
	if cfg.ConvergeWithin <= 0 {
		cfg.ConvergeWithin = 30 * time.Second
	}
	started := time.Now()
	r.Params["instances"] = strconv.Itoa(cfg.Instances)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	var pids []int
	var rssBefore []int64
	if env.PIDs != nil {
		pids = env.PIDs()
		rssBefore = rssAll(pids)
	}
	reqBefore := scrapeRegRequests(ctx, env.Client.HTTP, env.Client.Addrs)
	load := Load{Workers: env.Concurrency, Ops: cfg.Instances, Duration: env.Duration}
	cpu := startCPU(env)
	res := load.Run(ctx, func(ctx context.Context, _, i int) error { return reg(ctx, i) })
	r.AddRate("register rate", res.Rate(), UnitOpsPerSec, env.postFloor())
	r.Add("registered", float64(res.Ops), UnitCount)
	r.Add("errors", float64(res.Errors), UnitCount)
	r.AddMs("latency p50", res.Latencies.Percentile(0.50))
	r.AddMs("latency p99", res.Latencies.Percentile(0.99))
	r.AddMs("latency p999", res.Latencies.Percentile(0.999))
	r.AddMs("latency max", res.Latencies.Max())
	if res.Errors > 0 {
		r.Notef("%d registrations failed; first: %v", res.Errors, res.FirstErr)
	}
	if res.Ops < cfg.Instances {
		r.Notef("only %d of %d registrations done within --duration %v", res.Ops, cfg.Instances, env.Duration)
	}
	if res.Ops == 0 {
		return finish(r, started), fmt.Errorf("bench: register: nothing registered: %v", res.FirstErr)
	}
	all, err := waitAllList(ctx, env.Client, prefix, res.Ops, 5*time.Millisecond, cfg.ConvergeWithin)
	if err != nil {
		r.Notef("not every node listed all %d instances within %v: %v", res.Ops, cfg.ConvergeWithin, err)
	} else {
		r.AddMs("all nodes list all, after last ack", max(all.Sub(res.LastAck), 0))
	}
	// Until every node lists them all: the replication the writes caused
	// counts too.
	cpu.report(r, "registration", res.Ops)
	if reqAfter := scrapeRegRequests(ctx, env.Client.HTTP, env.Client.Addrs); reqBefore.ok && reqAfter.ok {
		reqAfter.reportSince(r, reqBefore, res.Ops, native)
	}
	if rssAfter := rssAll(pids); rssBefore != nil && rssAfter != nil {
		// Every node holds the whole registry: the largest growth of one
		// agent, per instance registered, is the memory an instance costs.
		var grew int64
		for i := range pids {
			grew = max(grew, rssAfter[i]-rssBefore[i])
		}
		r.Add("agent RSS growth per instance (largest)", float64(grew)/float64(res.Ops), UnitBytes)
		r.Add("agent RSS (largest)", float64(slices.Max(rssAfter))/(1<<20), UnitMiB)
	}
	return finish(r, started), nil
}
