package bench

// The register mode with the Go client (--client go): --clients
// client.Client objects inside the bench process register the instances,
// as services embedding the library would, the workers spread over them.
// Each client coalesces the registrations made while one of its requests
// is in flight into one POST /v1/instances/batch, so the agents see a few
// requests per batch instead of one per instance. Client j starts at node
// j (mod the nodes), so the clients spread their writes over the cluster
// as the Nacos-style mode does. The agents' request counters give the
// registrations per client request.

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/client"
)

// goRegisterMetadata is the metadata of the Go client's instances: as
// many keys and bytes as the Nacos-style mode sends, with timings long
// enough that no beat falls in a run.
var goRegisterMetadata = beatMetadata(5*time.Minute, 10*time.Minute, 15*time.Minute)

// RegisterGo runs the register mode with cfg.Clients Go clients.
func RegisterGo(ctx context.Context, env *Env, cfg RegisterConfig) (*Report, error) {
	if cfg.Instances <= 0 || cfg.Services <= 0 || cfg.Services > cfg.Instances {
		return nil, fmt.Errorf("bench: register: need 0 < services (%d) ≤ instances (%d)", cfg.Services, cfg.Instances)
	}
	if cfg.Persistent {
		return nil, fmt.Errorf("bench: register: the Go client registers ephemeral instances only")
	}
	prefix := "bench-reg-go-" + runID() + "-"
	addrs := env.Client.Addrs
	k := max(min(cfg.Clients, cfg.Instances), 1)
	clients := make([]*client.Client, k)
	for j := range clients {
		rot := append(slices.Clone(addrs[j%len(addrs):]), addrs[:j%len(addrs)]...)
		c, err := client.New(client.Config{Addrs: rot, RequestTimeout: 10 * time.Second, DisableRing: true})
		if err != nil {
			return nil, fmt.Errorf("bench: register: %w", err)
		}
		clients[j] = c
	}
	defer func() {
		// The instances expire by their timeouts (or go with a --local
		// cluster); deregistering each would take longer than the run.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, c := range clients {
			_ = c.Close(cctx)
		}
	}()
	r := &Report{Mode: "register --client go", Params: env.params()}
	r.Params["clients"] = strconv.Itoa(k)
	return registerRun(ctx, env, cfg, r, prefix, true, func(ctx context.Context, i int) error {
		_, err := clients[i%k].Register(ctx, client.Registration{
			InstanceKey: client.InstanceKey{Service: client.Service{Namespace: Namespace, Name: prefix + strconv.Itoa(i%cfg.Services)},
				IP: instanceIP(i), Port: 8080},
			Metadata: goRegisterMetadata,
		})
		return err
	})
}

// regRequests are the agents' registration requests, summed over the
// nodes: POST /v1/instance and POST /v1/instances/batch, and the delta
// requests (stream frames or HTTP) they sent each other.
type regRequests struct {
	single, batch, deltas float64
	ok                    bool
}

// reportSince adds to r what changed since before, per registration of
// ops: the client requests, when they were native (the Nacos routes are
// not counted), and the peer delta requests.
func (after regRequests) reportSince(r *Report, before regRequests, ops int, native bool) {
	if native {
		single, batch := after.single-before.single, after.batch-before.batch
		if single+batch > 0 {
			r.Add("registrations per client request", float64(ops)/(single+batch), "regs")
		}
		r.Add("batch requests", batch, UnitCount)
		r.Add("single requests", single, UnitCount)
	}
	if d := after.deltas - before.deltas; d > 0 {
		r.Add("registrations per peer delta request", float64(ops)/d, "regs")
	}
}

// scrapeRegRequests reads roster_http_requests_total of the two routes
// from every node's /metrics.
func scrapeRegRequests(ctx context.Context, hc *http.Client, addrs []string) regRequests {
	out := regRequests{ok: true}
	for _, a := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a+"/metrics", nil)
		if err != nil {
			return regRequests{}
		}
		resp, err := hc.Do(req)
		if err != nil {
			return regRequests{}
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			httpReq := strings.HasPrefix(line, "roster_http_requests_total{") && strings.Contains(line, `method="POST"`)
			deltas := strings.HasPrefix(line, "roster_peer_requests_total{") && strings.Contains(line, `kind="deltas"`)
			if !httpReq && !deltas {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			f, err := strconv.ParseFloat(line[i+1:], 64)
			if err != nil {
				continue
			}
			switch {
			case deltas:
				out.deltas += f
			case strings.Contains(line, `route="/v1/instance"`), strings.Contains(line, `route="/nacos/v1/ns/instance"`):
				out.single += f
			case strings.Contains(line, `route="/v1/instances/batch"`):
				out.batch += f
			}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return regRequests{}
		}
	}
	return out
}
